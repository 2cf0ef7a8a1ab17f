"""EncryptedTextField against a real PostgreSQL table: what Python sees, what the column holds, what queries
are allowed, and how the field deconstructs for migrations."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps.registry import Apps
from django.core import checks
from django.core.exceptions import FieldError
from django.db import connection, models
from django.db.migrations.writer import MigrationWriter
from django.db.models import F, Q
from pytest_django.fixtures import Settings

from upstream.core import crypto
from upstream.core.crypto import PHIDecryptionError
from upstream.core.fields import EncryptedFieldLookupError, EncryptedTextField
from upstream.core.local_keys import new_key_spec

# A private app registry: these test-only models never join the global one, so they cannot leak into other
# tests (makemigrations checks, rotate_phi_keys discovery). Their tables live inside each test's transaction.
_test_apps = Apps()


class PHISample(models.Model):  # noqa: DJ008  (test-only)
    name = EncryptedTextField()
    note = EncryptedTextField(null=True, blank=True)

    objects: models.Manager[PHISample] = models.Manager()

    class Meta:
        apps = _test_apps
        app_label = "core"
        db_table = "test_core_phisample"


class UniquePHI(models.Model):  # noqa: DJ008  (test-only)
    value = EncryptedTextField(unique=True)

    class Meta:
        apps = _test_apps
        app_label = "core"
        db_table = "test_core_uniquephi"


@pytest.fixture
def spec_a() -> str:
    return new_key_spec("ka")


@pytest.fixture
def phi_table(db: None, settings: Settings, spec_a: str) -> None:
    settings.PHI_ENCRYPTION_KEYS = spec_a
    with connection.schema_editor() as editor:
        editor.create_model(PHISample)


def raw_row(pk: int) -> tuple[str | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, note FROM test_core_phisample WHERE id = %s", [pk])
        row = cursor.fetchone()
    assert row is not None
    return row[0], row[1]


def raw_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM test_core_phisample ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


# --- round trip and storage ---------------------------------------------------------------------------------

VALUES = ["Jane Doe", "Zoë Ñúñez-O'Brien 李雷 🩺", "", "  spaced  ", "x" * 5000]


@pytest.mark.usefixtures("phi_table")
@pytest.mark.parametrize("value", VALUES)
def test_round_trip_through_the_database(value: str) -> None:
    sample = PHISample.objects.create(name=value, note=value)
    fresh = PHISample.objects.get(pk=sample.pk)
    assert fresh.name == value
    assert fresh.note == value
    sample.refresh_from_db()
    assert sample.name == value


@pytest.mark.usefixtures("phi_table")
@pytest.mark.parametrize("value", [v for v in VALUES if v])
def test_raw_column_holds_a_token_under_the_primary_key_not_the_plaintext(value: str) -> None:
    sample = PHISample.objects.create(name=value, note=None)
    raw_name, raw_note = raw_row(sample.pk)
    assert raw_name is not None
    assert raw_name != value
    assert value not in raw_name
    assert value.strip() not in raw_name
    assert raw_name.startswith("v1:ka:")
    assert crypto.decrypt(raw_name) == value
    assert raw_note is None


@pytest.mark.usefixtures("phi_table")
def test_none_is_null_and_empty_string_is_an_encrypted_token() -> None:
    sample = PHISample.objects.create(name="", note=None)
    raw_name, raw_note = raw_row(sample.pk)
    assert raw_note is None
    assert raw_name is not None
    assert raw_name != ""
    assert raw_name.startswith("v1:ka:")
    assert crypto.decrypt(raw_name) == ""
    fresh = PHISample.objects.get(pk=sample.pk)
    assert fresh.name == ""
    assert fresh.note is None


@pytest.mark.usefixtures("phi_table")
def test_equal_values_are_stored_as_different_ciphertexts() -> None:
    first = PHISample.objects.create(name="Jane Doe")
    second = PHISample.objects.create(name="Jane Doe")
    assert raw_row(first.pk)[0] != raw_row(second.pk)[0]
    first.save()
    assert raw_row(first.pk)[0] != raw_row(second.pk)[0]


@pytest.mark.usefixtures("phi_table")
def test_every_write_path_encrypts() -> None:
    created = PHISample.objects.create(name="created")
    saved = PHISample(name="saved")
    saved.save()
    bulk = PHISample.objects.bulk_create([PHISample(name="bulk-1"), PHISample(name="bulk-2", note="n")])
    bulk[0].name = "bulk-updated"
    PHISample.objects.bulk_update([bulk[0]], ["name"])
    PHISample.objects.filter(pk=saved.pk).update(name="queryset-updated")
    created.name = "created-then-saved"
    created.save(update_fields=["name"])

    assert all(raw.startswith("v1:ka:") for raw in raw_names())
    assert [crypto.decrypt(raw) for raw in raw_names()] == [
        "created-then-saved",
        "queryset-updated",
        "bulk-updated",
        "bulk-2",
    ]
    assert list(PHISample.objects.order_by("pk").values_list("name", flat=True)) == [
        "created-then-saved",
        "queryset-updated",
        "bulk-updated",
        "bulk-2",
    ]
    assert list(PHISample.objects.order_by("pk").values("note")) == [
        {"note": None},
        {"note": None},
        {"note": None},
        {"note": "n"},
    ]


@pytest.mark.usefixtures("phi_table")
def test_non_string_values_are_stored_as_their_text() -> None:
    sample = PHISample.objects.create(name=12345)
    assert PHISample.objects.get(pk=sample.pk).name == "12345"
    field = PHISample._meta.get_field("name")
    assert field.get_prep_value(None) is None
    token = field.get_prep_value(678)
    assert token is not None
    assert crypto.decrypt(token) == "678"


@pytest.mark.usefixtures("phi_table")
def test_reads_follow_the_key_ring(settings: Settings, spec_a: str) -> None:
    old = PHISample.objects.create(name="under A")
    spec_b = new_key_spec("kb")
    settings.PHI_ENCRYPTION_KEYS = f"{spec_b},{spec_a}"
    assert PHISample.objects.get(pk=old.pk).name == "under A"
    new = PHISample.objects.create(name="under B")
    assert raw_row(old.pk)[0].startswith("v1:ka:")  # type: ignore[union-attr]
    assert raw_row(new.pk)[0].startswith("v1:kb:")  # type: ignore[union-attr]

    settings.PHI_ENCRYPTION_KEYS = spec_b
    assert PHISample.objects.get(pk=new.pk).name == "under B"
    with pytest.raises(PHIDecryptionError) as excinfo:
        PHISample.objects.get(pk=old.pk)
    assert str(excinfo.value) == "PHI token uses unknown key id 'ka' (not in PHI_ENCRYPTION_KEYS)"


@pytest.mark.usefixtures("phi_table")
def test_a_plaintext_or_tampered_column_fails_loudly_on_read() -> None:
    sample = PHISample.objects.create(name="Jane Doe")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE test_core_phisample SET name = %s WHERE id = %s", ["Jane Doe", sample.pk])
    with pytest.raises(PHIDecryptionError) as excinfo:
        PHISample.objects.get(pk=sample.pk)
    assert str(excinfo.value) == "PHI token is malformed (expected 'v1:<key id>:<data>')"


# --- queries ------------------------------------------------------------------------------------------------


def lookup_message(lookup: str, field: str = "name") -> str:
    return (
        f"core.PHISample.{field} is an EncryptedTextField and cannot be queried with '{lookup}': its "
        "ciphertexts are randomized, so comparisons never match. Only 'isnull' is supported; for exact "
        "search filter on the field's blind index (core.crypto.blind_index) instead."
    )


@pytest.mark.usefixtures("phi_table")
@pytest.mark.parametrize(
    ("filters", "lookup"),
    [
        ({"name": "Jane Doe"}, "exact"),
        ({"name__exact": "Jane Doe"}, "exact"),
        ({"name__iexact": "jane doe"}, "iexact"),
        ({"name__contains": "Jane"}, "contains"),
        ({"name__icontains": "jane"}, "icontains"),
        ({"name__startswith": "J"}, "startswith"),
        ({"name__in": ["Jane Doe"]}, "in"),
        ({"name__gt": "A"}, "gt"),
        ({"name__regex": "^J"}, "regex"),
        ({"name": F("note")}, "exact"),
        ({"name__lower": "jane doe"}, "lower"),
        ({"name__unaccent__exact": "Jane"}, "unaccent"),
    ],
)
def test_lookups_other_than_isnull_raise(filters: dict[str, Any], lookup: str) -> None:
    PHISample.objects.create(name="Jane Doe")
    with pytest.raises(EncryptedFieldLookupError) as excinfo:
        PHISample.objects.filter(**filters)
    assert str(excinfo.value) == lookup_message(lookup)
    assert isinstance(excinfo.value, FieldError)


@pytest.mark.usefixtures("phi_table")
def test_lookup_errors_through_other_query_apis() -> None:
    with pytest.raises(EncryptedFieldLookupError, match=r"^core\.PHISample\.note .* with 'exact'"):
        PHISample.objects.exclude(note="x")
    with pytest.raises(EncryptedFieldLookupError, match=r"^core\.PHISample\.name .* with 'exact'"):
        PHISample.objects.get(Q(name="Jane Doe") | Q(pk=1))
    with pytest.raises(EncryptedFieldLookupError, match=r"^core\.PHISample\.name .* with 'exact'"):
        PHISample.objects.get_or_create(name="Jane Doe")


@pytest.mark.usefixtures("phi_table")
def test_isnull_and_none_lookups_work() -> None:
    PHISample.objects.bulk_create(
        [
            PHISample(name="a", note=None),
            PHISample(name="b", note=None),
            PHISample(name="c", note=""),
            PHISample(name="d", note="x"),
        ]
    )
    assert PHISample.objects.filter(note__isnull=True).count() == 2
    assert PHISample.objects.filter(note=None).count() == 2
    assert PHISample.objects.exclude(note=None).count() == 2
    assert sorted(PHISample.objects.filter(note__isnull=False).values_list("name", flat=True)) == ["c", "d"]
    assert PHISample.objects.filter(name__isnull=True).count() == 0


# --- migrations and checks ----------------------------------------------------------------------------------


def test_deconstruct_round_trips() -> None:
    field = PHISample._meta.get_field("note")
    assert isinstance(field, EncryptedTextField)
    name, path, args, kwargs = field.deconstruct()
    assert (name, path, args, kwargs) == (
        "note",
        "upstream.core.fields.EncryptedTextField",
        [],
        {"null": True, "blank": True},
    )
    clone = EncryptedTextField(*args, **kwargs)
    assert clone.null is True
    assert clone.blank is True
    assert PHISample._meta.get_field("name").deconstruct()[1:] == (
        "upstream.core.fields.EncryptedTextField",
        [],
        {},
    )


def test_migration_writer_serializes_the_field() -> None:
    field = PHISample._meta.get_field("note")
    assert MigrationWriter.serialize(field) == (
        "upstream.core.fields.EncryptedTextField(blank=True, null=True)",
        {"import upstream.core.fields"},
    )


def test_column_type_is_text() -> None:
    assert PHISample._meta.get_field("name").db_type(connection) == "text"


def test_check_refuses_unique_encrypted_fields() -> None:
    errors = UniquePHI._meta.get_field("value").check()
    assert [(type(error), error.id) for error in errors] == [(checks.Error, "core.E001")]
    assert errors[0].msg == (
        "EncryptedTextField cannot be unique or a primary key: its ciphertexts are randomized."
    )
    assert PHISample._meta.get_field("name").check() == []
