"""Coverage (§2) and emissions reports (§3): the entity reports, facility by facility; the registry computes."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation
from accounts.roles import ACT
from allocation.adapter import parameters
from allocation.models import Facility, ProcessYear
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.transitions import transition_check
from verification import calculations
from verification.models import CoverageDecision, EmissionFactor, EmissionsLine, EmissionsReport

MANAGE_FACTORS = "verification.change_emissionfactor"
CONFIRM_COVERAGE = "verification.add_coveragedecision"
LINE_FIELDS = ("facility", "kind", "source", "method", "emission_factor_used", "activity_unit", "explanation",
               "accuracy_class", "instrument", "instrument_tolerance_pct", "instrument_upkeep",
               *EmissionsLine.FIGURES)


# The pure calculation module speaks English; these are the words people read for its refusals.
CALCULATION_MESSAGES = {
    "required for this method": gettext_lazy("required for this method"),
    "cannot be negative": gettext_lazy("cannot be negative"),
    "more carbon leaves in products than enters in raw materials": gettext_lazy(
        "more carbon leaves in products than enters in raw materials"),
    "a share of at most 100 %": gettext_lazy("a share of at most 100 %"),
    "at most 24": gettext_lazy("at most 24"),
    "at most 366": gettext_lazy("at most 366"),
}


def _refuse(message, field, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


# --- emission factors --------------------------------------------------------------------------------------

@state_change
def emission_factor_set(*, fiscal_year: int, code: str, name: str, name_en: str, unit: str, factor,
                        accuracy_class: str, acting_user) -> EmissionFactor:
    """Set a fuel's default emission factor for an FY (a new row per FY; the history keeps the old value)."""
    try:
        factor = Decimal(str(factor))
    except InvalidOperation:
        _refuse(_("Enter a number."), "factor")
    if not factor.is_finite() or factor < 0:
        _refuse(_("Enter a factor of zero or more."), "factor")
    with transaction.atomic(), audit_context(acting_user, action="emission_factor_set"):
        authorize(acting_user, MANAGE_FACTORS)
        emission_factor, _created = EmissionFactor.objects.update_or_create(
            fiscal_year=fiscal_year, code=code,
            defaults={"name": name, "name_en": name_en, "unit": unit, "factor": factor,
                      "accuracy_class": accuracy_class})
    return emission_factor


# --- coverage ----------------------------------------------------------------------------------------------

def reported_emissions(organisations, years) -> dict[int, dict[int, tuple[Decimal, str]]]:
    """{organisation id: {FY: (t-CO2, source)}}: a submitted or verified emissions report where there is
    one, else the facility data the entity loaded for the baseline (the SHK figures, §5-1)."""
    found: dict[int, dict[int, tuple[Decimal, str]]] = {}
    for organisation_id, fy, total in ProcessYear.objects.filter(
            process__facility__organisation__in=organisations, fiscal_year__in=years).values_list(
            "process__facility__organisation", "fiscal_year").annotate(total=Sum("emissions_t")):
        found.setdefault(organisation_id, {})[fy] = (total, "facility_data")
    for organisation_id, fy, total, status in EmissionsReport.objects.filter(
            organisation__in=organisations, fiscal_year__in=years,
            status__in=[EmissionsReport.Status.SUBMITTED, EmissionsReport.Status.UNDER_VERIFICATION,
                        EmissionsReport.Status.VERIFIED]).values_list("organisation", "fiscal_year", "total_t",
                                                                      "status"):
        found.setdefault(organisation_id, {})[fy] = (Decimal(total), status)
    return found


def coverage_list(fiscal_year: int):
    """[(entity, Coverage, sources by FY, confirmed decision or None)] for every regulated entity."""
    entities = list(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).order_by("name"))
    years = (fiscal_year - 3, fiscal_year - 2, fiscal_year - 1)
    reported = reported_emissions(entities, years)
    threshold = parameters().for_year(fiscal_year).coverage_threshold_t
    decisions = {d.organisation_id: d for d in CoverageDecision.objects.filter(fiscal_year=fiscal_year)}
    rows = []
    for entity in entities:
        figures = reported.get(entity.pk, {})
        result = calculations.coverage(fiscal_year, {fy: t for fy, (t, _source) in figures.items()}, threshold)
        rows.append((entity, result, {fy: source for fy, (_t, source) in figures.items()}, decisions.get(entity.pk)))
    return rows


