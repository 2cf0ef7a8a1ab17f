"""DB-02 step 1 of 3: build the DriftEvent unique index without blocking writers.

``CREATE UNIQUE INDEX CONCURRENTLY`` cannot run inside a transaction, hence ``atomic = False``. If a previous
attempt failed it may have left an INVALID index behind; it is dropped first so the build can be retried.
The index has the future constraint's name, so step 2 can adopt it as is. See docs/migrations.md.
"""

from django.db import migrations

INDEX = "drift_event_run_signal_uniq"

FORWARD = [
    f"""
    DO $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relname = '{INDEX}' AND NOT i.indisvalid
        ) THEN
            EXECUTE 'DROP INDEX {INDEX}';
        END IF;
    END $$;
    """,
    f"""
    CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {INDEX}
    ON drift_driftevent (customer_id, report_run_id, payer, cpt_group, drift_type);
    """,
]
BACKWARD = [f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX};"]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("drift", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
