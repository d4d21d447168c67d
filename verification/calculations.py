"""The arithmetic of emissions and verification (§2, §3, §4): pure Python, no Django, Decimal throughout.

Views, services, imports and the tests all call these; none of them computes an emission on its own.
Parameter values (1.075, 5 %, 1,000,000 t, FY2029) come from the caller, out of the registry's
parameters (``allocation.engine.parameters.YearParameters``), never from constants here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum

CO2_PER_C = Decimal(44) / Decimal(12)  # §3 method 2: molecular weight of CO2 / atomic weight of C
# Density of CO2 at 0 °C and 101.325 kPa, t per Nm3 (1.977 kg/Nm3): method 3 turns a volume share of a
# measured flue-gas flow into tonnes. The report gives "concentration x flow" and no unit: this is ours.
CO2_T_PER_NM3 = Decimal("0.001977")
TONNE = Decimal("0.001")  # line results are kept to the kilogram


class Method(StrEnum):
    """§3 "Types of calculation methods"."""

    ACTIVITY_FACTOR = "activity_factor"  # 1 activity x emission factor
    MASS_BALANCE = "mass_balance"  # 2 (C in - C out) x 44/12
    DIRECT_MEASUREMENT = "direct_measurement"  # 3 concentration x flow
    MODEL = "model"  # 4 chemistry model: the model's result, with its description
    SPECIFICATION = "specification"  # 4 specification x hours per day x days
    CONSERVATIVE = "conservative"  # exception: historical x 1.075, with the reason


class CalculationError(ValueError):
    """A figure the method needs is missing or impossible; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# The figures each method needs (names as on the emissions line).
REQUIRED = {
    Method.ACTIVITY_FACTOR: ("activity", "emission_factor"),
    Method.MASS_BALANCE: ("carbon_in_t", "carbon_out_t"),
    Method.DIRECT_MEASUREMENT: ("co2_concentration_pct", "flue_gas_nm3"),
    Method.MODEL: ("model_emissions_t",),
    Method.SPECIFICATION: ("rated_t_per_hour", "hours_per_day", "operating_days"),
    Method.CONSERVATIVE: ("historical_t",),
}


def line_emissions(method: str, figures: Mapping[str, Decimal | None], *,
                   conservative_factor: Decimal) -> Decimal:
    """Tonnes of CO2 of one line, to the kilogram (half up). Raises CalculationError naming the figure."""
    method = Method(method)
    values = {}
    for name in REQUIRED[method]:
        value = figures.get(name)
        if value is None:
            raise CalculationError(name, "required for this method")
        if value < 0:
            raise CalculationError(name, "cannot be negative")
        values[name] = Decimal(value)
    if method is Method.ACTIVITY_FACTOR:
        result = values["activity"] * values["emission_factor"]
    elif method is Method.MASS_BALANCE:
        if values["carbon_out_t"] > values["carbon_in_t"]:
            raise CalculationError("carbon_out_t", "more carbon leaves in products than enters in raw materials")
        result = (values["carbon_in_t"] - values["carbon_out_t"]) * CO2_PER_C
    elif method is Method.DIRECT_MEASUREMENT:
        if values["co2_concentration_pct"] > 100:
            raise CalculationError("co2_concentration_pct", "a share of at most 100 %")
        result = values["co2_concentration_pct"] / 100 * values["flue_gas_nm3"] * CO2_T_PER_NM3
    elif method is Method.MODEL:
        result = values["model_emissions_t"]
    elif method is Method.SPECIFICATION:
        if values["hours_per_day"] > 24:
            raise CalculationError("hours_per_day", "at most 24")
        if values["operating_days"] > 366:
            raise CalculationError("operating_days", "at most 366")
        result = values["rated_t_per_hour"] * values["hours_per_day"] * values["operating_days"]
    else:
        result = values["historical_t"] * conservative_factor
    return result.quantize(TONNE, rounding=ROUND_HALF_UP)


def report_total_t(lines: Iterable[Decimal]) -> int:
    """An entity's emissions for the FY in whole tonnes: the lines' sum, rounded up.

    §3 is silent on rounding; the ledger counts whole allowances, and rounding up never lets a
    fraction of a tonne go uncovered by the surrender obligation (docs/verification.md)."""
    return int(sum(lines, Decimal(0)).to_integral_value(rounding=ROUND_CEILING))


# --- instrument accuracy (§3 "[ref.] Accuracy of Measuring Equipment", GX League rules) ------------------

class AccuracyClass(StrEnum):
    SOLID_FUEL = "solid_fuel"  # t
    LIQUID_FUEL = "liquid_fuel"  # kL
    CITY_GAS = "city_gas"  # no classification
    LPG_GAS = "lpg_gas"  # thousand m3
    LPG_LIQUID = "lpg_liquid"  # t
    LNG = "lng"  # t
    ELECTRICITY = "electricity"  # kWh
    HEAT = "heat"  # no classification
    WASTE = "waste"  # no classification
    INDUSTRIAL_PROCESS = "industrial_process"  # no classification


def _bands(large, medium, tolerances=("2.0", "3.5", "5.0")):
    return ((Decimal(large), Decimal(tolerances[0])), (Decimal(medium), Decimal(tolerances[1])),
            (Decimal(0), Decimal(tolerances[2])))


