"""Registration of verification bodies (§4): the body applies, METI decides, the registration runs 5 years."""

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from accounts.roles import ACT
from allocation.adapter import parameters
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.fiscal import fiscal_year_of
from gxregistry.transitions import transition_check
from gxregistry.uploads import PDF, XLSX, save_with_file, upload_check
from verification.models import (
    ActivityReport,
    ConflictDeclaration,
    ExpiryReminder,
    RegistrationApplication,
    RequirementEvidence,
    VerificationBody,
)

MANAGE_BODIES = "verification.change_verificationbody"  # registry administrators, through their group
EVIDENCE_TYPES = PDF | XLSX
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
# What a complete application states for each requirement group (§4 (1)-(4)).
REQUIRED_TEXT = {
    RequirementEvidence.Requirement.BASIC: ("basic_qualification", "accreditation"),
    RequirementEvidence.Requirement.PERSONNEL: ("personnel", "responsible_verifier", "responsible_verifier_experience"),
    RequirementEvidence.Requirement.FINANCIAL: ("financial_footing",),
    RequirementEvidence.Requirement.QUALITY: ("quality_assurance", "independence"),
}
APPLICATION_FIELDS = ("basic_qualification", "accreditation", "personnel", "responsible_verifier",
                      "responsible_verifier_experience", "financial_footing", "quality_assurance", "independence",
                      "scope", "scope_en")


