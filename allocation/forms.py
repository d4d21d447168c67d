from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.templatetags.registry import fiscal_year as fiscal_year_label
from allocation.models import PlanInvestment, PlanResearch
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



# --- transition plans (§7) ---------------------------------------------------------------------------------

class PlanTextForm(forms.Form):
    group_boundary = forms.CharField(
        label=_("Boundary of the joint notification group"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For a joint notification: the companies the plan covers."))
    rd_expenses_yen = forms.CharField(
        label=_("Item 4③: total GX R&D expenses (yen)"), required=False, max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=_("The sum of the R&D project expenses behind the patents and projects listed."))
    rd_initiatives = forms.CharField(
        label=_("Item 5: initiatives in the GX technology categories"), required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Entities receiving the R&D allocation: the status of these initiatives and their place in the "
                    "plan to reach carbon neutrality."))
    other_initiatives = forms.CharField(label=_("Item 5: other initiatives"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, group=False, rd=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not group:
            del self.fields["group_boundary"]
        if not rd:  # item 4 and its part of item 5 are asked only of R&D allocation recipients
            del self.fields["rd_expenses_yen"], self.fields["rd_initiatives"]


class PlanEmissionsForm(forms.Form):
    """Items 1 and 2 as a grid: one direct and one indirect field per FY (t-CO2). A verified year's direct
    emissions are shown, not asked."""

    def __init__(self, *args, projection_years=(), actual_years=(), verified=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.verified = verified or {}
        self.grid = []
        for kind, years in (("projected", projection_years), ("actual", actual_years)):
            rows = []
            for fiscal_year in years:
                pair = []
                for part, label in (("direct", _("direct")), ("indirect", _("indirect"))):
                    name = f"{kind}_{fiscal_year}_{part}"
                    self.fields[name] = forms.CharField(
                        label=f"{fiscal_year_label(fiscal_year)} {label}", required=False, max_length=20,
                        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "num"}))
                    if kind == "actual" and part == "direct" and fiscal_year in self.verified:
                        self.fields[name].disabled = True
                        self.initial[name] = self.verified[fiscal_year]
                    pair.append(self[name])
                rows.append((fiscal_year, pair))
            self.grid.append((kind, rows))

    def rows(self) -> list[dict]:
        data = self.cleaned_data
        return [{"kind": kind, "fiscal_year": fiscal_year, "direct_t": data.get(f"{kind}_{fiscal_year}_direct"),
                 "indirect_t": data.get(f"{kind}_{fiscal_year}_indirect")}
                for kind, rows in self.grid for fiscal_year, _pair in rows]


class InvestmentRowForm(forms.Form):
    stage = forms.ChoiceField(label=_("plan or result"), choices=[("", "—"), *PlanInvestment.Stage.choices])
    measure = forms.CharField(label=_("reduction measure"), max_length=300)
    facilities = forms.CharField(label=_("facilities"), max_length=300)
    timing = forms.CharField(label=_("timing"), max_length=100)
    effect_t_per_year = forms.CharField(label=_("decarbonisation effect (t-CO2/year)"), max_length=20,
                                        widget=forms.TextInput(attrs={"inputmode": "numeric"}))


class ResearchRowForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=[("", "—"), *PlanResearch.Kind.choices])
    reference = forms.CharField(label=_("application number or project"), max_length=200)
    technology_category = forms.CharField(label=_("GX technology category"), max_length=200)


class RowsForm(forms.Form):
    """A table of rows (items 3 and 4) as one form: a formset with room for two more rows and a remove box."""

    row_form = None
    prefix_name = ""

    def __init__(self, data=None, *, initial_rows=(), **kwargs):
        super().__init__(data, **kwargs)
        formset = forms.formset_factory(self.row_form, extra=2, can_delete=True, max_num=50, validate_max=True)
        self.formset = formset(data, initial=list(initial_rows), prefix=self.prefix_name)

    def is_valid(self):
        return super().is_valid() & self.formset.is_valid()

    def rows(self) -> list[dict]:
        return [{k: v for k, v in form.cleaned_data.items() if k != "DELETE"} for form in self.formset.forms
                if form.has_changed() and not form.cleaned_data.get("DELETE")]


class InvestmentsForm(RowsForm):
    row_form = InvestmentRowForm
    prefix_name = "investments"


class ResearchForm(RowsForm):
    row_form = ResearchRowForm
    prefix_name = "research"


class PlanDocumentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    url = forms.URLField(label=_("Link"), required=False, max_length=500, assume_scheme="https",
                         help_text=_("An https:// link to the published document, or upload the PDF below."))
    file = forms.FileField(label=_("PDF"), required=False, help_text=_("At most 20 MB."))


class PlanImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=_("Columns: 区分 (予測 or 実績), 年度, 直接排出量, 間接排出量 — or kind, fiscal_year, direct_t, "
                    "indirect_t. CSV in UTF-8 or Shift_JIS."))
