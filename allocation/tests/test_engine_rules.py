"""Each § rule of the engine, with its boundary."""

from datetime import date

import pytest

from allocation.engine import (
    EarlyReduction,
    EngineInputError,
    EventKind,
    FacilityEvent,
    Financials,
    LineKind,
    ParameterMissing,
    RDCategory,
    Succession,
    SuccessionKind,
    YearData,
    allocate,
)
from allocation.tests.engine_builders import (
    D,
    benchmark,
    entity,
    facility,
    gf,
    lines_of,
    no_special_measure,
    one,
    params,
    product_bm,
)

BM = {"steel": benchmark("1.50", "1.20")}


# ---- §5-1① baseline before the start ----------------------------------------------------------

def test_facility_opened_in_the_last_baseline_year_is_annualised():
    e = entity(facility(gf([None, None, 50]), opened_on=date(2025, 10, 1)))
    line = one(allocate(e, 2026, {}, params()), LineKind.GF_ENERGY)
    assert line.baseline == D(50) * 365 / 182  # 1 Oct 2025 - 31 Mar 2026 is 182 days


def test_facility_closed_during_the_baseline_period_is_excluded():
    e = entity(facility(gf([100, 100, 100]), closed_on=date(2025, 9, 1)))
    allocation = allocate(e, 2026, {}, params())
    assert one(allocation, LineKind.EXCLUDED).amount == 0
    assert allocation.total == 0


def test_safety_inspection_year_drops_five_months_and_scales_the_rest_to_twelve():
    process = gf([100, 70, 110], field="both")
    inspected = process.years[1].__class__(2024, D(70), activity=D(70), inspection_excluded_emissions_t=D(0))
    process = process.__class__(process.code, process.name, process.method, process.emission_type,
                                (process.years[0], inspected, process.years[2]))
    e = entity(facility(process, events=(FacilityEvent(EventKind.HIGH_PRESSURE_GAS_INSPECTION, 2024),)))
    line = one(allocate(e, 2026, {}, params()), LineKind.GF_ENERGY)
    assert line.baseline == (D(100) + D(70) * 12 / 7 + D(110)) / 3


def test_missing_year_names_facility_process_and_year():
    with pytest.raises(EngineInputError, match="facility F1, process P1, FY2024"):
        allocate(entity(facility(gf([100, None, 100]))), 2026, {}, params())


def test_process_rate_left_open_by_the_report_must_be_set():
    from allocation.engine import EmissionType, Parameters

    e = entity(facility(gf([100, 100, 100], emission_type=EmissionType.PROCESS)))
    with pytest.raises(ParameterMissing, match="gf_process_rate"):
        allocate(e, 2026, {}, Parameters())


# ---- §5-1(2) new facility, closure -------------------------------------------------------------

def test_new_grandfathering_facility_follows_the_report_table():
    e = entity(facility(gf([500], start=2026), opened_on=date(2026, 10, 1)))
    p = params()
    assert one(allocate(e, 2026, {}, p), LineKind.NEW_FACILITY).amount == 0
    second = allocate(e, 2027, {}, p)
    annualised = D(500) * 365 / 182
    assert one(second, LineKind.NEW_FACILITY).amount == 500  # FY T emissions, allocated in T+1
    assert one(second, LineKind.GF_ENERGY).amount == annualised * (1 - D("0.017"))
    third = allocate(e, 2028, {}, p)
    assert one(third, LineKind.GF_ENERGY).amount == annualised * (1 - D("0.017") * 2)
    assert not lines_of(third, LineKind.NEW_FACILITY)


def test_new_benchmark_facility_gets_last_years_actual_at_last_years_value_plus_the_annualised_baseline():
    e = entity(facility(product_bm([400], start=2026), opened_on=date(2026, 10, 1)))
    second = allocate(e, 2027, BM, no_special_measure())
    assert one(second, LineKind.NEW_FACILITY).amount == D(400) * D("1.44")
    assert one(second, LineKind.PRODUCT_BENCHMARK).amount == D(400) * 365 / 182 * D("1.38")


