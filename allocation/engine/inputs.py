"""Typed, immutable inputs of the allocation engine. No Django here.

Quantities are ``Decimal``. Fiscal year N runs 1 April N to 31 March N+1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from gxregistry.fiscal import fiscal_year_of

ZERO = Decimal(0)
ONE = Decimal(1)


class Method(StrEnum):
    PRODUCT_BENCHMARK = "product_bm"
    FUEL_BENCHMARK = "fuel_bm"
    GRANDFATHERING = "gf"


class EmissionType(StrEnum):
    ENERGY = "energy"
    PROCESS = "process"


class EventKind(StrEnum):
    DESIGNATED_DISASTER = "designated_disaster"
    HIGH_PRESSURE_GAS_INSPECTION = "hpgsa_inspection"


class SuccessionKind(StrEnum):
    """§5-4: how a facility changes hands."""

    BUSINESS_TRANSFER = "business_transfer"
    SPLIT = "split"
    MERGER = "merger"
    FACILITY_SALE = "facility_sale"


class RDCategory(StrEnum):
    """§6-3 [ref.] Standard R&D expenditure levels in the GX field."""

    MANUFACTURING = "manufacturing"
    ENERGY_TRANSITION = "energy_transition"
    TRANSPORT = "transport"
    OTHER = "other"


@dataclass(frozen=True)
class YearData:
    """One process in one fiscal year, as reported and verified."""

    fiscal_year: int
    emissions_t: Decimal
    activity: Decimal | None = None  # product BM: production; otherwise unused
    fuel_input_gj: Decimal | None = None  # conventional fuel (by-product fuel excluded)
    days_operated: int | None = None  # overrides the days computed from opening/closing dates
    by_product_fuel_gj: Decimal | None = None  # by-product fuel received from other processes and burnt
    by_product_fuel_supplied_gj: Decimal | None = None  # by-product fuel this process supplies to others
    purchased_electricity_mwh: Decimal | None = None  # for the direct-emission-share adjustment
    # Demonstrated change of energy intensity against the baseline (-0.08 = 8 % better), with
    # evidence, for the GF / fuel-BM exceptions of §5-1(2); None = not demonstrated.
    energy_intensity_change: Decimal | None = None
    # High-Pressure Gas Safety Act inspection years: what was recorded in the excluded months.
    inspection_excluded_activity: Decimal | None = None
    inspection_excluded_emissions_t: Decimal | None = None
    inspection_excluded_fuel_gj: Decimal | None = None


@dataclass(frozen=True)
class FacilityEvent:
    kind: EventKind
    fiscal_year: int
    completed_on: date | None = None


@dataclass(frozen=True)
class Succession:
    """A facility changing hands (§5-4), seen from the entity being computed."""

    kind: SuccessionKind
    executed_on: date
    counterparty_regulated: bool

    @property
    def fiscal_year(self) -> int:
        return fiscal_year_of(self.executed_on)


@dataclass(frozen=True)
class EarlyReduction:
    """§6-1 data for a grandfathering facility (from SHK reports, verified)."""

    start_year: int  # FY2013, or the second FY after opening for later facilities
    start_year_emissions_t: Decimal  # three-year average around the start year, GF share only
    activity_coefficient: Decimal = ONE


@dataclass(frozen=True)
class Process:
    code: str
    name: str
    method: Method
    emission_type: EmissionType
    years: tuple[YearData, ...]
    sector_benchmark: str | None = None
    product_mix_factor: Decimal = ONE  # §5-2 industry-mix intensity / company-mix intensity
    activity_unit: str = ""  # what a product benchmark's activity is counted in (t clinker, 台); shown, not computed

    def year(self, fy: int) -> YearData | None:
        for item in self.years:
            if item.fiscal_year == fy:
                return item
        return None


@dataclass(frozen=True)
class Facility:
    code: str
    name: str
    energy_use_kl: Decimal
    processes: tuple[Process, ...]
    opened_on: date | None = None
    closed_on: date | None = None  # first day the facility no longer operates
    events: tuple[FacilityEvent, ...] = ()
    early_reduction: EarlyReduction | None = None
    acquired: Succession | None = None  # how this entity got the facility
    disposed: Succession | None = None  # how this entity gave it up

    def event_in(self, fy: int) -> FacilityEvent | None:
        for event in self.events:
            if event.fiscal_year == fy:
                return event
        return None


@dataclass(frozen=True)
class Financials:
    """An entity's figures for one FY, used by the additional allocations of the next FY (§6-2, §6-3)."""

    fiscal_year: int
    operating_profit_yen: Decimal | None = None
    sales_yen: Decimal | None = None
    gx_rd_spend_yen: Decimal | None = None
    government_rd_support_yen: Decimal = ZERO
    rd_evidence_confirmed: bool = False  # GX patents / GI Fund share confirmed by an independent third party
    shortfall_t: Decimal | None = None  # verified emissions minus allocation; computed when None


@dataclass(frozen=True)
class Entity:
    corporate_number: str
    name: str
    start_fy: int  # J: the first FY the entity is covered; baseline = J-3..J-1
    facilities: tuple[Facility, ...]
    leakage_trade_share: Decimal | None = None  # of the entity's main business sector
    rd_category: RDCategory = RDCategory.OTHER
    financials: tuple[Financials, ...] = ()
    # What was actually issued for a process's main line in a past FY: {(facility code, process code, FY): t}.
    # True-ups and closure deductions of later years subtract these instead of recomputing them.
    issued_main: Mapping[tuple[str, str, int], Decimal] = field(default_factory=dict)

    def financials_for(self, fy: int) -> Financials | None:
        for item in self.financials:
            if item.fiscal_year == fy:
                return item
        return None


@dataclass(frozen=True)
class SectorBenchmark:
    """A sector benchmark with its levels read off the sector's data (see benchmarks.py)."""

    key: str
    kind: Method  # PRODUCT_BENCHMARK or FUEL_BENCHMARK
    top_50: Decimal
    top_32_5: Decimal
    official: Mapping[int, Decimal] = field(default_factory=dict)  # administrator overrides per FY
    direct_share_adjusted: bool = False
    sector_average_fuel_ef: Decimal | None = None  # t-CO2/GJ, for by-product fuels
    by_product_fuel_ef: Decimal | None = None  # t-CO2/GJ
