"""The audit table refuses UPDATE and DELETE at the database, whatever the client."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from upstream.audit.models import AuditAction, AuditEvent
from upstream.audit.services import audit_record


@pytest.fixture
def event(db) -> AuditEvent:
    return audit_record(
        action=AuditAction.LOGOUT, customer_id=1, actor_email="a@example.test", metadata={"k": "v"}
    )


def test_insert_is_allowed(event: AuditEvent) -> None:
    stored = AuditEvent.objects_all_tenants.get(pk=event.pk)
    assert (stored.action, stored.customer_id, stored.metadata) == ("auth.logout", 1, {"k": "v"})


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'auth.login_succeeded' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_raw_update_and_delete_fail(event: AuditEvent, sql: str) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])
    assert AuditEvent.objects_all_tenants.get(pk=event.pk).action == "auth.logout"


def test_orm_update_and_delete_fail(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError, match="UPDATE refused"), transaction.atomic():
        AuditEvent.objects_all_tenants.filter(pk=event.pk).update(actor_email="x@example.test")
    with pytest.raises(DatabaseError, match="DELETE refused"), transaction.atomic():
        event.delete()
    event.actor_email = "changed@example.test"
    with pytest.raises(DatabaseError, match="UPDATE refused"), transaction.atomic():
        event.save()
    assert AuditEvent.objects_all_tenants.filter(pk=event.pk, actor_email="a@example.test").exists()
