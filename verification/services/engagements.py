"""Engagements (§4): the entity appoints a registered, independent body; its team logs the work; an
independent reviewer signs the opinion, which locks the report and hands the figure to compliance."""

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import compliance
from accounts.models import Membership, Organisation
from accounts.roles import ACT, VERIFY, Role
from allocation import services as allocation_services
from allocation.adapter import parameters
from allocation.models import ProcessYear
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.notifications import notify, people
from gxregistry.transitions import transition_check
from verification import calculations
from verification.models import (
    EmissionsLine,
    EmissionsReport,
    Engagement,
    Misstatement,
    Opinion,
    VerificationBody,
    WorkLogEntry,
)


def _refuse(message, field, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


def group_of(organisation: Organisation) -> list[Organisation]:
    """The entity and, in a joint notification (§2), every other member of its group."""
    group = getattr(organisation, "notified_group", None)
    if group is None and hasattr(organisation, "stakeholder_of"):
        group = organisation.stakeholder_of.group
    if group is None:
        return [organisation]
    return [group.notifying_entity, *(s.entity for s in group.stakeholders.select_related("entity"))]


def default_due_on(fiscal_year: int, today: date | None = None) -> date:
    """The registry's default for an opinion: 31 July after the FY ends (ours: §4 sets no date; the FY's
    surrender deadline must leave time to surrender after it). A past year's report (a baseline year
    verified now) gets 90 days from today."""
    due = date(fiscal_year + 1, 7, 31)
    today = today or timezone.localdate()
    return due if due >= today else today + timedelta(days=90)


def facility_emissions(organisation: Organisation, years) -> dict[str, dict[int, Decimal]]:
    """{facility code: {FY: t}} from the current reports' lines, or the facility data where no report."""
    found: dict[str, dict[int, Decimal]] = {}
    for code, fy, total in ProcessYear.objects.filter(process__facility__organisation=organisation,
                                                      fiscal_year__in=years).values_list(
            "process__facility__code", "fiscal_year").annotate(total=Sum("emissions_t")):
        found.setdefault(code, {})[fy] = total
    reported = EmissionsLine.objects.filter(
        report__organisation=organisation, report__fiscal_year__in=years,
        report__status__in=[EmissionsReport.Status.SUBMITTED, EmissionsReport.Status.UNDER_VERIFICATION,
                            EmissionsReport.Status.VERIFIED])
    by_report_year = {}
    for code, fy, total in reported.values_list("facility__code", "report__fiscal_year").annotate(
            total=Sum("emissions_t")):
        by_report_year.setdefault(fy, {})[code] = total
    for fy, facilities in by_report_year.items():  # a report replaces the facility data of its FY
        for by_fy in found.values():
            by_fy.pop(fy, None)
        for code, total in facilities.items():
            found.setdefault(code, {})[fy] = total
    return found


def required_assurance(report: EmissionsReport) -> calculations.AssuranceRequirement:
    year = parameters().for_year(report.fiscal_year)
    years = range(report.fiscal_year - 3, report.fiscal_year)
    return calculations.assurance_level(report.fiscal_year, facility_emissions(report.organisation, years),
                                        first_fy=year.reasonable_assurance_first_fy,
                                        threshold_t=year.reasonable_assurance_threshold_t)


def check_body_may_verify(body: VerificationBody, entity: Organisation, start: date, end: date) -> None:
    """Refuse unless the body is registered (not suspended, revoked or expired) from ``start`` to ``end`` and
    has declared no conflict with the entity or any member of its joint-notification group."""
    if not body.registered_through(start, end):
        _refuse(_("%(body)s is not registered (or is suspended, revoked or expired) for %(start)s to %(end)s.")
                % {"body": body, "start": start, "end": end}, "body", ErrorCode.BODY_NOT_REGISTERED)
    conflicted = body.conflicts.filter(organisation__in=group_of(entity), ended_at__isnull=True).first()
    if conflicted is not None:
        _refuse(_("%(body)s has declared a conflict of interest with %(entity)s.")
                % {"body": body, "entity": conflicted.organisation}, "body", ErrorCode.CONFLICT_OF_INTEREST)


@state_change
def engagement_appoint(*, report: EmissionsReport, body: VerificationBody, purpose: str, acting_user,
                       due_on: date | None = None) -> Engagement:
    """The entity appoints a registered body to verify a submitted report."""
    if purpose not in Engagement.Purpose.values:
        _refuse(_("Choose what is to be verified."), "purpose")
    with transaction.atomic(), audit_context(acting_user, action="engagement_appoint"):
        report = EmissionsReport.objects.select_for_update(no_key=True).select_related("organisation").get(pk=report.pk)
        body = VerificationBody.objects.select_related("organisation").get(pk=body.pk)
        authorize(acting_user, ACT, report.organisation)
        if report.status != EmissionsReport.Status.SUBMITTED:
            _refuse(_("Submit the report before appointing a verification body."), "report", ErrorCode.INVALID_STATE)
        if report.engagements.filter(status__in=Engagement.OPEN).exists():
            _refuse(_("A verification body is already appointed for this report."), "report", ErrorCode.DUPLICATE)
        due_on = due_on or default_due_on(report.fiscal_year)
        today = timezone.localdate()
        if due_on < today:
            _refuse(_("The due date has passed."), "due_on")
        check_body_may_verify(body, report.organisation, today, due_on)
        required = required_assurance(report)
        engagement = Engagement.objects.create(body=body, report=report, purpose=purpose, due_on=due_on,
                                               assurance_level=required.level,
                                               assurance_reason=required.reason[:300], appointed_by=acting_user)
        notify(people(organisation=body.organisation),
               subject=gettext_lazy("Name the verification team: the FY%(fy)s emissions report of %(entity)s"),
               body=gettext_lazy("%(entity)s appointed your body to verify its FY%(fy)s emissions report "
                                 "(due %(due)s)."),
               params={"entity": report.organisation, "fy": report.fiscal_year, "due": f"{due_on:%Y-%m-%d}"},
               path=reverse("engagement_detail", args=[engagement.pk]))
        return engagement


def _locked_engagement(engagement) -> Engagement:
    return Engagement.objects.select_for_update(no_key=True).select_related("body__organisation", "report__organisation").get(
        pk=engagement.pk)


def _body_verifiers(body: VerificationBody, users) -> None:
    for user in users:
        if not Membership.objects.filter(user=user, organisation=body.organisation, role=Role.VERIFIER,
                                         ended_at__isnull=True).exists():
            _refuse(_("%(user)s is not a verifier of %(body)s.") % {"user": user, "body": body}, "team")


@state_change
def engagement_team_set(*, engagement: Engagement, team, independent_reviewer, acting_user) -> Engagement:
    """The body names the team and an independent reviewer from its own verifiers, who is not on the team."""
    team = list(team)
    if not team:
        _refuse(_("Name at least one verifier."), "team")
    with transaction.atomic(), audit_context(acting_user, action="engagement_team_set"):
        engagement = _locked_engagement(engagement)
        authorize(acting_user, VERIFY, engagement.body.organisation)
        if engagement.status not in Engagement.OPEN:
            _refuse(_("The engagement is closed."), "status", ErrorCode.INVALID_STATE)
        _body_verifiers(engagement.body, [*team, independent_reviewer])
        if independent_reviewer in team:
            _refuse(_("The independent reviewer must not be on the verification team."), "independent_reviewer",
                    ErrorCode.NOT_INDEPENDENT)
        engagement.team.set(team)
        engagement.independent_reviewer = independent_reviewer
        engagement.save(update_fields=["independent_reviewer"])
    return engagement


@state_change
def engagement_start(*, engagement: Engagement, acting_user) -> Engagement:
    """The team starts: the report is under verification and can no longer be withdrawn."""
    with transaction.atomic(), audit_context(acting_user, action="engagement_start"):
        engagement = _locked_engagement(engagement)
        report = EmissionsReport.objects.select_for_update(no_key=True).get(pk=engagement.report_id)
        authorize(acting_user, VERIFY, engagement.body.organisation)
        _on_team(engagement, acting_user)
        transition_check(engagement, Engagement.Status.IN_PROGRESS)
        check_body_may_verify(engagement.body, report.organisation, timezone.localdate(), timezone.localdate())
        transition_check(report, EmissionsReport.Status.UNDER_VERIFICATION)
        engagement.status = Engagement.Status.IN_PROGRESS
        engagement.save(update_fields=["status"])
        report.status = EmissionsReport.Status.UNDER_VERIFICATION
        report.save(update_fields=["status"])
    return engagement


def _on_team(engagement: Engagement, user) -> None:
    if not engagement.team.filter(pk=user.pk).exists():
        raise RegistryError(ErrorCode.NOT_PERMITTED, _("Only the engagement's verification team may do this."), "user")


@state_change
def work_log_add(*, engagement: Engagement, kind: str, occurred_on: date, description: str, acting_user,
                 facility=None) -> WorkLogEntry:
    if kind not in WorkLogEntry.Kind.values:
        _refuse(_("Choose what kind of work this was."), "kind")
    if not str(description or "").strip():
        _refuse(_("Describe the work."), "description")
    with transaction.atomic(), audit_context(acting_user, action="work_log_add"):
        engagement = _locked_engagement(engagement)
        authorize(acting_user, VERIFY, engagement.body.organisation)
        _on_team(engagement, acting_user)
        if engagement.status != Engagement.Status.IN_PROGRESS:
            _refuse(_("Start the engagement first."), "status", ErrorCode.INVALID_STATE)
        if facility is not None and facility.organisation_id != engagement.report.organisation_id:
            _refuse(_("Choose one of the entity's facilities."), "facility")
        return WorkLogEntry.objects.create(engagement=engagement, kind=kind, occurred_on=occurred_on,
                                           facility=facility, description=description.strip(),
                                           recorded_by=acting_user)


@state_change
def misstatement_record(*, engagement: Engagement, amount_t, description: str, acting_user, facility=None,
                        corrected: bool = False) -> Misstatement:
    """A difference found; ``corrected``: the entity agreed to it, and the verified figure takes it in."""
    try:
        amount_t = Decimal(str(amount_t))
    except ArithmeticError:
        _refuse(_("Enter the amount in tonnes."), "amount_t")
    if not amount_t.is_finite() or amount_t == 0 or abs(amount_t) >= Decimal("1e15"):
        _refuse(_("Enter a non-zero amount in tonnes."), "amount_t")
    if not str(description or "").strip():
        _refuse(_("Describe the misstatement."), "description")
    with transaction.atomic(), audit_context(acting_user, action="misstatement_record"):
        engagement = _locked_engagement(engagement)
        authorize(acting_user, VERIFY, engagement.body.organisation)
        _on_team(engagement, acting_user)
        if engagement.status != Engagement.Status.IN_PROGRESS:
            _refuse(_("Start the engagement first."), "status", ErrorCode.INVALID_STATE)
        if facility is not None and facility.organisation_id != engagement.report.organisation_id:
            _refuse(_("Choose one of the entity's facilities."), "facility")
        return Misstatement.objects.create(engagement=engagement, amount_t=amount_t.quantize(Decimal("0.001")),
                                           description=description.strip(), facility=facility, corrected=corrected,
                                           recorded_by=acting_user)


def opinion_figures(engagement: Engagement) -> tuple[int, calculations.Materiality]:
    """The verified figure (the report's total less the corrections the entity agreed, rounded up) and the
    materiality of what remains uncorrected, measured against that figure (§4 *1)."""
    reported = engagement.report.total_t
    corrected = sum((m.amount_t for m in engagement.misstatements.filter(corrected=True)), Decimal(0))
    verified = calculations.report_total_t([Decimal(reported) - corrected])
    uncorrected = engagement.misstatements.filter(corrected=False).values_list("amount_t", flat=True)
    threshold = parameters().for_year(engagement.report.fiscal_year).materiality_threshold
    return max(verified, 0), calculations.materiality(uncorrected, max(verified, 0), threshold)


@state_change
def opinion_sign(*, engagement: Engagement, kind: str, standard: str, statement: str, acting_user,
                 otp_token) -> Opinion:
    """The independent reviewer signs: the report is locked (verified) and, unless the opinion is adverse,
    the verified figure goes to compliance through its one service. An adverse opinion returns the report
    to the entity as a draft, with no figure."""
    if kind not in Opinion.Kind.values:
        _refuse(_("Choose the opinion."), "kind")
    if standard not in Opinion.Standard.values:
        _refuse(_("Choose the standard the verification followed."), "standard")
    if not str(statement or "").strip():
        _refuse(_("Write the opinion statement."), "statement")
    with transaction.atomic(), audit_context(acting_user, action="opinion_sign"):
        engagement = _locked_engagement(engagement)
        report = EmissionsReport.objects.select_for_update(no_key=True).select_related("organisation").get(
            pk=engagement.report_id)
        authorize(acting_user, VERIFY, engagement.body.organisation, fresh_code=otp_token)
        if engagement.independent_reviewer_id != acting_user.pk:
            raise RegistryError(ErrorCode.NOT_PERMITTED, _("Only the engagement's independent reviewer signs."),
                                "user")
        if engagement.team.filter(pk=acting_user.pk).exists():
            _refuse(_("The independent reviewer must not be on the verification team."), "user",
                    ErrorCode.NOT_INDEPENDENT)
        transition_check(engagement, Engagement.Status.OPINION_ISSUED)
        check_body_may_verify(engagement.body, report.organisation, timezone.localdate(), timezone.localdate())
        verified, materiality = opinion_figures(engagement)
        if engagement.purpose == Engagement.Purpose.BASELINE and kind != Opinion.Kind.ADVERSE and (
                engagement.misstatements.filter(corrected=True).exists()):
            _refuse(_("A baseline is verified process by process: the entity corrects the report itself (a new "
                      "version) instead of the figure."), "kind", ErrorCode.INVALID_STATE)
        if materiality.material and kind == Opinion.Kind.UNMODIFIED:
            _refuse(_("Uncorrected misstatements are %(ratio)s of the figure, at or above the %(threshold)s "
                      "materiality threshold: the opinion cannot be unmodified.")
                    % {"ratio": f"{materiality.ratio:.2%}", "threshold": f"{materiality.threshold:.0%}"}, "kind")
        opinion = Opinion.objects.create(
            engagement=engagement, kind=kind, standard=standard, assurance_level=engagement.assurance_level,
            reported_t=report.total_t, verified_t=None if kind == Opinion.Kind.ADVERSE else verified,
            misstatement_t=materiality.misstatement_t, materiality_ratio=materiality.ratio.quantize(Decimal("1e-6")),
            statement=statement.strip(), signed_by=acting_user)
        engagement.status = Engagement.Status.OPINION_ISSUED
        engagement.save(update_fields=["status"])
        if kind == Opinion.Kind.ADVERSE:
            report.status, report.total_t = EmissionsReport.Status.DRAFT, None
            report.save(update_fields=["status", "total_t"])
            return opinion
        report.status, report.verified_at = EmissionsReport.Status.VERIFIED, timezone.now()
        report.save(update_fields=["status", "verified_at"])
        if engagement.purpose == Engagement.Purpose.BASELINE:
            # A baseline year feeds the allocation: each process's verified emissions replace what was loaded.
            allocation_services.baseline_verified_record(
                organisation=report.organisation, fiscal_year=report.fiscal_year,
                process_emissions=opinion.baseline_process_emissions(), attestation=opinion, acting_user=acting_user)
        else:
            compliance.verified_emissions_record(organisation=report.organisation, fiscal_year=report.fiscal_year,
                                                 emissions_t=verified, attestation=opinion, acting_user=acting_user)
    return opinion


@state_change
def engagement_withdraw(*, engagement: Engagement, acting_user) -> Engagement:
    """The entity ends an engagement that has not started; the report stays submitted for another body."""
    with transaction.atomic(), audit_context(acting_user, action="engagement_withdraw"):
        engagement = _locked_engagement(engagement)
        authorize(acting_user, ACT, engagement.report.organisation)
        if engagement.status != Engagement.Status.APPOINTED:
            _refuse(_("Work has started; only an engagement not yet started can be withdrawn."), "status",
                    ErrorCode.INVALID_STATE)
        engagement.status = Engagement.Status.WITHDRAWN
        engagement.save(update_fields=["status"])
    return engagement