def test_closure_full_year_then_deduction_for_the_days_after_closure_then_nothing():
    e = entity(facility(gf([100, 100, 100, 80]), closed_on=date(2027, 1, 1)))
    p = params()
    full = one(allocate(e, 2026, {}, p), LineKind.GF_ENERGY).amount
    assert full == D("98.3")
    deduction = one(allocate(e, 2027, {}, p), LineKind.CLOSURE_DEDUCTION)
    assert deduction.amount == -full * (1 - D(275) / 365)  # open 1 Apr - 31 Dec 2026: 275 days
    later = allocate(e, 2028, {}, p)
    assert later.total == 0 and not lines_of(later, LineKind.GF_ENERGY)


# ---- §5-1(2) activity change -------------------------------------------------------------------

def changed(values_after, field="both", **kwargs):
    return entity(facility(product_bm([100, 100, 100, *values_after]), **kwargs))


def test_activity_change_of_exactly_75_percent_rebaselines_and_trues_up_two_years():
    allocation = allocate(changed([110, 105]), 2028, BM, no_special_measure())  # mean 107.5: +7.5 %
    main = one(allocation, LineKind.PRODUCT_BENCHMARK)
    assert main.baseline == D("107.5") and main.amount == D("107.5") * D("1.32")
    true_ups = sorted(line.amount for line in lines_of(allocation, LineKind.ACTIVITY_CHANGE_TRUE_UP))
    assert true_ups == sorted([D("7.5") * D("1.44"), D("7.5") * D("1.38")])
    assert one(allocate(changed([110, 105, 107]), 2029, BM, no_special_measure()),
               LineKind.PRODUCT_BENCHMARK).amount == D("107.5") * D("1.26")


def test_true_ups_subtract_what_was_issued_for_a_past_year_not_a_recomputation():
    """The issued figures are the source of truth: FY2026 issued 140 (an official value then in force, say),
    though today's path would give 144; the FY2026 true-up corrects what was issued."""
    issued = {("F1", "P1", 2026): D("140"), ("F1", "P1", 2028): D("1")}
    e = entity(facility(product_bm([100, 100, 100, 110, 105])), issued_main=issued)
    allocation = allocate(e, 2028, BM, no_special_measure())
    true_ups = {line.factor_derivation.split("minus ")[-1]: line.amount for line in lines_of(allocation,
                                                                                             LineKind.ACTIVITY_CHANGE_TRUE_UP)}
    assert true_ups["FY2026 allocation 140"] == D("107.5") * D("1.44") - D("140")
    assert true_ups["FY2027 allocation 138"] == D("107.5") * D("1.38") - D("138")  # not issued: recomputed
    # The year asked for is computed, never read from an issued figure (a correction recomputes it).
    assert one(allocation, LineKind.PRODUCT_BENCHMARK).amount == D("107.5") * D("1.32")


def test_activity_change_just_under_75_percent_changes_nothing():
    allocation = allocate(changed([110, D("104.98")]), 2028, BM, no_special_measure())
    assert one(allocation, LineKind.PRODUCT_BENCHMARK).baseline == 100
    assert not lines_of(allocation, LineKind.ACTIVITY_CHANGE_TRUE_UP)


def test_activity_decrease_of_75_percent_reduces_the_baseline():
    allocation = allocate(changed([90, 95]), 2028, BM, no_special_measure())
    assert one(allocation, LineKind.PRODUCT_BENCHMARK).baseline == D("92.5")
    assert all(line.amount < 0 for line in lines_of(allocation, LineKind.ACTIVITY_CHANGE_TRUE_UP))


def gf_with_fuel(fuel_after, intensity_change=None):
    years = [YearData(2023 + i, D(500), fuel_input_gj=D(1000)) for i in range(3)]
    years += [YearData(2026 + i, D(500) * fuel / 1000, fuel_input_gj=D(fuel),
                       energy_intensity_change=intensity_change) for i, fuel in enumerate(fuel_after)]
    from allocation.engine import EmissionType, Method, Process

    return entity(facility(Process("P1", "P1", Method.GRANDFATHERING, EmissionType.ENERGY, tuple(years))))


