"""Writes on facility data."""

from dataclasses import dataclass, field
from typing import Protocol

from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from accounts.roles import ACT
from allocation import resources
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.importing import FORMATS_BY_EXTENSION, read_dataset

# What a company may load, in the order it must load it.
IMPORT_KINDS = {
    "facilities": (_("Facilities"), resources.FacilityResource),
    "processes": (_("Processes"), resources.ProcessResource),
    "process_years": (_("Activity and emissions per fiscal year"), resources.ProcessYearResource),
    "facility_events": (_("Disaster and inspection events"), resources.FacilityEventResource),
}


@dataclass
class ImportOutcome:
    """What a user needs to see about an import, preview or real."""

    dry_run: bool
    totals: dict = field(default_factory=dict)  # new / update / skip / error / invalid
    row_errors: list = field(default_factory=list)  # [(row number, message)]
    rows: list = field(default_factory=list)  # [(row number, import type, object repr)] for the preview

    @property
    def ok(self):
        return not self.row_errors


@state_change
def facility_data_import(*, acting_user, organisation, kind: str, data: bytes, extension: str,
                         dry_run: bool) -> ImportOutcome:
    """Import one file of facility data: for ``organisation`` by its authorised representative, or,
    with ``organisation=None``, for any regulated entity by a registry administrator (the back office).

    Raises gxregistry.importing.UnreadableFile for a file that cannot be read.
    All rows are written or none: any row error, or a row of an organisation the import is not for,
    rolls back the whole file.
    """
    if kind not in IMPORT_KINDS:
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Choose what the file holds."), "kind")
    if extension not in FORMATS_BY_EXTENSION:
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Upload a CSV or XLSX file."), "import_file")
    _label, resource_class = IMPORT_KINDS[kind]
    dataset = read_dataset(data, FORMATS_BY_EXTENSION[extension])
    with transaction.atomic(), audit_context(acting_user, action=f"import_{kind}"):
        if organisation is None:
            authorize(acting_user, f"allocation.add_{resource_class.Meta.model._meta.model_name}")
            resource = resource_class()
        else:
            Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)  # one import per organisation at a time
            authorize(acting_user, ACT, organisation)
            resource = resource_class(allowed_organisations=Organisation.objects.filter(pk=organisation.pk))
        result = resource.import_data(dataset, dry_run=dry_run, raise_errors=False, use_transactions=True,
                                      rollback_on_validation_errors=True, user=acting_user)
    return _outcome(result, dry_run, resource_class.Meta.model)


# Columns that name something by the identifiers a company and METI share (not a model field of the row).
IDENTIFIER_COLUMNS = {
    "corporate_number": _("The entity's corporate number (13 digits)."),
    "facility_code": _("The facility's code within the entity."),
    "process_code": _("The process's code within the facility."),
}


def import_column_choices(kind: str) -> dict[str, list]:
    """{column: [(code, name)]} for the columns that take one of a list of codes."""
    _label, resource_class = IMPORT_KINDS[kind]
    model = resource_class.Meta.model
    found = {}
    for column in resource_class().get_import_fields():
        if column.column_name not in IDENTIFIER_COLUMNS and model._meta.get_field(column.attribute).choices:
            found[column.column_name] = list(model._meta.get_field(column.attribute).choices)
    return found


def import_columns(kind: str) -> list[tuple[str, str]]:
    """[(column, what it means)] of a facility-data file of ``kind``, in the order the template has them."""
    _label, resource_class = IMPORT_KINDS[kind]
    model = resource_class.Meta.model
    columns = []
    for column in resource_class().get_import_fields():
        name = column.column_name
        if name in IDENTIFIER_COLUMNS:
            meaning = IDENTIFIER_COLUMNS[name]
        else:
            model_field = model._meta.get_field(column.attribute)
            meaning = model_field.verbose_name
            if model_field.help_text:
                meaning = f"{meaning}: {model_field.help_text}"
        columns.append((name, str(meaning)))
    return columns


# What django-import-export calls each row, in the reader's words.
IMPORT_TYPE_LABELS = {"new": _("New"), "update": _("Updated"), "skip": _("Unchanged"), "delete": _("Deleted"),
                      "error": _("Error"), "invalid": _("Invalid")}


