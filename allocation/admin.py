from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from allocation import resources, services
from allocation.models import (
    AllocationParameterSet,
    EntityFinancials,
    Facility,
    FacilityEvent,
    FacilitySuccession,
    Process,
    ProcessYear,
    SectorAllocationProfile,
    SectorBenchmark,
    SectorBenchmarkOfficialValue,
)
from gxregistry.errors import RegistryError
from gxregistry.importing import JapaneseTextImportMixin


class ProcessInline(admin.TabularInline):
    model = Process
    extra = 0
    show_change_link = True


class FacilityEventInline(admin.TabularInline):
    model = FacilityEvent
    extra = 0


@admin.register(Facility)
class FacilityAdmin(JapaneseTextImportMixin, ImportExportModelAdmin):
    resource_classes = [resources.FacilityResource]
    list_display = ["code", "name", "organisation", "prefecture", "energy_use_kl", "opened_on", "closed_on"]
    list_filter = ["prefecture", "organisation__sector"]
    search_fields = ["code", "name", "organisation__name", "organisation__corporate_number"]
    autocomplete_fields = ["organisation"]
    inlines = [ProcessInline, FacilityEventInline]
    list_select_related = ["organisation"]


@admin.register(FacilityEvent)
class FacilityEventAdmin(JapaneseTextImportMixin, ImportExportModelAdmin):
    resource_classes = [resources.FacilityEventResource]
    list_display = ["facility", "kind", "fiscal_year", "started_on", "completed_on"]
    list_filter = ["kind", "fiscal_year"]
    autocomplete_fields = ["facility"]


class ProcessYearInline(admin.TabularInline):
    model = ProcessYear
    extra = 0


@admin.register(Process)
class ProcessAdmin(JapaneseTextImportMixin, ImportExportModelAdmin):
    resource_classes = [resources.ProcessResource]
    list_display = ["code", "name", "facility", "method", "sector_benchmark", "emission_type"]
    list_filter = ["method", "emission_type", "benchmark_kind"]
    search_fields = ["code", "name", "facility__name", "sector_benchmark"]
    autocomplete_fields = ["facility"]
    inlines = [ProcessYearInline]
    list_select_related = ["facility"]


@admin.register(ProcessYear)
class ProcessYearAdmin(JapaneseTextImportMixin, ImportExportModelAdmin):
    resource_classes = [resources.ProcessYearResource]
    list_display = ["process", "fiscal_year", "activity", "emissions_t", "fuel_input_gj"]
    list_filter = ["fiscal_year"]
    autocomplete_fields = ["process"]
    list_select_related = ["process__facility"]


class OfficialValueInline(admin.TabularInline):
    model = SectorBenchmarkOfficialValue
    extra = 0
    fields = ["fiscal_year", "value", "reason", "set_by", "set_at"]
    readonly_fields = ["set_by", "set_at"]


@admin.register(SectorBenchmark)
class SectorBenchmarkAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "kind", "top_50", "top_32_5", "computed_at"]
    list_filter = ["kind", "direct_share_adjusted"]
    search_fields = ["key", "name"]
    readonly_fields = ["top_50", "top_32_5", "computed_at", "provenance"]
    inlines = [OfficialValueInline]
    actions = ["recompute_levels"]

    def save_formset(self, request, form, formset, change):
        # Official values go through the service so the setter and reason are recorded.
        if formset.model is not SectorBenchmarkOfficialValue:
            return super().save_formset(request, form, formset, change)
        for official in formset.save(commit=False):
            services.sector_benchmark_official_value_set(
                benchmark=form.instance, fiscal_year=official.fiscal_year, value=official.value,
                reason=official.reason, acting_user=request.user,
            )
        for deleted in formset.deleted_objects:
            deleted.delete()

    @admin.action(description=_("Recompute the top-50 % and top-32.5 % levels from FY2023-2025 data"))
    def recompute_levels(self, request, queryset):
        for benchmark in queryset:
            try:
                services.sector_benchmark_levels_compute(benchmark=benchmark, acting_user=request.user)
            except RegistryError as error:
                self.message_user(request, str(error), level=messages.ERROR)
            else:
                self.message_user(request, f"{benchmark.key}: {benchmark.provenance}")


@admin.register(AllocationParameterSet)
class AllocationParameterSetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "values", "note"]


@admin.register(SectorAllocationProfile)
class SectorAllocationProfileAdmin(admin.ModelAdmin):
    list_display = ["sector", "leakage_trade_share", "rd_category"]


@admin.register(EntityFinancials)
class EntityFinancialsAdmin(admin.ModelAdmin):
    list_display = ["organisation", "fiscal_year", "operating_profit_yen", "sales_yen", "gx_rd_spend_yen",
                    "rd_evidence_confirmed"]
    list_filter = ["fiscal_year", "rd_evidence_confirmed"]
    search_fields = ["organisation__name", "organisation__corporate_number"]
    autocomplete_fields = ["organisation"]


@admin.register(FacilitySuccession)
class FacilitySuccessionAdmin(admin.ModelAdmin):
    list_display = ["facility", "kind", "executed_on", "transferor", "successor"]
    list_filter = ["kind"]
    autocomplete_fields = ["facility", "transferor", "successor"]
