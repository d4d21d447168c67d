"""The arithmetic of §2-§4 at its edges: every method, rounding, accuracy bands, thresholds exactly met."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verification import calculations as calc

D = Decimal
FACTOR = D("1.075")


@pytest.mark.parametrize(("method", "figures", "expected"), [
    ("activity_factor", {"activity": D("1000"), "emission_factor": D("2.33")}, D("2330.000")),
    ("mass_balance", {"carbon_in_t": D("120"), "carbon_out_t": D("12")}, D("396.000")),  # 108 x 44/12
    ("direct_measurement", {"co2_concentration_pct": D("10"), "flue_gas_nm3": D("1000000")}, D("197.700")),
    ("model", {"model_emissions_t": D("55.5")}, D("55.500")),
    ("specification", {"rated_t_per_hour": D("0.5"), "hours_per_day": D("24"), "operating_days": 300}, D("3600.000")),
    ("conservative", {"historical_t": D("1000")}, D("1075.000")),  # §3 *2: x 1.075
])
def test_each_method_of_section_3(method, figures, expected):
    assert calc.line_emissions(method, figures, conservative_factor=FACTOR) == expected


def test_a_missing_figure_is_named():
    with pytest.raises(calc.CalculationError) as error:
        calc.line_emissions("activity_factor", {"activity": D(5)}, conservative_factor=FACTOR)
    assert error.value.field == "emission_factor"


@pytest.mark.parametrize(("method", "figures", "field"), [
    ("mass_balance", {"carbon_in_t": D(1), "carbon_out_t": D(2)}, "carbon_out_t"),
    ("direct_measurement", {"co2_concentration_pct": D(101), "flue_gas_nm3": D(1)}, "co2_concentration_pct"),
    ("specification", {"rated_t_per_hour": D(1), "hours_per_day": D(25), "operating_days": 1}, "hours_per_day"),
    ("activity_factor", {"activity": D(-1), "emission_factor": D(1)}, "activity"),
])
def test_impossible_figures_are_refused_with_the_field(method, figures, field):
    with pytest.raises(calc.CalculationError) as error:
        calc.line_emissions(method, figures, conservative_factor=FACTOR)
    assert error.value.field == field


def test_the_total_is_rounded_up_to_a_whole_tonne():
    assert calc.report_total_t([D("100.001"), D("200")]) == 301
    assert calc.report_total_t([D("100.000"), D("200")]) == 300


@pytest.mark.parametrize(("accuracy_class", "activity", "required"), [
    ("liquid_fuel", D(5000), D("2.0")), ("liquid_fuel", D("4999.999"), D("3.5")), ("liquid_fuel", D(500), D("3.5")),
    ("liquid_fuel", D(499), D("5.0")), ("solid_fuel", D(1000), D("2.0")), ("solid_fuel", D(99), D("5.0")),
    ("electricity", D(90_000_000), D("1.0")), ("electricity", D(4_500_000), D("2.0")),
    ("electricity", D(4_499_999), D("3.5")), ("city_gas", D(10**9), D("5.0")), ("industrial_process", D(1), D("5.0")),
])
def test_required_accuracy_by_the_table_of_section_3(accuracy_class, activity, required):
    assert calc.required_tolerance_pct(accuracy_class, activity) == required


def test_an_instrument_outside_the_table_is_a_warning_with_the_required_tolerance():
    assert calc.accuracy_warning("liquid_fuel", D(6000), D("2.5")) == D("2.0")
    assert calc.accuracy_warning("liquid_fuel", D(6000), D("2.0")) is None
    assert calc.accuracy_warning("", D(6000), D("9")) is None  # no class given: nothing to check


def test_coverage_at_exactly_the_threshold_is_covered():
    exactly = calc.coverage(2026, {2023: D(90_000), 2024: D(100_000), 2025: D(110_000)}, D(100_000))
    assert exactly.average_t == D(100_000) and exactly.covered
    below = calc.coverage(2026, {2023: D(90_000), 2024: D(100_000), 2025: D("109999.997")}, D(100_000))
    assert not below.covered
    assert below.years == (2023, 2024, 2025)


def test_a_year_without_data_counts_as_zero_for_coverage():
    result = calc.coverage(2026, {2024: D(150_000), 2025: D(150_000)}, D(100_000))
    assert result.emissions_t == (None, D(150_000), D(150_000)) and result.average_t == D(100_000) and result.covered


def _level(fy, emissions):
    return calc.assurance_level(fy, emissions, first_fy=2029, threshold_t=D(1_000_000))


def test_limited_assurance_for_everyone_until_fy2028():
    assert _level(2028, {"F1": {2025: D(5e6), 2026: D(5e6), 2027: D(5e6)}}).level == "limited"


def test_fy2029_uses_fy2026_and_fy2027_and_the_threshold_is_inclusive():
    at = _level(2029, {"F1": {2026: D(1_000_000), 2027: D(1_000_000)}})
    assert at.level == "reasonable" and at.years == (2026, 2027) and at.facility == "F1"
    below = _level(2029, {"F1": {2026: D(1_000_000), 2027: D(999_998)}})
    assert below.level == "limited"


def test_either_consecutive_pair_of_the_three_preceding_years_counts():
    # FY2030: (2027, 2028) below, (2028, 2029) at the threshold.
    result = _level(2030, {"F1": {2027: D(0), 2028: D(1_000_000), 2029: D(1_000_000)}})
    assert result.level == "reasonable" and result.years == (2028, 2029)
    # Two non-consecutive years (2027 and 2029) do not make a pair.
    assert _level(2030, {"F1": {2027: D(2e6), 2029: D(2e6)}}).level == "limited"


def test_materiality_at_exactly_five_percent_is_material():
    assert calc.materiality([D(50)], D(1000), D("0.05")).material
    assert not calc.materiality([D("49.999")], D(1000), D("0.05")).material


def test_overstatements_and_understatements_do_not_offset():
    result = calc.materiality([D(30), D(-30)], D(1000), D("0.05"))
    assert result.misstatement_t == D(60) and result.material


@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=3), min_size=1, max_size=20))
def test_the_total_never_falls_below_the_sum_of_lines(lines):
    total = calc.report_total_t(lines)
    assert total >= sum(lines) > total - 1
