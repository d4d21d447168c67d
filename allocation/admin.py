from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from accounts.importing import JapaneseTextImportMixin
from allocation import resources
from allocation.models import Facility, FacilityEvent, Process, ProcessYear


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
