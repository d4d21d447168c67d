"""Registry administrators see the background jobs in the back office (their group's permissions are otherwise
set when someone is made an administrator; the market's new permissions reach it the same way)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMINISTRATORS_GROUP = "Registry administrators"


def grant(apps, schema_editor):
    for label in ("gxregistry", "market"):
        config = apps.get_app_config(label)
        config.models_module = True  # the migration state's stub has none; Django's own recipe for this
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name=ADMINISTRATORS_GROUP).first()
    if group is not None:
        Permission = apps.get_model("auth", "Permission")
        group.permissions.add(*Permission.objects.filter(content_type__app_label__in=["gxregistry", "market"]))


class Migration(migrations.Migration):
    dependencies = [("gxregistry", "0002_resume_lost_jobs_schedule"), ("market", "0001_initial"),
                    ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
