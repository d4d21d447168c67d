"""Facilities and processes of regulated entities: the data allocation reads (§5)."""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, Sector, audited
from gxregistry.querysets import RestrictedQuerySet

FISCAL_YEAR_RANGE = Q(fiscal_year__gte=2000) & Q(fiscal_year__lte=2100)


class Prefecture(models.IntegerChoices):
    """JIS X 0401 prefecture codes."""

    HOKKAIDO = 1, _("Hokkaido")
    AOMORI = 2, _("Aomori")
    IWATE = 3, _("Iwate")
    MIYAGI = 4, _("Miyagi")
    AKITA = 5, _("Akita")
    YAMAGATA = 6, _("Yamagata")
    FUKUSHIMA = 7, _("Fukushima")
    IBARAKI = 8, _("Ibaraki")
    TOCHIGI = 9, _("Tochigi")
    GUNMA = 10, _("Gunma")
    SAITAMA = 11, _("Saitama")
    CHIBA = 12, _("Chiba")
    TOKYO = 13, _("Tokyo")
    KANAGAWA = 14, _("Kanagawa")
    NIIGATA = 15, _("Niigata")
    TOYAMA = 16, _("Toyama")
    ISHIKAWA = 17, _("Ishikawa")
    FUKUI = 18, _("Fukui")
    YAMANASHI = 19, _("Yamanashi")
    NAGANO = 20, _("Nagano")
    GIFU = 21, _("Gifu")
    SHIZUOKA = 22, _("Shizuoka")
    AICHI = 23, _("Aichi")
    MIE = 24, _("Mie")
    SHIGA = 25, _("Shiga")
    KYOTO = 26, _("Kyoto")
    OSAKA = 27, _("Osaka")
    HYOGO = 28, _("Hyogo")
    NARA = 29, _("Nara")
    WAKAYAMA = 30, _("Wakayama")
    TOTTORI = 31, _("Tottori")
    SHIMANE = 32, _("Shimane")
    OKAYAMA = 33, _("Okayama")
    HIROSHIMA = 34, _("Hiroshima")
    YAMAGUCHI = 35, _("Yamaguchi")
    TOKUSHIMA = 36, _("Tokushima")
    KAGAWA = 37, _("Kagawa")
    EHIME = 38, _("Ehime")
    KOCHI = 39, _("Kochi")
    FUKUOKA = 40, _("Fukuoka")
    SAGA = 41, _("Saga")
    NAGASAKI = 42, _("Nagasaki")
    KUMAMOTO = 43, _("Kumamoto")
    OITA = 44, _("Oita")
    MIYAZAKI = 45, _("Miyazaki")
    KAGOSHIMA = 46, _("Kagoshima")
    OKINAWA = 47, _("Okinawa")


