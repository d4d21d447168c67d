"""Transition plans (移行計画, report §7): what each regulated entity files every FY and what the public reads.

A plan is versioned: each version is filed by a representative, confirmed by an approving representative
(then it goes to METI), and accepted or returned by an administrator. A returned or accepted version is never
changed again; a resubmission is a new version, so earlier ones stay as they were. The public reads the
latest accepted version, and only its public items (docs/transition-plans.md): item 3 and the projections
before FY2030 are submission-only.
"""

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, User, audited
from allocation.models.facilities import FISCAL_YEAR_RANGE
from gxregistry.querysets import RestrictedQuerySet
from gxregistry.storage import private_storage
from gxregistry.transitions import transition_trigger

# §7 item 1: projections for the first phase; only the last of them is public.
PROJECTION_YEARS = tuple(range(2026, 2031))
PUBLIC_PROJECTION_YEAR = 2030
FIRST_ACTUAL_YEAR = 2023  # the baseline years (FY2023-2025) are the earliest results a plan reports


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FILED = "filed", _("Waiting for the approving representative")
    SUBMITTED = "submitted", _("Submitted to METI")
    ACCEPTED = "accepted", _("Accepted")
    RETURNED = "returned", _("Returned")


P = PlanStatus
PLAN_TRANSITIONS = {
    P.DRAFT: {P.FILED},
    # The approving representative confirms it (to METI) or sends it back to the representative.
    P.FILED: {P.SUBMITTED, P.DRAFT},
    P.SUBMITTED: {P.ACCEPTED, P.RETURNED},
}


@audited()
class TransitionPlan(models.Model):
    """One version of an entity's transition plan for an FY (for a joint notification, the notifying entity's
    for the group, with the group's boundary stated). Its figures and items are the rows below."""

    Status = PlanStatus
    TRANSITIONS = PLAN_TRANSITIONS
    OPEN = (P.DRAFT, P.FILED, P.SUBMITTED)

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="transition_plans",
                                     verbose_name=_("regulated entity"),
                                     limit_choices_to={"kind": Organisation.Kind.REGULATED_ENTITY})
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)

    group_boundary = models.TextField(
        _("boundary of the joint notification group"), blank=True,
        help_text=_("For a joint notification: the companies the plan covers (they must also be inside the "
                    "boundary of the public documents in item 5)."))
    rd_expenses_yen = models.BigIntegerField(
        _("total GX R&D expenses (yen)"), null=True, blank=True,
        help_text=_("Item 4③: the sum of the R&D project expenses behind the patents and projects listed."))
    rd_initiatives = models.TextField(
        _("initiatives in the GX technology categories"), blank=True,
        help_text=_("Item 5, for entities receiving the R&D allocation: the status of initiatives in the "
                    "technology categories of item 4, and their place in the plan to reach carbon neutrality."))
    other_initiatives = models.TextField(_("other initiatives"), blank=True,
                                         help_text=_("Item 5: other initiatives towards carbon neutrality."))

    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    filed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("filed by"))
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("confirmed by"))
    confirmed_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # The last message of whoever sent it back: the approving representative (to draft) or METI (returned).
    message = models.TextField(_("message"), blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("transition plan")
        verbose_name_plural = _("transition plans")
        ordering = ["-fiscal_year", "organisation__name", "-version"]
        constraints = [
            models.CheckConstraint(condition=FISCAL_YEAR_RANGE, name="transition_plan_fiscal_year_range"),
            models.UniqueConstraint(fields=["organisation", "fiscal_year", "version"],
                                    name="transition_plan_version_unique"),
            # One version on its way at a time; accepted and returned ones stay as they were.
            models.UniqueConstraint(fields=["organisation", "fiscal_year"],
                                    condition=Q(status__in=["draft", "filed", "submitted"]),
                                    name="transition_plan_one_open_per_fy"),
            # Filed by one person, confirmed by another (the approving representative).
            models.CheckConstraint(condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=F("filed_by")),
                                   name="transition_plan_four_eyes"),
            models.CheckConstraint(condition=Q(rd_expenses_yen__isnull=True) | Q(rd_expenses_yen__gte=0),
                                   name="transition_plan_rd_expenses_not_negative"),
            models.CheckConstraint(condition=~Q(status__in=["accepted", "returned"]) | Q(decided_at__isnull=False),
                                   name="transition_plan_decided_has_date"),
        ]
        triggers = [transition_trigger("transition_plan_transitions", PLAN_TRANSITIONS)]
        indexes = [models.Index(fields=["fiscal_year", "status"], name="transition_plan_fy_status")]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year} v{self.version}"

    def get_absolute_url(self):
        return reverse("transition_plan", args=[self.organisation_id, self.fiscal_year])


