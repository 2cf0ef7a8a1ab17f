"""rotate_phi_keys end to end: keys A → keyring "B,A" → rotate → keyring "B", against real tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, models
from pytest_django.fixtures import Settings

from upstream.audit.models import AuditAction, AuditEvent
from upstream.core import crypto
from upstream.core.crypto import PHIDecryptionError
from upstream.core.fields import EncryptedTextField
from upstream.core.local_keys import new_key_spec
from upstream.core.management.commands.rotate_phi_keys import encrypted_models
from upstream.core.models import TenantModel
from upstream.tenancy.scoping import ScopeError, tenant_scope
from upstream.tenancy.tests.factories import CustomerFactory


@dataclass(frozen=True)
class RotationModels:
    note: Any
    patient: Any
    unmanaged: Any
    proxy: Any


@pytest.fixture(scope="module")
def rotation_models() -> Iterator[RotationModels]:
    """Test-only models in the global app registry (the command discovers models through it), defined here
    rather than at import time and unregistered afterwards, so they exist only while this module runs."""

    class RotationNote(models.Model):  # noqa: DJ008
        body = EncryptedTextField(null=True)

        class Meta:
            app_label = "core"
            db_table = "test_core_rotation_note"

    class RotationNoteProxy(RotationNote):  # noqa: DJ008
        class Meta:
            app_label = "core"
            proxy = True

    # Tenant-owned: its default manager refuses to run outside a scope.
    class RotationPatient(TenantModel):
        name = EncryptedTextField()
        ssn = EncryptedTextField(null=True)
        plain = models.CharField(max_length=20, default="")

        class Meta:
            app_label = "core"
            db_table = "test_core_rotation_patient"

    # No table exists for it: the command must not touch it.
    class RotationUnmanaged(models.Model):  # noqa: DJ008
        secret = EncryptedTextField()

        class Meta:
            app_label = "core"
            managed = False
            db_table = "test_core_rotation_unmanaged_missing"

    defined = [RotationNote, RotationNoteProxy, RotationPatient, RotationUnmanaged]
    try:
        yield RotationModels(
            note=RotationNote, patient=RotationPatient, unmanaged=RotationUnmanaged, proxy=RotationNoteProxy
        )
    finally:
        for model in defined:
            del apps.all_models["core"][model.__name__.lower()]
        apps.clear_cache()


@pytest.fixture
def spec_a() -> str:
    return new_key_spec("ka")


@pytest.fixture
def spec_b() -> str:
    return new_key_spec("kb")


@pytest.fixture
def tables(db: None, settings: Settings, spec_a: str, rotation_models: RotationModels) -> RotationModels:
    """Keys A only; the two managed tables created inside the test's transaction (rolled back after it)."""
    settings.PHI_ENCRYPTION_KEYS = spec_a
    with connection.schema_editor() as editor:
        editor.create_model(rotation_models.note)
        editor.create_model(rotation_models.patient)
    return rotation_models


