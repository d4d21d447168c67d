"""Coverage (§2) and emissions reports (§3): what an entity emitted, facility by facility, line by line."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, User, audited
from allocation.models import Facility, Process
from gxregistry.querysets import RestrictedQuerySet
from gxregistry.transitions import transition_trigger
from verification.calculations import AccuracyClass, Method


def _choices(enum, labels):
    return [(member.value, labels[member]) for member in enum]


METHOD_CHOICES = _choices(Method, {
    Method.ACTIVITY_FACTOR: _("1 Activity x emission factor"),
    Method.MASS_BALANCE: _("2 Mass balance (C in - C out) x 44/12"),
    Method.DIRECT_MEASUREMENT: _("3 Direct measurement (concentration x flow)"),
    Method.MODEL: _("4 Model calculation"),
    Method.SPECIFICATION: _("4 Specification x hours x days"),
    Method.CONSERVATIVE: _("Exception: conservative estimate (history x 1.075)"),
})
ACCURACY_CLASS_CHOICES = _choices(AccuracyClass, {
    AccuracyClass.SOLID_FUEL: _("Solid fuel (t)"),
    AccuracyClass.LIQUID_FUEL: _("Liquid fuel (kL)"),
    AccuracyClass.CITY_GAS: _("City gas"),
    AccuracyClass.LPG_GAS: _("LPG, gas (thousand m3)"),
    AccuracyClass.LPG_LIQUID: _("LPG, liquid (t)"),
    AccuracyClass.LNG: _("LNG (t)"),
    AccuracyClass.ELECTRICITY: _("Electricity (kWh)"),
    AccuracyClass.HEAT: _("Heat (steam, hot and cold water)"),
    AccuracyClass.WASTE: _("Burning of waste"),
    AccuracyClass.INDUSTRIAL_PROCESS: _("Industrial process"),
})


@audited()
class EmissionFactor(models.Model):
    """The default emission factor of a fuel or material for one FY (§3 method 1); administrators edit it."""

    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name (Japanese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    unit = models.CharField(_("activity unit"), max_length=30)
    factor = models.DecimalField(_("t-CO2 per unit"), max_digits=14, decimal_places=6)
    accuracy_class = models.CharField(_("instrument accuracy class"), max_length=30, choices=ACCURACY_CLASS_CHOICES)

    class Meta:
        verbose_name = _("emission factor")
        verbose_name_plural = _("emission factors")
        ordering = ["fiscal_year", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year", "code"], name="emission_factor_once_per_fy"),
            models.CheckConstraint(condition=Q(factor__gte=0), name="emission_factor_not_negative"),
        ]

    def __str__(self):
        return f"{self.name} FY{self.fiscal_year} ({self.factor} t-CO2/{self.unit})"


@audited()
class CoverageDecision(models.Model):
    """An administrator's confirmation that an entity is (or is not) covered in an FY, with the figures (§2)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="coverage_decisions",
                                     verbose_name=_("entity"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    emissions = models.JSONField(_("direct CO2 of the three preceding FYs"))  # {"2023": "123456.000", ...}
    average_t = models.DecimalField(_("average (t-CO2)"), max_digits=16, decimal_places=3)
    threshold_t = models.DecimalField(_("threshold (t-CO2)"), max_digits=16, decimal_places=3)
    covered = models.BooleanField(_("covered"))
    confirmed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("confirmed by"))
    confirmed_at = models.DateTimeField(_("confirmed at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("coverage decision")
        verbose_name_plural = _("coverage decisions")
        ordering = ["fiscal_year", "organisation__name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "fiscal_year"], name="coverage_once_per_fy")]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year}: {'covered' if self.covered else 'not covered'}"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_VERIFICATION = "under_verification", _("Under verification")
    VERIFIED = "verified", _("Verified")
    SUPERSEDED = "superseded", _("Superseded by a correction")


REPORT_TRANSITIONS = {
    ReportStatus.DRAFT: {ReportStatus.SUBMITTED},
    # Back to draft: the entity withdraws it before verification starts, or an adverse opinion returns it.
    ReportStatus.SUBMITTED: {ReportStatus.UNDER_VERIFICATION, ReportStatus.DRAFT},
    ReportStatus.UNDER_VERIFICATION: {ReportStatus.VERIFIED, ReportStatus.DRAFT},
    ReportStatus.VERIFIED: {ReportStatus.SUPERSEDED},
}


@audited()
class EmissionsReport(models.Model):
    """An entity's Scope 1 emissions for one FY. Verified, it is locked; a correction supersedes it."""

    Status = ReportStatus
    TRANSITIONS = REPORT_TRANSITIONS
    EDITABLE = (Status.DRAFT,)

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="emissions_reports",
                                     verbose_name=_("entity"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by", verbose_name=_("corrects"))
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    total_t = models.BigIntegerField(_("total (t-CO2)"), null=True, blank=True,
                                     help_text=_("The lines' sum rounded up to whole tonnes, fixed on submission."))
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("emissions report")
        verbose_name_plural = _("emissions reports")
        ordering = ["-fiscal_year", "organisation__name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "fiscal_year"], condition=~Q(status="superseded"),
                                    name="emissions_report_one_current_per_fy"),
            models.UniqueConstraint(fields=["organisation", "fiscal_year", "version"],
                                    name="emissions_report_version_unique"),
            models.CheckConstraint(condition=Q(status="draft") | Q(total_t__isnull=False),
                                   name="emissions_report_submitted_has_total"),
            models.CheckConstraint(condition=Q(total_t__isnull=True) | Q(total_t__gte=0),
                                   name="emissions_report_total_not_negative"),
        ]
        triggers = [transition_trigger("emissions_report_transitions", REPORT_TRANSITIONS)]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year} v{self.version}"


class EmissionsLine(models.Model):
    """One source at one facility: the method, its figures and the instrument that measured them."""

    class Kind(models.TextChoices):
        ENERGY = "energy", _("Energy-related CO2")
        NON_ENERGY = "non_energy", _("Non-energy CO2")

    FIGURES = ("activity", "emission_factor", "carbon_in_t", "carbon_out_t", "co2_concentration_pct",
               "flue_gas_nm3", "model_emissions_t", "rated_t_per_hour", "hours_per_day", "operating_days",
               "historical_t")

    report = models.ForeignKey(EmissionsReport, on_delete=models.CASCADE, related_name="lines",
                               verbose_name=_("report"))
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="emissions_lines",
                                 verbose_name=_("facility"))
    process = models.ForeignKey(Process, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("process"), help_text=_(
                                    "For a baseline year: the process whose emissions the line reports; its verified "
                                    "figure becomes the allocation's input."))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    source = models.CharField(_("source (fuel, material or equipment)"), max_length=200)
    method = models.CharField(_("method"), max_length=30, choices=METHOD_CHOICES)
    emission_factor_used = models.ForeignKey(EmissionFactor, on_delete=models.PROTECT, null=True, blank=True,
                                             related_name="+", verbose_name=_("default emission factor"))
    # Method 1
    activity = models.DecimalField(_("activity"), max_digits=18, decimal_places=3, null=True, blank=True)
    activity_unit = models.CharField(_("activity unit"), max_length=30, blank=True)
    emission_factor = models.DecimalField(_("emission factor (t-CO2 per unit)"), max_digits=14, decimal_places=6,
                                          null=True, blank=True)
    # Method 2
    carbon_in_t = models.DecimalField(_("carbon in raw materials (t-C)"), max_digits=18, decimal_places=3,
                                      null=True, blank=True)
    carbon_out_t = models.DecimalField(_("carbon in products (t-C)"), max_digits=18, decimal_places=3, null=True,
                                       blank=True)
    # Method 3
    co2_concentration_pct = models.DecimalField(_("CO2 concentration (vol %)"), max_digits=7, decimal_places=4,
                                                null=True, blank=True)
    flue_gas_nm3 = models.DecimalField(_("flue-gas flow (Nm3 in the year)"), max_digits=20, decimal_places=3,
                                       null=True, blank=True)
    # Method 4
    model_emissions_t = models.DecimalField(_("model result (t-CO2)"), max_digits=18, decimal_places=3, null=True,
                                            blank=True)
    rated_t_per_hour = models.DecimalField(_("specification (t-CO2 per hour)"), max_digits=14, decimal_places=6,
                                           null=True, blank=True)
    hours_per_day = models.DecimalField(_("operating hours per day"), max_digits=5, decimal_places=2, null=True,
                                        blank=True)
    operating_days = models.PositiveSmallIntegerField(_("operating days"), null=True, blank=True)
    # Exception
    historical_t = models.DecimalField(_("historical emissions (t-CO2)"), max_digits=18, decimal_places=3,
                                       null=True, blank=True)
    explanation = models.TextField(_("model, or reason the methods could not be applied"), blank=True)
    # Instrument (§3 "[ref.] Accuracy of Measuring Equipment")
    accuracy_class = models.CharField(_("instrument accuracy class"), max_length=30, choices=ACCURACY_CLASS_CHOICES,
                                      blank=True)
    instrument = models.CharField(_("measuring instrument"), max_length=200, blank=True)
    instrument_tolerance_pct = models.DecimalField(_("instrument tolerance (± %)"), max_digits=5, decimal_places=2,
                                                   null=True, blank=True)
    instrument_upkeep = models.CharField(_("inspection method and frequency"), max_length=200, blank=True)

    emissions_t = models.DecimalField(_("emissions (t-CO2)"), max_digits=18, decimal_places=3)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "report__organisation"

    class Meta:
        verbose_name = _("emissions line")
        verbose_name_plural = _("emissions lines")
        ordering = ["facility__code", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(emissions_t__gte=0), name="emissions_line_not_negative"),
            models.CheckConstraint(condition=~Q(method="conservative") | ~Q(explanation=""),
                                   name="emissions_line_conservative_has_reason"),
        ]

    def __str__(self):
        return f"{self.facility.code} {self.source}: {self.emissions_t} t"

    def figures(self) -> dict:
        return {name: getattr(self, name) for name in self.FIGURES}
