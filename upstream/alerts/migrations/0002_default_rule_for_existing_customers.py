"""Data migration: give every existing customer the default alert rule of SPEC §8 (new customers get it from
``customer_create``). Idempotent (skips customers that have a rule of that name); reversing keeps the rules."""

from django.db import migrations

DEFAULT_RULE_NAME = "Worsening, severity ≥ 0.25"


def create_default_rules(apps, schema_editor):
    Customer = apps.get_model("tenancy", "Customer")
    AlertRule = apps.get_model("alerts", "AlertRule")
    customer_ids = Customer.objects.values_list("pk", flat=True).iterator(chunk_size=1000)
    batch = []
    for customer_id in customer_ids:
        batch.append(
            AlertRule(
                customer_id=customer_id,
                name=DEFAULT_RULE_NAME,
                drift_types=[],
                payer="",
                cpt_group="",
                min_severity=0.25,
                worsening_only=True,
                email_recipients=[],
                email_admins=True,
                webhook_enabled=True,
                is_default=True,
            )
        )
        if len(batch) >= 1000:
            AlertRule.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        AlertRule.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_default_rules, migrations.RunPython.noop, elidable=True),
    ]