@audited()
class Facility(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="facilities",
        verbose_name=_("regulated entity"),
        limit_choices_to={"kind": Organisation.Kind.REGULATED_ENTITY},
    )
    code = models.CharField(
        _("facility code"), max_length=32,
        help_text=_("The entity's own identifier for the facility, unique within the entity."),
    )
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    prefecture = models.PositiveSmallIntegerField(_("prefecture"), choices=Prefecture.choices)
    address = models.CharField(_("address"), max_length=300, blank=True)
    energy_use_kl = models.DecimalField(
        _("energy use (kL crude-oil equivalent)"), max_digits=14, decimal_places=3,
        help_text=_("Annual energy use; under 1,500 kL the facility belongs to the small-facility group (§5-1)."),
    )
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    last_operating_day = models.DateField(
        _("last day of operation"), null=True, blank=True,
        help_text=_("For a closed facility: the last day it operated (the closure deduction counts the days after it)."),
    )
    early_reduction_start_year = models.PositiveSmallIntegerField(
        _("early reduction: start year"), null=True, blank=True,
        help_text=_("§6-1: FY2013, or the second FY after opening for later facilities."),
    )
    early_reduction_start_emissions_t = models.DecimalField(
        _("early reduction: start-year emissions (t-CO2)"), max_digits=18, decimal_places=3, null=True, blank=True,
        help_text=_("Three-year mean around the start year, GF energy-CO2 share, from SHK reports."),
    )
    early_reduction_activity_coefficient = models.DecimalField(
        _("early reduction: activity-adjustment coefficient"), max_digits=8, decimal_places=6, default=1,
    )

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        ordering = ["organisation_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="facility_code_unique_per_entity"),
            models.CheckConstraint(condition=Q(energy_use_kl__gte=0), name="facility_energy_use_not_negative"),
            models.CheckConstraint(
                condition=Q(last_operating_day__isnull=True) | Q(opened_on__isnull=True)
                | Q(last_operating_day__gte=models.F("opened_on")),
                name="facility_closed_after_opened",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def get_absolute_url(self):
        return reverse("facility_detail", args=[self.pk])

    @property
    def closed_on(self):
        """The first day the facility no longer operates (the engine's date), or None."""
        return self.last_operating_day + timedelta(days=1) if self.last_operating_day else None


@audited()
class FacilityEvent(models.Model):
    """Years that §5-1 treats specially: a designated disaster or a mandated inspection."""

    class Kind(models.TextChoices):
        DESIGNATED_DISASTER = "designated_disaster", _("Designated disaster")
        HIGH_PRESSURE_GAS_INSPECTION = "hpgsa_inspection", _("High-Pressure Gas Safety Act inspection")

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="events", verbose_name=_("facility"))
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    started_on = models.DateField(_("started on"))
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "facility__organisation"

    class Meta:
        verbose_name = _("facility event")
        verbose_name_plural = _("facility events")
        ordering = ["facility_id", "fiscal_year", "started_on"]
        constraints = [
            models.CheckConstraint(condition=FISCAL_YEAR_RANGE, name="facility_event_fiscal_year_range"),
            models.CheckConstraint(
                condition=Q(completed_on__isnull=True) | Q(completed_on__gte=models.F("started_on")),
                name="facility_event_completed_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} FY{self.fiscal_year}"


@audited()
class Process(models.Model):
    class Method(models.TextChoices):
        BENCHMARK = "benchmark", _("Benchmark")
        GRANDFATHERING = "grandfathering", _("Grandfathering")

    class BenchmarkKind(models.TextChoices):
        PRODUCT = "product", _("Product benchmark")
        FUEL = "fuel", _("Fuel benchmark")

    class EmissionType(models.TextChoices):
        ENERGY = "energy", _("Energy-related CO2")
        PROCESS = "process", _("Process CO2")

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="processes", verbose_name=_("facility"))
    code = models.CharField(_("process code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    method = models.CharField(_("allocation method"), max_length=16, choices=Method.choices)
    benchmark_kind = models.CharField(_("benchmark kind"), max_length=8, choices=BenchmarkKind.choices, blank=True)
    sector_benchmark = models.CharField(
        _("sector benchmark"), max_length=64, blank=True,
        help_text=_("Key of the sector benchmark this process is measured against, e.g. steel.blast_furnace."),
    )
    emission_type = models.CharField(_("emission type"), max_length=8, choices=EmissionType.choices)
    activity_unit = models.CharField(_("activity unit"), max_length=32, blank=True, help_text=_("e.g. t of crude steel, GJ"))
    product_mix_factor = models.DecimalField(
        _("product-mix adjustment factor"), max_digits=10, decimal_places=6, default=1,
        help_text=_("§5-2: industry-mix intensity / company-mix intensity; 1 when not adjusted."),
    )

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "facility__organisation"

    class Meta:
        verbose_name = _("process")
        verbose_name_plural = _("processes")
        ordering = ["facility_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "code"], name="process_code_unique_per_facility"),
            models.CheckConstraint(
                condition=Q(method="grandfathering", benchmark_kind="", sector_benchmark="")
                | (Q(method="benchmark") & ~Q(benchmark_kind="") & ~Q(sector_benchmark="")),
                name="process_benchmark_fields_match_method",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


@audited()
class ProcessYear(models.Model):
    """Activity and emissions of one process in one fiscal year."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="years", verbose_name=_("process"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    activity = models.DecimalField(_("activity"), max_digits=18, decimal_places=3, null=True, blank=True)
    emissions_t = models.DecimalField(_("emissions (t-CO2)"), max_digits=18, decimal_places=3)
    fuel_input_gj = models.DecimalField(_("fuel input (GJ)"), max_digits=18, decimal_places=3, null=True, blank=True)
    days_operated = models.PositiveSmallIntegerField(_("days operated"), null=True, blank=True)
    by_product_fuel_gj = models.DecimalField(
        _("by-product fuel used (GJ)"), max_digits=18, decimal_places=3, null=True, blank=True
    )
    by_product_fuel_supplied_gj = models.DecimalField(
        _("by-product fuel supplied to others (GJ)"), max_digits=18, decimal_places=3, null=True, blank=True
    )
    purchased_electricity_mwh = models.DecimalField(
        _("purchased electricity (MWh)"), max_digits=18, decimal_places=3, null=True, blank=True,
        help_text=_("For the direct-emission-share adjustment (§5-2)."),
    )
    energy_intensity_change = models.DecimalField(
        _("demonstrated energy-intensity change"), max_digits=8, decimal_places=6, null=True, blank=True,
        help_text=_("Against the baseline, with evidence: -0.08 = 8 % better. Blank = not demonstrated (§5-1(2))."),
    )
    inspection_excluded_activity = models.DecimalField(
        _("activity in the 5 months before inspection completion"), max_digits=18, decimal_places=3,
        null=True, blank=True,
    )
    inspection_excluded_emissions_t = models.DecimalField(
        _("emissions in the 5 months before inspection completion (t-CO2)"), max_digits=18, decimal_places=3,
        null=True, blank=True,
    )
    inspection_excluded_fuel_gj = models.DecimalField(
        _("fuel in the 5 months before inspection completion (GJ)"), max_digits=18, decimal_places=3,
        null=True, blank=True,
    )
    verified_at = models.DateTimeField(_("emissions verified at"), null=True, blank=True, help_text=_(
        "Set when a registered verification body's opinion on the baseline fixed this year's emissions."))
    verified_reference = models.CharField(_("verification reference"), max_length=100, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "process__facility__organisation"

    class Meta:
        verbose_name = _("process year")
        verbose_name_plural = _("process years")
        ordering = ["process_id", "fiscal_year"]
        constraints = [
            models.UniqueConstraint(fields=["process", "fiscal_year"], name="process_year_unique"),
            models.CheckConstraint(condition=FISCAL_YEAR_RANGE, name="process_year_fiscal_year_range"),
            models.CheckConstraint(
                condition=Q(emissions_t__gte=0)
                & (Q(activity__isnull=True) | Q(activity__gte=0))
                & (Q(fuel_input_gj__isnull=True) | Q(fuel_input_gj__gte=0))
                & (Q(by_product_fuel_gj__isnull=True) | Q(by_product_fuel_gj__gte=0))
                & (Q(by_product_fuel_supplied_gj__isnull=True) | Q(by_product_fuel_supplied_gj__gte=0)),
                name="process_year_quantities_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(days_operated__isnull=True) | Q(days_operated__lte=366),
                name="process_year_days_operated_at_most_366",
            ),
        ]

    def __str__(self):
        return f"{self.process} FY{self.fiscal_year}"


@audited()
class SectorBenchmark(models.Model):
    """A sector benchmark (§5-2): levels read off the sector's data, with their provenance."""

    key = models.CharField(_("key"), max_length=64, unique=True, help_text=_("e.g. steel.blast_furnace"))
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("benchmark kind"), max_length=8, choices=Process.BenchmarkKind.choices)
    top_50 = models.DecimalField(_("level of the top 50 %"), max_digits=20, decimal_places=10, null=True, blank=True)
    top_32_5 = models.DecimalField(_("level of the top 32.5 %"), max_digits=20, decimal_places=10, null=True, blank=True)
    computed_at = models.DateTimeField(_("levels computed at"), null=True, blank=True)
    provenance = models.TextField(_("provenance"), blank=True)
    direct_share_adjusted = models.BooleanField(_("direct-emission-share adjustment"), default=False)
    by_product_fuel_ef = models.DecimalField(
        _("by-product fuel emission factor (t-CO2/GJ)"), max_digits=12, decimal_places=8, null=True, blank=True,
    )
    sector_average_fuel_ef = models.DecimalField(
        _("sector-average fuel emission factor (t-CO2/GJ)"), max_digits=12, decimal_places=8, null=True, blank=True,
    )

    class Meta:
        verbose_name = _("sector benchmark")
        verbose_name_plural = _("sector benchmarks")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(top_50__isnull=True) & Q(top_32_5__isnull=True))
                | (Q(top_50__gt=0) & Q(top_32_5__gt=0) & Q(top_32_5__lte=models.F("top_50"))),
                name="sector_benchmark_levels_ordered",
            ),
        ]

    def __str__(self):
        return self.key


@audited()
class SectorBenchmarkOfficialValue(models.Model):
    """An administrator's official benchmark for one FY, overriding the computed path."""

    benchmark = models.ForeignKey(SectorBenchmark, on_delete=models.CASCADE, related_name="official_values",
                                  verbose_name=_("sector benchmark"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=10)
    reason = models.CharField(_("reason"), max_length=300)
    set_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("set by"))
    set_at = models.DateTimeField(_("set at"), auto_now=True)

    class Meta:
        verbose_name = _("official benchmark value")
        verbose_name_plural = _("official benchmark values")
        ordering = ["benchmark_id", "fiscal_year"]
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "fiscal_year"], name="official_value_unique_per_fy"),
            models.CheckConstraint(condition=FISCAL_YEAR_RANGE & Q(value__gt=0), name="official_value_valid"),
        ]

    def __str__(self):
        return f"{self.benchmark} FY{self.fiscal_year}: {self.value}"