@state_change
def coverage_confirm(*, fiscal_year: int, acting_user, otp_token) -> int:
    """An administrator confirms the FY's list of covered entities as the registry computes it now."""
    with transaction.atomic(), audit_context(acting_user, action="coverage_confirm", fiscal_year=fiscal_year):
        authorize(acting_user, CONFIRM_COVERAGE, fresh_code=otp_token)
        rows = coverage_list(fiscal_year)
        for entity, result, _sources, _decision in rows:
            CoverageDecision.objects.update_or_create(
                organisation=entity, fiscal_year=fiscal_year,
                defaults={"emissions": {str(y): (str(t) if t is not None else None)
                                        for y, t in zip(result.years, result.emissions_t, strict=True)},
                          "average_t": result.average_t.quantize(Decimal("0.001")),
                          "threshold_t": result.threshold_t, "covered": result.covered,
                          "confirmed_by": acting_user, "confirmed_at": timezone.now()})
    return len(rows)


# --- emissions reports -------------------------------------------------------------------------------------

def _locked_report(report) -> EmissionsReport:
    return EmissionsReport.objects.select_for_update().select_related("organisation").get(pk=report.pk)


@state_change
def emissions_report_create(*, organisation, fiscal_year: int, acting_user) -> EmissionsReport:
    with transaction.atomic(), audit_context(acting_user, action="emissions_report_create"):
        Organisation.objects.select_for_update().get(pk=organisation.pk)
        authorize(acting_user, ACT, organisation)
        if organisation.kind != Organisation.Kind.REGULATED_ENTITY:
            _refuse(_("Only a regulated entity reports emissions."), "organisation")
        if EmissionsReport.objects.filter(organisation=organisation, fiscal_year=fiscal_year).exclude(
                status=EmissionsReport.Status.SUPERSEDED).exists():
            _refuse(_("There is already a report for FY%(fy)s; a verified one is changed by a correction.")
                    % {"fy": fiscal_year}, "fiscal_year", ErrorCode.DUPLICATE)
        return EmissionsReport.objects.create(organisation=organisation, fiscal_year=fiscal_year,
                                              created_by=acting_user)


def line_emissions(fields: dict, fiscal_year: int) -> Decimal:
    """A line's tonnes from its figures, refusing with the figure's field named."""
    try:
        return calculations.line_emissions(
            fields["method"], {name: fields.get(name) for name in EmissionsLine.FIGURES},
            conservative_factor=parameters().for_year(fiscal_year).conservative_estimate_factor)
    except calculations.CalculationError as error:
        label = EmissionsLine._meta.get_field(error.field).verbose_name
        _refuse(f"{label}: {CALCULATION_MESSAGES.get(error.message, error.message)}", error.field)
    except ValueError:
        _refuse(_("Choose a method."), "method")


@state_change
def emissions_line_save(*, report, acting_user, line: EmissionsLine | None = None, **fields) -> EmissionsLine:
    """Add a line to a draft report, or change one; its emissions are computed here, never typed in."""
    unknown = set(fields) - set(LINE_FIELDS)
    if unknown:
        raise ValueError(f"not line fields: {sorted(unknown)}")
    with transaction.atomic(), audit_context(acting_user, action="emissions_line_save"):
        report = _locked_report(report)
        authorize(acting_user, ACT, report.organisation)
        if report.status not in EmissionsReport.EDITABLE:
            _refuse(_("Only a draft report can be changed."), "status", ErrorCode.INVALID_STATE)
        if line is None:
            line = EmissionsLine(report=report)
        elif line.report_id != report.pk:
            _refuse(_("This line belongs to another report."), "line")
        for name, value in fields.items():
            setattr(line, name, value)
        facility = line.facility if line.facility_id else None
        if facility is None or facility.organisation_id != report.organisation_id:
            _refuse(_("Choose one of the entity's facilities."), "facility")
        if line.kind not in EmissionsLine.Kind.values:
            _refuse(_("Choose energy-related or non-energy CO2."), "kind")
        if line.method == calculations.Method.ACTIVITY_FACTOR and line.emission_factor_used_id:
            default = line.emission_factor_used
            if default.fiscal_year != report.fiscal_year:
                _refuse(_("Choose a default factor of FY%(fy)s.") % {"fy": report.fiscal_year}, "emission_factor_used")
            if line.emission_factor is None:
                line.emission_factor = default.factor
            line.activity_unit = line.activity_unit or default.unit
            line.accuracy_class = line.accuracy_class or default.accuracy_class
        if line.method == calculations.Method.CONSERVATIVE and not line.explanation.strip():
            _refuse(_("Say why methods 1-4 could not be applied."), "explanation")
        line.emissions_t = line_emissions({"method": line.method, **line.figures()}, report.fiscal_year)
        line.save()
    return line


