"""Coverage (§2) and emissions reports (§3): the entity reports, facility by facility; the registry computes."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation
from accounts.roles import ACT
from allocation.adapter import parameters
from allocation.models import Facility, Process, ProcessYear
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.importing import FORMATS_BY_EXTENSION, read_dataset
from gxregistry.transitions import transition_check
from verification import calculations
from verification.models import CoverageDecision, EmissionFactor, EmissionsLine, EmissionsReport

MANAGE_FACTORS = "verification.change_emissionfactor"
CONFIRM_COVERAGE = "verification.add_coveragedecision"
LINE_FIELDS = ("facility", "process", "kind", "source", "method", "emission_factor_used", "activity_unit", "explanation",
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
    return EmissionsReport.objects.select_for_update(no_key=True).select_related("organisation").get(pk=report.pk)


@state_change
def emissions_report_create(*, organisation, fiscal_year: int, acting_user) -> EmissionsReport:
    with transaction.atomic(), audit_context(acting_user, action="emissions_report_create"):
        Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
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
        # The page shows the message at the field, under its label; a file's row error adds the label itself.
        _refuse(str(CALCULATION_MESSAGES.get(error.message, error.message)), error.field)
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
        if line.process_id and line.process.facility_id != facility.pk:
            _refuse(_("Choose a process of the line's facility."), "process")
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


# --- import of report lines (CSV in UTF-8, UTF-8 with BOM or CP932; XLSX) ---------------------------------

IMPORT_COLUMNS = ("facility_code", "process_code", "kind", "source", "method", "activity", "activity_unit", "emission_factor",
                  "emission_factor_code", "carbon_in_t", "carbon_out_t", "co2_concentration_pct", "flue_gas_nm3",
                  "model_emissions_t", "rated_t_per_hour", "hours_per_day", "operating_days", "historical_t",
                  "explanation", "accuracy_class", "instrument", "instrument_tolerance_pct", "instrument_upkeep")
DECIMAL_COLUMNS = {name for name in EmissionsLine.FIGURES if name != "operating_days"} | {"instrument_tolerance_pct"}


@dataclass
class LinesImport:
    """What a user sees of an import: every row's result or its errors; nothing is written if any row fails."""

    dry_run: bool
    rows: list = field(default_factory=list)  # [(row number, facility code, source, t-CO2)]
    row_errors: list = field(default_factory=list)  # [(row number, message)]

    @property
    def ok(self) -> bool:
        return not self.row_errors

    @property
    def total_t(self) -> Decimal:
        return sum((row[3] for row in self.rows), Decimal(0))


def _label(name: str) -> str:
    if name == "facility_code":
        return str(_("facility code"))
    if name == "process_code":
        return str(_("process code"))
    if name == "emission_factor_code":
        return str(EmissionsLine._meta.get_field("emission_factor_used").verbose_name)
    return str(EmissionsLine._meta.get_field(name).verbose_name)


def _parse_row(row: dict, facilities: dict, processes: dict, factors: dict, fiscal_year: int) -> EmissionsLine:
    """One row as an unsaved line, or CalculationError-like RegistryError naming the column in words."""
    values = {}
    for name in IMPORT_COLUMNS:
        raw = row.get(name)
        values[name] = "" if raw is None else str(raw).strip()
    facility = facilities.get(values["facility_code"])
    if facility is None:
        _refuse(_("%(label)s: no facility %(code)s of this entity.") % {"label": _label("facility_code"),
                                                                         "code": values["facility_code"]}, "facility")
    line = EmissionsLine(facility=facility, kind=values["kind"], source=values["source"][:200],
                         method=values["method"], activity_unit=values["activity_unit"][:30],
                         explanation=values["explanation"], accuracy_class=values["accuracy_class"],
                         instrument=values["instrument"][:200], instrument_upkeep=values["instrument_upkeep"][:200])
    if values["process_code"]:
        line.process = processes.get((facility.pk, values["process_code"]))
        if line.process is None:
            _refuse(_("%(label)s: no process %(code)s at facility %(facility)s.") % {
                "label": _label("process_code"), "code": values["process_code"], "facility": facility.code}, "process")
    if line.kind not in EmissionsLine.Kind.values:
        _refuse(_("%(label)s: write energy or non_energy.") % {"label": _label("kind")}, "kind")
    if line.accuracy_class and line.accuracy_class not in calculations.AccuracyClass.__members__.values():
        _refuse(_("%(label)s: not a class of the §3 table.") % {"label": _label("accuracy_class")}, "accuracy_class")
    for name in DECIMAL_COLUMNS:
        text = values[name].replace(",", "")
        if text:
            try:
                number = Decimal(text)
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite() or abs(number) >= Decimal("1e15"):
                _refuse(_("%(label)s: enter a number.") % {"label": _label(name)}, name)
            setattr(line, name, number)
    if values["operating_days"]:
        if not values["operating_days"].isdigit():
            _refuse(_("%(label)s: enter a whole number of days.") % {"label": _label("operating_days")},
                    "operating_days")
        line.operating_days = int(values["operating_days"])
    if values["emission_factor_code"]:
        factor = factors.get(values["emission_factor_code"])
        if factor is None:
            _refuse(_("%(label)s: no default factor %(code)s for FY%(fy)s.") % {
                "label": _label("emission_factor_code"), "code": values["emission_factor_code"], "fy": fiscal_year},
                "emission_factor_used")
        line.emission_factor_used = factor
        line.emission_factor = line.emission_factor if line.emission_factor is not None else factor.factor
        line.activity_unit = line.activity_unit or factor.unit
        line.accuracy_class = line.accuracy_class or factor.accuracy_class
    if line.method == calculations.Method.CONSERVATIVE and not line.explanation:
        _refuse(_("Say why methods 1-4 could not be applied."), "explanation")
    try:
        line.emissions_t = line_emissions({"method": line.method, **line.figures()}, fiscal_year)
    except RegistryError as error:
        if error.field in EmissionsLine.FIGURES:
            _refuse(f"{_label(error.field)}: {error.message}", error.field)
        raise
    return line


