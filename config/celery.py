"""The Celery application: Redis broker, JSON only, late acks (SPEC §1)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("upstream")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
