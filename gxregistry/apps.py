from pathlib import Path

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

TRIGGER_HELPERS = Path(__file__).resolve().parent / "sql" / "trigger_helpers.sql"


def install_trigger_helpers(using, **kwargs):
    """pgtrigger's and pghistory's helpers without subtransactions (gxregistry/sql/trigger_helpers.sql)."""
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute(TRIGGER_HELPERS.read_text())


class GxRegistryConfig(AppConfig):
    name = "gxregistry"
    verbose_name = _("GX-ETS Registry")

    def ready(self):
        from gxregistry import operations

        operations.register_collector()  # the registry's gauges on /metrics
        # gxregistry is the last app, so this runs after every other app's migrations (and their triggers).
        post_migrate.connect(install_trigger_helpers, sender=self, dispatch_uid="gx_trigger_helpers")