# The register's database rules a row can break, in the reader's words: a constraint's own name means nothing to
# the company that uploaded the file.
CONSTRAINT_MESSAGES = {
    "facility_code_unique_per_entity": _("The entity already has a facility with this code."),
    "facility_energy_use_not_negative": _("Energy use cannot be negative."),
    "facility_closed_after_opened": _("The last day of operation cannot be before the opening date."),
    "facility_event_fiscal_year_range": _("The fiscal year must be between 2000 and 2100."),
    "facility_event_completed_after_start": _("The completion date cannot be before the start date."),
    "process_code_unique_per_facility": _("The facility already has a process with this code."),
    "process_benchmark_fields_match_method": _("A benchmark process needs its benchmark kind and sector benchmark; "
                                               "a grandfathering process has neither."),
    "process_year_unique": _("The file or the register already has figures for this process and fiscal year."),
    "process_year_fiscal_year_range": _("The fiscal year must be between 2000 and 2100."),
    "process_year_quantities_not_negative": _("Emissions, production and fuel quantities cannot be negative."),
    "process_year_days_operated_at_most_366": _("Days operated cannot exceed 366."),
}


# django-import-export's date widget says this in English only, whatever the language.
UNPARSED_DATE = "Value could not be parsed using defined formats."


def _in_reader_words(message: str, model) -> str:
    """A validation or database message as the uploader reads it: a broken rule by what it means."""
    if UNPARSED_DATE in message:
        return str(_("Enter the date as YYYY-MM-DD, e.g. 2026-03-31."))
    if "import_id_fields" in message:  # the header row lacks the columns that identify a row
        return str(_("The file's first row must name the columns, as in the template file: %(columns)s.")
                   % {"columns": ", ".join(name for kind, (_label, resource) in IMPORT_KINDS.items()
                                           if resource.Meta.model is model for name, _meaning in import_columns(kind))})
    for constraint in model._meta.constraints:
        if constraint.name in message:
            return str(CONSTRAINT_MESSAGES.get(constraint.name, _("A value in this row breaks a rule of the register.")))
    return message


def _column_label(model, name: str) -> str:
    """A field's name as its column's label; nothing for a message about the whole row (``__all__``)."""
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return ""


def _outcome(result, dry_run, model) -> ImportOutcome:
    outcome = ImportOutcome(dry_run=dry_run or result.has_errors() or result.has_validation_errors(),
                            totals=dict(result.totals))
    for error in result.base_errors:
        outcome.row_errors.append((None, _in_reader_words(str(error.error), model)))
    for number, errors in result.row_errors():
        for error in errors:
            outcome.row_errors.append((number, _in_reader_words(str(error.error), model)))
    for invalid in result.invalid_rows:
        parts = []
        for name, errs in invalid.error_dict.items():
            said = ", ".join(_in_reader_words(str(err), model) for err in errs)
            label = _column_label(model, name)
            parts.append(f"{label}: {said}" if label else said)
        outcome.row_errors.append((invalid.number, "; ".join(parts)))
    for number, row in enumerate(result.rows, start=1):
        outcome.rows.append((number, IMPORT_TYPE_LABELS.get(row.import_type, row.import_type), row.object_repr or ""))
    outcome.row_errors.sort(key=lambda e: (e[0] is not None, e[0] or 0))
    return outcome


# --- verified baselines (§4: the baseline behind an allocation is verified) --------------------------------

class BaselineAttestation(Protocol):
    """What the verification app hands allocation with a verified baseline year (a signed opinion)."""

    body_organisation: Organisation
    reference: str

    def attests_baseline(self, organisation: Organisation, fiscal_year: int, process_emissions: dict) -> bool: ...


