from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import migrations
from django.utils import timezone

NAME = "Verification body expiry reminders"


def create_schedule(apps, schema_editor):
    # Daily at 09:00 JST, in office hours, so a reminder arrives when someone can act on it.
    tokyo = ZoneInfo("Asia/Tokyo")
    now = timezone.now().astimezone(tokyo)
    first = datetime.combine(now.date(), time(9, 0), tzinfo=tokyo)
    if first <= now:
        first += timedelta(days=1)
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME, defaults={"func": "verification.tasks.expiry_reminders_send", "schedule_type": "D",
                             "repeats": -1, "next_run": first})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("verification", "0001_initial"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
