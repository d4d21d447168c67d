from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
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
from gxregistry.importing import JapaneseTextImportMixin, UnreadableFile


class FacilityDataImportAdminMixin(JapaneseTextImportMixin):
    """The back office's import: django-import-export's preview, then the write through
    ``services.facility_data_import``, the one service that authorizes and audits it."""

    import_kind = ""  # a key of services.IMPORT_KINDS

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return super().process_import(request, **kwargs)  # the library's page for a broken confirmation
        input_format = self.get_import_formats()[int(confirm_form.cleaned_data["format"])](encoding=self.from_encoding)
        storage = self.get_tmp_storage_class()(
            name=confirm_form.cleaned_data["import_file_name"],
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(), **self.get_tmp_storage_class_kwargs(),
        )
        data = storage.read()
        storage.remove()
        try:
            outcome = services.facility_data_import(
                acting_user=request.user, organisation=None, kind=self.import_kind,
                data=data.encode("utf-8") if isinstance(data, str) else data,
                extension=input_format.get_extension(), dry_run=False,
            )
        except (RegistryError, UnreadableFile) as error:
            self.message_user(request, str(getattr(error, "message", error)), level=messages.ERROR)
        else:
            if outcome.ok:
                totals = outcome.totals
                self.message_user(request, _("Imported %(name)s: %(new)d new, %(update)d updated, %(skip)d unchanged.")
                                  % {"name": confirm_form.cleaned_data.get("original_file_name", ""), "new": totals.get("new", 0), "update": totals.get("update", 0),
                                     "skip": totals.get("skip", 0)})
            else:
                for number, message in outcome.row_errors:
                    self.message_user(request, f"{number or ''} {message}".strip(), level=messages.ERROR)
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")


class ProcessInline(admin.TabularInline):
    model = Process
    extra = 0
    show_change_link = True


class FacilityEventInline(admin.TabularInline):
    model = FacilityEvent
    extra = 0


@admin.register(Facility)
class FacilityAdmin(FacilityDataImportAdminMixin, ImportExportModelAdmin):
    import_kind = "facilities"
    resource_classes = [resources.FacilityResource]
    list_display = ["code", "name", "organisation", "prefecture", "energy_use_kl", "opened_on", "last_operating_day"]
    list_filter = ["prefecture", "organisation__sector"]
    search_fields = ["code", "name", "organisation__name", "organisation__corporate_number"]
    autocomplete_fields = ["organisation"]
    inlines = [ProcessInline, FacilityEventInline]
    list_select_related = ["organisation"]


@admin.register(FacilityEvent)
class FacilityEventAdmin(FacilityDataImportAdminMixin, ImportExportModelAdmin):
    import_kind = "facility_events"
    resource_classes = [resources.FacilityEventResource]
    list_display = ["facility", "kind", "fiscal_year", "started_on", "completed_on"]
    list_filter = ["kind", "fiscal_year"]
    autocomplete_fields = ["facility"]


class ProcessYearInline(admin.TabularInline):
    model = ProcessYear
    extra = 0


@admin.register(Process)
class ProcessAdmin(FacilityDataImportAdminMixin, ImportExportModelAdmin):
    import_kind = "processes"
    resource_classes = [resources.ProcessResource]
    list_display = ["code", "name", "facility", "method", "sector_benchmark", "emission_type"]
    list_filter = ["method", "emission_type", "benchmark_kind"]
    search_fields = ["code", "name", "facility__name", "sector_benchmark"]
    autocomplete_fields = ["facility"]
    inlines = [ProcessYearInline]
    list_select_related = ["facility"]


@admin.register(ProcessYear)
class ProcessYearAdmin(FacilityDataImportAdminMixin, ImportExportModelAdmin):
    import_kind = "process_years"
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
