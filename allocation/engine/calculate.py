"""The allocation of one entity for one fiscal year, as explainable lines (§5, §6).

The engine walks the years from the entity's first FY to the requested one, because
later years depend on earlier ones: re-baselining after an activity change, true-ups of
past years, closure deductions and the shortfall behind §6 additional allocations.
Every line says which rule (and §) produced it; the total is rounded down once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from allocation.engine.benchmarks import benchmark_value
from allocation.engine.inputs import (
    ONE,
    ZERO,
    EmissionType,
    Entity,
    EventKind,
    Facility,
    Method,
    Process,
    SectorBenchmark,
    SuccessionKind,
    YearData,
)
from allocation.engine.parameters import Parameters
from gxregistry.fiscal import fiscal_year_end, fiscal_year_of, fiscal_year_start

TWO = Decimal(2)
TWELVE = Decimal(12)


class EngineInputError(ValueError):
    """Input the rules cannot work with; the message names the facility, process and FY."""


class LineKind(StrEnum):
    PRODUCT_BENCHMARK = "product_bm"
    FUEL_BENCHMARK = "fuel_bm"
    GF_ENERGY = "gf_energy"
    GF_PROCESS = "gf_process"
    BY_PRODUCT_FUEL = "by_product_fuel"
    BY_PRODUCT_SUPPLIER_DEDUCTION = "by_product_supplier_deduction"
    NEW_FACILITY = "new_facility"
    CLOSURE_DEDUCTION = "closure_deduction"
    ACTIVITY_CHANGE_TRUE_UP = "activity_change_true_up"
    EVENT_TRUE_UP = "event_true_up"
    SUCCESSION = "succession"
    EXCLUDED = "excluded"
    EARLY_REDUCTION = "early_reduction"
    LEAKAGE = "leakage"
    RD = "rd"


# Lines that may be negative: they take back what an earlier line over-allocated.
CORRECTING_KINDS = frozenset({
    LineKind.BY_PRODUCT_SUPPLIER_DEDUCTION, LineKind.CLOSURE_DEDUCTION,
    LineKind.ACTIVITY_CHANGE_TRUE_UP, LineKind.EVENT_TRUE_UP,
})


@dataclass(frozen=True)
class AllocationLine:
    kind: LineKind
    facility: str | None
    process: str | None
    baseline: Decimal | None  # the quantity the rule multiplies (activity, GJ or t-CO2)
    baseline_unit: str
    baseline_derivation: str
    factor: Decimal | None
    factor_derivation: str
    amount: Decimal
    rule: str
    section: str


@dataclass(frozen=True)
class Allocation:
    corporate_number: str
    fiscal_year: int
    lines: tuple[AllocationLine, ...]
    total_before_rounding: Decimal
    total: int  # whole allowances, rounded down once
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measures:
    """The quantities a baseline averages."""

    activity: Decimal = ZERO
    emissions: Decimal = ZERO
    fuel: Decimal = ZERO
    by_product: Decimal = ZERO
    supplied: Decimal = ZERO

    @classmethod
    def of(cls, data: YearData) -> Measures:
        return cls(data.activity or ZERO, data.emissions_t, data.fuel_input_gj or ZERO,
                   data.by_product_fuel_gj or ZERO, data.by_product_fuel_supplied_gj or ZERO)

    def __add__(self, other: Measures) -> Measures:
        return Measures(self.activity + other.activity, self.emissions + other.emissions, self.fuel + other.fuel,
                        self.by_product + other.by_product, self.supplied + other.supplied)

    def times(self, numerator: Decimal, denominator: Decimal = ONE) -> Measures:
        """Each quantity x numerator / denominator, multiplying first so exact results stay exact."""
        return Measures(*(value * numerator / denominator for value in
                          (self.activity, self.emissions, self.fuel, self.by_product, self.supplied)))

    @staticmethod
    def mean(items: list[Measures]) -> Measures:
        total = Measures()
        for item in items:
            total = total + item
        return total.times(ONE, Decimal(len(items)))


@dataclass
class _Baseline:
    measures: Measures
    end_fy: int  # last year of the period it averages: GF years elapsed count from here
    valid_from: int  # first allocation year it applies to without a true-up
    derivation: str


@dataclass
class _ProcessRun:
    facility: Facility
    process: Process
    baseline: _Baseline | None
    main: dict[int, Decimal] = field(default_factory=dict)  # main-line amount per allocation year


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def _days_between(first: date, after_last: date) -> int:
    return max((after_last - first).days, 0)


class _EntityRun:
    def __init__(self, entity: Entity, benchmarks: dict[str, SectorBenchmark], parameters: Parameters,
                 fiscal_year: int):
        self.entity = entity
        self.fiscal_year = fiscal_year  # the year asked for: earlier years' main lines may be read as issued
        self.benchmarks = benchmarks
        self.parameters = parameters
        self.J = entity.start_fy
        self.totals: dict[int, Decimal] = {}
        self.notes: list[str] = []
        self.runs = [
            _ProcessRun(facility, process, None) for facility in entity.facilities for process in facility.processes
        ]
        for run in self.runs:
            run.baseline = self._pre_start_baseline(run)

    # ---- helpers -------------------------------------------------------------------------
    def _where(self, run: _ProcessRun, fy: int | None = None) -> str:
        text = f"facility {run.facility.code}, process {run.process.code}"
        return f"{text}, FY{fy}" if fy is not None else text

    def _data(self, run: _ProcessRun, fy: int) -> YearData:
        data = run.process.year(fy)
        if data is None:
            raise EngineInputError(f"{self._where(run, fy)}: no activity and emissions data for FY{fy}")
        return data

    def _benchmark(self, run: _ProcessRun) -> SectorBenchmark:
        key = run.process.sector_benchmark
        if not key or key not in self.benchmarks:
            raise EngineInputError(f"{self._where(run)}: sector benchmark {key!r} is not defined")
        return self.benchmarks[key]

    def _opened_fy(self, facility: Facility) -> int | None:
        start = self._start_date(facility)
        return fiscal_year_of(start) if start else None

    def _start_date(self, facility: Facility) -> date | None:
        """When the facility's allocation history starts: opening, or acquisition from outside the scheme."""
        acquired = facility.acquired
        if acquired and not acquired.counterparty_regulated and fiscal_year_of(acquired.executed_on) >= self.J:
            return acquired.executed_on
        return facility.opened_on

    def _days_operated(self, run: _ProcessRun, fy: int, data: YearData) -> Decimal:
        if data.days_operated:
            return Decimal(data.days_operated)
        start = max(fiscal_year_start(fy), self._start_date(run.facility) or fiscal_year_start(fy))
        end = fiscal_year_end(fy)
        if run.facility.closed_on and run.facility.closed_on <= end:
            return Decimal(_days_between(start, run.facility.closed_on))
        return Decimal(_days_between(start, end) + 1)

    def _rate(self, emission_type: EmissionType, fy: int) -> Decimal:
        if emission_type == EmissionType.PROCESS:
            return self.parameters.get("gf_process_rate", fy)
        return self.parameters.get("gf_energy_rate", fy)

    # ---- §5-1①: baseline before the start ------------------------------------------------
    def _event_adjusted(self, run: _ProcessRun, fy: int) -> tuple[Measures | None, str]:
        """A baseline-period year's measures after the disaster and inspection rules."""
        data = self._data(run, fy)
        event = run.facility.event_in(fy)
        if event and event.kind == EventKind.DESIGNATED_DISASTER:
            previous = run.process.year(fy - 1)
            opened = self._opened_fy(run.facility)
            if previous is None or (opened is not None and fy - 1 <= opened):
                return None, f"FY{fy} designated disaster, no full previous year: left out"
            return Measures.of(previous), f"FY{fy} designated disaster: deemed equal to FY{fy - 1}"
        if event and event.kind == EventKind.HIGH_PRESSURE_GAS_INSPECTION:
            months = self.parameters.get("inspection_excluded_months", fy)
            other = TWELVE - months
            m = Measures.of(data)
            adjusted = Measures(
                (m.activity - (data.inspection_excluded_activity or ZERO)) * TWELVE / other,
                (m.emissions - (data.inspection_excluded_emissions_t or ZERO)) * TWELVE / other,
                (m.fuel - (data.inspection_excluded_fuel_gj or ZERO)) * TWELVE / other,
                m.by_product, m.supplied,
            )
            return adjusted, f"FY{fy} safety inspection: other {_fmt(TWELVE - months)} months x 12"
        return Measures.of(data), f"FY{fy} actual"

    def _pre_start_baseline(self, run: _ProcessRun) -> _Baseline | None:
        facility, J = run.facility, self.J
        period = [J - 3, J - 2, J - 1]
        if facility.closed_on and facility.closed_on <= fiscal_year_end(J - 1):
            return None  # closed during (or before) the baseline period: excluded
        opened = self._opened_fy(facility)
        if opened is not None and opened >= J:
            return None  # opened after the start: a new facility, baseline set from its first year
        if opened == J - 1:
            data = self._data(run, J - 1)
            days = self._days_operated(run, J - 1, data)
            if days <= 0:
                raise EngineInputError(f"{self._where(run, J - 1)}: no days of operation")
            return _Baseline(Measures.of(data).times(self.parameters.get("days_in_year", J - 1), days), J - 1, J,
                             f"opened in the last baseline year FY{J - 1}: FY{J - 1} / {_fmt(days)} days x 365")
        used = [fy for fy in period if opened is None or fy > opened]
        parts, texts = [], []
        for fy in used:
            measures, text = self._event_adjusted(run, fy)
            texts.append(text)
            if measures is not None:
                parts.append(measures)
        if not parts:
            raise EngineInputError(f"{self._where(run)}: no usable year in the baseline period FY{J - 3}-FY{J - 1}")
        prefix = f"opened FY{opened}: average from FY{used[0]}; " if opened is not None and opened >= J - 3 else ""
        return _Baseline(Measures.mean(parts), J - 1, J,
                         f"{prefix}average of {len(parts)} years ({'; '.join(texts)})")

    # ---- unit values ----------------------------------------------------------------------
    def _quantity(self, run: _ProcessRun, m: Measures) -> Decimal:
        method = run.process.method
        if method == Method.PRODUCT_BENCHMARK:
            return m.activity
        if method == Method.FUEL_BENCHMARK:
            return m.fuel
        return m.emissions

    def _unit(self, run: _ProcessRun) -> str:
        if run.process.method == Method.PRODUCT_BENCHMARK:
            return run.process.activity_unit or "activity"
        return {Method.FUEL_BENCHMARK: "GJ"}.get(run.process.method, "t-CO2")

    def _direct_share(self, run: _ProcessRun, fy: int) -> tuple[Decimal, str]:
        for year in range(fy - 1, fy - 6, -1):
            data = run.process.year(year)
            if data is not None:
                break
        else:
            raise EngineInputError(f"{self._where(run, fy)}: no previous-year data for the direct-emission share")
        ef = self.parameters.get("national_average_ef_t_per_mwh", fy)
        indirect = (data.purchased_electricity_mwh or ZERO) * ef
        total = data.emissions_t + indirect
        share = data.emissions_t / total if total else ONE
        return share, (f"direct share FY{year}: {_fmt(data.emissions_t)} / ({_fmt(data.emissions_t)} + "
                       f"{_fmt(data.purchased_electricity_mwh or ZERO)} MWh x {_fmt(ef)})")

    def _unit_value(self, run: _ProcessRun, fy: int, end_fy: int, *, gf_reduced: bool = True) -> tuple[Decimal, str]:
        """What one unit of baseline is worth in ``fy``."""
        method = run.process.method
        if method in (Method.PRODUCT_BENCHMARK, Method.FUEL_BENCHMARK):
            bench = self._benchmark(run)
            value = benchmark_value(bench, fy, self.parameters)
            factor, text = value.value, f"BM FY{fy} {_fmt(value.value)} ({value.derivation})"
            if method == Method.PRODUCT_BENCHMARK:
                if run.process.product_mix_factor != ONE:
                    factor *= run.process.product_mix_factor
                    text += f" x product-mix factor {_fmt(run.process.product_mix_factor)}"
                if bench.direct_share_adjusted:
                    share, share_text = self._direct_share(run, fy)
                    factor *= share
                    text += f" x {share_text}"
            return factor, text
        if not gf_reduced:
            return ONE, "actual emissions, no reduction (§5-1(2) table)"
        rate = self._rate(run.process.emission_type, fy)
        n = fy - end_fy
        return ONE - rate * n, f"1 - {_fmt(rate)} x {n} years elapsed"

    def _main_kind(self, run: _ProcessRun) -> tuple[LineKind, str, str]:
        method = run.process.method
        if method == Method.PRODUCT_BENCHMARK:
            return LineKind.PRODUCT_BENCHMARK, "baseline activity x product benchmark", "§5-2"
        if method == Method.FUEL_BENCHMARK:
            return LineKind.FUEL_BENCHMARK, "baseline fuel input x fuel benchmark", "§5-2"
        if run.process.emission_type == EmissionType.PROCESS:
            return LineKind.GF_PROCESS, "baseline emissions x (1 - process-CO2 rate x years elapsed)", "§5-3"
        return LineKind.GF_ENERGY, "baseline emissions x (1 - 1.7 % x years elapsed)", "§5-3"

    def _main_line(self, run: _ProcessRun, fy: int) -> AllocationLine:
        base = run.baseline
        kind, rule, section = self._main_kind(run)
        quantity = self._quantity(run, base.measures)
        factor, factor_text = self._unit_value(run, fy, base.end_fy)
        amount = quantity * factor
        issued = self.entity.issued_main.get((run.facility.code, run.process.code, fy))
        # A past year is corrected against what was issued for it; the year asked for is always computed.
        run.main[fy] = issued if issued is not None and fy < self.fiscal_year else amount
        return AllocationLine(kind, run.facility.code, run.process.code, quantity, self._unit(run), base.derivation,
                              factor, factor_text, amount, rule, section)

    def _by_product_lines(self, run: _ProcessRun, fy: int) -> list[AllocationLine]:
        m = run.baseline.measures
        if not (m.by_product or m.supplied) or run.process.method == Method.GRANDFATHERING:
            return []
        bench = self._benchmark(run)
        if bench.by_product_fuel_ef is None:
            raise EngineInputError(f"{self._where(run)}: by-product fuel emission factor of {bench.key} is not set")
        rate = self.parameters.get("gf_process_rate", fy)
        n = fy - run.baseline.end_fy
        reduction = ONE - rate * n
        lines = []
        if m.by_product:
            if run.process.method == Method.PRODUCT_BENCHMARK:
                if bench.sector_average_fuel_ef is None:
                    raise EngineInputError(f"{self._where(run)}: sector-average fuel emission factor of {bench.key} is not set")
                eff = self.parameters.get("by_product_efficiency_factor", fy)
                ef = bench.by_product_fuel_ef - bench.sector_average_fuel_ef * eff
                ef_text = f"({_fmt(bench.by_product_fuel_ef)} - {_fmt(bench.sector_average_fuel_ef)} x {_fmt(eff)})"
            else:
                ef, ef_text = bench.by_product_fuel_ef, _fmt(bench.by_product_fuel_ef)
            factor = ef * reduction
            lines.append(AllocationLine(
                LineKind.BY_PRODUCT_FUEL, run.facility.code, run.process.code, m.by_product, "GJ",
                f"baseline by-product fuel received ({run.baseline.derivation})", factor,
                f"{ef_text} t-CO2/GJ x (1 - {_fmt(rate)} x {n})", max(m.by_product * factor, ZERO),
                "by-product fuel: baseline consumption x emission-factor difference x GF process rate", "§5-2"))
        if m.supplied:
            factor = bench.by_product_fuel_ef * reduction
            lines.append(AllocationLine(
                LineKind.BY_PRODUCT_SUPPLIER_DEDUCTION, run.facility.code, run.process.code, m.supplied, "GJ",
                f"baseline by-product fuel supplied ({run.baseline.derivation})", factor,
                f"{_fmt(bench.by_product_fuel_ef)} t-CO2/GJ x (1 - {_fmt(rate)} x {n})", -(m.supplied * factor),
                "supplier deduction: no double allocation of by-product fuel passed on", "§5-2 *3"))
        return lines

    # ---- §5-1(2): activity change --------------------------------------------------------
    def _effective(self, run: _ProcessRun, fy: int, depth: int = 0) -> Measures:
        """A year's measures for change tests: an affected year counts as the mean of the two before it."""
        if run.facility.event_in(fy) and depth < 10:
            return Measures.mean([self._effective(run, fy - 1, depth + 1), self._effective(run, fy - 2, depth + 1)])
        return Measures.of(self._data(run, fy))

    def _test_quantity(self, run: _ProcessRun, m: Measures, base: Measures) -> Decimal:
        if run.process.method == Method.PRODUCT_BENCHMARK:
            return m.activity
        if run.process.method == Method.GRANDFATHERING and not base.fuel:
            return m.emissions  # no fuel reported: emissions stand in for the proxy
        return m.fuel

    def _window(self, run: _ProcessRun, fy: int) -> Measures | None:
        base = run.baseline
        if base is None or fy - 2 < base.valid_from or not self._active(run, fy):
            return None
        if any(run.process.year(y) is None for y in (fy - 2, fy - 1)):
            return None
        return Measures.mean([self._effective(run, fy - 2), self._effective(run, fy - 1)])

    def _change(self, run: _ProcessRun, window: Measures) -> Decimal | None:
        base_q = self._test_quantity(run, run.baseline.measures, run.baseline.measures)
        if base_q <= 0:
            return None
        return self._test_quantity(run, window, run.baseline.measures) / base_q - ONE

    def _rebaseline(self, run: _ProcessRun, fy: int, window: Measures, why: str) -> list[AllocationLine]:
        new = _Baseline(window, fy - 1, fy, f"re-baselined for FY{fy}: mean of FY{fy - 2}-FY{fy - 1} ({why})")
        lines = []
        for past in (fy - 2, fy - 1):
            if past not in run.main:
                continue
            factor, factor_text = self._unit_value(run, past, new.end_fy, gf_reduced=False)
            quantity = self._quantity(run, window)
            amount = quantity * factor - run.main[past]
            lines.append(AllocationLine(
                LineKind.ACTIVITY_CHANGE_TRUE_UP, run.facility.code, run.process.code, quantity, self._unit(run),
                new.derivation, factor, f"{factor_text}; minus FY{past} allocation {_fmt(run.main[past])}",
                amount, f"true-up of FY{past} to the new baseline", "§5-1(2) [ref.] changes in activity level"))
        run.baseline = new
        return lines

    def _change_tests(self, fy: int) -> list[AllocationLine]:
        threshold = self.parameters.get("activity_change_threshold", fy)
        small_kl = self.parameters.get("small_facility_kl", fy)
        lines: list[AllocationLine] = []
        small: list[tuple[_ProcessRun, Measures]] = []
        for run in self.runs:
            window = self._window(run, fy)
            if window is None:
                continue
            if run.facility.energy_use_kl < small_kl:
                small.append((run, window))
                continue
            change = self._change(run, window)
            if change is None or abs(change) < threshold:
                continue
            if run.process.method in (Method.GRANDFATHERING, Method.FUEL_BENCHMARK):
                demonstrated = self._data(run, fy - 1).energy_intensity_change
                if change < 0 and demonstrated is not None and demonstrated <= -threshold:
                    self.notes.append(f"{self._where(run, fy)}: fuel use {_fmt(change * 100)} % but energy intensity "
                                      f"improved {_fmt(-demonstrated * 100)} %: baseline kept")
                    continue
                if change > 0 and (demonstrated is None or demonstrated < threshold):
                    self.notes.append(f"{self._where(run, fy)}: fuel use +{_fmt(change * 100)} % without a demonstrated "
                                      f"energy-intensity increase of {_fmt(threshold * 100)} %: baseline kept")
                    continue
            lines += self._rebaseline(run, fy, window, f"change {_fmt(change * 100)} %")
        if small:
            # Units differ between processes, so the group is compared in allowances: each
            # process's quantity weighted by what one unit is worth this year.
            weights = [self._unit_value(r, fy, r.baseline.end_fy)[0] for r, _w in small]
            current = sum((self._quantity(r, r.baseline.measures) * w for (r, _m), w in zip(small, weights, strict=True)), ZERO)
            proposed = sum((self._quantity(r, m) * w for (r, m), w in zip(small, weights, strict=True)), ZERO)
            if current > 0 and abs(proposed / current - ONE) >= threshold:
                change = proposed / current - ONE
                for run, window in small:
                    lines += self._rebaseline(run, fy, window, f"small-facility group change {_fmt(change * 100)} %")
        return lines

    # ---- ownership and life of a facility --------------------------------------------------
    def _active(self, run: _ProcessRun, fy: int) -> bool:
        facility = run.facility
        if facility.closed_on and fiscal_year_of(facility.closed_on) < fy:
            return False
        disposed = facility.disposed
        return not (disposed and disposed.fiscal_year < fy)

    def _facility_lines(self, run: _ProcessRun, fy: int) -> list[AllocationLine]:
        facility, J = run.facility, self.J
        code, pcode = facility.code, run.process.code

        def note_line(kind, rule, section, amount=ZERO, **extra):
            return AllocationLine(kind, code, pcode, extra.get("baseline"), extra.get("unit", ""),
                                  extra.get("derivation", ""), extra.get("factor"), extra.get("factor_text", ""),
                                  amount, rule, section)

        if facility.closed_on and facility.closed_on <= fiscal_year_end(J - 1):
            return [note_line(LineKind.EXCLUDED, "closed during the baseline period: excluded", "§5-1①")]

        # Acquired from a regulated entity: the year of the change belongs to the other side.
        acquired = facility.acquired
        if acquired and acquired.counterparty_regulated:
            T = acquired.fiscal_year
            on_first_day = acquired.executed_on == fiscal_year_start(T)
            if fy < T or (fy == T and not (acquired.kind == SuccessionKind.MERGER and on_first_day)):
                return [note_line(LineKind.SUCCESSION, f"FY{T} {acquired.kind}: this year's allocation stays with "
                                  "the transferor", "§5-4")]
            if acquired.kind != SuccessionKind.FACILITY_SALE and not self._covered(fy):
                return [note_line(LineKind.SUCCESSION, "inheritor's three-year average emissions are below the "
                                  "coverage threshold: no allocation", "§5-4")]

        disposed = facility.disposed
        if disposed:
            T = disposed.fiscal_year
            if disposed.kind == SuccessionKind.MERGER and disposed.executed_on == fiscal_year_start(T) and fy == T:
                return [note_line(LineKind.SUCCESSION, "merged on the first day of the FY: allocated to the "
                                  "surviving company", "§5-4")]
            if fy > T:
                if disposed.kind == SuccessionKind.FACILITY_SALE and fy == T + 1 and T in run.main:
                    held = Decimal(_days_between(fiscal_year_start(T), disposed.executed_on))
                    share = ONE - held / self.parameters.get("days_in_year", T)
                    share = max(share, ZERO)
                    return [note_line(LineKind.CLOSURE_DEDUCTION, f"facility sold on {disposed.executed_on}: "
                                      f"FY{T} allocation for the days after the sale taken back", "§5-4 [ref.], §5-1(2)",
                                      -run.main[T] * share, baseline=run.main[T], unit="t-CO2",
                                      derivation=f"FY{T} allocation", factor=share,
                                      factor_text=f"1 - {_fmt(held)} days held / 365")]
                return [note_line(LineKind.SUCCESSION, f"given up by {disposed.kind} in FY{T}: no allocation",
                                  "§5-4")]

        # Closure after the start.
        if facility.closed_on:
            closed_fy = fiscal_year_of(facility.closed_on)
            if fy == closed_fy + 1 and closed_fy in run.main:
                data = run.process.year(closed_fy)
                days = self._days_operated(run, closed_fy, data) if data else Decimal(
                    _days_between(fiscal_year_start(closed_fy), facility.closed_on))
                share = max(ONE - days / self.parameters.get("days_in_year", closed_fy), ZERO)
                return [note_line(LineKind.CLOSURE_DEDUCTION, "closed: allocation for the days after closure taken back",
                                  "§5-1(2) [ref.] closure", -run.main[closed_fy] * share, baseline=run.main[closed_fy],
                                  unit="t-CO2", derivation=f"FY{closed_fy} allocation", factor=share,
                                  factor_text=f"1 - {_fmt(days)} days operated / 365")]
            if fy > closed_fy:
                return [note_line(LineKind.EXCLUDED, f"closed in FY{closed_fy}: no allocation", "§5-1(2)")]

        # New facility (or one brought in from outside the scheme) after the start.
        opened = self._opened_fy(facility)
        if opened is not None and opened >= J:
            if fy == opened:
                return [note_line(LineKind.NEW_FACILITY, "new facility: nothing in its first year, it is allocated "
                                  "the next year on its actual data", "§5-1(2) [ref.] new establishment")]
            if fy == opened + 1:
                data = self._data(run, opened)
                days = self._days_operated(run, opened, data)
                if days <= 0:
                    raise EngineInputError(f"{self._where(run, opened)}: no days of operation")
                actual = Measures.of(data)
                run.baseline = _Baseline(actual.times(self.parameters.get("days_in_year", opened), days), opened,
                                         opened + 1,
                                         f"new facility: FY{opened} actual / {_fmt(days)} days x 365")
                factor, factor_text = self._unit_value(run, opened, opened, gf_reduced=False)
                quantity = self._quantity(run, actual)
                first = note_line(LineKind.NEW_FACILITY, f"first year FY{opened} on its actual data",
                                  "§5-1(2) [ref.] new establishment", quantity * factor, baseline=quantity,
                                  unit=self._unit(run), derivation=f"FY{opened} actual", factor=factor,
                                  factor_text=factor_text)
                return [first, self._main_line(run, fy), *self._by_product_lines(run, fy)]
        if run.baseline is None:
            return []
        lines = [self._main_line(run, fy), *self._by_product_lines(run, fy)]

        # A sale from another regulated entity: the days it held the facility came back to it
        # by the seller's deduction; the buyer receives them the next year.
        if acquired and acquired.counterparty_regulated and acquired.kind == SuccessionKind.FACILITY_SALE \
                and fy == acquired.fiscal_year + 1:
            T = acquired.fiscal_year
            held_by_us = Decimal(_days_between(acquired.executed_on, fiscal_year_end(T)) + 1)
            days_in_year = self.parameters.get("days_in_year", T)
            held_by_us = min(held_by_us, days_in_year)
            share = held_by_us / days_in_year
            factor, _t = self._unit_value(run, T, run.baseline.end_fy)
            base = self._quantity(run, run.baseline.measures) * factor
            lines.append(note_line(LineKind.SUCCESSION, f"bought on {acquired.executed_on}: FY{T} allocation for "
                                   "the days held", "§5-4 [ref.] facility sale", base * held_by_us / days_in_year,
                                   baseline=base,
                                   unit="t-CO2", derivation=f"FY{T} allocation on the inherited baseline",
                                   factor=share, factor_text=f"{_fmt(held_by_us)} days / 365"))

        # A disaster or inspection last year: that year is allocated on its actual activity.
        previous = fy - 1
        event = facility.event_in(previous)
        if event and previous >= J and previous in run.main:
            data = self._data(run, previous)
            if run.process.method == Method.GRANDFATHERING:
                capped = min(run.main[previous], data.emissions_t)
                amount = capped - run.main[previous]
                text = f"min(FY{previous} allocation, actual emissions {_fmt(data.emissions_t)})"
                quantity, factor, factor_text = data.emissions_t, None, ""
            else:
                quantity = self._quantity(run, Measures.of(data))
                factor, factor_text = self._unit_value(run, previous, run.baseline.end_fy)
                amount = quantity * factor - run.main[previous]
                text = f"FY{previous} actual x value"
            lines.append(note_line(LineKind.EVENT_TRUE_UP, f"{event.kind} in FY{previous}: {text}, minus what was "
                                   "allocated", "§5-1(2) disasters and inspections", amount, baseline=quantity,
                                   unit=self._unit(run), derivation=f"FY{previous} actual", factor=factor,
                                   factor_text=factor_text))
        return lines

    def _emissions(self, fy: int) -> Decimal:
        total = ZERO
        for run in self.runs:
            data = run.process.year(fy)
            if data is not None:
                total += data.emissions_t
        return total

    def _covered(self, fy: int) -> bool:
        years = [self._emissions(y) for y in (fy - 3, fy - 2, fy - 1)]
        return sum(years, ZERO) / 3 >= self.parameters.get("coverage_threshold_t", fy)

    # ---- §6 additional allocations --------------------------------------------------------
    def _early_reduction(self, fy: int) -> list[AllocationLine]:
        p = self.parameters.for_year(fy)
        if fy > p.early_reduction_last_fy:
            return []
        rate = self.parameters.get("gf_energy_rate", fy)
        middle = self.J - 2  # centre of the baseline period, as the start year is the centre of its three
        parts, amounts = [], ZERO
        for facility in self.entity.facilities:
            early = facility.early_reduction
            if early is None:
                continue
            runs = [r for r in self.runs if r.facility is facility and r.process.method == Method.GRANDFATHERING
                    and r.process.emission_type == EmissionType.ENERGY]
            pre = [self._pre_start_baseline(r) for r in runs]
            baseline = sum((b.measures.emissions for b in pre if b), ZERO)
            elapsed = middle - early.start_year
            reduction = (early.start_year_emissions_t * (ONE - rate * elapsed) - baseline) * early.activity_coefficient
            amounts += reduction
            parts.append(f"{facility.code}: ({_fmt(early.start_year_emissions_t)} x (1 - {_fmt(rate)} x {elapsed}) - "
                         f"{_fmt(baseline)}) x {_fmt(early.activity_coefficient)} = {_fmt(reduction)}")
        if not parts or amounts <= 0:
            return []
        n = fy - (self.J - 1)
        factor = (ONE - rate * n) * p.early_reduction_factor
        return [AllocationLine(LineKind.EARLY_REDUCTION, None, None, amounts, "t-CO2", "; ".join(parts), factor,
                               f"(1 - {_fmt(rate)} x {n}) x {_fmt(p.early_reduction_factor)}", amounts * factor,
                               "early reduction beyond the GF rate since the start year", "§6-1")]

    def _shortfall(self, fy: int) -> tuple[Decimal, str] | None:
        financials = self.entity.financials_for(fy)
        if financials and financials.shortfall_t is not None:
            return financials.shortfall_t, f"FY{fy} shortfall {_fmt(financials.shortfall_t)} t (reported)"
        if fy not in self.totals:
            return None
        emissions = self._emissions(fy)
        allocated = Decimal(round_down_to_allowances(self.totals[fy]))
        return emissions - allocated, f"FY{fy} emissions {_fmt(emissions)} - allocation {_fmt(allocated)}"

    def _leakage(self, fy: int) -> list[AllocationLine]:
        last = fy - 1
        p = self.parameters.for_year(fy)
        share = self.entity.leakage_trade_share
        financials = self.entity.financials_for(last)
        if share is None or share <= p.leakage_trade_share_threshold or financials is None:
            return []
        found = self._shortfall(last)
        if found is None or found[0] <= 0 or financials.operating_profit_yen is None:
            return []
        shortfall, shortfall_text = found
        price = self.parameters.get("average_allowance_price_yen", last)
        profit = financials.operating_profit_yen
        if profit <= 0:
            base, text = shortfall, f"{shortfall_text}; operating profit {_fmt(profit)} yen <= 0: whole shortfall"
        else:
            if shortfall * price / profit <= p.leakage_cost_share:
                return []
            below = p.leakage_cost_share * profit / price
            base = shortfall - below
            text = (f"{shortfall_text}; cost {_fmt(shortfall * price)} yen > {_fmt(p.leakage_cost_share * 100)} % of "
                    f"operating profit {_fmt(profit)} yen; above the threshold quantity {_fmt(below)} t")
        return [AllocationLine(LineKind.LEAKAGE, None, None, base, "t-CO2", text, p.leakage_rate,
                               f"{_fmt(p.leakage_rate * 100)} % (trade share {_fmt(share)})", base * p.leakage_rate,
                               "carbon-leakage additional allocation", "§6-2")]

    def _rd(self, fy: int) -> list[AllocationLine]:
        last = fy - 1
        p = self.parameters.for_year(fy)
        financials = self.entity.financials_for(last)
        if financials is None or not financials.rd_evidence_confirmed or financials.gx_rd_spend_yen is None:
            return []
        ratio = p.rd_sector_ratios[self.entity.rd_category]
        standard = (financials.sales_yen or ZERO) * ratio
        excess = financials.gx_rd_spend_yen - standard - financials.government_rd_support_yen
        found = self._shortfall(last)
        if excess <= 0 or found is None or found[0] <= 0:
            return []
        price = self.parameters.get("average_allowance_price_yen", last)
        quantity = excess / price
        cap = p.rd_cap_share * found[0]
        amount = min(quantity, cap)
        text = (f"(R&D {_fmt(financials.gx_rd_spend_yen)} - sales {_fmt(financials.sales_yen or ZERO)} x {_fmt(ratio)} - "
                f"support {_fmt(financials.government_rd_support_yen)}) / price {_fmt(price)} = {_fmt(quantity)} t; "
                f"cap {_fmt(p.rd_cap_share * 100)} % of {found[1]} = {_fmt(cap)} t")
        return [AllocationLine(LineKind.RD, None, None, quantity, "t-CO2", text, None, "", amount,
                               "GX R&D additional allocation", "§6-3")]

    # ---- the year loop --------------------------------------------------------------------
    def year(self, fy: int) -> list[AllocationLine]:
        lines = self._change_tests(fy) if fy >= self.J else []
        for run in self.runs:
            lines += self._facility_lines(run, fy)
        lines += self._early_reduction(fy)
        lines += self._leakage(fy)
        lines += self._rd(fy)
        self.totals[fy] = sum((line.amount for line in lines), ZERO)
        return lines