def _refuse(message, field, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


def _check_editable(application) -> None:
    if application.status not in RegistrationApplication.EDITABLE:
        _refuse(_("A submitted application cannot be changed."), "status", ErrorCode.INVALID_STATE)


def _locked_application(application) -> RegistrationApplication:
    return RegistrationApplication.objects.select_for_update(no_key=True).select_related("body__organisation").get(
        pk=application.pk)


@state_change
def body_application_start(*, organisation: Organisation, acting_user) -> RegistrationApplication:
    """A verification body's representative opens its application: the first, or a renewal once registered."""
    with transaction.atomic(), audit_context(acting_user, action="body_application_start"):
        Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        authorize(acting_user, ACT, organisation)
        if organisation.kind != Organisation.Kind.VERIFICATION_BODY:
            _refuse(_("Only a verification body applies for registration."), "organisation")
        body, _created = VerificationBody.objects.get_or_create(organisation=organisation)
        if body.applications.filter(status__in=RegistrationApplication.OPEN).exists():
            _refuse(_("An application is already open; continue it."), "application", ErrorCode.DUPLICATE)
        if body.status == VerificationBody.Status.REVOKED:
            _refuse(_("The registration was revoked; a new registration needs a new organisation record."),
                    "status", ErrorCode.INVALID_STATE)
        if body.status == VerificationBody.Status.REFUSED:
            body.status = VerificationBody.Status.APPLYING
            body.save(update_fields=["status"])
        renewal = body.status in (VerificationBody.Status.REGISTERED, VerificationBody.Status.SUSPENDED)
        previous = body.applications.filter(status=RegistrationApplication.Status.REGISTERED).first()
        carried = {name: getattr(previous, name) for name in APPLICATION_FIELDS} if previous else {}
        return RegistrationApplication.objects.create(
            body=body, kind=RegistrationApplication.Kind.RENEWAL if renewal else RegistrationApplication.Kind.INITIAL,
            **carried)


@state_change
def body_application_update(*, application: RegistrationApplication, acting_user, **fields) -> RegistrationApplication:
    """Change what a draft (or an application sent back for more information) says."""
    unknown = set(fields) - set(APPLICATION_FIELDS)
    if unknown:
        raise ValueError(f"not application fields: {sorted(unknown)}")
    with transaction.atomic(), audit_context(acting_user, action="body_application_update"):
        application = _locked_application(application)
        authorize(acting_user, ACT, application.body.organisation)
        _check_editable(application)
        for name, value in fields.items():
            setattr(application, name, (value or "").strip() if isinstance(value, str) or value is None else value)
        if application.basic_qualification and application.basic_qualification not in \
                RegistrationApplication.BasicQualification.values:
            _refuse(_("Choose a basic qualification."), "basic_qualification")
        application.save(update_fields=list(fields))
    return application


@state_change
def evidence_upload(*, application: RegistrationApplication, requirement: str, upload, acting_user) -> RequirementEvidence:
    """Attach a PDF or XLSX to one requirement group; its type is checked from its first bytes, not its name."""
    if requirement not in RequirementEvidence.Requirement.values:
        _refuse(_("Choose the requirement the file supports."), "requirement")
    checked = upload_check(upload, types=EVIDENCE_TYPES, max_bytes=MAX_EVIDENCE_BYTES)
    with transaction.atomic(), audit_context(acting_user, action="evidence_upload"):
        application = _locked_application(application)
        authorize(acting_user, ACT, application.body.organisation)
        _check_editable(application)
        evidence = RequirementEvidence(
            application=application, requirement=requirement, original_name=checked.original_name,
            content_type=checked.content_type, size=checked.size, sha256=checked.sha256, uploaded_by=acting_user)
        save_with_file(evidence, "file", upload, checked)
    return evidence


def missing_for_submission(application: RegistrationApplication, today: date) -> dict[str, str]:
    """What stops an application being submitted, by field: empty when it is complete."""
    missing = {}
    for requirement, names in REQUIRED_TEXT.items():
        for name in names:
            if not getattr(application, name):
                missing[name] = _("Required.")
        if not application.evidence.filter(requirement=requirement).exists():
            missing[f"evidence_{requirement}"] = _("Attach at least one file for %(requirement)s.") % {
                "requirement": RequirementEvidence.Requirement(requirement).label}
    last_fy = parameters().default.experience_instead_of_accreditation_last_fy
    if (application.basic_qualification == RegistrationApplication.BasicQualification.LISTED_COMPANY_EXPERIENCE
            and fiscal_year_of(today) > last_fy):
        missing["basic_qualification"] = _("Prior assurance experience qualifies only until FY%(fy)s; ISO 14065 "
                                           "accreditation is required now.") % {"fy": last_fy}
    if not application.scope:
        missing["scope"] = _("Required.")
    return missing


@state_change
def body_application_submit(*, application: RegistrationApplication, acting_user) -> RegistrationApplication:
    with transaction.atomic(), audit_context(acting_user, action="body_application_submit"):
        application = _locked_application(application)
        authorize(acting_user, ACT, application.body.organisation)
        transition_check(application, RegistrationApplication.Status.SUBMITTED)
        missing = missing_for_submission(application, timezone.localdate())
        if missing:
            field, message = next(iter(missing.items()))
            _refuse(_("The application is incomplete: %(field)s: %(message)s") % {
                "field": field_label(field), "message": message}, field)
        application.status = RegistrationApplication.Status.SUBMITTED
        application.submitted_at, application.submitted_by = timezone.now(), acting_user
        application.save(update_fields=["status", "submitted_at", "submitted_by"])
    return application


def field_label(name: str) -> str:
    if name.startswith("evidence_"):
        return str(RequirementEvidence.Requirement(name.removeprefix("evidence_")).label)
    return str(RegistrationApplication._meta.get_field(name).verbose_name)


def _decide(application, acting_user, otp_token, new_status):
    application = _locked_application(application)
    VerificationBody.objects.select_for_update(no_key=True).get(pk=application.body_id)
    authorize(acting_user, MANAGE_BODIES, fresh_code=otp_token)
    transition_check(application, new_status)
    application.status = new_status
    application.decided_at, application.decided_by = timezone.now(), acting_user
    return application


@state_change
def body_application_request_information(*, application, message: str, acting_user, otp_token) -> RegistrationApplication:
    """METI sends the application back with what it needs; the body changes it and submits again."""
    if not str(message or "").strip():
        _refuse(_("Say what information is needed."), "message")
    with transaction.atomic(), audit_context(acting_user, action="body_application_request_information"):
        application = _decide(application, acting_user, otp_token,
                              RegistrationApplication.Status.INFORMATION_REQUESTED)
        application.meti_message = message.strip()
        application.save(update_fields=["status", "decided_at", "decided_by", "meti_message"])
    return application


@state_change
def body_application_refuse(*, application, reason: str, acting_user, otp_token) -> RegistrationApplication:
    if not str(reason or "").strip():
        _refuse(_("Give the reason for the refusal."), "reason")
    with transaction.atomic(), audit_context(acting_user, action="body_application_refuse"):
        application = _decide(application, acting_user, otp_token, RegistrationApplication.Status.REFUSED)
        application.meti_message = reason.strip()
        application.save(update_fields=["status", "decided_at", "decided_by", "meti_message"])
        body = application.body
        if body.status == VerificationBody.Status.APPLYING:
            body.status, body.status_reason, body.status_changed_at = VerificationBody.Status.REFUSED, reason.strip(), \
                timezone.now()
            body.save(update_fields=["status", "status_reason", "status_changed_at"])
    return application


def registration_end(start: date, years: int) -> date:
    """The last valid day of a registration that starts on ``start`` and lasts ``years`` (29 February -> 28th)."""
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year that has none: the period ends on 28 February
        return start.replace(year=start.year + years, day=28)
    return anniversary - timedelta(days=1)


def _registration_terms(application, body, registration_number, registered_on) -> tuple[str, date, date]:
    """The registration number and the period a registration decided on ``registered_on`` gives, refused when the
    number is missing or taken (first registrations; a renewal keeps the body's number)."""
    years = parameters().for_year(fiscal_year_of(registered_on)).registration_validity_years
    if application.kind == RegistrationApplication.Kind.INITIAL:
        number = str(registration_number or "").strip()
        if not number:
            _refuse(_("Give the registration number."), "registration_number")
        if VerificationBody.objects.filter(registration_number=number).exclude(pk=body.pk).exists():
            _refuse(_("Another body has this registration number."), "registration_number", ErrorCode.DUPLICATE)
        transition_check(body, VerificationBody.Status.REGISTERED)
        start = registered_on
    else:
        number = body.registration_number
        start = max(registered_on, body.valid_until + timedelta(days=1))
    return number, start, registration_end(start, years)


DECISION_STATUS = {"register": RegistrationApplication.Status.REGISTERED,
                   "refuse": RegistrationApplication.Status.REFUSED,
                   "request_information": RegistrationApplication.Status.INFORMATION_REQUESTED}


@state_change
def body_decision_check(*, application, decision: str, registration_number: str = "", registered_on: date,
                        acting_user) -> dict:
    """What deciding ``application`` would do, refused as the decision would be, changing nothing and asking no
    code: for the page where METI checks before confirming. For a registration, the number and period."""
    authorize(acting_user, MANAGE_BODIES)
    if decision not in DECISION_STATUS:
        _refuse(_("Choose a decision."), "decision")
    transition_check(application, DECISION_STATUS[decision])
    if decision != "register":
        return {}
    number, valid_from, valid_until = _registration_terms(application, application.body, registration_number,
                                                          registered_on)
    return {"registration_number": number, "valid_from": valid_from, "valid_until": valid_until}


@state_change
def body_register(*, application, registration_number: str = "", registered_on: date, acting_user,
                  otp_token) -> VerificationBody:
    """Register the body (first application) or renew its registration for another period (§4: 5 years).

    A renewal decided before expiry runs on from the day after the old period's last day, so no day is
    lost or counted twice; one decided after expiry starts on ``registered_on``."""
    with transaction.atomic(), audit_context(acting_user, action="body_register"):
        application = _decide(application, acting_user, otp_token, RegistrationApplication.Status.REGISTERED)
        body = VerificationBody.objects.select_for_update(no_key=True).get(pk=application.body_id)
        number, body.valid_from, body.valid_until = _registration_terms(application, body, registration_number,
                                                                        registered_on)
        if application.kind == RegistrationApplication.Kind.INITIAL:
            body.registration_number, body.registered_on = number, registered_on
            body.status = VerificationBody.Status.REGISTERED
        body.scope, body.scope_en = application.scope, application.scope_en
        body.status_changed_at = timezone.now()
        body.save()
        application.save(update_fields=["status", "decided_at", "decided_by"])
    return body


BODY_STATE_ACTS = {"suspend": VerificationBody.Status.SUSPENDED, "reinstate": VerificationBody.Status.REGISTERED,
                   "revoke": VerificationBody.Status.REVOKED}


@state_change
def body_state_check(*, body, act: str, acting_user) -> None:
    """Refuse a suspension, reinstatement or revocation as the act would (nothing changes, no code asked): the
    check METI's page makes before asking for the reason's confirmation and the code."""
    authorize(acting_user, MANAGE_BODIES)
    transition_check(body, BODY_STATE_ACTS[act])


def _body_state_change(body, acting_user, otp_token, new_status, reason, action):
    if new_status != VerificationBody.Status.REGISTERED and not str(reason or "").strip():
        _refuse(_("Give the reason."), "reason")
    with transaction.atomic(), audit_context(acting_user, action=action):
        body = VerificationBody.objects.select_for_update(no_key=True).select_related("organisation").get(pk=body.pk)
        authorize(acting_user, MANAGE_BODIES, fresh_code=otp_token)
        transition_check(body, new_status)
        body.status, body.status_reason, body.status_changed_at = new_status, str(reason or "").strip(), timezone.now()
        body.save(update_fields=["status", "status_reason", "status_changed_at"])
    return body


@state_change
def body_suspend(*, body, reason: str, acting_user, otp_token) -> VerificationBody:
    """A suspended body keeps its registration number but may take and finish no engagement until reinstated."""
    return _body_state_change(body, acting_user, otp_token, VerificationBody.Status.SUSPENDED, reason, "body_suspend")


@state_change
def body_reinstate(*, body, acting_user, otp_token) -> VerificationBody:
    return _body_state_change(body, acting_user, otp_token, VerificationBody.Status.REGISTERED, "", "body_reinstate")


@state_change
def body_revoke(*, body, reason: str, acting_user, otp_token) -> VerificationBody:
    return _body_state_change(body, acting_user, otp_token, VerificationBody.Status.REVOKED, reason, "body_revoke")


@state_change
def conflict_declare(*, body, organisation, description: str, acting_user) -> ConflictDeclaration:
    """The body records that it is not independent of an entity; engagements with it (or its group) are refused."""
    if not str(description or "").strip():
        _refuse(_("Describe the conflict."), "description")
    with transaction.atomic(), audit_context(acting_user, action="conflict_declare"):
        body = VerificationBody.objects.select_for_update(no_key=True).select_related("organisation").get(pk=body.pk)
        authorize(acting_user, ACT, body.organisation)
        if organisation.kind != Organisation.Kind.REGULATED_ENTITY:
            _refuse(_("Choose a regulated entity."), "organisation")
        if body.conflicts.filter(organisation=organisation, ended_at__isnull=True).exists():
            _refuse(_("This conflict is already declared."), "organisation", ErrorCode.DUPLICATE)
        return ConflictDeclaration.objects.create(body=body, organisation=organisation,
                                                  description=description.strip(), declared_by=acting_user)


@state_change
def activity_report_submit(*, body, fiscal_year: int, summary: str, staff_count: int, complaints: str = "",
                           acting_user) -> ActivityReport:
    """The body's yearly report of its work to METI, once per FY."""
    if not str(summary or "").strip():
        _refuse(_("Summarise the year's work."), "summary")
    with transaction.atomic(), audit_context(acting_user, action="activity_report_submit"):
        body = VerificationBody.objects.select_for_update(no_key=True).select_related("organisation").get(pk=body.pk)
        authorize(acting_user, ACT, body.organisation)
        if body.registered_on is None:
            _refuse(_("Only a registered body reports its activity."), "body", ErrorCode.INVALID_STATE)
        if body.activity_reports.filter(fiscal_year=fiscal_year).exists():
            _refuse(_("The report for FY%(fy)s has already been submitted.") % {"fy": fiscal_year}, "fiscal_year",
                    ErrorCode.DUPLICATE)
        return ActivityReport.objects.create(body=body, fiscal_year=fiscal_year, summary=summary.strip(),
                                             staff_count=staff_count, complaints=(complaints or "").strip(),
                                             submitted_by=acting_user)


def expiry_reminders_send(*, today: date | None = None) -> int:
    """The nightly job: e-mail each registered body 180, 90 and 30 days before its registration ends, once each.

    Actor-less by design (a schedule, like the ledger's transfer execution): it changes no standing, only
    records that a reminder went. A reminder missed on its day (the job did not run) goes the next night:
    the lead times are "at most N days left", and the unique key keeps each to one."""
    from django.core.mail import send_mail

    from accounts.models import Membership

    today = today or timezone.localdate()
    sent = 0
    horizon = today + timedelta(days=max(settings.VERIFICATION_EXPIRY_REMINDER_DAYS))
    for body in VerificationBody.objects.filter(status=VerificationBody.Status.REGISTERED, valid_until__gte=today,
                                                valid_until__lte=horizon).select_related("organisation"):
        left = (body.valid_until - today).days
        due = [days for days in sorted(settings.VERIFICATION_EXPIRY_REMINDER_DAYS) if left <= days]
        if not due:
            continue
        days = due[0]  # the nearest lead time: one e-mail a night at most, the most pressing
        if body.applications.filter(kind=RegistrationApplication.Kind.RENEWAL,
                                    status__in=RegistrationApplication.OPEN[1:]).exists():
            continue  # renewal already submitted: nothing to remind
        with transaction.atomic():
            _reminder, created = ExpiryReminder.objects.get_or_create(body=body, valid_until=body.valid_until,
                                                                      days_before=days)
            if not created:
                continue
            recipients = list(Membership.objects.filter(organisation=body.organisation, ended_at__isnull=True,
                                                        user__is_active=True).values_list("user__email", flat=True))
            send_mail(
                subject=f"[GX-ETS] Registration {body.registration_number} expires on {body.valid_until:%Y-%m-%d}",
                message=(f"{body.organisation.name}: registration {body.registration_number} as a verification body "
                         f"ends on {body.valid_until:%Y-%m-%d} ({left} days). Apply to renew in the registry.\n\n"
                         f"登録確認機関としての登録（{body.registration_number}）は {body.valid_until:%Y年%m月%d日} に"
                         f"満了します（残り{left}日）。登録簿から更新を申請してください。"),
                from_email=None, recipient_list=recipients)
            sent += 1
    return sent