def test_gf_fuel_drop_without_demonstrated_efficiency_reduces_the_baseline():
    allocation = allocate(gf_with_fuel([900, 950]), 2028, {}, params())
    assert one(allocation, LineKind.GF_ENERGY).baseline == D("462.5")
    # The report's GF true-up: adjusted baseline emissions minus what was allocated, no reduction factor.
    true_up = [line for line in lines_of(allocation, LineKind.ACTIVITY_CHANGE_TRUE_UP) if "FY2026" in line.rule][0]
    assert true_up.amount == D("462.5") - D(500) * D("0.983")


def test_gf_fuel_drop_with_75_percent_better_energy_intensity_keeps_the_baseline():
    allocation = allocate(gf_with_fuel([900, 950], intensity_change=D("-0.075")), 2028, {}, params())
    assert one(allocation, LineKind.GF_ENERGY).baseline == 500
    assert any("baseline kept" in note for note in allocation.notes)


def test_gf_fuel_rise_needs_a_demonstrated_intensity_increase_to_add():
    kept = allocate(gf_with_fuel([1100, 1050]), 2028, {}, params())
    assert one(kept, LineKind.GF_ENERGY).baseline == 500
    added = allocate(gf_with_fuel([1100, 1050], intensity_change=D("0.075")), 2028, {}, params())
    assert one(added, LineKind.GF_ENERGY).baseline == D("537.5")


@pytest.mark.parametrize(("energy_use_kl", "rebaselined"), [("1500", True), ("1499.999", False)])
def test_small_facility_boundary_1500_kl(energy_use_kl, rebaselined):
    # +20 % alone, but in a group whose other member fell 10 %: group change +5 %.
    small_partner = facility(product_bm([100, 100, 100, 90, 90], code="P2"), code="F2", energy_use_kl="800")
    e = entity(facility(product_bm([100, 100, 100, 120, 120]), energy_use_kl=energy_use_kl), small_partner)
    allocation = allocate(e, 2028, BM, params())
    assert (one(allocation, LineKind.PRODUCT_BENCHMARK, "P1").baseline == 120) is rebaselined


def test_small_facility_group_is_rebaselined_together_when_the_group_moves_75_percent():
    e = entity(facility(gf([100, 100, 100, 120, 120]), energy_use_kl="900"),
               facility(gf([100, 100, 100, 97, 97], code="P2"), code="F2", energy_use_kl="800"))
    allocation = allocate(e, 2028, {}, params())  # group +8.5 %
    assert one(allocation, LineKind.GF_ENERGY, "P1").baseline == 120
    assert one(allocation, LineKind.GF_ENERGY, "P2").baseline == 97


# ---- §5-1(2) disasters and inspections after the start ------------------------------------------

def test_disaster_year_after_start_is_allocated_on_actual_activity_and_not_rebaselined():
    e = changed([50, 100, 100], events=(FacilityEvent(EventKind.DESIGNATED_DISASTER, 2026),))
    p = no_special_measure()
    true_up = one(allocate(e, 2027, BM, p), LineKind.EVENT_TRUE_UP)
    assert true_up.amount == D(50) * D("1.44") - D(100) * D("1.44")
    later = allocate(e, 2028, BM, p)  # FY2026 counts as mean(FY2024, FY2025) = 100 in the change test
    assert one(later, LineKind.PRODUCT_BENCHMARK).baseline == 100


def test_disaster_year_after_start_caps_grandfathering_at_actual_emissions():
    e = entity(facility(gf([100, 100, 100, 60]), events=(FacilityEvent(EventKind.DESIGNATED_DISASTER, 2026),)))
    assert one(allocate(e, 2027, {}, params()), LineKind.EVENT_TRUE_UP).amount == D(60) - D("98.3")


# ---- §5-2 adjustments, by-product fuels --------------------------------------------------------

def test_product_mix_factor_scales_the_benchmark_line():
    e = entity(facility(product_bm([100, 100, 100], product_mix_factor=D("1.1"))))
    assert one(allocate(e, 2026, BM, no_special_measure()), LineKind.PRODUCT_BENCHMARK).amount == D("158.4")


