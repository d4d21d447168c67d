"""Registry parameters, per fiscal year. The engine holds no rule values of its own.

Defaults are the report's numbers where it gives one; values the report leaves open
(process-CO2 rate, national average emission factor, prices) have no default and
must be set by an administrator for each FY (``ParameterMissing`` otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal

from allocation.engine.inputs import RDCategory

# The first phase (§1, §5-2): FY2026 (n=1) to FY2030 (n=5), the benchmark path's and the
# transition plans' horizon. The engine computes any FY; pages offer these.
FIRST_PHASE_FISCAL_YEARS = range(2026, 2031)


class ParameterMissing(ValueError):
    def __init__(self, name: str, fiscal_year: int):
        super().__init__(f"parameter {name} is not set for FY{fiscal_year}")
        self.name = name
        self.fiscal_year = fiscal_year


def _d(text: str) -> Decimal:
    return Decimal(text)


DEFAULT_RD_RATIOS = {
    RDCategory.MANUFACTURING: _d("0.0050"),
    RDCategory.ENERGY_TRANSITION: _d("0.0010"),
    RDCategory.TRANSPORT: _d("0.0002"),
    RDCategory.OTHER: _d("0.0004"),
}


@dataclass(frozen=True)
class YearParameters:
    gf_energy_rate: Decimal = _d("0.017")  # §5-3
    gf_process_rate: Decimal | None = None  # §5-3: separate rate for process CO2 and by-product fuels
    activity_change_threshold: Decimal = _d("0.075")  # §5-1(2)
    small_facility_kl: Decimal = _d("1500")  # §5-1(2)
    coverage_threshold_t: Decimal = _d("100000")  # §2, §5-4
    days_in_year: Decimal = _d("365")
    inspection_excluded_months: Decimal = _d("5")  # §5-1① [ref.] safety inspections
    national_average_ef_t_per_mwh: Decimal | None = None  # §5-2 direct-emission share
    by_product_efficiency_factor: Decimal = _d("0.85")  # §5-2 *2
    bm_base_fy: int = 2025  # §5-2: the path starts at the top-50 % level of the baseline year
    bm_target_fy: int = 2030  # §5-2: FY2030 reaches the top-32.5 % level
    bm_special_measure_factor: Decimal = _d("0.915")  # §5-2: max(top 32.5 %, top 50 % x 0.915)
    bm_special_measure_last_fy: int = 2030  # discontinued from FY2031
    early_reduction_factor: Decimal = _d("0.8")  # §6-1
    early_reduction_last_fy: int = 2030  # §6-1: FY2026-2030 only
    leakage_trade_share_threshold: Decimal = _d("0.1")  # §6-2
    leakage_cost_share: Decimal = _d("0.04")  # §6-2
    leakage_rate: Decimal = _d("0.5")  # §6-2
    rd_cap_share: Decimal = _d("0.10")  # §6-3
    rd_sector_ratios: Mapping[RDCategory, Decimal] = field(default_factory=lambda: dict(DEFAULT_RD_RATIOS))
    average_allowance_price_yen: Decimal | None = None  # this FY's average market price (used the next FY)
    # Emissions and verification (§3, §4), read by the verification app; the FY is the reported year's.
    conservative_estimate_factor: Decimal = _d("1.075")  # §3 exception: historical emissions x 1.075
    reasonable_assurance_first_fy: int = 2029  # §4: limited assurance for everyone FY2026-2028
    reasonable_assurance_threshold_t: Decimal = _d("1000000")  # §4: a facility's annual CO2 at or above this
    materiality_threshold: Decimal = _d("0.05")  # §4 *1: misstatements below 5 % of the verified figure
    registration_validity_years: int = 5  # §4: a body's registration is renewed every five years
    experience_instead_of_accreditation_last_fy: int = 2028  # §4 (1): prior assurance experience, FY2026-2028

    def require(self, name: str, fiscal_year: int):
        value = getattr(self, name)
        if value is None:
            raise ParameterMissing(name, fiscal_year)
        return value


PARAMETER_NAMES = tuple(f.name for f in fields(YearParameters))


@dataclass(frozen=True)
class Parameters:
    """A default set plus per-FY overrides (only the fields an administrator changed)."""

    default: YearParameters = field(default_factory=YearParameters)
    by_year: Mapping[int, Mapping[str, object]] = field(default_factory=dict)

    def for_year(self, fy: int) -> YearParameters:
        changes = self.by_year.get(fy)
        return replace(self.default, **changes) if changes else self.default

    def get(self, name: str, fy: int):
        return self.for_year(fy).require(name, fy)
