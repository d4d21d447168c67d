"""django-import-export resources for facility data.

Rows name their owner by corporate number and facility/process code, the
identifiers a company and METI share, never by database ids.
"""

from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from accounts.models import Organisation
from allocation.models import Facility, FacilityEvent, Process, ProcessYear


class _LookupWidget(widgets.ForeignKeyWidget):
    """A foreign key found from several columns, with a message naming them."""

    columns: tuple[str, ...] = ()
    not_found = ""
    # Set by ScopedResource: the organisations this import may write to. A row
    # for any other organisation reads as "not found", like one that does not
    # exist, so an import never confirms another company's data.
    allowed_organisations = None

    def scope(self, queryset, organisation_path):
        if self.allowed_organisations is None:
            return queryset
        return queryset.filter(**{f"{organisation_path}__in": self.allowed_organisations})

    def get_queryset(self, value, row, *args, **kwargs):
        return self.scope(self.model.objects.all(), self.model.organisation_lookup)

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            raise ValueError(_("This column is required."))
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            found = {column: (row or {}).get(column) for column in self.columns}
            raise ValueError(self.not_found % found) from None


class OrganisationWidget(_LookupWidget):
    columns = ("corporate_number",)

    def __init__(self):
        super().__init__(Organisation, "corporate_number")
        self.not_found = _("No regulated entity has corporate number %(corporate_number)s.")

    def get_queryset(self, value, row, *args, **kwargs):
        return self.scope(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY), "pk")


class FacilityWidget(_LookupWidget):
    columns = ("corporate_number", "facility_code")

    def __init__(self):
        super().__init__(Facility, "code")
        self.not_found = _("No facility %(facility_code)s for corporate number %(corporate_number)s.")

    def get_lookup_kwargs(self, value, row, **kwargs):
        return {"code": value, "organisation__corporate_number": row.get("corporate_number")}


class ProcessWidget(_LookupWidget):
    columns = ("corporate_number", "facility_code", "process_code")

    def __init__(self):
        super().__init__(Process, "code")
        self.not_found = _(
            "No process %(process_code)s at facility %(facility_code)s of corporate number %(corporate_number)s."
        )

    def get_lookup_kwargs(self, value, row, **kwargs):
        return {
            "code": value,
            "facility__code": row.get("facility_code"),
            "facility__organisation__corporate_number": row.get("corporate_number"),
        }


class ScopedResource(resources.ModelResource):
    """A resource that, given ``allowed_organisations``, writes only to those."""

    def __init__(self, allowed_organisations=None, **kwargs):
        super().__init__(**kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, _LookupWidget):
                field.widget.allowed_organisations = allowed_organisations


class FacilityResource(ScopedResource):
    organisation = fields.Field("organisation", "corporate_number", widget=OrganisationWidget())
    code = fields.Field("code", "facility_code")

    class Meta:
        model = Facility
        fields = ("organisation", "code", "name", "prefecture", "address", "energy_use_kl", "opened_on", "last_operating_day")
        import_id_fields = ("organisation", "code")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class FacilityEventResource(ScopedResource):
    corporate_number = fields.Field(column_name="corporate_number", attribute="facility__organisation__corporate_number", readonly=True)
    facility = fields.Field("facility", "facility_code", widget=FacilityWidget())

    class Meta:
        model = FacilityEvent
        fields = ("corporate_number", "facility", "kind", "fiscal_year", "started_on", "completed_on", "description")
        import_id_fields = ("facility", "kind", "fiscal_year")
        clean_model_instances = True


class ProcessResource(ScopedResource):
    corporate_number = fields.Field(column_name="corporate_number", attribute="facility__organisation__corporate_number", readonly=True)
    facility = fields.Field("facility", "facility_code", widget=FacilityWidget())
    code = fields.Field("code", "process_code")

    class Meta:
        model = Process
        fields = ("corporate_number", "facility", "code", "name", "method", "benchmark_kind",
                  "sector_benchmark", "emission_type", "activity_unit")
        import_id_fields = ("facility", "code")
        clean_model_instances = True
        skip_unchanged = True


class ProcessYearResource(ScopedResource):
    corporate_number = fields.Field(column_name="corporate_number", attribute="process__facility__organisation__corporate_number", readonly=True)
    facility_code = fields.Field(column_name="facility_code", attribute="process__facility__code", readonly=True)
    process = fields.Field("process", "process_code", widget=ProcessWidget())

    class Meta:
        model = ProcessYear
        fields = ("corporate_number", "facility_code", "process", "fiscal_year", "activity", "emissions_t",
                  "fuel_input_gj", "days_operated", "by_product_fuel_gj", "by_product_fuel_supplied_gj",
                  "purchased_electricity_mwh", "energy_intensity_change", "inspection_excluded_activity",
                  "inspection_excluded_emissions_t", "inspection_excluded_fuel_gj")
        import_id_fields = ("process", "fiscal_year")
        clean_model_instances = True
        skip_unchanged = True