@audited()
class AllocationParameterSet(models.Model):
    """Allocation parameters: the default set (no FY) and per-FY changes, as engine field names."""

    fiscal_year = models.PositiveSmallIntegerField(
        _("fiscal year"), null=True, blank=True, help_text=_("Blank: the default for every FY."),
    )
    values = models.JSONField(_("values"), default=dict,
                              help_text=_('Parameter names and values, e.g. {"gf_process_rate": "0.010"}.'))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("allocation parameter set")
        verbose_name_plural = _("allocation parameter sets")
        ordering = ["fiscal_year"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year"], nulls_distinct=False, name="parameter_set_one_per_fy"),
        ]

    def __str__(self):
        return f"FY{self.fiscal_year}" if self.fiscal_year else str(_("default"))

    def clean(self):
        from django.core.exceptions import ValidationError

        from allocation.engine.scenario import ScenarioError, parameter_changes

        try:
            parameter_changes(self.values, "values")
        except ScenarioError as error:
            raise ValidationError({"values": error.message if error.path == "values" else str(error)}) from None


@audited()
class SectorAllocationProfile(models.Model):
    """What §6 needs to know about an entity's main business sector."""

    class RDCategory(models.TextChoices):
        MANUFACTURING = "manufacturing", _("Manufacturing")
        ENERGY_TRANSITION = "energy_transition", _("Energy transition")
        TRANSPORT = "transport", _("Transport")
        OTHER = "other", _("Other")

    sector = models.CharField(_("sector"), max_length=32, choices=Sector.choices, unique=True)
    leakage_trade_share = models.DecimalField(
        _("trade share"), max_digits=8, decimal_places=6, null=True, blank=True,
        help_text=_("(imports + exports) / domestic production; above 0.1 the sector is at risk of carbon leakage (§6-2)."),
    )
    rd_category = models.CharField(_("R&D standard category"), max_length=24, choices=RDCategory.choices,
                                   default=RDCategory.OTHER)

    class Meta:
        verbose_name = _("sector allocation profile")
        verbose_name_plural = _("sector allocation profiles")
        ordering = ["sector"]
        constraints = [
            models.CheckConstraint(condition=Q(leakage_trade_share__isnull=True) | Q(leakage_trade_share__gte=0),
                                   name="sector_profile_trade_share_not_negative"),
        ]

    def __str__(self):
        return self.get_sector_display()


