"""Registered verification bodies (登録確認機関, §4): registration, applications and their evidence."""

from datetime import date

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, User, audited
from gxregistry.querysets import RestrictedQuerySet
from gxregistry.storage import private_storage
from gxregistry.transitions import transition_trigger


class BodyStatus(models.TextChoices):
    APPLYING = "applying", _("Applying")
    REGISTERED = "registered", _("Registered")
    REFUSED = "refused", _("Refused")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")


BODY_TRANSITIONS = {
    BodyStatus.APPLYING: {BodyStatus.REGISTERED, BodyStatus.REFUSED},
    BodyStatus.REFUSED: {BodyStatus.APPLYING},
    BodyStatus.REGISTERED: {BodyStatus.SUSPENDED, BodyStatus.REVOKED},
    BodyStatus.SUSPENDED: {BodyStatus.REGISTERED, BodyStatus.REVOKED},
}


@audited()
class VerificationBody(models.Model):
    """A verification body's standing with METI. Its staff are the members of ``organisation``."""

    Status = BodyStatus
    TRANSITIONS = BODY_TRANSITIONS

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="verification_body",
                                        verbose_name=_("organisation"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.APPLYING)
    registration_number = models.CharField(_("registration number"), max_length=30, unique=True, null=True,
                                           blank=True)
    registered_on = models.DateField(_("first registered on"), null=True, blank=True)
    valid_from = models.DateField(_("registration valid from"), null=True, blank=True)
    valid_until = models.DateField(_("registration valid until"), null=True, blank=True,
                                   help_text=_("The last day of the registration."))
    scope = models.TextField(_("scope (Japanese)"), blank=True)
    scope_en = models.TextField(_("scope (English)"), blank=True)
    status_reason = models.TextField(_("reason for the status"), blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("verification body")
        verbose_name_plural = _("verification bodies")
        ordering = ["registration_number", "organisation__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["applying", "refused"]) | (
                    Q(registration_number__isnull=False) & Q(valid_from__isnull=False)
                    & Q(valid_until__isnull=False) & Q(registered_on__isnull=False)),
                name="verification_body_registered_has_number_and_dates"),
            models.CheckConstraint(condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                                   name="verification_body_validity_ordered"),
        ]
        triggers = [transition_trigger("verification_body_transitions", BODY_TRANSITIONS)]

    def __str__(self):
        return self.organisation.name

    def registered_through(self, start: date, end: date) -> bool:
        """Registered, not suspended or revoked, and valid on every day from ``start`` to ``end``."""
        return (self.status == self.Status.REGISTERED and self.valid_from is not None
                and self.valid_from <= start and end <= self.valid_until)

    def standing(self, today: date | None = None) -> str:
        """The status the public reads: "expired" once the last valid day has passed."""
        today = today or timezone.localdate()
        if self.status == self.Status.REGISTERED and self.valid_until < today:
            return "expired"
        return self.status

    def standing_label(self, today: date | None = None):
        standing = self.standing(today)
        return _("Expired") if standing == "expired" else self.Status(standing).label


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    INFORMATION_REQUESTED = "information_requested", _("More information requested")
    REGISTERED = "registered", _("Registered")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


APPLICATION_TRANSITIONS = {
    ApplicationStatus.DRAFT: {ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN},
    ApplicationStatus.SUBMITTED: {ApplicationStatus.INFORMATION_REQUESTED, ApplicationStatus.REGISTERED, ApplicationStatus.REFUSED},
    ApplicationStatus.INFORMATION_REQUESTED: {ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN},
}