# (activity level at or above, required tolerance in ± %), largest first; one entry: no classification.
ACCURACY_TABLE: dict[AccuracyClass, tuple[tuple[Decimal, Decimal], ...]] = {
    AccuracyClass.SOLID_FUEL: _bands(1000, 100),
    AccuracyClass.LIQUID_FUEL: _bands(5000, 500),
    AccuracyClass.CITY_GAS: ((Decimal(0), Decimal("5.0")),),
    AccuracyClass.LPG_GAS: _bands(2500, 250),
    AccuracyClass.LPG_LIQUID: _bands(5000, 500),
    AccuracyClass.LNG: _bands(5000, 500),
    AccuracyClass.ELECTRICITY: _bands(90_000_000, 4_500_000, ("1.0", "2.0", "3.5")),
    AccuracyClass.HEAT: ((Decimal(0), Decimal("5.0")),),
    AccuracyClass.WASTE: ((Decimal(0), Decimal("5.0")),),
    AccuracyClass.INDUSTRIAL_PROCESS: ((Decimal(0), Decimal("5.0")),),
}


def required_tolerance_pct(accuracy_class: str, activity: Decimal) -> Decimal:
    for at_least, tolerance in ACCURACY_TABLE[AccuracyClass(accuracy_class)]:
        if activity >= at_least:
            return tolerance
    raise ValueError("activity cannot be negative")


def accuracy_warning(accuracy_class: str | None, activity: Decimal | None, tolerance_pct: Decimal | None):
    """The required tolerance when the instrument's is wider (a warning, never a refusal), else None."""
    if not accuracy_class or activity is None or tolerance_pct is None:
        return None
    required = required_tolerance_pct(accuracy_class, activity)
    return required if tolerance_pct > required else None


# --- coverage (§2), assurance level and materiality (§4) -------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    fiscal_year: int
    years: tuple[int, int, int]
    emissions_t: tuple[Decimal | None, Decimal | None, Decimal | None]  # None: no data for that FY
    average_t: Decimal
    threshold_t: Decimal

    @property
    def covered(self) -> bool:
        return self.average_t >= self.threshold_t


def coverage(fiscal_year: int, emissions_by_fy: Mapping[int, Decimal], threshold_t: Decimal) -> Coverage:
    """§2: covered in FY N when direct CO2 averages at least the threshold over FYs N-3..N-1.

    A year with no data counts as 0 t: an entity cannot escape coverage by not reporting, and one that
    started operating later is judged on what it emitted (docs/verification.md)."""
    years = (fiscal_year - 3, fiscal_year - 2, fiscal_year - 1)
    figures = tuple(emissions_by_fy.get(y) for y in years)
    average = sum((f or Decimal(0) for f in figures), Decimal(0)) / 3
    return Coverage(fiscal_year, years, figures, average, Decimal(threshold_t))


class AssuranceLevel(StrEnum):
    LIMITED = "limited"
    REASONABLE = "reasonable"


@dataclass(frozen=True)
class AssuranceRequirement:
    level: AssuranceLevel
    reason: str  # in English; pages translate by the ``key``
    key: str  # before_first_fy | below_threshold | at_or_above_threshold
    facility: str | None = None
    average_t: Decimal | None = None
    years: tuple[int, int] | None = None


def assurance_level(fiscal_year: int, facility_emissions: Mapping[str, Mapping[int, Decimal]], *,
                    first_fy: int, threshold_t: Decimal) -> AssuranceRequirement:
    """§4: limited before ``first_fy``; from then, reasonable when any facility's annual CO2 averages at
    least the threshold over two consecutive years among the three preceding (*3: FY2029 uses FY2026-2027).

    ``facility_emissions``: {facility code: {FY: t}}. Of the three preceding FYs, the two consecutive
    pairs are (N-3, N-2) and (N-2, N-1); a pair with a year missing does not count. The first year N
    can have only one pair with data (FY2029: FY2026-2027, FY2028 not verified yet), hence *3."""
    if fiscal_year < first_fy:
        return AssuranceRequirement(AssuranceLevel.LIMITED, f"limited assurance for every entity before FY{first_fy}",
                                    "before_first_fy")
    threshold_t = Decimal(threshold_t)
    best = None
    for code, by_fy in sorted(facility_emissions.items()):
        for pair in ((fiscal_year - 3, fiscal_year - 2), (fiscal_year - 2, fiscal_year - 1)):
            if all(by_fy.get(y) is not None for y in pair):
                average = (Decimal(by_fy[pair[0]]) + Decimal(by_fy[pair[1]])) / 2
                if best is None or average > best[1]:
                    best = (code, average, pair)
    if best is not None and best[1] >= threshold_t:
        code, average, pair = best
        return AssuranceRequirement(
            AssuranceLevel.REASONABLE,
            f"facility {code} averaged {average:,.0f} t in FY{pair[0]}-FY{pair[1]}, at or above {threshold_t:,.0f} t",
            "at_or_above_threshold", code, average, pair)
    return AssuranceRequirement(
        AssuranceLevel.LIMITED, f"no facility averaged {threshold_t:,.0f} t over two consecutive preceding years",
        "below_threshold", best[0] if best else None, best[1] if best else None, best[2] if best else None)


@dataclass(frozen=True)
class Materiality:
    misstatement_t: Decimal  # the sum of uncorrected misstatements, taken as absolute amounts
    verified_t: Decimal
    threshold: Decimal

    @property
    def ratio(self) -> Decimal:
        return self.misstatement_t / self.verified_t if self.verified_t else Decimal(0)

    @property
    def material(self) -> bool:
        """§4 *1: the figure is fairly stated when misstatements are *less than* 5 % of it; 5 % itself is material."""
        return self.ratio >= self.threshold if self.verified_t else self.misstatement_t > 0


def materiality(misstatements_t: Iterable[Decimal], verified_t: Decimal, threshold: Decimal) -> Materiality:
    """Overstatements and understatements do not offset each other: each counts by its size."""
    return Materiality(sum((abs(Decimal(m)) for m in misstatements_t), Decimal(0)), Decimal(verified_t),
                       Decimal(threshold))
