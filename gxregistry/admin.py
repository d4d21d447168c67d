from django.contrib import admin

from gxregistry.back_office import ReadOnlyAdmin
from gxregistry.models import Job


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Which jobs ran where, how often, and which failed for good (``gxregistry.jobs``)."""

    list_display = ("key", "enqueued_at", "started_on", "attempts", "finished_at", "error")
    list_filter = ("finished_at",)
    search_fields = ("key",)