@audited()
class RegistrationApplication(models.Model):
    """An application to be registered, or to renew, with the four requirement groups of §4."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("First registration")
        RENEWAL = "renewal", _("Renewal")

    Status = ApplicationStatus

    class BasicQualification(models.TextChoices):
        ISO_14065 = "iso_14065", _("ISO 14065 accreditation to ISO 14064-1")
        LISTED_COMPANY_EXPERIENCE = "listed_company_experience", _(
            "Prior emissions assurance for listed companies (FY2026-2028 only)")
    TRANSITIONS = APPLICATION_TRANSITIONS
    OPEN = (Status.DRAFT, Status.SUBMITTED, Status.INFORMATION_REQUESTED)
    EDITABLE = (Status.DRAFT, Status.INFORMATION_REQUESTED)  # the body may change it (METI has it otherwise)

    body = models.ForeignKey(VerificationBody, on_delete=models.PROTECT, related_name="applications",
                             verbose_name=_("verification body"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.INITIAL)
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.DRAFT)
    # (1) basic qualifications
    basic_qualification = models.CharField(_("basic qualification"), max_length=30,
                                           choices=BasicQualification.choices, blank=True)
    accreditation = models.TextField(_("accreditation or prior assurance work"), blank=True, help_text=_(
        "Accreditation body, certificate number and scope; or the listed companies assured and when."))
    # (2) personnel
    personnel = models.TextField(_("personnel and their competence"), blank=True)
    responsible_verifier = models.CharField(_("responsible verifier"), max_length=200, blank=True)
    responsible_verifier_experience = models.TextField(_("responsible verifier's emissions-verification experience"),
                                                       blank=True)
    # (3) financial footing
    financial_footing = models.TextField(_("financial footing"), blank=True)
    # (4) in-house quality assurance and independence
    quality_assurance = models.TextField(_("in-house quality assurance"), blank=True)
    independence = models.TextField(_("independence and impartiality"), blank=True)
    scope = models.TextField(_("scope (Japanese)"), blank=True, help_text=_("Sectors and activities to be verified."))
    scope_en = models.TextField(_("scope (English)"), blank=True)

    meti_message = models.TextField(_("message from METI"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("submitted by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "body__organisation"

    class Meta:
        verbose_name = _("registration application")
        verbose_name_plural = _("registration applications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["body"], condition=Q(status__in=["draft", "submitted",
                                                                             "information_requested"]),
                                    name="registration_application_one_open_per_body"),
        ]
        triggers = [transition_trigger("registration_application_transitions", APPLICATION_TRANSITIONS)]

    def __str__(self):
        return f"{self.body} — {self.get_kind_display()} ({self.get_status_display()})"


class RequirementEvidence(models.Model):
    """A file that backs one requirement group of an application; stored privately."""

    class Requirement(models.TextChoices):
        BASIC = "basic", _("Basic qualifications")
        PERSONNEL = "personnel", _("Personnel")
        FINANCIAL = "financial", _("Financial footing")
        QUALITY = "quality", _("Quality assurance and independence")

    application = models.ForeignKey(RegistrationApplication, on_delete=models.PROTECT, related_name="evidence",
                                    verbose_name=_("application"))
    requirement = models.CharField(_("requirement"), max_length=20, choices=Requirement.choices)
    file = models.FileField(_("file"), storage=private_storage, upload_to="verification/evidence/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "application__body__organisation"

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["requirement", "uploaded_at"]

    def __str__(self):
        return self.original_name


class ExpiryReminder(models.Model):
    """One reminder e-mail per body, registration period and lead time: the unique key makes it once."""

    body = models.ForeignKey(VerificationBody, on_delete=models.PROTECT, related_name="reminders")
    valid_until = models.DateField(_("registration valid until"))
    days_before = models.PositiveSmallIntegerField(_("days before expiry"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [models.UniqueConstraint(fields=["body", "valid_until", "days_before"],
                                               name="expiry_reminder_once")]

    def __str__(self):
        return f"{self.body} {self.valid_until} -{self.days_before}d"


@audited()
class ConflictDeclaration(models.Model):
    """A body declares that it is not independent of an entity (§4): it may not verify the entity or its group."""

    body = models.ForeignKey(VerificationBody, on_delete=models.PROTECT, related_name="conflicts",
                             verbose_name=_("verification body"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("regulated entity"))
    description = models.TextField(_("nature of the conflict"))
    declared_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("declared by"))
    declared_at = models.DateTimeField(_("declared at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "body__organisation"

    class Meta:
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        constraints = [models.UniqueConstraint(fields=["body", "organisation"], condition=Q(ended_at__isnull=True),
                                               name="conflict_declared_once")]

    def __str__(self):
        return f"{self.body} / {self.organisation}"


@audited()
class ActivityReport(models.Model):
    """A body's yearly report of its verification work to METI (§4: METI reviews bodies through it)."""

    body = models.ForeignKey(VerificationBody, on_delete=models.PROTECT, related_name="activity_reports",
                             verbose_name=_("verification body"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    summary = models.TextField(_("summary of the year's work"))
    staff_count = models.PositiveIntegerField(_("verification staff"))
    complaints = models.TextField(_("complaints and appeals"), blank=True)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "body__organisation"

    class Meta:
        verbose_name = _("activity report")
        verbose_name_plural = _("activity reports")
        constraints = [models.UniqueConstraint(fields=["body", "fiscal_year"], name="activity_report_once_per_fy")]

    def __str__(self):
        return f"{self.body} FY{self.fiscal_year}"
