"""The interim report's own worked examples (§5, §6), with its numbers."""

from datetime import date
from decimal import Decimal

import pytest

from allocation.engine import (
    EventKind,
    FacilityEvent,
    Financials,
    IntensityPoint,
    LineKind,
    Method,
    activity_weighted_level,
    allocate,
    benchmark_value,
)
from allocation.tests.engine_builders import (
    D,
    benchmark,
    entity,
    facility,
    gf,
    no_special_measure,
    one,
    params,
    product_bm,
)


def test_new_facility_in_the_baseline_period_60_110_100_gives_105():
    # §5-1① [ref.] newly established facilities: opened in FY2023, average from FY2024.
    e = entity(facility(gf([60, 110, 100]), opened_on=date(2023, 7, 1)))
    line = one(allocate(e, 2026, {}, params()), LineKind.GF_ENERGY)
    assert line.baseline == 105
    assert line.amount == D("105") * D("0.983")


def test_disaster_year_100_55_115_gives_105():
    # §5-1① [ref.] disasters: the affected year is deemed equal to the previous one.
    e = entity(facility(gf([99, 100, 55, 115], start=2022),
                        events=(FacilityEvent(EventKind.DESIGNATED_DISASTER, 2024),)))
    line = one(allocate(e, 2026, {}, params()), LineKind.GF_ENERGY)
    assert line.baseline == 105
    assert "deemed equal to FY2023" in line.baseline_derivation


def test_benchmark_path_150_to_120():
    # §5-2 example: top 50 % 1.50, top 32.5 % 1.20, linear to FY2030.
    bm = benchmark("1.50", "1.20")
    path = [benchmark_value(bm, fy, no_special_measure()).value for fy in range(2025, 2031)]
    assert path == [D("1.50"), D("1.44"), D("1.38"), D("1.32"), D("1.26"), D("1.20")]


def test_benchmark_path_allocates_baseline_activity_times_the_year_value():
    e = entity(facility(product_bm([100, 100, 100])))
    amounts = [one(allocate(e, fy, {"steel": benchmark()}, no_special_measure()), LineKind.PRODUCT_BENCHMARK).amount
               for fy in range(2026, 2031)]
    assert amounts == [D("144"), D("138"), D("132"), D("126"), D("120")]


@pytest.mark.parametrize(("fuel", "gigajoules", "emissions", "expected"), [
    ("coal", "26100", "2330", "0.089"),
    ("LNG", "54700", "2790", "0.051"),
])
def test_fuel_benchmark_examples(fuel, gigajoules, emissions, expected):
    # §5-1(2) [ref.] fuel benchmark: t-CO2 per GJ of fuel input.
    level = activity_weighted_level([IntensityPoint(fuel, D(emissions) / D(gigajoules), D(gigajoules))], D(50))
    assert level.value.quantize(Decimal("0.001")) == D(expected)


def test_fuel_benchmark_allocates_baseline_fuel_times_the_value():
    from allocation.engine import EmissionType, Process
    from allocation.tests.engine_builders import years

    coal = benchmark("0.089", "0.089", key="fuel.coal", kind=Method.FUEL_BENCHMARK)
    process = Process("B1", "boiler", Method.FUEL_BENCHMARK, EmissionType.ENERGY,
                      years([26100, 26100, 26100], field="fuel"), sector_benchmark="fuel.coal")
    line = one(allocate(entity(facility(process)), 2026, {"fuel.coal": coal}, params()), LineKind.FUEL_BENCHMARK)
    assert line.amount == D("26100") * D("0.089")


def test_grandfathering_factor_is_0915_in_fy2030():
    # §5-2 *: 1 - 0.017 x 5 = 0.915.
    line = one(allocate(entity(facility(gf([1000, 1000, 1000]))), 2030, {}, params()), LineKind.GF_ENERGY)
    assert line.factor == D("0.915")
    assert line.amount == D("915")


def test_special_measure_sets_fy2030_to_the_greater_of_top_325_and_top_50_times_0915():
    bm = benchmark("1.50", "1.20")
    assert benchmark_value(bm, 2030, params()).value == D("1.3725")  # 1.50 x 0.915 > 1.20
    assert benchmark_value(benchmark("1.50", "1.40"), 2030, params()).value == D("1.40")


def leakage_entity(shortfall, profit):
    return entity(facility(gf([1000, 1000, 1000])), leakage_trade_share=D("0.3"),
                  financials=(Financials(2026, operating_profit_yen=D(profit), shortfall_t=D(shortfall)),))


LEAKAGE_PARAMS = params(by_year={2026: {"average_allowance_price_yen": D("2500")}})


def test_leakage_threshold_operating_profit_50bn_yen_is_2bn_yen_of_allowances():
    # §6-2 *1: profit 50 bn yen -> 2 bn yen (= 800,000 t at 2,500 yen) bought without relief.
    at_threshold = allocate(leakage_entity("800000", "50000000000"), 2027, {}, LEAKAGE_PARAMS)
    assert not [line for line in at_threshold.lines if line.kind == LineKind.LEAKAGE]
    above = one(allocate(leakage_entity("1000000", "50000000000"), 2027, {}, LEAKAGE_PARAMS), LineKind.LEAKAGE)
    assert above.baseline == D("200000")
    assert above.amount == D("100000")


def test_leakage_loss_making_entity_gets_half_the_whole_shortfall():
    line = one(allocate(leakage_entity("1000000", "-5"), 2027, {}, LEAKAGE_PARAMS), LineKind.LEAKAGE)
    assert line.amount == D("500000")