@state_change
def emissions_line_delete(*, line: EmissionsLine, acting_user) -> None:
    with transaction.atomic(), audit_context(acting_user, action="emissions_line_delete"):
        report = _locked_report(line.report)
        authorize(acting_user, ACT, report.organisation)
        if report.status not in EmissionsReport.EDITABLE:
            _refuse(_("Only a draft report can be changed."), "status", ErrorCode.INVALID_STATE)
        EmissionsLine.objects.filter(pk=line.pk, report=report).delete()


def accuracy_warnings(report: EmissionsReport) -> list[tuple[EmissionsLine, Decimal]]:
    """Lines whose instrument is less accurate than §3's table asks (shown to both sides, never refused)."""
    warnings = []
    for line in report.lines.select_related("facility"):
        required = calculations.accuracy_warning(line.accuracy_class, line.activity, line.instrument_tolerance_pct)
        if required is not None:
            warnings.append((line, required))
    return warnings


@state_change
def emissions_report_submit(*, report, acting_user) -> EmissionsReport:
    """Fix the total and send the report for verification; a representative of the entity submits."""
    with transaction.atomic(), audit_context(acting_user, action="emissions_report_submit"):
        report = _locked_report(report)
        authorize(acting_user, ACT, report.organisation)
        transition_check(report, EmissionsReport.Status.SUBMITTED)
        lines = list(report.lines.values_list("emissions_t", flat=True))
        if not lines:
            _refuse(_("Add at least one line before submitting."), "lines")
        report.total_t = calculations.report_total_t(lines)
        report.status, report.submitted_at, report.submitted_by = EmissionsReport.Status.SUBMITTED, timezone.now(), \
            acting_user
        report.save(update_fields=["total_t", "status", "submitted_at", "submitted_by"])
    return report


@state_change
def emissions_report_withdraw(*, report, acting_user) -> EmissionsReport:
    """Take a submitted report back to draft, before any verification work has started on it."""
    with transaction.atomic(), audit_context(acting_user, action="emissions_report_withdraw"):
        report = _locked_report(report)
        authorize(acting_user, ACT, report.organisation)
        if report.status != EmissionsReport.Status.SUBMITTED:
            _refuse(_("Only a submitted report that nobody is verifying yet can be taken back."), "status",
                    ErrorCode.INVALID_STATE)
        report.engagements.filter(status="appointed").update(status="withdrawn")
        report.status, report.total_t = EmissionsReport.Status.DRAFT, None
        report.save(update_fields=["status", "total_t"])
    return report


@state_change
def emissions_report_correct(*, report, reason: str, acting_user) -> EmissionsReport:
    """Open a corrected version of a verified report: a draft with the same lines, to change and verify again.

    The verified figure stays what compliance reads until the correction is verified; the old report is
    marked superseded now so there is one current report per FY."""
    if not str(reason or "").strip():
        _refuse(_("Say what the correction is for."), "reason")
    with transaction.atomic(), audit_context(acting_user, action="emissions_report_correct"):
        report = _locked_report(report)
        authorize(acting_user, ACT, report.organisation)
        transition_check(report, EmissionsReport.Status.SUPERSEDED)
        report.status = EmissionsReport.Status.SUPERSEDED
        report.save(update_fields=["status"])
        correction = EmissionsReport.objects.create(
            organisation=report.organisation, fiscal_year=report.fiscal_year, version=report.version + 1,
            supersedes=report, correction_reason=reason.strip(), created_by=acting_user)
        lines = list(report.lines.all())
        for line in lines:
            line.pk, line.report = None, correction
        EmissionsLine.objects.bulk_create(lines)
    return correction


def facilities_of(report: EmissionsReport):
    return Facility.objects.filter(organisation=report.organisation).order_by("code")