@state_change
def emissions_lines_import(*, report, data: bytes, extension: str, dry_run: bool, acting_user,
                           replace: bool = True) -> LinesImport:
    """Load a draft report's lines from a file: every row checked and computed first; any row error, and
    nothing is written. ``replace``: the file's lines replace the report's (the file is the report)."""
    if extension not in FORMATS_BY_EXTENSION:
        _refuse(_("Upload a CSV or XLSX file."), "import_file")
    dataset = read_dataset(data, FORMATS_BY_EXTENSION[extension])
    headers = [str(h or "").strip() for h in (dataset.headers or [])]
    unknown = [h for h in headers if h and h not in IMPORT_COLUMNS]
    if "facility_code" not in headers or "method" not in headers or unknown:
        _refuse(_("The first row must name the columns: %(columns)s.") % {"columns": ", ".join(IMPORT_COLUMNS)},
                "import_file")
    with transaction.atomic(), audit_context(acting_user, action="emissions_lines_import"):
        report = _locked_report(report)
        authorize(acting_user, ACT, report.organisation)
        if report.status not in EmissionsReport.EDITABLE:
            _refuse(_("Only a draft report can be changed."), "status", ErrorCode.INVALID_STATE)
        facilities = {f.code: f for f in Facility.objects.filter(organisation=report.organisation)}
        factors = {f.code: f for f in EmissionFactor.objects.filter(fiscal_year=report.fiscal_year)}
        processes = {(p.facility_id, p.code): p for p in Process.objects.filter(facility__in=facilities.values())}
        outcome, lines = LinesImport(dry_run=dry_run), []
        for number, row in enumerate(dataset.dict, start=2):  # row 1 holds the column names
            try:
                line = _parse_row(dict(row), facilities, processes, factors, report.fiscal_year)
            except RegistryError as error:
                outcome.row_errors.append((number, str(error.message)))
                continue
            line.report = report
            lines.append(line)
            outcome.rows.append((number, line.facility.code, line.source, line.emissions_t))
        if not lines and not outcome.row_errors:
            outcome.row_errors.append((None, str(_("The file has no rows."))))
        if outcome.ok and not dry_run:
            if replace:
                report.lines.all().delete()
            EmissionsLine.objects.bulk_create(lines, batch_size=1000)
        outcome.dry_run = dry_run or not outcome.ok
    return outcome


def import_template_rows():
    """An example file's rows, one per method, for the page's "download a template"."""
    return [
        ("F1", "", "energy", "A重油", "activity_factor", "1000", "kL", "2.71", "", "", "", "", "", "", "", "", "", "",
         "", "liquid_fuel", "流量計", "1.5", "年1回校正"),
        ("F1", "", "non_energy", "石灰石", "mass_balance", "", "", "", "", "120", "12", "", "", "", "", "", "", "", "",
         "industrial_process", "", "", ""),
        ("F1", "", "energy", "ボイラー", "conservative", "", "", "", "", "", "", "", "", "", "", "", "", "1000",
         "計量器の故障", "", "", "", ""),
    ]
