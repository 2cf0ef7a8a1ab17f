"""DB-02: the DriftEvent unique key is added to a populated table by migrations 0002 (``CREATE UNIQUE INDEX
CONCURRENTLY``) and 0003 (``ADD CONSTRAINT … USING INDEX``) while another connection keeps inserting, and a
failed concurrent build can be retried. Each test migrates drift back to 0001 and restores every app's latest
migration at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

from upstream.drift.models import DriftEvent, ReportRun
from upstream.drift.tests.factories import ReportRunFactory, drift_event

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "drift_event_run_signal_uniq"
BEFORE = ("drift", "0001_initial")
INDEX_STEP = ("drift", "0002_driftevent_signal_unique_index")
CONSTRAINT_STEP = ("drift", "0003_driftevent_signal_unique_constraint")
POPULATED = 5_000
# A generous bound on how long one insert may wait: the only lock that blocks writers is the brief ACCESS
# EXCLUSIVE lock of ALTER TABLE … USING INDEX (no scan, no index build). A regression to a plain
# CREATE UNIQUE INDEX or ADD CONSTRAINT UNIQUE would hold writers for the whole build. Not a speed assertion.
MAX_INSERT_WAIT_SECONDS = 2.0


def migrate(*targets: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)  # a fresh executor reads the recorded state again
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes())


def key_state() -> tuple[str | None, bool | None]:
    """(constraint type, index valid?) of the unique key: (None, None) when neither exists."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT contype FROM pg_constraint WHERE conname = %s", [KEY])
        constraint = cursor.fetchone()
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s",
            [KEY],
        )
        index = cursor.fetchone()
    return (constraint[0] if constraint else None), (index[0] if index else None)


@pytest.fixture
def at_0001() -> Iterator[None]:
    migrate(BEFORE)
    assert key_state() == (None, None)
    try:
        yield
    finally:
        migrate()  # every app back to its latest migration


class Writer(threading.Thread):
    """Inserts distinct events one by one on its own connection until stopped; records errors and the
    longest single insert."""

    def __init__(self, run: ReportRun) -> None:
        super().__init__(daemon=True)
        self.run_ = run
        self.stop = threading.Event()
        self.inserted = 0
        self.max_wait = 0.0
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                event = drift_event(self.run_, f"Writer payer {self.inserted}")
                started = time.monotonic()
                event.save()
                self.max_wait = max(self.max_wait, time.monotonic() - started)
                self.inserted += 1
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connection.close()


def test_unique_key_is_added_to_a_populated_table_while_another_connection_inserts(at_0001: None) -> None:
    run = ReportRunFactory.create()
    DriftEvent.objects_all_tenants.bulk_create(drift_event(run, f"Payer {i}") for i in range(POPULATED))
    writer = Writer(run)
    writer.start()
    try:
        while writer.inserted < 20 and writer.is_alive():  # the writer is inserting before the migration
            time.sleep(0.01)
        inserted_before = writer.inserted
        migrate(CONSTRAINT_STEP)
        inserted_after = writer.inserted
        time.sleep(0.2)  # and keeps inserting after it
    finally:
        writer.stop.set()
        writer.join(timeout=30)

    assert writer.errors == []
    assert writer.inserted > inserted_after > inserted_before >= 20  # it inserted during the migration too
    assert writer.max_wait < MAX_INSERT_WAIT_SECONDS
    assert key_state() == ("u", True)
    assert DriftEvent.objects_all_tenants.count() == POPULATED + writer.inserted
    with pytest.raises(IntegrityError):  # the key now holds
        drift_event(run, "Payer 1").save()


def test_a_failed_concurrent_build_leaves_an_invalid_index_and_can_be_retried(at_0001: None) -> None:
    run = ReportRunFactory.create()
    DriftEvent.objects_all_tenants.bulk_create(drift_event(run, f"Payer {i}") for i in range(100))
    duplicate = drift_event(run, "Payer 7")
    duplicate.save()  # possible without the key: the build must fail

    with pytest.raises(IntegrityError):
        migrate(INDEX_STEP)
    assert key_state() == (None, False)  # CONCURRENTLY leaves its INVALID index behind

    # Fix the data (a plain DELETE: the ORM's cascade would look for alerts, whose tables are unapplied at
    # drift 0001), run the migration again: 0002 drops the invalid index and rebuilds.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM drift_driftevent WHERE id = %s", [duplicate.pk])
    migrate(CONSTRAINT_STEP)

    assert key_state() == ("u", True)


def test_migrations_reverse_to_no_key(at_0001: None) -> None:
    migrate(CONSTRAINT_STEP)
    assert key_state() == ("u", True)

    migrate(INDEX_STEP)  # 0003 reversed: the constraint dropped, a plain unique index rebuilt
    assert key_state() == (None, True)

    migrate(BEFORE)  # 0002 reversed: the index dropped
    assert key_state() == (None, None)
