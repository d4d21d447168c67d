"""Every minute, queue again the background jobs whose worker died (gxregistry/jobs.py)."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="Resume lost background jobs",
        defaults={"func": "gxregistry.jobs.resume_lost", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="Resume lost background jobs").delete()


class Migration(migrations.Migration):
    dependencies = [("gxregistry", "0001_initial"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