# Recurring decimals (a three-year mean of 1000, 1000, 1000 is exact, but 100 / 3 is not) are
# carried to 28 significant digits. Before rounding down, the total is settled at a milligram so
# that 914.99999...9 from representation error still gives 915, not 914.
SETTLE = Decimal("0.000000001")


def round_down_to_allowances(total: Decimal) -> int:
    """The entity total in whole allowances: rounded down once, never below zero (§5, domain.md)."""
    settled = total.quantize(SETTLE)
    return int(max(settled, ZERO).to_integral_value(rounding=ROUND_FLOOR))


def allocate(entity: Entity, fiscal_year: int, benchmarks: dict[str, SectorBenchmark],
             parameters: Parameters) -> Allocation:
    """The allocation of ``entity`` for ``fiscal_year``, line by line."""
    if fiscal_year < entity.start_fy:
        raise EngineInputError(f"FY{fiscal_year} is before the entity's first year FY{entity.start_fy}")
    run = _EntityRun(entity, benchmarks, parameters, fiscal_year)
    lines: list[AllocationLine] = []
    for fy in range(entity.start_fy, fiscal_year + 1):
        lines = run.year(fy)
    total = sum((line.amount for line in lines), ZERO)
    rounded = round_down_to_allowances(total)
    notes = [n for n in run.notes if f"FY{fiscal_year}" in n]
    if total < 0:
        notes.append(f"deductions exceed the allocation by {_fmt(-total)} t; the allocation is 0")
    return Allocation(entity.corporate_number, fiscal_year, tuple(lines), total, rounded, tuple(notes))
