"""Forms of the verification pages: they parse input; the services decide."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organisation
from accounts.roles import Role
from gxregistry.pages import EmptyForm  # noqa: F401 - the pages' one form with nothing to type
from verification.models import (
    EmissionFactor,
    EmissionsLine,
    Engagement,
    Misstatement,
    Opinion,
    RegistrationApplication,
    RequirementEvidence,
    VerificationBody,
    WorkLogEntry,
)
from verification.services.bodies import APPLICATION_FIELDS

OTP_HELP = _("The 6-digit code your authenticator app shows now, or a backup code.")


def otp_field():
    return forms.CharField(label=_("Second-factor code"), max_length=16, help_text=OTP_HELP,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class ApplicationForm(forms.ModelForm):
    class Meta:
        model = RegistrationApplication
        fields = APPLICATION_FIELDS
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in APPLICATION_FIELDS
                   if name not in ("basic_qualification", "responsible_verifier")}


class EvidenceForm(forms.Form):
    requirement = forms.ChoiceField(label=_("Requirement"), choices=RequirementEvidence.Requirement.choices)
    file = forms.FileField(label=_("File"), help_text=_("PDF or XLSX, at most 20 MB. Only your body and METI can "
                                                        "download it."))


class DecisionForm(forms.Form):
    DECISIONS = [("request_information", _("Ask for more information")), ("register", _("Register")),
                 ("refuse", _("Refuse"))]
    decision = forms.ChoiceField(label=_("Decision"), choices=DECISIONS, widget=forms.RadioSelect)
    message = forms.CharField(label=_("Message to the body, or the reason for a refusal"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))
    registration_number = forms.CharField(label=_("Registration number"), max_length=30, required=False,
                                          help_text=_("For a first registration; a renewal keeps the number."))
    registered_on = forms.DateField(label=_("Registered on"), initial=timezone.localdate,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    otp_token = otp_field()


class BodyStateForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    otp_token = otp_field()


class ConflictForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("Regulated entity"), queryset=Organisation.objects.filter(
        kind=Organisation.Kind.REGULATED_ENTITY).order_by("name"))
    description = forms.CharField(label=_("Nature of the conflict"), widget=forms.Textarea(attrs={"rows": 2}))


class ActivityReportForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("Fiscal year"), min_value=2026, max_value=2100)
    summary = forms.CharField(label=_("Summary of the year's work"), widget=forms.Textarea(attrs={"rows": 4}))
    staff_count = forms.IntegerField(label=_("Verification staff"), min_value=0, max_value=100_000)
    complaints = forms.CharField(label=_("Complaints and appeals"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))


class EmissionsLineForm(forms.ModelForm):
    class Meta:
        model = EmissionsLine
        fields = ["facility", "process", "kind", "source", "method", "emission_factor_used", "activity", "activity_unit",
                  "emission_factor", "carbon_in_t", "carbon_out_t", "co2_concentration_pct", "flue_gas_nm3",
                  "model_emissions_t", "rated_t_per_hour", "hours_per_day", "operating_days", "historical_t",
                  "explanation", "accuracy_class", "instrument", "instrument_tolerance_pct", "instrument_upkeep"]
        widgets = {"explanation": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, report, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = report.organisation.facilities.order_by("code")
        from allocation.models import Process

        self.fields["process"].queryset = Process.objects.filter(facility__organisation=report.organisation).order_by(
            "facility__code", "code")
        self.fields["emission_factor_used"].queryset = EmissionFactor.objects.filter(fiscal_year=report.fiscal_year)
        self.fields["emission_factor_used"].help_text = _("Method 1: the default factor fills in the factor and unit.")


class LineDeleteForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput)


class ReportCreateForm(forms.Form):
    """Starting the FY's report: nothing to type."""


class CorrectionForm(forms.Form):
    reason = forms.CharField(label=_("What the correction is for"), widget=forms.Textarea(attrs={"rows": 2}))


class AppointForm(forms.Form):
    body = forms.ModelChoiceField(label=_("Registered verification body"), queryset=VerificationBody.objects.filter(
        status=VerificationBody.Status.REGISTERED).select_related("organisation").order_by("organisation__name"))
    purpose = forms.ChoiceField(label=_("What is to be verified"), choices=Engagement.Purpose.choices)
    due_on = forms.DateField(label=_("Opinion due on"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                             help_text=_("Blank: 31 July after the fiscal year."))


class TeamForm(forms.Form):
    team = forms.ModelMultipleChoiceField(label=_("Verification team"), queryset=None,
                                          widget=forms.CheckboxSelectMultiple)
    independent_reviewer = forms.ModelChoiceField(label=_("Independent reviewer"), queryset=None,
                                                  help_text=_("A verifier of the body who is not on the team."))

    def __init__(self, *args, body, **kwargs):
        super().__init__(*args, **kwargs)
        from accounts.models import User

        verifiers = User.objects.filter(pk__in=Membership.objects.filter(
            organisation=body.organisation, role=Role.VERIFIER, ended_at__isnull=True).values("user")).order_by(
            "full_name")
        self.fields["team"].queryset = verifiers
        self.fields["independent_reviewer"].queryset = verifiers


class WorkLogForm(forms.ModelForm):
    class Meta:
        model = WorkLogEntry
        fields = ["kind", "occurred_on", "facility", "description"]
        widgets = {"occurred_on": forms.DateInput(attrs={"type": "date"}),
                   "description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, engagement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = engagement.report.organisation.facilities.order_by("code")


class MisstatementForm(forms.ModelForm):
    class Meta:
        model = Misstatement
        fields = ["facility", "amount_t", "description", "corrected"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, engagement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = engagement.report.organisation.facilities.order_by("code")


class OpinionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Opinion"), choices=Opinion.Kind.choices, widget=forms.RadioSelect)
    standard = forms.ChoiceField(label=_("Standard"), choices=Opinion.Standard.choices)
    statement = forms.CharField(label=_("Opinion statement"), widget=forms.Textarea(attrs={"rows": 4}))
    otp_token = otp_field()


class CoverageConfirmForm(forms.Form):
    otp_token = otp_field()


class EmissionFactorForm(forms.ModelForm):
    class Meta:
        model = EmissionFactor
        fields = ["code", "name", "name_en", "unit", "factor", "accuracy_class"]


class LinesImportForm(forms.Form):
    import_file = forms.FileField(label=_("File"), help_text=_(
        "CSV (UTF-8, UTF-8 with BOM or Shift_JIS) or XLSX, at most 5 MB, with the template's columns. The file's "
        "lines replace the report's."))

    def clean_import_file(self):
        from pathlib import Path

        from allocation.forms import MAX_IMPORT_BYTES
        from gxregistry.importing import FORMATS_BY_EXTENSION

        upload = self.cleaned_data["import_file"]
        upload.extension = Path(upload.name).suffix.lower().lstrip(".")
        if upload.extension not in FORMATS_BY_EXTENSION:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."), code="import_format")
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB; split it."), code="import_size")
        return upload