@audited()
class EntityFinancials(models.Model):
    """An entity's figures for one FY, read by the next FY's leakage and R&D allocations (§6-2, §6-3)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="financials",
                                     verbose_name=_("regulated entity"),
                                     limit_choices_to={"kind": Organisation.Kind.REGULATED_ENTITY})
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    operating_profit_yen = models.DecimalField(_("operating profit (yen)"), max_digits=18, decimal_places=0,
                                               null=True, blank=True)
    sales_yen = models.DecimalField(_("sales (yen)"), max_digits=18, decimal_places=0, null=True, blank=True)
    gx_rd_spend_yen = models.DecimalField(_("GX R&D spend (yen)"), max_digits=18, decimal_places=0,
                                          null=True, blank=True)
    government_rd_support_yen = models.DecimalField(_("government R&D support (yen)"), max_digits=18,
                                                    decimal_places=0, default=0)
    rd_evidence_confirmed = models.BooleanField(
        _("R&D spend confirmed by an independent third party"), default=False,
    )
    shortfall_t = models.DecimalField(
        _("shortfall (t-CO2)"), max_digits=18, decimal_places=3, null=True, blank=True,
        help_text=_("Verified emissions minus allocation; computed when blank."),
    )

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("entity financials")
        verbose_name_plural = _("entity financials")
        ordering = ["organisation_id", "fiscal_year"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "fiscal_year"], name="financials_unique_per_fy"),
            models.CheckConstraint(
                condition=FISCAL_YEAR_RANGE & Q(government_rd_support_yen__gte=0)
                & (Q(sales_yen__isnull=True) | Q(sales_yen__gte=0))
                & (Q(gx_rd_spend_yen__isnull=True) | Q(gx_rd_spend_yen__gte=0)),
                name="financials_valid",
            ),
        ]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year}"


@audited()
class FacilitySuccession(models.Model):
    """A facility changing hands (§5-4). ``facility.organisation`` is always the current holder."""

    class Kind(models.TextChoices):
        BUSINESS_TRANSFER = "business_transfer", _("Business transfer")
        SPLIT = "split", _("Company split")
        MERGER = "merger", _("Merger")
        FACILITY_SALE = "facility_sale", _("Facility sale")

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="successions",
                                 verbose_name=_("facility"))
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    executed_on = models.DateField(_("executed on"))
    transferor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                   verbose_name=_("transferor"), help_text=_("Blank: not a regulated entity."))
    successor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                  verbose_name=_("successor"), help_text=_("Blank: not a regulated entity."))

    class Meta:
        verbose_name = _("facility succession")
        verbose_name_plural = _("facility successions")
        ordering = ["facility_id", "executed_on"]
        constraints = [
            models.CheckConstraint(condition=Q(transferor__isnull=False) | Q(successor__isnull=False),
                                   name="succession_involves_a_regulated_entity"),
            models.UniqueConstraint(fields=["facility", "executed_on"], name="succession_one_per_day"),
        ]

    def __str__(self):
        return f"{self.facility} {self.get_kind_display()} {self.executed_on}"
