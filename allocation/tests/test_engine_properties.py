"""Properties of the engine over random entities (hypothesis)."""

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.engine import (
    CORRECTING_KINDS,
    EmissionType,
    EventKind,
    FacilityEvent,
    LineKind,
    Method,
    Process,
    YearData,
    allocate,
    benchmark_value,
)
from allocation.engine.calculate import round_down_to_allowances
from allocation.tests.engine_builders import D, benchmark, entity, facility, params

quantity = st.decimals(min_value=0, max_value=10_000_000, places=3, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=1, max_value=10_000_000, places=3, allow_nan=False, allow_infinity=False)
intensity = st.decimals(min_value=Decimal("0.01"), max_value=5, places=4)


@st.composite
def processes(draw, code):
    method = draw(st.sampled_from([Method.PRODUCT_BENCHMARK, Method.FUEL_BENCHMARK, Method.GRANDFATHERING]))
    emission_type = draw(st.sampled_from(list(EmissionType)))
    years = []
    for fy in range(2023, 2031):
        value = draw(positive)
        years.append(YearData(fy, draw(quantity), activity=value, fuel_input_gj=value,
                              by_product_fuel_gj=draw(st.sampled_from([None, D(0), D(500)])),
                              by_product_fuel_supplied_gj=draw(st.sampled_from([None, D(0), D(300)]))))
    key = {Method.PRODUCT_BENCHMARK: "steel", Method.FUEL_BENCHMARK: "fuel"}.get(method)
    return Process(code, code, method, emission_type, tuple(years), sector_benchmark=key)


@st.composite
def entities(draw):
    facilities = []
    for f in range(draw(st.integers(1, 4))):
        events = ()
        if draw(st.booleans()):
            events = (FacilityEvent(draw(st.sampled_from(list(EventKind))), draw(st.integers(2024, 2029))),)
        closed_on = draw(st.sampled_from([None, None, date(2027, 1, 1), date(2028, 9, 30)]))
        opened_on = draw(st.sampled_from([None, None, date(2023, 7, 1), date(2026, 10, 1)]))
        facilities.append(facility(*[draw(processes(f"P{f}{p}")) for p in range(draw(st.integers(1, 3)))],
                                   code=f"F{f}", energy_use_kl=draw(st.sampled_from(["800", "1500", "90000"])),
                                   events=events, closed_on=closed_on, opened_on=opened_on))
    return entity(*facilities)


def benchmarks(top_50, ratio):
    top_32_5 = (top_50 * ratio).quantize(Decimal("0.0001"))
    extra = {"by_product_fuel_ef": D("0.26"), "sector_average_fuel_ef": D("0.0561")}
    return {"steel": benchmark(str(top_50), str(top_32_5), **extra),
            "fuel": benchmark(str(top_50), str(top_32_5), key="fuel", kind=Method.FUEL_BENCHMARK, **extra)}


ratios = st.decimals(min_value=Decimal("0.5"), max_value=1, places=3)


@settings(max_examples=150, deadline=None)
@given(entities(), st.integers(2026, 2030), intensity, ratios)
def test_lines_sum_to_the_total_and_only_corrections_go_below_zero(e, fy, top_50, ratio):
    allocation = allocate(e, fy, benchmarks(top_50, ratio), params())
    assert allocation.total_before_rounding == sum((line.amount for line in allocation.lines), Decimal(0))
    assert allocation.total == round_down_to_allowances(allocation.total_before_rounding)
    assert 0 <= allocation.total <= max(allocation.total_before_rounding, 0) + Decimal("0.000000001")
    for line in allocation.lines:
        if line.kind not in CORRECTING_KINDS:
            assert line.amount >= 0, line


@settings(max_examples=150, deadline=None)
@given(entities(), st.integers(2027, 2030), intensity, ratios)
def test_corrections_never_take_back_more_than_was_allocated(e, fy, top_50, ratio):
    bms = benchmarks(top_50, ratio)
    allocation = allocate(e, fy, bms, params())
    for line in allocation.lines:
        if line.kind == LineKind.CLOSURE_DEDUCTION:
            assert -line.amount <= line.baseline  # baseline = the year's allocation it corrects
        if line.kind in (LineKind.ACTIVITY_CHANGE_TRUE_UP, LineKind.EVENT_TRUE_UP) and line.amount < 0:
            past = int(line.rule.split("FY")[1][:4]) if "FY" in line.rule else fy - 1
            earlier = allocate(e, past, bms, params())
            allocated = sum((x.amount for x in earlier.lines
                             if x.process == line.process and x.facility == line.facility
                             and x.kind in (LineKind.PRODUCT_BENCHMARK, LineKind.FUEL_BENCHMARK,
                                            LineKind.GF_ENERGY, LineKind.GF_PROCESS)), Decimal(0))
            assert -line.amount <= allocated + Decimal("0.000000001"), (line, allocated)


@settings(max_examples=100, deadline=None)
@given(positive, positive, st.integers(2026, 2035), intensity, ratios)
def test_benchmark_allocation_is_monotone_in_activity(a, b, fy, top_50, ratio):
    low, high = sorted([a, b])
    bms = benchmarks(top_50, ratio)

    def allocated(activity):
        process = Process("P", "P", Method.PRODUCT_BENCHMARK, EmissionType.ENERGY,
                          tuple(YearData(y, D(0), activity=activity) for y in range(2023, 2026)), sector_benchmark="steel")
        return allocate(entity(facility(process)), fy, bms, params()).total_before_rounding

    assert allocated(low) <= allocated(high)


@settings(max_examples=200, deadline=None)
@given(intensity, ratios, st.booleans())
def test_benchmark_values_never_rise_from_fy2026_to_fy2030(top_50, ratio, special):
    bm = benchmarks(top_50, ratio)["steel"]
    p = params() if special else params(bm_special_measure_last_fy=2025)
    values = [benchmark_value(bm, fy, p).value for fy in range(2025, 2031)]
    assert all(later <= earlier for earlier, later in zip(values, values[1:], strict=False))
    assert values[-1] >= bm.top_32_5
