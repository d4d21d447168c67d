"""Engagements: a registered body verifies one emissions report; its work, misstatements and opinion (§4)."""

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User, audited
from allocation.models import Facility
from gxregistry.querysets import RestrictedQuerySet
from gxregistry.transitions import transition_trigger
from verification.calculations import AssuranceLevel
from verification.models.bodies import VerificationBody
from verification.models.reports import EmissionsReport

ASSURANCE_LEVEL_CHOICES = [(AssuranceLevel.LIMITED.value, _("Limited assurance")),
                           (AssuranceLevel.REASONABLE.value, _("Reasonable assurance"))]


class EngagementStatus(models.TextChoices):
    APPOINTED = "appointed", _("Appointed")
    IN_PROGRESS = "in_progress", _("In progress")
    OPINION_ISSUED = "opinion_issued", _("Opinion issued")
    WITHDRAWN = "withdrawn", _("Withdrawn")


ENGAGEMENT_TRANSITIONS = {
    EngagementStatus.APPOINTED: {EngagementStatus.IN_PROGRESS, EngagementStatus.WITHDRAWN},
    EngagementStatus.IN_PROGRESS: {EngagementStatus.OPINION_ISSUED, EngagementStatus.WITHDRAWN},
}


@audited()
class Engagement(models.Model):
    """An entity appoints a registered body to verify one report: its baseline years or an FY's actuals."""

    class Purpose(models.TextChoices):
        BASELINE = "baseline", _("Baseline emissions (allocation)")
        ACTUAL = "actual", _("Actual emissions (surrender obligation)")

    Status = EngagementStatus
    TRANSITIONS = ENGAGEMENT_TRANSITIONS
    OPEN = (Status.APPOINTED, Status.IN_PROGRESS)

    body = models.ForeignKey(VerificationBody, on_delete=models.PROTECT, related_name="engagements",
                             verbose_name=_("verification body"))
    report = models.ForeignKey(EmissionsReport, on_delete=models.PROTECT, related_name="engagements",
                               verbose_name=_("emissions report"))
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.APPOINTED)
    assurance_level = models.CharField(_("required assurance level"), max_length=12, choices=ASSURANCE_LEVEL_CHOICES)
    assurance_reason = models.CharField(_("why this level"), max_length=300)
    due_on = models.DateField(_("opinion due on"))
    team = models.ManyToManyField(User, related_name="verification_engagements", blank=True,
                                  verbose_name=_("verification team"))
    independent_reviewer = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True,
                                             related_name="reviewed_engagements",
                                             verbose_name=_("independent reviewer"))
    appointed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("appointed by"))
    appointed_at = models.DateTimeField(_("appointed at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "body__organisation"
    also_visible_to = ("report__organisation",)  # the entity sees its own engagements

    class Meta:
        verbose_name = _("engagement")
        verbose_name_plural = _("engagements")
        ordering = ["-appointed_at"]
        constraints = [
            models.UniqueConstraint(fields=["report"], condition=Q(status__in=["appointed", "in_progress"]),
                                    name="engagement_one_open_per_report"),
        ]
        triggers = [transition_trigger("engagement_transitions", ENGAGEMENT_TRANSITIONS)]

    def __str__(self):
        return f"{self.body} — {self.report}"


class WorkLogEntry(models.Model):
    """What the team did: the plan, site visits, samples and findings (ISO 14064-3 evidence of the work)."""

    class Kind(models.TextChoices):
        PLAN = "plan", _("Verification plan")
        SITE_VISIT = "site_visit", _("Site visit")
        SAMPLE = "sample", _("Sample tested")
        FINDING = "finding", _("Finding")

    engagement = models.ForeignKey(Engagement, on_delete=models.PROTECT, related_name="work_log",
                                   verbose_name=_("engagement"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    occurred_on = models.DateField(_("date"))
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("facility"))
    description = models.TextField(_("description"))
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "engagement__body__organisation"

    class Meta:
        verbose_name = _("work log entry")
        verbose_name_plural = _("work log")
        ordering = ["occurred_on", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.occurred_on}"


class Misstatement(models.Model):
    """A difference the team found: positive when the report overstates, negative when it understates."""

    engagement = models.ForeignKey(Engagement, on_delete=models.PROTECT, related_name="misstatements",
                                   verbose_name=_("engagement"))
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("facility"))
    amount_t = models.DecimalField(_("amount (t-CO2)"), max_digits=18, decimal_places=3,
                                   help_text=_("Positive: the report overstates; negative: it understates."))
    description = models.TextField(_("description"))
    corrected = models.BooleanField(_("corrected by the entity"), default=False)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "engagement__body__organisation"

    class Meta:
        verbose_name = _("misstatement")
        verbose_name_plural = _("misstatements")
        ordering = ["recorded_at"]
        constraints = [models.CheckConstraint(condition=~Q(amount_t=0), name="misstatement_not_zero")]

    def __str__(self):
        return f"{self.amount_t} t: {self.description[:40]}"


class Opinion(models.Model):
    """The signed verification opinion; it locks the report and, unless adverse, is what compliance reads."""

    class Kind(models.TextChoices):
        UNMODIFIED = "unmodified", _("Unmodified")
        QUALIFIED = "qualified", _("Qualified")
        ADVERSE = "adverse", _("Adverse")

    class Standard(models.TextChoices):
        ISO_14064_3 = "iso_14064_3", "ISO 14064-3"
        ISSA_5000 = "issa_5000", "ISSA 5000"

    engagement = models.OneToOneField(Engagement, on_delete=models.PROTECT, related_name="opinion",
                                      verbose_name=_("engagement"))
    kind = models.CharField(_("opinion"), max_length=12, choices=Kind.choices)
    standard = models.CharField(_("standard"), max_length=12, choices=Standard.choices)
    assurance_level = models.CharField(_("assurance level"), max_length=12, choices=ASSURANCE_LEVEL_CHOICES)
    reported_t = models.BigIntegerField(_("reported emissions (t-CO2)"))
    verified_t = models.BigIntegerField(_("verified emissions (t-CO2)"), null=True, blank=True)
    misstatement_t = models.DecimalField(_("uncorrected misstatements (t-CO2)"), max_digits=18, decimal_places=3)
    materiality_ratio = models.DecimalField(_("misstatements as a share of the figure"), max_digits=9,
                                            decimal_places=6)
    statement = models.TextField(_("opinion statement"))
    signed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("signed by"))
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "engagement__body__organisation"
    also_visible_to = ("engagement__report__organisation",)

    class Meta:
        verbose_name = _("verification opinion")
        verbose_name_plural = _("verification opinions")
        constraints = [
            models.CheckConstraint(condition=Q(kind="adverse") | Q(verified_t__isnull=False),
                                   name="opinion_not_adverse_has_figure"),
            models.CheckConstraint(condition=Q(verified_t__isnull=True) | Q(verified_t__gte=0),
                                   name="opinion_figure_not_negative"),
        ]
        triggers = [pgtrigger.Protect(name="opinion_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.engagement}"

    @property
    def body_organisation(self):
        return self.engagement.body.organisation

    @property
    def reference(self) -> str:
        return f"opinion {self.pk}: {self.kind}, {self.standard}, {self.assurance_level}"

    def baseline_process_emissions(self) -> dict:
        """{process id: t-CO2} of the report's lines that name a process, summed."""
        totals = {}
        for process_id, emissions_t in self.engagement.report.lines.filter(process__isnull=False).values_list(
                "process_id", "emissions_t"):
            totals[process_id] = totals.get(process_id, 0) + emissions_t
        return totals

    def attests_baseline(self, organisation, fiscal_year: int, process_emissions: dict) -> bool:
        report = self.engagement.report
        return (self.kind != self.Kind.ADVERSE and self.engagement.purpose == "baseline"
                and report.organisation_id == organisation.pk and report.fiscal_year == fiscal_year
                and process_emissions == self.baseline_process_emissions()
                and self.signed_by_id == self.engagement.independent_reviewer_id)

    def attests(self, organisation, fiscal_year: int, emissions_t: int) -> bool:
        """The check compliance makes before recording verified emissions on this opinion's word."""
        report = self.engagement.report
        return (self.kind != self.Kind.ADVERSE and report.organisation_id == organisation.pk
                and report.fiscal_year == fiscal_year and self.verified_t == emissions_t
                and self.signed_by_id == self.engagement.independent_reviewer_id)
