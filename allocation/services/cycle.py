"""The FY's allocation cycle (§5, §6): compliance periods, applications, the run, corrections.

Each act is one atomic service: it locks what it changes, authorizes the actor, checks the transition
(``AllocationApplication.TRANSITIONS``, which the database enforces too) and writes. The run is a
django-q2 job that issues each approved application through ``application_issue``, which authorizes the
administrator who started it, so the job cannot skip what a person could not do. Units move only through
the ledger's one booking service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import ledger
from accounts.models import (
    Balance,
    BookingRequest,
    CompliancePeriod,
    HoldingAccount,
    JointNotificationGroup,
    Organisation,
    UnitType,
)
from accounts.roles import ACT, Role
from allocation.engine.scenario import ScenarioError, parameter_changes
from allocation.labels import CARRIED_DEDUCTION
from allocation.models import (
    AllocationApplication,
    AllocationParameterSet,
    AllocationRun,
    EntityFinancials,
    SectorBenchmark,
    SectorBenchmarkOfficialValue,
)
from gxregistry import jobs
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, FieldChecks, RegistryError
from gxregistry.notifications import notify, people
from gxregistry.transitions import transition_check

MANAGE_PERIODS = "accounts.change_complianceperiod"
REVIEW = "allocation.change_allocationapplication"
RUN = "allocation.add_allocationrun"
S = AllocationApplication.Status
EVIDENCE_FIELDS = ("gx_patents", "green_innovation_fund_share", "rd_confirmed_by", "rd_confirmation_reference",
                   "entity_note")


def _refuse(message, field=None, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


def _locked(application: AllocationApplication) -> AllocationApplication:
    return AllocationApplication.objects.select_for_update(no_key=True).select_related("organisation").get(pk=application.pk)


def _locked_for_entity_edit(application: AllocationApplication, acting_user) -> AllocationApplication:
    """The application locked for its entity's representative to change, while it is a draft or returned."""
    application = _locked(application)
    authorize(acting_user, ACT, application.organisation)
    if application.status not in AllocationApplication.EDITABLE:
        _refuse(_("This cannot be done now: it is %(state)s.") % {"state": application.get_status_display()},
                "status", ErrorCode.INVALID_STATE)
    return application


def fiscal_year_allocated(fiscal_year: int) -> bool:
    """Whether any allowance of the FY has been issued to an entity (from then on the FY's terms are fixed)."""
    return AllocationApplication.objects.filter(fiscal_year=fiscal_year, status__in=[S.ISSUED, S.SUPERSEDED]).exists()


# --- compliance periods ----------------------------------------------------------------------------------

