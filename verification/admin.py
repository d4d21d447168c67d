"""The back office shows the verification records; every change goes through the registry's pages and
their services (registration decisions need a second factor and a reason, which the admin cannot ask)."""

from django.contrib import admin

from gxregistry.back_office import ReadOnlyAdmin
from verification.models import (
    ActivityReport,
    ConflictDeclaration,
    CoverageDecision,
    EmissionFactor,
    EmissionsReport,
    Engagement,
    Opinion,
    RegistrationApplication,
    VerificationBody,
)


@admin.register(VerificationBody)
class VerificationBodyAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "registration_number", "status", "valid_from", "valid_until"]
    list_filter = ["status"]
    search_fields = ["organisation__name", "registration_number"]


@admin.register(RegistrationApplication)
class RegistrationApplicationAdmin(ReadOnlyAdmin):
    list_display = ["body", "kind", "status", "submitted_at", "decided_at"]
    list_filter = ["kind", "status"]


@admin.register(EmissionFactor)
class EmissionFactorAdmin(ReadOnlyAdmin):
    list_display = ["fiscal_year", "code", "name", "unit", "factor", "accuracy_class"]
    list_filter = ["fiscal_year", "accuracy_class"]


@admin.register(EmissionsReport)
class EmissionsReportAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "fiscal_year", "version", "status", "total_t", "submitted_at", "verified_at"]
    list_filter = ["fiscal_year", "status"]
    search_fields = ["organisation__name", "organisation__corporate_number"]


@admin.register(Engagement)
class EngagementAdmin(ReadOnlyAdmin):
    list_display = ["body", "report", "purpose", "status", "assurance_level", "due_on"]
    list_filter = ["status", "purpose", "assurance_level"]


@admin.register(Opinion)
class OpinionAdmin(ReadOnlyAdmin):
    list_display = ["engagement", "kind", "standard", "verified_t", "materiality_ratio", "signed_at"]
    list_filter = ["kind", "standard"]


admin.site.register([ConflictDeclaration, ActivityReport, CoverageDecision], ReadOnlyAdmin)
