"""Re-encrypt every PHI value that is not under the primary key of ``PHI_ENCRYPTION_KEYS`` (SPEC §10).

Rotation: put the new key first in ``PHI_ENCRYPTION_KEYS`` (keep the old ones after it), deploy, run this
command until it reports 0 values re-encrypted, then drop the old keys from the setting.

Every concrete, managed (``Meta.managed = True``), non-proxy model with ``EncryptedTextField`` columns is
scanned in primary-key order, ``--batch-size`` rows per transaction. Unmanaged models are skipped and named in
the output: their tables belong to something else (a view, another system) and are not ours to rewrite. Raw
ciphertexts are read through a ``Cast`` to text so the key id of each value is visible; rows are locked while
their batch is rewritten, so a concurrent update is never overwritten with an older value. Values are
rewritten with ``bulk_update`` on exactly the fields that need it, through ``_base_manager`` inside
``all_tenants_scope()`` (tenant-owned default managers refuse to run outside a scope). The command is
idempotent: interrupted, it can simply be run again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from upstream.audit.models import AuditAction
from upstream.audit.services import audit_record
from upstream.core.crypto import Keyring, PHIDecryptionError, get_keyring, key_id_of
from upstream.core.fields import EncryptedTextField
from upstream.tenancy.scoping import all_tenants_scope

EncryptedModel = tuple[type[models.Model], list[EncryptedTextField]]


@dataclass
class RotationStats:
    rows_scanned: int = 0
    values_reencrypted: int = 0


def encrypted_models() -> tuple[list[EncryptedModel], list[type[models.Model]]]:
    """``([(model, its encrypted fields)], [unmanaged models with encrypted fields])``, sorted by label.

    Only fields local to each model's table are listed, so multi-table inheritance never processes a parent's
    column twice; proxies are skipped because their concrete model covers the same table.
    """
    found: list[EncryptedModel] = []
    unmanaged: list[type[models.Model]] = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
        opts = model._meta
        if opts.proxy:
            continue
        fields = [f for f in opts.local_concrete_fields if isinstance(f, EncryptedTextField)]
        if not fields:
            continue
        if opts.managed:
            found.append((model, fields))
        else:
            unmanaged.append(model)
    return found, unmanaged


def rotate_model(
    *,
    model: type[models.Model],
    fields: list[EncryptedTextField],
    keyring: Keyring,
    batch_size: int,
    dry_run: bool,
    stats: RotationStats,
) -> None:
    """Re-encrypt (or, with ``dry_run``, count) the values of ``fields`` not under the primary key, adding
    to ``stats`` batch by batch (so a failure still leaves an accurate count of what was written)."""
    manager = model._base_manager
    aliases = {f"phi_raw_{index}": field for index, field in enumerate(fields)}
    # Cast to plain text so the column's converter does not decrypt: the key id must stay visible.
    raw_columns = {
        alias: Cast(field.name, output_field=models.TextField()) for alias, field in aliases.items()
    }
    primary = keyring.primary_key_id
    last_pk: Any = None
    while True:
        queryset = manager.order_by("pk")
        if last_pk is not None:
            queryset = queryset.filter(pk__gt=last_pk)
        with transaction.atomic(using=manager.db):
            if not dry_run:
                queryset = queryset.select_for_update(of=("self",))
            rows = list(queryset.annotate(**raw_columns).values_list("pk", *aliases)[:batch_size])
            stale_groups: dict[tuple[str, ...], list[models.Model]] = defaultdict(list)
            for pk, *tokens in rows:
                stale: dict[EncryptedTextField, str] = {}
                for field, token in zip(fields, tokens, strict=True):
                    if token is None:
                        continue
                    try:
                        if key_id_of(token) != primary:
                            stale[field] = keyring.decrypt(token)
                    except PHIDecryptionError as exc:
                        raise CommandError(f"{model._meta.label} pk={pk} field {field.name}: {exc}") from None
                if not stale:
                    continue
                instance = model(pk=pk)
                for field, plaintext in stale.items():
                    setattr(instance, field.attname, plaintext)
                stale_groups[tuple(field.name for field in stale)].append(instance)
            if not dry_run:
                for field_names, instances in stale_groups.items():
                    manager.bulk_update(instances, list(field_names))
            # Counted once the batch's writes succeeded; the transaction commits when the block exits.
            stats.rows_scanned += len(rows)
            stats.values_reencrypted += sum(len(names) * len(objs) for names, objs in stale_groups.items())
        if len(rows) < batch_size:
            return
        last_pk = rows[-1][0]


class Command(BaseCommand):
    help = "Re-encrypt PHI values that use a key other than the primary (first) key of PHI_ENCRYPTION_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows per transaction (default 1000)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write nothing.")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            keyring = get_keyring()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        found, unmanaged = encrypted_models()
        for model in unmanaged:
            self.stdout.write(f"{model._meta.label}: skipped (unmanaged table)")
        per_model: dict[str, RotationStats] = {}
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        try:
            with all_tenants_scope():
                for model, fields in found:
                    stats = per_model[model._meta.label] = RotationStats()
                    rotate_model(
                        model=model,
                        fields=fields,
                        keyring=keyring,
                        batch_size=batch_size,
                        dry_run=dry_run,
                        stats=stats,
                    )
                    self.stdout.write(
                        f"{model._meta.label}: {stats.rows_scanned} rows scanned, "
                        f"{stats.values_reencrypted} values {verb}"
                    )
        except Exception:
            # Batches already committed did change ciphertexts: that is audited even when a later one fails.
            if not dry_run and any(stats.values_reencrypted for stats in per_model.values()):
                self._audit(keyring, batch_size, per_model, completed=False)
            raise
        total_rows = sum(stats.rows_scanned for stats in per_model.values())
        total_values = sum(stats.values_reencrypted for stats in per_model.values())
        self.stdout.write(
            f"Total: {len(per_model)} models, {total_rows} rows scanned, {total_values} values {verb} "
            f"(primary key id {keyring.primary_key_id!r})"
            + (" [dry run, nothing written]" if dry_run else "")
        )
        if not dry_run:
            self._audit(keyring, batch_size, per_model, completed=True)

    def _audit(
        self, keyring: Keyring, batch_size: int, per_model: dict[str, RotationStats], *, completed: bool
    ) -> None:
        # Counts and key ids only: never values, never key material.
        audit_record(
            action=AuditAction.PHI_KEYS_ROTATED,
            metadata={
                "primary_key_id": keyring.primary_key_id,
                "key_ids": list(keyring.keys),
                "batch_size": batch_size,
                "completed": completed,
                "rows_scanned": sum(stats.rows_scanned for stats in per_model.values()),
                "values_reencrypted": sum(stats.values_reencrypted for stats in per_model.values()),
                "models": {label: asdict(stats) for label, stats in per_model.items()},
            },
        )
