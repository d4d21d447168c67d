"""The Django admin's base for records that change only through services (which ask for a second factor, a
reason, a state check the admin cannot): the back office shows them and changes nothing."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
