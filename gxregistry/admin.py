from django.contrib import admin

from gxregistry.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only: which jobs ran where, how often, and which failed for good (``gxregistry.jobs``)."""

    list_display = ("key", "enqueued_at", "started_on", "attempts", "finished_at", "error")
    list_filter = ("finished_at",)
    search_fields = ("key",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