def test_direct_emission_share_uses_the_previous_years_direct_and_indirect_emissions():
    bms = {"steel": benchmark("1.50", "1.20", direct_share_adjusted=True)}
    e = entity(facility(product_bm([100, 100, 100], purchased_electricity_mwh=D(100))))
    p = no_special_measure(national_average_ef_t_per_mwh=D("0.5"))
    line = one(allocate(e, 2026, bms, p), LineKind.PRODUCT_BENCHMARK)
    assert line.amount == D(100) * D("1.44") * (D(100) / (D(100) + D(50)))


def test_by_product_fuel_line_and_supplier_deduction():
    bms = {"steel": benchmark(by_product_fuel_ef=D("0.26"), sector_average_fuel_ef=D("0.0561"))}
    receiver = product_bm([100, 100, 100], code="P1", by_product_fuel_gj=D(1000))
    supplier = product_bm([100, 100, 100], code="P2", by_product_fuel_supplied_gj=D(1000))
    allocation = allocate(entity(facility(receiver, supplier)), 2026, bms, params())
    assert one(allocation, LineKind.BY_PRODUCT_FUEL).amount == D(1000) * (D("0.26") - D("0.0561") * D("0.85")) * D("0.99")
    assert one(allocation, LineKind.BY_PRODUCT_SUPPLIER_DEDUCTION).amount == -D(1000) * D("0.26") * D("0.99")


# ---- §5-4 succession ---------------------------------------------------------------------------

def transferred_in(kind, executed_on, emissions="100000", regulated=True):
    return entity(facility(gf([emissions] * 6), acquired=Succession(kind, executed_on, regulated)))


def test_business_transfer_year_stays_with_the_transferor_then_the_successor_inherits_the_baseline():
    e = transferred_in(SuccessionKind.BUSINESS_TRANSFER, date(2026, 10, 1))
    assert allocate(e, 2026, {}, params()).total == 0
    line = one(allocate(e, 2027, {}, params()), LineKind.GF_ENERGY)
    assert line.baseline == 100000 and line.factor == 1 - D("0.017") * 2


@pytest.mark.parametrize(("emissions", "allocated"), [("100000", True), ("99999", False)])
def test_inheritor_below_100000_t_gets_nothing(emissions, allocated):
    e = transferred_in(SuccessionKind.MERGER, date(2026, 10, 1), emissions)
    assert (allocate(e, 2027, {}, params()).total > 0) is allocated


def test_merger_on_the_first_day_of_the_year_allocates_that_year_to_the_survivor():
    assert allocate(transferred_in(SuccessionKind.MERGER, date(2026, 4, 1)), 2026, {}, params()).total > 0


def test_transferor_keeps_the_year_of_the_transfer_then_nothing():
    e = entity(facility(gf([100] * 6), disposed=Succession(SuccessionKind.SPLIT, date(2026, 10, 1), True)))
    assert allocate(e, 2026, {}, params()).total == 98
    assert allocate(e, 2027, {}, params()).total == 0


def test_facility_sale_seller_deducts_and_buyer_receives_the_days_after_the_sale():
    seller = entity(facility(gf([1000] * 4), disposed=Succession(SuccessionKind.FACILITY_SALE, date(2026, 10, 1), True)))
    buyer = entity(facility(gf([1000] * 4), acquired=Succession(SuccessionKind.FACILITY_SALE, date(2026, 10, 1), True)))
    p = params()
    deduction = one(allocate(seller, 2027, {}, p), LineKind.CLOSURE_DEDUCTION).amount
    catch_up = one(allocate(buyer, 2027, {}, p), LineKind.SUCCESSION).amount
    assert deduction == -D(983) * (1 - D(183) / 365)
    assert catch_up == D(983) * D(182) / 365
    assert abs(deduction + catch_up) < D("0.000001")  # nothing created or lost between the two


def test_facility_from_a_non_regulated_entity_is_treated_as_a_new_facility():
    e = entity(facility(gf([500], start=2026), opened_on=date(1990, 4, 1),
                        acquired=Succession(SuccessionKind.BUSINESS_TRANSFER, date(2026, 10, 1), False)))
    assert allocate(e, 2026, {}, params()).total == 0
    assert one(allocate(e, 2027, {}, params()), LineKind.NEW_FACILITY).amount == 500


# ---- §6 additional allocations -----------------------------------------------------------------

