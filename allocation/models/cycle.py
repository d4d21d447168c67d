"""The FY's allocation cycle (§5, §6): an entity's application, the FY's run, and the notice it receives.

An application is the entity's claim for one FY, reviewed and computed by one administrator, approved by
another, and issued by the run; a correction is a new version that supersedes the issued one and books
only the difference.
"""

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import LedgerTransaction, Organisation, User, audited
from allocation.models.facilities import FISCAL_YEAR_RANGE
from gxregistry.querysets import RestrictedQuerySet
from gxregistry.transitions import transition_trigger


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    RETURNED = "returned", _("Returned")
    COMPUTED = "computed", _("Computed")
    APPROVED = "approved", _("Approved")
    ISSUED = "issued", _("Issued")
    SUPERSEDED = "superseded", _("Superseded by a correction")


S = ApplicationStatus
APPLICATION_TRANSITIONS = {
    S.DRAFT: {S.SUBMITTED},
    S.SUBMITTED: {S.UNDER_REVIEW},
    # The reviewer computes it, or returns it with a message; a computed one may still be returned.
    S.UNDER_REVIEW: {S.COMPUTED, S.RETURNED},
    S.RETURNED: {S.SUBMITTED},
    S.COMPUTED: {S.APPROVED, S.RETURNED},
    S.APPROVED: {S.ISSUED},
    S.ISSUED: {S.SUPERSEDED},
}


@audited()
class AllocationApplication(models.Model):
    """A regulated entity's application for one FY's free allocation (for a joint notification, the
    notifying entity's for the group). The engine's result is fixed when computed; what was booked when issued."""

    Status = ApplicationStatus
    TRANSITIONS = APPLICATION_TRANSITIONS
    EDITABLE = (S.DRAFT, S.RETURNED)

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="allocation_applications",
                                     verbose_name=_("regulated entity"),
                                     limit_choices_to={"kind": Organisation.Kind.REGULATED_ENTITY})
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by", verbose_name=_("corrects"))
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)

    # §6-2, §6-3 evidence the entity gives with its figures (EntityFinancials of the previous FY).
    gx_patents = models.TextField(
        _("GX patents"), blank=True,
        help_text=_("One per line: the patent application number and its GX Technology Classification (§6-3)."))
    green_innovation_fund_share = models.DecimalField(
        _("Green Innovation Fund projects: self-funded share"), max_digits=5, decimal_places=4, null=True, blank=True,
        help_text=_("The share of the projects' cost the entity paid itself, 0 to 1 (§6-3)."))
    rd_confirmed_by = models.CharField(
        _("R&D spend confirmed by"), max_length=200, blank=True,
        help_text=_("An independent third party other than the registered verification body (§6-3)."))
    rd_confirmation_reference = models.CharField(_("confirmation reference"), max_length=200, blank=True)
    entity_note = models.TextField(_("note to the reviewer"), blank=True)

    # §5-1(2) "other cases" (economic crisis and similar): left by the report to a later decision, entered by
    # the reviewer as one line with its reason (docs/allocation-rules.md).
    adjustment_t = models.BigIntegerField(_("administrator's adjustment (t-CO2)"), default=0)
    adjustment_reason = models.CharField(_("reason for the adjustment"), max_length=300, blank=True)
    # A deduction larger than the FY's allocation is not lost at 0: what is left is taken from the next FY's.
    carried_in_t = models.BigIntegerField(_("deduction carried from the previous FY (t-CO2)"), default=0)
    carried_forward_t = models.BigIntegerField(_("deduction carried to the next FY (t-CO2)"), default=0)

    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewer = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("reviewer"))
    returned_message = models.TextField(_("reviewer's message"), blank=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    computed_lines = models.JSONField(_("engine lines"), default=list, blank=True)
    computed_total = models.BigIntegerField(_("allocation (t-CO2)"), null=True, blank=True)
    approved_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    # What this version booked: the whole allocation, or for a correction the difference (negative: returned).
    issued_quantity = models.BigIntegerField(_("booked (t-CO2)"), null=True, blank=True)
    ledger_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                              related_name="allocation_application",
                                              verbose_name=_("ledger transaction"))

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("allocation application")
        verbose_name_plural = _("allocation applications")
        ordering = ["-fiscal_year", "organisation__name", "-version"]
        constraints = [
            models.CheckConstraint(condition=FISCAL_YEAR_RANGE, name="allocation_application_fiscal_year_range"),
            # One version of an entity's FY allocation in force, and at most one more on its way (a correction).
            models.UniqueConstraint(fields=["organisation", "fiscal_year"], condition=Q(status="issued"),
                                    name="allocation_application_one_issued_per_fy"),
            models.UniqueConstraint(fields=["organisation", "fiscal_year"],
                                    condition=~Q(status__in=["issued", "superseded"]),
                                    name="allocation_application_one_open_per_fy"),
            models.UniqueConstraint(fields=["organisation", "fiscal_year", "version"],
                                    name="allocation_application_version_unique"),
            # Four eyes: the administrator who reviewed and computed it never approves it.
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("reviewer")),
                                   name="allocation_application_four_eyes"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted", "under_review", "returned"])
                | Q(computed_total__isnull=False, computed_total__gte=0),
                name="allocation_application_computed_has_total"),
            models.CheckConstraint(
                condition=~Q(status__in=["issued", "superseded"]) | Q(issued_quantity__isnull=False),
                name="allocation_application_issued_has_quantity"),
            models.CheckConstraint(condition=Q(carried_in_t__gte=0, carried_forward_t__gte=0),
                                   name="allocation_application_carried_not_negative"),
            models.CheckConstraint(condition=Q(adjustment_t=0) | ~Q(adjustment_reason=""),
                                   name="allocation_application_adjustment_has_reason"),
            models.CheckConstraint(condition=Q(green_innovation_fund_share__isnull=True)
                                   | Q(green_innovation_fund_share__gte=0, green_innovation_fund_share__lte=1),
                                   name="allocation_application_gif_share_is_a_share"),
        ]
        triggers = [transition_trigger("allocation_application_transitions", APPLICATION_TRANSITIONS)]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year} v{self.version}"

    def get_absolute_url(self):
        return reverse("allocation_application", args=[self.organisation_id, self.fiscal_year])