class PlanEmissions(models.Model):
    """Items 1 and 2: a year's projected or actual emissions, direct and indirect (t-CO2); the total is the
    database's sum, so it can never disagree with its parts."""

    class Kind(models.TextChoices):
        PROJECTED = "projected", _("Projected")
        ACTUAL = "actual", _("Actual")

    plan = models.ForeignKey(TransitionPlan, on_delete=models.CASCADE, related_name="emissions",
                             verbose_name=_("transition plan"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    direct_t = models.BigIntegerField(_("direct emissions (t-CO2)"))
    # Blank until the entity enters it (a verified year's direct emissions arrive before the indirect ones).
    indirect_t = models.BigIntegerField(_("indirect emissions (t-CO2)"), null=True, blank=True)
    total_t = models.GeneratedField(expression=F("direct_t") + F("indirect_t"), output_field=models.BigIntegerField(),
                                    db_persist=True, verbose_name=_("total (t-CO2)"))

    class Meta:
        verbose_name = _("plan emissions")
        verbose_name_plural = _("plan emissions")
        ordering = ["kind", "fiscal_year"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "kind", "fiscal_year"], name="plan_emissions_once_per_year"),
            models.CheckConstraint(condition=Q(direct_t__gte=0, indirect_t__gte=0),
                                   name="plan_emissions_not_negative"),
            models.CheckConstraint(condition=~Q(kind="projected") | Q(fiscal_year__gte=PROJECTION_YEARS[0],
                                                                      fiscal_year__lte=PROJECTION_YEARS[-1]),
                                   name="plan_emissions_projection_years"),
            models.CheckConstraint(condition=Q(fiscal_year__gte=FIRST_ACTUAL_YEAR, fiscal_year__lte=2100),
                                   name="plan_emissions_fiscal_year_range"),
        ]

    def __str__(self):
        return f"{self.plan} {self.kind} FY{self.fiscal_year}"


class PlanInvestment(models.Model):
    """Item 3: a capital investment plan or result. Submission only: never on a public page, file or API."""

    class Stage(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IMPLEMENTED = "implemented", _("Implemented")

    plan = models.ForeignKey(TransitionPlan, on_delete=models.CASCADE, related_name="investments",
                             verbose_name=_("transition plan"))
    stage = models.CharField(_("plan or result"), max_length=12, choices=Stage.choices, default=Stage.PLANNED)
    measure = models.CharField(_("reduction measure"), max_length=300)
    facilities = models.CharField(_("facilities"), max_length=300)
    timing = models.CharField(_("timing"), max_length=100, help_text=_("e.g. FY2027-FY2028"))
    effect_t_per_year = models.BigIntegerField(_("decarbonisation effect (t-CO2/year)"))
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("capital investment")
        verbose_name_plural = _("capital investments")
        ordering = ["position", "pk"]
        constraints = [models.CheckConstraint(condition=Q(effect_t_per_year__gte=0),
                                              name="plan_investment_effect_not_negative")]

    def __str__(self):
        return self.measure


class PlanResearch(models.Model):
    """Item 4①②: a GX patent application or a Green Innovation Fund project, with its GX technology category."""

    class Kind(models.TextChoices):
        PATENT = "patent", _("GX patent application")
        GI_FUND = "gi_fund", _("Green Innovation Fund project")

    plan = models.ForeignKey(TransitionPlan, on_delete=models.CASCADE, related_name="research",
                             verbose_name=_("transition plan"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    reference = models.CharField(_("application number or project"), max_length=200)
    technology_category = models.CharField(_("GX technology category"), max_length=200,
                                           help_text=_("The GX Technology Classification it belongs to."))
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("R&D item")
        verbose_name_plural = _("R&D items")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.reference


class PlanDocument(models.Model):
    """Item 5①: a public strategy document (e.g. a medium-term management plan), as a link or an uploaded PDF.
    The file is served by the registry, to the public only once its plan is accepted."""

    plan = models.ForeignKey(TransitionPlan, on_delete=models.CASCADE, related_name="documents",
                             verbose_name=_("transition plan"))
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(_("link"), blank=True, max_length=500)
    file = models.FileField(_("PDF"), storage=private_storage, upload_to="plan-documents/%Y/", blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("public document")
        verbose_name_plural = _("public documents")
        ordering = ["position", "pk"]
        constraints = [models.CheckConstraint(condition=(~Q(url="") & Q(file="")) | (Q(url="") & ~Q(file="")),
                                              name="plan_document_link_or_file")]

    def __str__(self):
        return self.title
