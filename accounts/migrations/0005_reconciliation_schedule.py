from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import migrations
from django.utils import timezone


def create_schedule(apps, schema_editor):
    # Daily at 02:30 JST (a daily schedule keeps its time of day; cron would need croniter).
    tokyo = ZoneInfo("Asia/Tokyo")
    now = timezone.now().astimezone(tokyo)
    first = datetime.combine(now.date(), time(2, 30), tzinfo=tokyo)
    if first <= now:
        first += timedelta(days=1)
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="Nightly ledger reconciliation",
        defaults={"func": "accounts.tasks.reconcile_and_alert", "schedule_type": "D", "repeats": -1,
                  "next_run": first},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="Nightly ledger reconciliation").delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_ledger_triggers"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
