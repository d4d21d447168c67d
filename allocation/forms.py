from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from allocation.services import FORMATS_BY_EXTENSION, IMPORT_KINDS

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class FacilityDataImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=[(k, v[0]) for k, v in IMPORT_KINDS.items()])
    import_file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8, UTF-8 with BOM or Shift_JIS) or XLSX, at most 5 MB."),
    )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        extension = Path(upload.name).suffix.lower().lstrip(".")
        if extension not in FORMATS_BY_EXTENSION:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."), code="import_format")
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB; split it."), code="import_size")
        upload.extension = extension
        return upload


class CompliancePeriodForm(forms.Form):
    """An FY's terms (§1, §5, §6): obligation, prices, and the allocation parameters set for this FY."""

    surrender_deadline = forms.DateField(label=_("Surrender deadline"), widget=forms.DateInput(attrs={"type": "date"}),
                                         help_text=_("After the FY ends on 31 March."))
    upper_limit_price_yen = forms.CharField(label=_("Upper limit price (yen per t-CO2)"), max_length=20,
                                            help_text=_("An entity may pay this price instead of surrendering."))
    lower_limit_price_yen = forms.CharField(label=_("Lower limit price (yen per t-CO2)"), max_length=20,
                                            help_text=_("At or below it, GXA opens a reverse auction."))
    credit_cap_share = forms.CharField(label=_("Credit share"), max_length=10, initial="0.10",
                                       help_text=_("Credits may cover at most this share of verified emissions, 0 to 1."))
    gf_process_rate = forms.CharField(label=_("Grandfathering reduction rate, process CO2"), max_length=20,
                                      required=False, help_text=_("§5-3; the report sets no default, e.g. 0.010."))
    national_average_ef_t_per_mwh = forms.CharField(
        label=_("National average emission factor of electricity (t-CO2 per MWh)"), max_length=20, required=False,
        help_text=_("§5-2 direct-emission share, e.g. 0.000434."))
    average_allowance_price_yen = forms.CharField(
        label=_("Average allowance price of the FY (yen per t-CO2)"), max_length=20, required=False,
        help_text=_("Read by the next FY's leakage and R&D lines (§6-2, §6-3)."))
    other_parameters = forms.CharField(
        label=_("Other parameters"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line as name = value, with the engine's parameter names (listed in the registry's allocation rules)."))

    NAMED = ("gf_process_rate", "national_average_ef_t_per_mwh", "average_allowance_price_yen")

    def __init__(self, *args, benchmarks=(), **kwargs):
        super().__init__(*args, **kwargs)
        for benchmark in benchmarks:
            self.fields[f"official_{benchmark.key}"] = forms.CharField(
                label=f"{benchmark.name} ({benchmark.key})", required=False, max_length=20)

    def sections(self):
        """The form's fields in the groups the page shows them in."""
        groups = [(_("Obligation"), "", ("surrender_deadline", "credit_cap_share")),
                  (_("Price corridor"), "", ("lower_limit_price_yen", "upper_limit_price_yen")),
                  (_("Allocation parameters"), "", (*self.NAMED, "other_parameters")),
                  (_("Official sector benchmark values"),
                   _("Official benchmark value for the FY (t-CO2 per unit); blank: the path computed from the "
                     "sector's levels."), [n for n in self.fields if n.startswith("official_")])]
        return [(legend, hint, [self[name] for name in names]) for legend, hint, names in groups if names]

    def clean_other_parameters(self):
        parameters = {}
        for number, line in enumerate(self.cleaned_data["other_parameters"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise forms.ValidationError(_("Line %(n)s: write name = value.") % {"n": number})
            parameters[name.strip()] = value.strip()
        return parameters

    def parameters(self) -> dict:
        data = self.cleaned_data
        return {**data["other_parameters"], **{name: data[name].strip() for name in self.NAMED if data[name].strip()}}

    def official_values(self) -> dict:
        return {name.removeprefix("official_"): value.strip() or None
                for name, value in self.cleaned_data.items() if name.startswith("official_")}


class ApplicationEvidenceForm(forms.Form):
    gx_patents = forms.CharField(label=_("GX patents"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                 help_text=_("One per line: the patent application number and its GX Technology "
                                             "Classification (§6-3)."))
    green_innovation_fund_share = forms.CharField(
        label=_("Green Innovation Fund projects: self-funded share"), required=False, max_length=10,
        help_text=_("The share of the projects' cost the entity paid itself, 0 to 1 (§6-3)."))
    rd_confirmed_by = forms.CharField(label=_("R&D spend confirmed by"), required=False, max_length=200,
                                      help_text=_("An independent third party other than the registered "
                                                  "verification body (§6-3)."))
    rd_confirmation_reference = forms.CharField(label=_("Confirmation reference"), required=False, max_length=200)
    entity_note = forms.CharField(label=_("Note to the reviewer"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class FinancialsForm(forms.Form):
    """The entity's figures of the previous FY, read by the carbon leakage (§6-2) and R&D (§6-3) lines."""

    operating_profit_yen = forms.CharField(label=_("Operating profit (yen)"), required=False, max_length=25,
                                           help_text=_("Negative for a loss."))
    sales_yen = forms.CharField(label=_("Sales (yen)"), required=False, max_length=25)
    gx_rd_spend_yen = forms.CharField(label=_("GX R&D spend (yen)"), required=False, max_length=25)
    government_rd_support_yen = forms.CharField(label=_("Government R&D support (yen)"), required=False,
                                                max_length=25)


class ReturnForm(forms.Form):
    message = forms.CharField(label=_("What the entity should change"), widget=forms.Textarea(attrs={"rows": 3}))


class ComputeForm(forms.Form):
    adjustment_t = forms.CharField(
        label=_("Adjustment (t-CO2)"), required=False, max_length=20, initial="0",
        help_text=_("§5-1(2) other cases (a sharp drop in activity from an economic crisis or similar): a whole "
                    "number, negative to deduct; 0 for none."))
    adjustment_reason = forms.CharField(label=_("Reason for the adjustment"), required=False, max_length=300)
    rd_evidence_confirmed = forms.BooleanField(
        label=_("The R&D spend is confirmed by an independent third party"), required=False,
        help_text=_("§6-3: checked against the entity's evidence; without it the R&D line is not allocated."))