def _decimal(value, field, *, minimum=Decimal(0), maximum=None) -> Decimal:
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        _refuse(_("Enter a number."), field)
    if not number.is_finite() or number < minimum or (maximum is not None and number > maximum):
        _refuse(_("Enter a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum} if maximum is not None
                else _("Enter a number of at least %(min)s.") % {"min": minimum}, field)
    return number


def _deadline_after_fiscal_year(surrender_deadline: date, fiscal_year: int) -> None:
    if surrender_deadline <= date(fiscal_year + 1, 3, 31):
        _refuse(_("The surrender deadline comes after the FY ends (31 March %(year)s).") % {"year": fiscal_year + 1},
                "surrender_deadline")


def _parameter_changes(parameters: dict):
    try:
        return parameter_changes(parameters, "parameters")
    except ScenarioError as error:
        _refuse(_("%(name)s: %(problem)s") % {"name": error.path.removeprefix("parameters."), "problem": error.message},
                "parameters")


@state_change
def compliance_period_save(*, fiscal_year: int, surrender_deadline: date, upper_limit_price_yen,
                           lower_limit_price_yen, credit_cap_share, parameters: dict | None = None,
                           official_values: dict | None = None, acting_user) -> CompliancePeriod:
    """Open or change an FY's compliance period: deadline, price corridor, credit share, the FY's allocation
    parameters (engine names) and official sector benchmark values ({benchmark key: value or None}).

    Refused once any allowance of the FY has been issued: from then on a change reaches entities only through
    a correction of their allocation.
    """
    if not 2026 <= fiscal_year <= 2100:
        _refuse(_("Enter a fiscal year from 2026."), "fiscal_year")
    check = FieldChecks()  # every field checked, every wrong one named
    check(_deadline_after_fiscal_year, surrender_deadline, fiscal_year)
    upper = check(_decimal, upper_limit_price_yen, "upper_limit_price_yen")
    lower = check(_decimal, lower_limit_price_yen, "lower_limit_price_yen")
    if not check.failed("upper_limit_price_yen", "lower_limit_price_yen") and upper < lower:
        check(_refuse, _("The upper limit price must be at least the lower limit price."), "upper_limit_price_yen")
    share = check(_decimal, credit_cap_share, "credit_cap_share", maximum=Decimal(1))
    changes = check(_parameter_changes, parameters or {})
    values = {key: None if value in (None, "") else check(_decimal, value, f"official_{key}",
                                                           minimum=Decimal("0.000001"))
              for key, value in (official_values or {}).items()}
    check.done()
    with transaction.atomic(), audit_context(acting_user, action="compliance_period_save", fiscal_year=fiscal_year):
        existing = CompliancePeriod.objects.select_for_update(no_key=True).filter(fiscal_year=fiscal_year).first()
        authorize(acting_user, MANAGE_PERIODS)
        if fiscal_year_allocated(fiscal_year):
            _refuse(_("FY%(fy)s has been allocated: its terms are fixed. Correct an entity's allocation through a "
                      "correction instead.") % {"fy": fiscal_year}, "fiscal_year", ErrorCode.INVALID_STATE)
        period = existing or CompliancePeriod(fiscal_year=fiscal_year)
        period.surrender_deadline, period.credit_cap_share = surrender_deadline, share
        period.upper_limit_price_yen, period.lower_limit_price_yen = upper, lower
        period.save()
        # Only what is written as parameters is kept as the FY's change; an empty set is none at all.
        raw = {name: str(value) for name, value in (parameters or {}).items()}
        if raw:
            AllocationParameterSet.objects.update_or_create(fiscal_year=fiscal_year, defaults={"values": raw})
        else:
            AllocationParameterSet.objects.filter(fiscal_year=fiscal_year).delete()
        assert changes is not None
        benchmarks = SectorBenchmark.objects.in_bulk(values, field_name="key")
        for key, value in values.items():
            if key not in benchmarks:
                _refuse(_("No sector benchmark %(key)s.") % {"key": key}, f"official_{key}")
            if value is None:
                SectorBenchmarkOfficialValue.objects.filter(benchmark=benchmarks[key], fiscal_year=fiscal_year).delete()
            else:
                SectorBenchmarkOfficialValue.objects.update_or_create(
                    benchmark=benchmarks[key], fiscal_year=fiscal_year,
                    defaults={"value": value, "set_by": acting_user,
                              "reason": _("Set with the FY%(fy)s compliance period.") % {"fy": fiscal_year}})
    return period


def period_or_none(fiscal_year: int) -> CompliancePeriod | None:
    return CompliancePeriod.objects.filter(fiscal_year=fiscal_year).first()


# --- applications ----------------------------------------------------------------------------------------

def applicant_refusal(organisation: Organisation) -> str | None:
    """Why ``organisation`` cannot apply in its own name, or None (§2: a group applies through its notifying entity)."""
    if organisation.kind != Organisation.Kind.REGULATED_ENTITY:
        return _("Only a regulated entity applies for an allocation.")
    stakeholder = getattr(organisation, "stakeholder_of", None)
    if stakeholder is not None:
        return _("%(entity)s is in the joint notification of %(group)s: %(notifying)s applies for the group.") % {
            "entity": organisation, "group": stakeholder.group, "notifying": stakeholder.group.notifying_entity}
    return None


def group_boundary(organisation: Organisation) -> list[Organisation]:
    """The entities an application of ``organisation`` covers: itself, and for a notifying entity its group."""
    group = JointNotificationGroup.objects.filter(notifying_entity=organisation).first()
    members = [s.entity for s in group.stakeholders.select_related("entity").order_by("entity__name")] if group else []
    return [organisation, *members]


@state_change
def application_create(*, organisation: Organisation, fiscal_year: int, acting_user) -> AllocationApplication:
    """An entity's representative opens its application for an FY (one current application per entity and FY)."""
    with transaction.atomic(), audit_context(acting_user, action="application_create", fiscal_year=fiscal_year):
        Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        authorize(acting_user, ACT, organisation)
        refusal = applicant_refusal(organisation)
        if refusal:
            _refuse(refusal, "organisation")
        if period_or_none(fiscal_year) is None:
            _refuse(_("FY%(fy)s has no compliance period yet: applications open with it.") % {"fy": fiscal_year},
                    "fiscal_year")
        if AllocationApplication.objects.filter(organisation=organisation, fiscal_year=fiscal_year).exists():
            _refuse(_("%(entity)s already has an application for FY%(fy)s.") % {"entity": organisation,
                                                                                 "fy": fiscal_year},
                    "fiscal_year", ErrorCode.DUPLICATE)
        return AllocationApplication.objects.create(organisation=organisation, fiscal_year=fiscal_year,
                                                    created_by=acting_user)


@state_change
def application_update(*, application: AllocationApplication, acting_user, **evidence) -> AllocationApplication:
    """The entity fills in its evidence (§6-2, §6-3) while the application is a draft or returned."""
    unknown = set(evidence) - set(EVIDENCE_FIELDS)
    if unknown:
        raise TypeError(f"not evidence fields: {sorted(unknown)}")
    share = evidence.get("green_innovation_fund_share")
    if share not in (None, ""):
        evidence["green_innovation_fund_share"] = _decimal(share, "green_innovation_fund_share", maximum=Decimal(1))
    else:
        evidence["green_innovation_fund_share"] = None
    with transaction.atomic(), audit_context(acting_user, action="application_update"):
        application = _locked_for_entity_edit(application, acting_user)
        _check_independent_confirmer(evidence.get("rd_confirmed_by", ""))
        for name, value in evidence.items():
            setattr(application, name, value if value is not None or name == "green_innovation_fund_share" else "")
        application.save()
    return application


FINANCIAL_FIELDS = ("operating_profit_yen", "sales_yen", "gx_rd_spend_yen", "government_rd_support_yen")


def _financial_figure(name: str, value) -> Decimal | int | None:
    """A figure in whole yen (operating profit may be negative); blank is not claimed (no government support: 0)."""
    if value in (None, ""):
        return 0 if name == "government_rd_support_yen" else None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        _refuse(_("Enter an amount in yen."), name)
    if not number.is_finite() or number != number.to_integral_value() or abs(number) >= Decimal(10) ** 18:
        _refuse(_("Enter a whole amount in yen."), name)
    if name != "operating_profit_yen" and number < 0:
        _refuse(_("Enter an amount of zero or more."), name)
    return number


@state_change
def application_financials_save(*, application: AllocationApplication, acting_user, **figures) -> EntityFinancials:
    """The entity's figures of the FY before the application's (§6-2 leakage, §6-3 R&D): operating profit (may be
    negative), sales, GX R&D spend and government R&D support, in yen; blank: not claimed."""
    unknown = set(figures) - set(FINANCIAL_FIELDS)
    if unknown:
        raise TypeError(f"not financial figures: {sorted(unknown)}")
    check = FieldChecks()
    values = {name: check(_financial_figure, name, value) for name, value in figures.items()}
    check.done()
    with transaction.atomic(), audit_context(acting_user, action="application_financials_save"):
        application = _locked_for_entity_edit(application, acting_user)
        financials, _created = EntityFinancials.objects.update_or_create(
            organisation=application.organisation, fiscal_year=application.fiscal_year - 1, defaults=values)
    return financials


def _check_independent_confirmer(name: str) -> None:
    """§6-3: the R&D spend is confirmed by an independent third party other than the registered verification body."""
    name = (name or "").strip()
    if name and Organisation.objects.filter(kind=Organisation.Kind.VERIFICATION_BODY, name__iexact=name).exists():
        _refuse(_("A registered verification body cannot confirm the R&D spend: name an independent third party."),
                "rd_confirmed_by")


def _move(application: AllocationApplication, new: str) -> None:
    transition_check(application, new)
    application.status = new


@state_change
def application_submit(*, application: AllocationApplication, acting_user) -> AllocationApplication:
    """The entity sends its application to METI; refused while the engine cannot compute from its data."""
    with transaction.atomic(), audit_context(acting_user, action="application_submit"):
        application = _locked(application)
        authorize(acting_user, ACT, application.organisation)
        _move(application, S.SUBMITTED)
        result = allocation_preview(application)
        if isinstance(result, Exception):
            _refuse(_("The allocation cannot be computed from your data yet: %(problem)s") % {"problem": result},
                    "status", ErrorCode.INVALID_STATE)
        application.submitted_by, application.submitted_at = acting_user, timezone.now()
        application.returned_message = ""
        application.save()
        _tell(application, people(administrators=True),
              gettext_lazy("Review: the FY%(fy)s allocation application of %(entity)s"),
              gettext_lazy("%(entity)s submitted its FY%(fy)s allocation application."))
    return application


def _tell(application, recipients, subject, body, **params) -> None:
    notify(recipients, subject=subject, body=body, path=application.get_absolute_url(),
           params={"entity": application.organisation, "fy": application.fiscal_year, **params})


@state_change
def application_review_start(*, application: AllocationApplication, acting_user) -> AllocationApplication:
    """An administrator takes a submitted application for review; they become its reviewer."""
    with transaction.atomic(), audit_context(acting_user, action="application_review_start"):
        application = _locked(application)
        authorize(acting_user, REVIEW)
        _move(application, S.UNDER_REVIEW)
        application.reviewer = acting_user
        application.save()
    return application


@state_change
def application_return(*, application: AllocationApplication, message: str, acting_user) -> AllocationApplication:
    """The reviewer returns the application to the entity with a message saying what to change."""
    message = (message or "").strip()
    if not message:
        _refuse(_("Write what the entity should change."), "message")
    with transaction.atomic(), audit_context(acting_user, action="application_return"):
        application = _locked(application)
        authorize(acting_user, REVIEW)
        _move(application, S.RETURNED)
        application.returned_message = message
        application.computed_lines, application.computed_total, application.computed_at = [], None, None
        application.save()
        _tell(application, people(organisation=application.organisation, roles=[Role.AUTHORISED_REPRESENTATIVE]),
              gettext_lazy("Correct and resubmit: the FY%(fy)s allocation application of %(entity)s"),
              gettext_lazy("METI returned the FY%(fy)s allocation application of %(entity)s: %(message)s"),
              message=message)
    return application


def allocation_preview(application: AllocationApplication):
    """The engine's allocation for the application's entity and FY from today's data, or the error that stops it."""
    from allocation.services import allocation_compute

    return allocation_compute(organisations=[application.organisation],
                              fiscal_year=application.fiscal_year)[application.organisation_id]


def lines_as_data(allocation) -> list[dict]:
    """The engine's lines as the application stores them (and the notice prints them): exact decimals as text."""
    def text(value):
        return None if value is None else str(value)

    return [{"kind": str(line.kind), "facility": line.facility, "process": line.process,
             "baseline": text(line.baseline), "baseline_unit": line.baseline_unit,
             "baseline_derivation": line.baseline_derivation, "factor": text(line.factor),
             "factor_derivation": line.factor_derivation, "amount": text(line.amount), "rule": line.rule,
             "section": line.section} for line in allocation.lines]


@state_change
def application_compute(*, application: AllocationApplication, acting_user, adjustment_t=0,
                        adjustment_reason: str = "", rd_evidence_confirmed: bool | None = None) -> AllocationApplication:
    """The reviewer fixes the engine's result, with an optional adjustment line (§5-1(2) other cases) and its
    reason. The total is the engine's whole allowances plus the adjustment (less a deduction carried from the
    previous FY), never below zero; what is left over is carried to the next FY. ``rd_evidence_confirmed``: the
    reviewer's finding on the entity's R&D evidence (§6-3), which the engine's R&D line requires."""
    try:
        adjustment = int(str(adjustment_t or 0).replace(",", "").strip())
    except ValueError:
        _refuse(_("Enter a whole number of t-CO2 (negative to deduct)."), "adjustment_t")
    adjustment_reason = (adjustment_reason or "").strip()
    if adjustment and not adjustment_reason:
        _refuse(_("Give the reason for the adjustment."), "adjustment_reason")
    with transaction.atomic(), audit_context(acting_user, action="application_compute"):
        application = _locked(application)
        authorize(acting_user, REVIEW)
        _move(application, S.COMPUTED)
        if application.reviewer_id not in (None, acting_user.pk):
            _refuse(_("Only the reviewer, %(name)s, computes this application.") % {"name": application.reviewer.full_name},
                    "user", ErrorCode.NOT_PERMITTED)
        if rd_evidence_confirmed is not None:
            EntityFinancials.objects.filter(organisation=application.organisation,
                                            fiscal_year=application.fiscal_year - 1).update(
                rd_evidence_confirmed=rd_evidence_confirmed)
        result = allocation_preview(application)
        if isinstance(result, Exception):
            _refuse(_("The engine cannot compute this allocation: %(problem)s") % {"problem": result}, "status",
                    ErrorCode.INVALID_STATE)
        carried_in = _carried_in(application)
        lines = lines_as_data(result)
        if carried_in:
            lines.append(carried_deduction_line(carried_in, application.fiscal_year))
        # The engine floors its total at 0; what its lines took beyond that is carried like the rest.
        deficit = math.ceil(-result.total_before_rounding) if result.total_before_rounding < 0 else 0
        net = result.total - deficit + adjustment - carried_in
        application.computed_lines = lines
        application.computed_total, application.carried_forward_t = max(net, 0), max(-net, 0)
        application.carried_in_t = carried_in
        application.adjustment_t, application.adjustment_reason = adjustment, adjustment_reason if adjustment else ""
        application.computed_at = timezone.now()
        application.save()
        _tell(application, people(administrators=True, excluding=[acting_user]),
              gettext_lazy("Approve: the FY%(fy)s allocation of %(entity)s"),
              gettext_lazy("The FY%(fy)s allocation of %(entity)s is computed at %(total)s allowances and waits for "
                           "another administrator's approval."), total=f"{application.computed_total:,}")
    return application


def _carried_in(application: AllocationApplication) -> int:
    """The deduction the entity's allocation of the previous FY could not take (as issued and in force)."""
    previous = AllocationApplication.objects.filter(organisation=application.organisation_id,
                                                    fiscal_year=application.fiscal_year - 1, status=S.ISSUED).first()
    return previous.carried_forward_t if previous else 0


def carried_deduction_line(quantity: int, fiscal_year: int) -> dict:
    return {"kind": CARRIED_DEDUCTION, "facility": None, "process": None, "baseline": None, "baseline_unit": "",
            "baseline_derivation": "", "factor": None, "factor_derivation": "", "amount": str(-quantity),
            "rule": f"deduction left over from FY{fiscal_year - 1} (larger than that year's allocation), "
                    "taken from this FY's", "section": "§5-1(2)"}


@state_change
def application_approve(*, application: AllocationApplication, acting_user, otp_token) -> AllocationApplication:
    """A second administrator approves the computed allocation with their second factor (four eyes)."""
    with transaction.atomic(), audit_context(acting_user, action="application_approve"):
        application = _locked(application)
        authorize(acting_user, REVIEW, fresh_code=otp_token)
        _move(application, S.APPROVED)
        if application.reviewer_id == acting_user.pk:
            _refuse(_("You reviewed this application: another administrator approves it."), "user",
                    ErrorCode.SAME_PERSON)
        application.approved_by, application.approved_at = acting_user, timezone.now()
        application.save()
    return application


@state_change
def application_correct(*, application: AllocationApplication, reason: str, acting_user) -> AllocationApplication:
    """An administrator opens a correction of an issued allocation: a new version under review, which the
    run issues as the difference once another administrator approves it."""
    reason = (reason or "").strip()
    if not reason:
        _refuse(_("Give the reason for the correction."), "reason")
    with transaction.atomic(), audit_context(acting_user, action="application_correct"):
        application = _locked(application)
        authorize(acting_user, REVIEW)
        if application.status != S.ISSUED:
            _refuse(_("Only an issued allocation is corrected."), "status", ErrorCode.INVALID_STATE)
        if AllocationApplication.objects.filter(supersedes=application).exists():
            _refuse(_("A correction of this allocation is already open."), "status", ErrorCode.PENDING_EXISTS)
        fields = {name: getattr(application, name) for name in EVIDENCE_FIELDS}
        # The issued version stays in force (and its notice valid) until the correction is issued.
        return AllocationApplication.objects.create(
            organisation=application.organisation, fiscal_year=application.fiscal_year,
            version=application.version + 1, supersedes=application, correction_reason=reason,
            status=S.UNDER_REVIEW, reviewer=acting_user, created_by=acting_user, submitted_by=acting_user,
            submitted_at=timezone.now(), **fields)


# --- the run ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunPlan:
    """What a run of the FY would issue now, and why it would be refused (``refusal``) with the figures."""

    fiscal_year: int
    applications: list
    to_allocate: int  # allowances the reserve sends (corrections: their positive differences)
    to_return: int  # allowances corrections bring back to the reserve
    reserve_holds: int
    refusal: str | None


def _already_issued(application: AllocationApplication) -> int:
    """What the versions before ``application`` issued in all (its predecessor's whole allocation)."""
    previous = application.supersedes
    return previous.computed_total if previous is not None else 0


def run_plan(fiscal_year: int) -> RunPlan:
    """The checks before anything moves (read-only): approved applications, the reserve, no run or issuance
    of the FY in flight."""
    applications = list(AllocationApplication.objects.filter(fiscal_year=fiscal_year, status=S.APPROVED)
                        .defer("computed_lines", "supersedes__computed_lines")
                        .select_related("organisation", "supersedes").order_by("organisation__name"))
    differences = [a.computed_total - _already_issued(a) for a in applications]
    to_allocate = sum(d for d in differences if d > 0)
    to_return = -sum(d for d in differences if d < 0)
    reserve = ledger.government_account(HoldingAccount.Kind.ALLOCATION_RESERVE)
    holds = Balance.objects.filter(account=reserve, unit_type=UnitType.ALLOWANCE, vintage=fiscal_year).aggregate(
        total=Sum("quantity"))["total"] or 0
    refusal = None
    if period_or_none(fiscal_year) is None:
        refusal = _("FY%(fy)s has no compliance period.") % {"fy": fiscal_year}
    elif AllocationRun.objects.filter(fiscal_year=fiscal_year, status=AllocationRun.Status.RUNNING).exists():
        refusal = _("A run of FY%(fy)s is in progress.") % {"fy": fiscal_year}
    elif BookingRequest.objects.filter(kind=BookingRequest.Kind.ISSUANCE, unit_type=UnitType.ALLOWANCE,
                                       vintage=fiscal_year,
                                       status=BookingRequest.Status.AWAITING_APPROVAL).exists():
        refusal = _("An issuance of FY%(fy)s allowances into the reserve awaits approval: decide it first.") % {
            "fy": fiscal_year}
    elif not applications:
        refusal = _("No approved application of FY%(fy)s waits to be issued.") % {"fy": fiscal_year}
    elif not to_allocate and not to_return and not any(a.supersedes_id for a in applications):
        refusal = _("The approved applications allocate nothing (total 0).")
    elif to_allocate > holds:
        refusal = _("The allocation reserve holds %(holds)s FY%(fy)s allowances; the run needs %(needs)s "
                    "(%(missing)s more). Issue allowances into the reserve first.") % {
            "holds": f"{holds:,}", "fy": fiscal_year, "needs": f"{to_allocate:,}",
            "missing": f"{to_allocate - holds:,}"}
    return RunPlan(fiscal_year, applications, to_allocate, to_return, holds, refusal)


@state_change
def allocation_run_start(*, fiscal_year: int, acting_user, otp_token) -> AllocationRun:
    """An administrator starts the FY's run for every approved application (a background job). Refused, with
    the figures, before anything moves when the checks of ``run_plan`` fail; one run per FY at a time."""
    with transaction.atomic(), audit_context(acting_user, action="allocation_run_start", fiscal_year=fiscal_year):
        # The FY's period row serialises starts of the same FY (the partial unique index is the backstop).
        CompliancePeriod.objects.select_for_update(no_key=True).filter(fiscal_year=fiscal_year).first()
        authorize(acting_user, RUN, fresh_code=otp_token)
        plan = run_plan(fiscal_year)
        if plan.refusal:
            _refuse(plan.refusal, "fiscal_year", ErrorCode.INVALID_STATE)
        try:
            with transaction.atomic():
                run = AllocationRun.objects.create(fiscal_year=fiscal_year, started_by=acting_user,
                                                   total=len(plan.applications), quantity=plan.to_allocate)
        except IntegrityError:
            _refuse(_("A run of FY%(fy)s is in progress.") % {"fy": fiscal_year}, "fiscal_year",
                    ErrorCode.INVALID_STATE)
        jobs.enqueue("allocation.tasks.allocation_run_execute", run.pk, key=f"allocation-run-{run.pk}")
    return run


def allocation_run_execute(run_id: int) -> AllocationRun:
    """The job: issue each approved application of the run's FY, counting progress; a failure is listed with its
    reason and the run goes on. Safe to run again: an issued application is skipped, a booking is idempotent."""
    run = AllocationRun.objects.select_related("started_by").get(pk=run_id)
    if run.status != AllocationRun.Status.RUNNING:
        return run  # finished: a retried job finds nothing left to do
    pending = list(AllocationApplication.objects.filter(fiscal_year=run.fiscal_year, status=S.APPROVED)
                   .order_by("organisation__name").values_list("pk", flat=True))
    failures = list(run.failures)
    for pk in pending:
        application = AllocationApplication.objects.select_related("organisation").get(pk=pk)
        try:
            application_issue(application=application, acting_user=run.started_by)
        except RegistryError as error:
            failures.append({"application": pk, "entity": str(application.organisation), "reason": str(error.message)})
            AllocationRun.objects.filter(pk=run.pk).update(failures=failures)
            continue
        AllocationRun.objects.filter(pk=run.pk, done__lt=run.total).update(done=F("done") + 1)
    status = AllocationRun.Status.FINISHED_WITH_FAILURES if failures else AllocationRun.Status.FINISHED
    AllocationRun.objects.filter(pk=run.pk).update(status=status, finished_at=timezone.now(), failures=failures)
    run.refresh_from_db()
    return run


def entity_account(organisation: Organisation) -> HoldingAccount:
    account = organisation.holding_accounts.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING).first()
    if account is None:
        _refuse(_("%(entity)s has no corporate holding account to receive its allocation.") % {"entity": organisation},
                "account", ErrorCode.ACCOUNT_NOT_USABLE)
    return account


