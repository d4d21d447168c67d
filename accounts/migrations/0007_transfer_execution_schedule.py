from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="Execute due transfers",
        defaults={"func": "accounts.transfers.transfers_execute_due", "schedule_type": "I", "minutes": 1,
                  "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="Execute due transfers").delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_transfers_trusted_accounts_suspension"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
