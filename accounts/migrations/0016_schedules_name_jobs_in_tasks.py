"""The transfer schedule names its job in accounts.tasks (jobs live there; the transfer workflow moved
into accounts.ledger.transfers). Schedules are rows, so the stored name is updated here."""

from django.db import migrations

OLD, NEW = "accounts.transfers.transfers_execute_due", "accounts.tasks.transfers_execute_due"


def forward(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=OLD).update(func=NEW)


def backward(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=NEW).update(func=OLD)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0015_ledger_conservation_routes_reversals"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(forward, backward)]