@state_change
def application_issue(*, application: AllocationApplication, acting_user) -> AllocationApplication:
    """Book an approved application's allowances from the reserve (a correction: only the difference, back to
    the reserve when it is negative), mark it issued and its predecessor superseded; the notice follows.
    Idempotent: issuing an issued application changes nothing, and the booking's key is the application's."""
    with transaction.atomic(), audit_context(acting_user, action="application_issue"):
        application = _locked(application)
        authorize(acting_user, RUN)
        if application.status == S.ISSUED:
            return application
        _move(application, S.ISSUED)
        difference = application.computed_total - _already_issued(application)
        account = entity_account(application.organisation)
        key = f"allocation-{application.pk}"
        note = f"FY{application.fiscal_year} allocation v{application.version}"
        if difference > 0:
            application.ledger_transaction = ledger.allocation_transfer(
                account=account, vintage=application.fiscal_year, quantity=difference, idempotency_key=key,
                booked_by=acting_user, note=note)
        elif difference < 0:
            application.ledger_transaction = ledger.allocation_return(
                account=account, vintage=application.fiscal_year, quantity=-difference, idempotency_key=key,
                booked_by=acting_user, note=note)
        if application.supersedes_id:  # first, so that one version of the FY's allocation is in force at a time
            previous = _locked(application.supersedes)
            _move(previous, S.SUPERSEDED)
            previous.save()
        application.issued_quantity, application.issued_at = difference, timezone.now()
        application.save()
        _tell(application, people(organisation=application.organisation),
              gettext_lazy("Download your allocation notice: FY%(fy)s, %(entity)s"),
              gettext_lazy("%(entity)s was allocated %(total)s FY%(fy)s allowances (booked now: %(booked)s)."),
              total=f"{application.computed_total:,}", booked=f"{difference:,}")
        jobs.enqueue("allocation.tasks.allocation_notice_make", application.pk, acting_user.pk,
                     key=f"allocation-notice-{application.pk}")
    return application