class AllocationRun(models.Model):
    """One start of an FY's allocation run: what it found to issue and how far it has got (a django-q2 job)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FINISHED_WITH_FAILURES = "finished_with_failures", _("Finished with failures")

    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    total = models.PositiveIntegerField(_("applications"), default=0)
    done = models.PositiveIntegerField(_("issued"), default=0)
    quantity = models.BigIntegerField(_("allowances to issue"), default=0)
    failures = models.JSONField(_("failures"), default=list, blank=True)  # [{"application": id, "entity": ..., "reason": ...}]

    class Meta:
        verbose_name = _("allocation run")
        verbose_name_plural = _("allocation runs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year"], condition=Q(status="running"),
                                    name="allocation_run_one_running_per_fy"),
            models.CheckConstraint(condition=Q(done__lte=F("total")), name="allocation_run_done_within_total"),
        ]

    def __str__(self):
        return f"FY{self.fiscal_year} {self.started_at:%Y-%m-%d %H:%M}"


class AllocationNotice(models.Model):
    """An allocation notice (割当通知書): the PDF made once when an application is issued, its SHA-256 and the
    number the public verify page answers for. A corrected notice names the one it supersedes."""

    application = models.OneToOneField(AllocationApplication, on_delete=models.PROTECT, related_name="notice",
                                       verbose_name=_("application"))
    number = models.CharField(_("document number"), max_length=40, unique=True)
    issued_on = models.DateField(_("date"))
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by", verbose_name=_("supersedes"))
    # What the notice states, canonical: its SHA-256 is printed on the PDF and checked by the verify page.
    content = models.JSONField(_("content"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    pdf = models.BinaryField(_("PDF"), editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "application__organisation"

    class Meta:
        verbose_name = _("allocation notice")
        verbose_name_plural = _("allocation notices")
        ordering = ["-issued_on", "number"]
        constraints = [models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"),
                                              name="allocation_notice_sha256_hex")]

    def __str__(self):
        return self.number
