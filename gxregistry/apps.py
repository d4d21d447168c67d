from django.apps import AppConfig


class GxRegistryConfig(AppConfig):
    name = "gxregistry"
    verbose_name = "GX-ETS Registry"

    def ready(self):
        from gxregistry import operations

        operations.register_collector()  # the registry's gauges on /metrics