@state_change
def baseline_verified_record(*, organisation, fiscal_year: int, process_emissions: dict, attestation, acting_user):
    """Fix a baseline year's emissions per process ({process id: t-CO2}) as a signed opinion verified them:
    the one way verified figures reach the allocation engine's inputs. The independent reviewer records."""
    from django.utils import timezone

    from accounts.roles import VERIFY
    from allocation.models import ProcessYear

    with transaction.atomic(), audit_context(acting_user, action="baseline_verified_record"):
        Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        authorize(acting_user, VERIFY, attestation.body_organisation)
        if not attestation.attests_baseline(organisation, fiscal_year, process_emissions):
            raise RegistryError(ErrorCode.INVALID_STATE, _("The opinion does not attest these baseline figures."),
                                "process_emissions")
        years = {y.process_id: y for y in ProcessYear.objects.select_for_update(no_key=True).filter(
            process__facility__organisation=organisation, process_id__in=list(process_emissions),
            fiscal_year=fiscal_year)}
        now = timezone.now()
        for process_id, emissions_t in sorted(process_emissions.items()):
            year = years.get(process_id)
            if year is None:
                raise RegistryError(ErrorCode.INVALID_STATE, _("FY%(fy)s has no data for process %(process)s to "
                                                               "verify.") % {"fy": fiscal_year, "process": process_id},
                                    "process_emissions")
            year.emissions_t, year.verified_at = emissions_t, now
            year.verified_reference = attestation.reference[:100]
            year.save(update_fields=["emissions_t", "verified_at", "verified_reference"])
    return len(process_emissions)


# --- sector benchmarks and allocation (§5-2, §5, §6) --------------------------------------------

BASELINE_YEARS = (2023, 2024, 2025)


@state_change
def sector_benchmark_levels_compute(*, benchmark, acting_user, years=BASELINE_YEARS):
    """Read the top-50 % and top-32.5 % levels off the sector's data and store them with provenance."""
    from django.utils import timezone

    from allocation import adapter, engine
    from allocation.engine.benchmarks import BenchmarkDataError

    with transaction.atomic(), audit_context(acting_user, action="sector_benchmark_levels_compute"):
        authorize(acting_user, "allocation.change_sectorbenchmark")
        points = adapter.intensity_points(benchmark.key, years)
        try:
            top_50, top_32_5 = engine.sector_levels(points)
        except BenchmarkDataError as error:
            raise RegistryError(ErrorCode.INVALID_INPUT, f"{benchmark.key}: {error}", "benchmark") from None
        benchmark.top_50, benchmark.top_32_5 = top_50.value, top_32_5.value
        benchmark.computed_at = timezone.now()
        benchmark.provenance = (
            f"FY{years[0]}-FY{years[-1]}, {len(points)} entities, activity-weighted: "
            f"top 50 % = {top_50.value:.6f} (entity {top_50.entity}, cumulative share {top_50.cumulative_share:.4f}); "
            f"top 32.5 % = {top_32_5.value:.6f} (entity {top_32_5.entity}, "
            f"cumulative share {top_32_5.cumulative_share:.4f})"
        )
        benchmark.save(update_fields=["top_50", "top_32_5", "computed_at", "provenance"])
    return benchmark


@state_change
def sector_benchmark_official_value_set(*, benchmark, fiscal_year: int, value, reason: str, acting_user):
    """An administrator's official value for one FY; overrides the computed path, audited with the reason."""
    from allocation.models import SectorBenchmarkOfficialValue

    if not (reason or "").strip():
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Say why the official value differs from the computed one."),
                            "reason")
    with transaction.atomic(), audit_context(acting_user, action="sector_benchmark_official_value_set"):
        authorize(acting_user, "allocation.add_sectorbenchmarkofficialvalue")
        official, _created = SectorBenchmarkOfficialValue.objects.update_or_create(
            benchmark=benchmark, fiscal_year=fiscal_year,
            defaults={"value": value, "reason": reason, "set_by": acting_user},
        )
    return official


def allocation_compute(*, organisations, fiscal_year: int) -> dict:
    """{organisation pk: engine Allocation or the error that stopped it}, from the database.

    Reads a fixed number of queries for any number of entities (allocation.adapter).
    """
    from allocation import adapter, engine

    organisations = list(organisations)
    benchmarks = adapter.sector_benchmarks()
    parameters = adapter.parameters()
    results = {}
    for organisation, entity in zip(organisations, adapter.entity_inputs(organisations), strict=True):
        try:
            results[organisation.pk] = engine.allocate(entity, fiscal_year, benchmarks, parameters)
        except (engine.EngineInputError, engine.ParameterMissing) as error:
            results[organisation.pk] = error
    return results