def raw_patients() -> dict[int, tuple[str | None, str | None]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name, ssn FROM test_core_rotation_patient ORDER BY id")
        return {pk: (name, ssn) for pk, name, ssn in cursor.fetchall()}


def raw_notes() -> dict[int, str | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, body FROM test_core_rotation_note ORDER BY id")
        return dict(cursor.fetchall())


def raw_key_ids() -> list[str]:
    tokens = [t for row in raw_patients().values() for t in row] + list(raw_notes().values())
    return sorted({crypto.key_id_of(token) for token in tokens if token is not None})


def rotate(*args: str, **options: Any) -> list[str]:
    out = StringIO()
    call_command("rotate_phi_keys", *args, stdout=out, **options)
    return out.getvalue().splitlines()


def rotation_events() -> list[AuditEvent]:
    return list(
        AuditEvent.objects_all_tenants.filter(action=AuditAction.PHI_KEYS_ROTATED).order_by(
            "occurred_at", "id"
        )
    )


PATIENTS = [
    ("Jane Doe", "123-45-6789"),
    ("Zoë Ñúñez", None),
    ("", "987-65-4321"),
    ("John Roe", "111-22-3333"),
    ("李雷", None),
]
NOTES = ["note one", None, "note three"]


def seed(models_: RotationModels) -> tuple[list[Any], list[Any]]:
    first, second = CustomerFactory(), CustomerFactory()
    patients = [
        models_.patient.objects_all_tenants.create(
            customer=first if index % 2 == 0 else second, name=name, ssn=ssn
        )
        for index, (name, ssn) in enumerate(PATIENTS)
    ]
    notes = [models_.note.objects.create(body=body) for body in NOTES]
    return patients, notes


def decrypted_patients(models_: RotationModels) -> list[tuple[str, str | None]]:
    return list(models_.patient.objects_all_tenants.order_by("pk").values_list("name", "ssn"))


def decrypted_notes(models_: RotationModels) -> list[str | None]:
    return list(models_.note.objects.order_by("pk").values_list("body", flat=True))


def other_encrypted_labels(models_: RotationModels) -> list[str]:
    mine = {models_.note._meta.label, models_.patient._meta.label}
    return [model._meta.label for model, _ in encrypted_models()[0] if model._meta.label not in mine]


def expected_models_metadata(models_: RotationModels, **mine: dict[str, int]) -> dict[str, dict[str, int]]:
    others = {
        label: {"rows_scanned": 0, "values_reencrypted": 0} for label in other_encrypted_labels(models_)
    }
    return {**others, **{f"core.{name}": counts for name, counts in mine.items()}}


# --- discovery ----------------------------------------------------------------------------------------------


def test_discovers_managed_concrete_models_with_encrypted_fields(rotation_models: RotationModels) -> None:
    found, unmanaged = encrypted_models()
    by_label = {model._meta.label: [field.name for field in fields] for model, fields in found}
    assert by_label["core.RotationNote"] == ["body"]
    assert by_label["core.RotationPatient"] == ["name", "ssn"]
    assert "core.RotationNoteProxy" not in by_label
    assert "core.RotationUnmanaged" not in by_label
    assert "audit.AuditEvent" not in by_label
    assert [model._meta.label for model in unmanaged] == ["core.RotationUnmanaged"]
    assert all(
        isinstance(field, EncryptedTextField) and field.model is model
        for model, fields in found
        for field in fields
    )


# --- the full rotation --------------------------------------------------------------------------------------


def test_full_rotation(settings: Settings, tables: RotationModels, spec_a: str, spec_b: str) -> None:
    patients, notes = seed(tables)
    assert raw_key_ids() == ["ka"]
    before_patients, before_notes = raw_patients(), raw_notes()

    # New primary key B, A kept for reading: everything still decrypts.
    settings.PHI_ENCRYPTION_KEYS = f"{spec_b},{spec_a}"
    assert decrypted_patients(tables) == PATIENTS
    assert decrypted_notes(tables) == NOTES

    # A row with one field rewritten under B (name) and one still under A (ssn), and a row entirely under B.
    john = patients[3]
    john.name = "John Roe"
    john.save(update_fields=["name"])
    newcomer = tables.patient.objects_all_tenants.create(customer=john.customer, name="New Person", ssn="x")
    assert crypto.key_id_of(raw_patients()[john.pk][0]) == "kb"  # type: ignore[arg-type]
    assert crypto.key_id_of(raw_patients()[john.pk][1]) == "ka"  # type: ignore[arg-type]
    untouched_before = {john.pk: raw_patients()[john.pk][0], newcomer.pk: raw_patients()[newcomer.pk]}

    # The scoped default manager refuses to run here; the command must not depend on it.
    with pytest.raises(ScopeError):
        tables.patient.objects.count()

    n_models = len(encrypted_models()[0])
    lines = rotate(batch_size=2)
    # One line per model, in label order (the command walks the models sorted by label).
    per_model = sorted(
        [
            *[f"{label}: 0 rows scanned, 0 values re-encrypted" for label in other_encrypted_labels(tables)],
            "core.RotationNote: 3 rows scanned, 2 values re-encrypted",
            "core.RotationPatient: 6 rows scanned, 7 values re-encrypted",
        ]
    )
    assert lines == [
        "core.RotationUnmanaged: skipped (unmanaged table)",
        *per_model,
        f"Total: {n_models} models, 9 rows scanned, 9 values re-encrypted (primary key id 'kb')",
    ]

    after_patients, after_notes = raw_patients(), raw_notes()
    assert raw_key_ids() == ["kb"]
    assert decrypted_patients(tables) == [*PATIENTS, ("New Person", "x")]
    assert decrypted_notes(tables) == NOTES
    # Re-encrypted values are new ciphertexts; NULLs stay NULL; values already under B are left byte for byte.
    for pk, (name, ssn) in before_patients.items():
        if pk != john.pk:
            assert after_patients[pk][0] != name
        assert (after_patients[pk][1] is None) == (ssn is None)
        if ssn is not None:
            assert after_patients[pk][1] != ssn
    assert after_patients[john.pk][0] == untouched_before[john.pk]
    assert after_patients[newcomer.pk] == untouched_before[newcomer.pk]
    assert [after_notes[note.pk] is None for note in notes] == [False, True, False]
    assert after_notes[notes[0].pk] != before_notes[notes[0].pk]
    with tenant_scope(john.customer_id):
        assert tables.patient.objects.get(pk=john.pk).ssn == "111-22-3333"

    (event,) = rotation_events()
    assert event.customer_id is None
    assert event.metadata == {
        "primary_key_id": "kb",
        "key_ids": ["kb", "ka"],
        "batch_size": 2,
        "completed": True,
        "rows_scanned": 9,
        "values_reencrypted": 9,
        "models": expected_models_metadata(
            tables,
            RotationNote={"rows_scanned": 3, "values_reencrypted": 2},
            RotationPatient={"rows_scanned": 6, "values_reencrypted": 7},
        ),
    }
    serialized = json.dumps(event.metadata, ensure_ascii=False)
    plaintexts = [value for row in PATIENTS for value in row if value] + [n for n in NOTES if n]
    assert [value for value in plaintexts if value in serialized] == []
    assert spec_a.split(":", 1)[1] not in serialized
    assert spec_b.split(":", 1)[1] not in serialized

    # A second run finds nothing to do and changes nothing.
    lines = rotate()
    assert "core.RotationNote: 3 rows scanned, 0 values re-encrypted" in lines
    assert "core.RotationPatient: 6 rows scanned, 0 values re-encrypted" in lines
    assert lines[-1:] == [
        f"Total: {n_models} models, 9 rows scanned, 0 values re-encrypted (primary key id 'kb')",
    ]
    assert raw_patients() == after_patients
    assert raw_notes() == after_notes
    second = rotation_events()[1]
    assert (second.metadata["batch_size"], second.metadata["values_reencrypted"]) == (1000, 0)

    # Key A retired: everything still decrypts.
    settings.PHI_ENCRYPTION_KEYS = spec_b
    assert decrypted_patients(tables) == [*PATIENTS, ("New Person", "x")]
    assert decrypted_notes(tables) == NOTES


def test_dry_run_changes_nothing(
    settings: Settings, tables: RotationModels, spec_a: str, spec_b: str
) -> None:
    seed(tables)
    before_patients, before_notes = raw_patients(), raw_notes()
    settings.PHI_ENCRYPTION_KEYS = f"{spec_b},{spec_a}"
    n_models = len(encrypted_models()[0])

    lines = rotate("--dry-run", "--batch-size", "3")

    assert "core.RotationNote: 3 rows scanned, 2 values would be re-encrypted" in lines
    assert "core.RotationPatient: 5 rows scanned, 8 values would be re-encrypted" in lines
    assert lines[-1:] == [
        f"Total: {n_models} models, 8 rows scanned, 10 values would be re-encrypted (primary key id 'kb') "
        "[dry run, nothing written]",
    ]
    assert raw_patients() == before_patients
    assert raw_notes() == before_notes
    assert raw_key_ids() == ["ka"]
    assert rotation_events() == []


def test_token_under_a_removed_key_stops_the_run_and_the_committed_part_is_audited(
    settings: Settings, tables: RotationModels, spec_a: str, spec_b: str
) -> None:
    notes = [tables.note.objects.create(body=body) for body in ("first", "second")]
    spec_z = new_key_spec("kz")
    settings.PHI_ENCRYPTION_KEYS = spec_z
    orphan = tables.note.objects.create(body="under a key that is later lost")
    settings.PHI_ENCRYPTION_KEYS = f"{spec_b},{spec_a}"

    with pytest.raises(PHIDecryptionError) as read_error:
        tables.note.objects.get(pk=orphan.pk)
    assert str(read_error.value) == "PHI token uses unknown key id 'kz' (not in PHI_ENCRYPTION_KEYS)"

    with pytest.raises(CommandError) as excinfo:
        rotate(batch_size=2)
    assert str(excinfo.value) == (
        f"core.RotationNote pk={orphan.pk} field body: "
        "PHI token uses unknown key id 'kz' (not in PHI_ENCRYPTION_KEYS)"
    )
    assert "later lost" not in str(excinfo.value)

    # The first batch was committed before the failure: rotated, and recorded as a partial rotation.
    raw = raw_notes()
    assert [crypto.key_id_of(raw[note.pk]) for note in notes] == ["kb", "kb"]  # type: ignore[arg-type]
    assert crypto.key_id_of(raw[orphan.pk]) == "kz"  # type: ignore[arg-type]
    assert list(tables.note.objects.filter(pk__in=[n.pk for n in notes]).values_list("body", flat=True)) == [
        "first",
        "second",
    ]
    (event,) = rotation_events()
    assert event.metadata["completed"] is False
    assert (event.metadata["rows_scanned"], event.metadata["values_reencrypted"]) == (2, 2)
    assert event.metadata["models"]["core.RotationNote"] == {"rows_scanned": 2, "values_reencrypted": 2}
    assert "core.RotationPatient" not in event.metadata["models"]


@pytest.mark.usefixtures("tables")
def test_no_stale_values_in_a_failed_run_means_no_audit(settings: Settings, spec_b: str) -> None:
    settings.PHI_ENCRYPTION_KEYS = spec_b
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO test_core_rotation_note (body) VALUES (%s)", ["plaintext that leaked"])
    with pytest.raises(CommandError) as excinfo:
        rotate()
    assert str(excinfo.value).endswith("field body: PHI token is malformed (expected 'v1:<key id>:<data>')")
    assert "leaked" not in str(excinfo.value)
    assert rotation_events() == []


@pytest.mark.usefixtures("tables")
def test_rejects_bad_options_and_bad_keyring(settings: Settings) -> None:
    with pytest.raises(CommandError) as excinfo:
        rotate(batch_size=0)
    assert str(excinfo.value) == "--batch-size must be at least 1"

    settings.PHI_ENCRYPTION_KEYS = "ka:c2hvcnQ="  # base64 of b"short"
    with pytest.raises(CommandError) as excinfo:
        rotate()
    assert str(excinfo.value) == "PHI_ENCRYPTION_KEYS: key 'ka' must decode to 32 bytes, got 5"
    assert rotation_events() == []
