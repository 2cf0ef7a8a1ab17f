# Thin wrappers over uv and manage.py. `make run` and `make test` need nothing installed by hand.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := $(UV) run --frozen python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: help uv deps run serve migrate seed test lint typecheck schema worker beat stop-db bench bench-ingest bench-drift bench-webhooks

help:
	@echo "make run | test | lint | bench | worker | beat | stop-db"

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(HOME)/.local/bin/uv" ] || python3 -m pip install --quiet --user uv \
	  || python3 -m pip install --quiet uv

deps: uv
	$(UV) sync --frozen --quiet

migrate: deps
	$(PY) manage.py migrate --no-input

seed: migrate
	$(PY) manage.py seed_demo

## Install, start embedded PostgreSQL, migrate, seed the demo customer and serve the API on :8000.
## With REDIS_URL set, a Celery worker and beat run beside the web server.
run: seed
	@if [ -n "$$REDIS_URL" ]; then \
	  trap 'kill 0' EXIT; \
	  $(UV) run --frozen celery -A config worker --loglevel=INFO & \
	  $(UV) run --frozen celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule & \
	  $(PY) manage.py runserver --noreload $(HOST):$(PORT); \
	else \
	  $(PY) manage.py runserver $(HOST):$(PORT); \
	fi

## The whole suite on real PostgreSQL (embedded by default, DATABASE_URL when set).
test: deps
	$(UV) run --frozen pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: deps
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy .

schema: deps
	$(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

## Benchmarks (SPEC §12); results go to docs/benchmarks.md.
bench: bench-ingest bench-drift bench-webhooks

bench-ingest: migrate
	$(PY) manage.py bench_ingest --rows $${BENCH_ROWS:-1000000}

## A drift run over 1,000,000 ingested claims, best of 3 (budget 5 s).
bench-drift: migrate
	$(PY) manage.py bench_drift --rows $${BENCH_ROWS:-1000000}

## The outbox sweeper sending 2,000 deliveries to a local receiver process (budget >= 200 deliveries/s).
bench-webhooks: migrate
	$(PY) manage.py bench_webhooks --deliveries $${BENCH_DELIVERIES:-2000}

worker: deps
	$(UV) run --frozen celery -A config worker --loglevel=INFO

beat: deps
	@mkdir -p var
	$(UV) run --frozen celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule

stop-db: deps
	$(PY) -c "from pathlib import Path; from upstream.core.embedded_db import stop_embedded_postgres as s; s(Path('.pgdata'))"
