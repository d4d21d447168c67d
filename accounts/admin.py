from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from accounts import services
from accounts.forms import OrganisationAdminForm
from accounts.models import CloseStakeholder, JointNotificationGroup, Membership, Organisation, User
from gxregistry.errors import RegistryError
from gxregistry.importing import JapaneseTextImportMixin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        (_("Status"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)
    readonly_fields = ["last_login", "date_joined"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "started_at", "ended_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # memberships are created through MembershipAdmin, which calls the service


@admin.register(Organisation)
class OrganisationAdmin(JapaneseTextImportMixin, ImportExportModelAdmin):
    form = OrganisationAdminForm
    list_display = ["name", "kind", "corporate_number", "sector"]
    list_filter = ["kind", "sector"]
    search_fields = ["name", "name_kana", "name_en", "corporate_number"]
    inlines = [MembershipInline]


class CloseStakeholderInline(admin.TabularInline):
    model = CloseStakeholder
    extra = 1
    autocomplete_fields = ["entity"]


@admin.register(JointNotificationGroup)
class JointNotificationGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "notifying_entity"]
    autocomplete_fields = ["notifying_entity"]
    inlines = [CloseStakeholderInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "started_at", "ended_at"]
    list_filter = ["role", "organisation__kind"]
    search_fields = ["user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
    actions = ["end_memberships"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "organisation", "role", "started_at", "ended_at"] if obj else ["started_at", "ended_at"]

    def save_model(self, request, obj, form, change):
        if not change:  # the service grants the role's object permissions
            created = services.membership_create(
                user=obj.user, organisation=obj.organisation, role=obj.role, acting_user=request.user
            )
            obj.pk = created.pk

    def has_delete_permission(self, request, obj=None):
        return False  # a membership is ended, never deleted: its history stays

    @admin.action(description=_("End the selected memberships"))
    def end_memberships(self, request, queryset):
        for membership in queryset.filter(ended_at__isnull=True):
            try:
                services.membership_end(membership=membership, acting_user=request.user)
            except RegistryError as refusal:
                self.message_user(request, f"{membership}: {refusal.message}", level=messages.ERROR)
