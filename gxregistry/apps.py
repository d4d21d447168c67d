from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GxRegistryConfig(AppConfig):
    name = "gxregistry"
    verbose_name = _("GX-ETS Registry")

    def ready(self):
        from gxregistry import operations

        operations.register_collector()  # the registry's gauges on /metrics
