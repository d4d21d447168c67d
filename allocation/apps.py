from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllocationConfig(AppConfig):
    name = "allocation"
    verbose_name = _("Allocation")

    def ready(self):
        from gxregistry import public_cache

        public_cache.connect()  # the public pages are dropped from the cache when what they show changes