def early_entity():
    return entity(facility(gf([180000, 175000, 170000]),
                           early_reduction=EarlyReduction(2013, D(260000), D("0.9"))))


def test_early_reduction_follows_the_report_formula():
    line = one(allocate(early_entity(), 2026, {}, params()), LineKind.EARLY_REDUCTION)
    assert line.baseline == (D(260000) * (1 - D("0.017") * 11) - D(175000)) * D("0.9")
    assert line.amount == line.baseline * (1 - D("0.017")) * D("0.8")


def test_early_reduction_ends_after_fy2030():
    assert lines_of(allocate(early_entity(), 2030, {}, params()), LineKind.EARLY_REDUCTION)
    assert not lines_of(allocate(early_entity(), 2031, {}, params()), LineKind.EARLY_REDUCTION)


def test_special_measure_ends_in_fy2031():
    e = entity(facility(product_bm([100, 100, 100])))
    assert one(allocate(e, 2030, BM, params()), LineKind.PRODUCT_BENCHMARK).amount == D("137.25")
    assert one(allocate(e, 2031, BM, params()), LineKind.PRODUCT_BENCHMARK).amount == D("120")


@pytest.mark.parametrize(("share", "applies"), [("0.1", False), ("0.1001", True)])
def test_leakage_needs_a_trade_share_above_01(share, applies):
    e = entity(facility(gf([1000] * 3)), leakage_trade_share=D(share),
               financials=(Financials(2026, operating_profit_yen=D(-1), shortfall_t=D(100)),))
    p = params(by_year={2026: {"average_allowance_price_yen": D(2500)}})
    assert bool(lines_of(allocate(e, 2027, {}, p), LineKind.LEAKAGE)) is applies


def test_leakage_shortfall_is_computed_from_last_years_emissions_and_allocation():
    e = entity(facility(gf([1000, 1000, 1000, 2000])), leakage_trade_share=D("0.5"),
               financials=(Financials(2026, operating_profit_yen=D(-1)),))
    p = params(by_year={2026: {"average_allowance_price_yen": D(2500)}})
    line = one(allocate(e, 2027, {}, p), LineKind.LEAKAGE)
    assert line.baseline == 2000 - 983


def rd_entity(**financials):
    values = {"sales_yen": D("100000000000"), "gx_rd_spend_yen": D("800000000"),
              "government_rd_support_yen": D("100000000"), "shortfall_t": D("500000"), "rd_evidence_confirmed": True}
    values.update(financials)
    return entity(facility(gf([1000] * 3)), rd_category=RDCategory.MANUFACTURING,
                  financials=(Financials(2026, **values),))


RD_PARAMS = params(by_year={2026: {"average_allowance_price_yen": D(2500)}})


def test_rd_allocation_is_spend_above_the_sector_standard_over_the_price_capped_at_10_percent():
    # (800 m - 100 bn x 0.50 % - 100 m) / 2,500 yen = 80,000 t; cap 10 % of 500,000 t = 50,000 t.
    line = one(allocate(rd_entity(), 2027, {}, RD_PARAMS), LineKind.RD)
    assert line.baseline == 80000 and line.amount == 50000
    uncapped = one(allocate(rd_entity(shortfall_t=D(1000000)), 2027, {}, RD_PARAMS), LineKind.RD)
    assert uncapped.amount == 80000


def test_rd_allocation_needs_third_party_confirmation():
    assert not lines_of(allocate(rd_entity(rd_evidence_confirmed=False), 2027, {}, RD_PARAMS), LineKind.RD)


# ---- rounding ----------------------------------------------------------------------------------

def test_total_is_rounded_down_once_at_the_end():
    # Three processes of 0.5 t each: 1.5 t in all gives 1 allowance, not 0 + 0 + 0.
    e = entity(facility(gf([D("0.5") / D("0.983")] * 3, code="A"), gf([D("0.5") / D("0.983")] * 3, code="B"),
                        gf([D("0.5") / D("0.983")] * 3, code="C")))
    allocation = allocate(e, 2026, {}, params())
    assert allocation.total == 1


def test_the_engine_imports_nothing_from_django():
    import ast
    from pathlib import Path

    import allocation.engine as package

    for path in Path(package.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.split(".")[0] == "django" for name in names), path.name
