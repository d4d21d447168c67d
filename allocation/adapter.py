"""The one bridge between the database and the allocation engine.

Reads are done in a fixed number of queries whatever the number of entities and facilities:
one per table, as plain rows (``values_list``), grouped in Python. The engine never sees a model.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Q

from allocation import engine
from allocation.engine.scenario import parameter_changes
from allocation.models import (
    AllocationParameterSet,
    EntityFinancials,
    Facility,
    FacilityEvent,
    FacilitySuccession,
    Process,
    ProcessYear,
    SectorAllocationProfile,
    SectorBenchmark,
)

DEFAULT_FIRST_FISCAL_YEAR = 2026

_METHODS = {
    ("benchmark", "product"): engine.Method.PRODUCT_BENCHMARK,
    ("benchmark", "fuel"): engine.Method.FUEL_BENCHMARK,
    ("grandfathering", ""): engine.Method.GRANDFATHERING,
}
_YEAR_FIELDS = ("fiscal_year", "emissions_t", "activity", "fuel_input_gj", "days_operated", "by_product_fuel_gj",
                "by_product_fuel_supplied_gj", "purchased_electricity_mwh", "energy_intensity_change",
                "inspection_excluded_activity", "inspection_excluded_emissions_t", "inspection_excluded_fuel_gj")


def entity_inputs(organisations) -> list[engine.Entity]:
    """Engine inputs for the given regulated entities (a queryset or list of Organisation)."""
    organisations = list(organisations)
    ids = [o.pk for o in organisations]

    # §5-4: a facility an entity gave up still counts for it in the year it changed hands, so
    # facilities are loaded for their current holder and for their earlier holders.
    acquired, disposed = {}, defaultdict(dict)
    for facility_id, kind, executed_on, transferor_id, successor_id in FacilitySuccession.objects.filter(
        Q(transferor_id__in=ids) | Q(successor_id__in=ids) | Q(facility__organisation_id__in=ids)
    ).order_by("executed_on").values_list("facility_id", "kind", "executed_on", "transferor_id", "successor_id"):
        kind = engine.SuccessionKind(kind)
        if successor_id is not None:
            acquired[(facility_id, successor_id)] = engine.Succession(kind, executed_on, transferor_id is not None)
        if transferor_id is not None:
            disposed[transferor_id][facility_id] = engine.Succession(kind, executed_on, successor_id is not None)

    facilities = defaultdict(list)
    former = {facility_id for by_facility in disposed.values() for facility_id in by_facility}
    for row in Facility.objects.filter(Q(organisation_id__in=ids) | Q(id__in=former)).order_by(
        "organisation_id", "code"
    ).values_list(
        "id", "organisation_id", "code", "name", "energy_use_kl", "opened_on", "last_operating_day",
        "early_reduction_start_year", "early_reduction_start_emissions_t", "early_reduction_activity_coefficient",
    ):
        facilities[row[1]].append(row)
        for holder, by_facility in disposed.items():
            if row[0] in by_facility and holder != row[1]:
                facilities[holder].append(row)
    facility_ids = list({row[0] for rows in facilities.values() for row in rows})

    events = defaultdict(list)
    for facility_id, kind, fiscal_year, completed_on in FacilityEvent.objects.filter(
        facility_id__in=facility_ids
    ).values_list("facility_id", "kind", "fiscal_year", "completed_on"):
        events[facility_id].append(engine.FacilityEvent(engine.EventKind(kind), fiscal_year, completed_on))

    processes = defaultdict(list)
    for row in Process.objects.filter(facility_id__in=facility_ids).order_by("facility_id", "code").values_list(
        "id", "facility_id", "code", "name", "method", "benchmark_kind", "sector_benchmark", "emission_type",
        "product_mix_factor", "activity_unit",
    ):
        processes[row[1]].append(row)

    years = defaultdict(list)
    for row in ProcessYear.objects.filter(process__facility_id__in=facility_ids).order_by(
        "process_id", "fiscal_year"
    ).values_list("process_id", *_YEAR_FIELDS):
        years[row[0]].append(engine.YearData(**dict(zip(_YEAR_FIELDS, row[1:], strict=True))))

    profiles = {p.sector: p for p in SectorAllocationProfile.objects.all()}
    financials = defaultdict(list)
    for row in EntityFinancials.objects.filter(organisation_id__in=ids).values_list(
        "organisation_id", "fiscal_year", "operating_profit_yen", "sales_yen", "gx_rd_spend_yen",
        "government_rd_support_yen", "rd_evidence_confirmed", "shortfall_t",
    ):
        financials[row[0]].append(engine.Financials(*row[1:]))

    issued = issued_main_lines(ids)
    result = []
    for organisation in organisations:
        built = []
        for (fid, _org, code, name, energy, opened, last_day, er_year, er_emissions, er_coefficient) in facilities[
            organisation.pk
        ]:
            built_processes = tuple(
                engine.Process(
                    pcode, pname, _METHODS[(method, bkind)], engine.EmissionType(etype), tuple(years[pid]),
                    sector_benchmark=key or None, product_mix_factor=mix, activity_unit=unit,
                )
                for (pid, _f, pcode, pname, method, bkind, key, etype, mix, unit) in processes[fid]
            )
            early = None
            if er_year and er_emissions is not None:
                early = engine.EarlyReduction(er_year, er_emissions, er_coefficient)
            built.append(engine.Facility(
                code, name, energy, built_processes, opened_on=opened,
                # The registry asks for the last day of operation; the engine counts from the first day without.
                closed_on=last_day + timedelta(days=1) if last_day else None, events=tuple(events[fid]),
                early_reduction=early, acquired=acquired.get((fid, organisation.pk)),
                disposed=disposed[organisation.pk].get(fid),
            ))
        profile = profiles.get(organisation.sector)
        result.append(engine.Entity(
            organisation.corporate_number, organisation.name,
            organisation.first_fiscal_year or DEFAULT_FIRST_FISCAL_YEAR, tuple(built),
            leakage_trade_share=profile.leakage_trade_share if profile else None,
            rd_category=engine.RDCategory(profile.rd_category) if profile else engine.RDCategory.OTHER,
            financials=tuple(financials[organisation.pk]),
            issued_main=issued.get(organisation.pk, {}),
        ))
    return result


def sector_benchmarks() -> dict[str, engine.SectorBenchmark]:
    """Every sector benchmark with levels, with its official values (two queries)."""
    rows = list(SectorBenchmark.objects.filter(top_50__isnull=False).prefetch_related("official_values"))
    kinds = {"product": engine.Method.PRODUCT_BENCHMARK, "fuel": engine.Method.FUEL_BENCHMARK}
    return {
        b.key: engine.SectorBenchmark(
            b.key, kinds[b.kind], b.top_50, b.top_32_5,
            official={o.fiscal_year: o.value for o in b.official_values.all()},
            direct_share_adjusted=b.direct_share_adjusted, sector_average_fuel_ef=b.sector_average_fuel_ef,
            by_product_fuel_ef=b.by_product_fuel_ef,
        )
        for b in rows
    }


def parameters() -> engine.Parameters:
    default = engine.YearParameters()
    by_year = {}
    for parameter_set in AllocationParameterSet.objects.all():
        changes = parameter_changes(parameter_set.values, "values")
        if parameter_set.fiscal_year is None:
            default = engine.YearParameters(**{**default.__dict__, **changes})
        else:
            by_year[parameter_set.fiscal_year] = changes
    # The FY's average market price, once the market has traded in it, is the price §6-2 and §6-3 read (the
    # administrators' figure stands for FYs before the market opened; docs/allocation-rules.md). The market app,
    # which comes after this one, registers where that price comes from.
    for traded_fiscal_years, average_price in MARKET_PRICES:
        for fiscal_year in traded_fiscal_years():
            price = average_price(fiscal_year)
            if price is not None:
                by_year[fiscal_year] = {**by_year.get(fiscal_year, {}), "average_allowance_price_yen": price}
    return engine.Parameters(default, by_year)


# (the FYs the market traded in, the FY's average price): market.apps registers market.selectors' pair.
MARKET_PRICES: list = []


def intensity_points(key: str, years: tuple[int, ...]) -> list[engine.IntensityPoint]:
    """Each entity's intensity for a sector benchmark over ``years``: sum of emissions / sum of activity."""
    benchmark = SectorBenchmark.objects.get(key=key)
    activity_field = "fuel_input_gj" if benchmark.kind == "fuel" else "activity"
    totals = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for corporate_number, emissions, activity in ProcessYear.objects.filter(
        process__sector_benchmark=key, fiscal_year__in=years,
    ).values_list("process__facility__organisation__corporate_number", "emissions_t", activity_field):
        totals[corporate_number][0] += emissions
        totals[corporate_number][1] += activity or 0
    return [engine.IntensityPoint(number, emissions / activity, activity)
            for number, (emissions, activity) in sorted(totals.items()) if activity > 0]


MAIN_LINE_KINDS = {str(kind) for kind in (engine.LineKind.PRODUCT_BENCHMARK, engine.LineKind.FUEL_BENCHMARK,
                                          engine.LineKind.GF_ENERGY, engine.LineKind.GF_PROCESS)}


def issued_main_lines(organisation_ids) -> dict[int, dict[tuple[str, str, int], Decimal]]:
    """{organisation id: {(facility code, process code, FY): t}}: the main lines of the allocations in force
    (issued, not superseded), which true-ups of later years correct (one query)."""
    from allocation.models import AllocationApplication

    found: dict[int, dict] = defaultdict(dict)
    for organisation_id, fiscal_year, lines in AllocationApplication.objects.filter(
            organisation_id__in=organisation_ids, status=AllocationApplication.Status.ISSUED).values_list(
            "organisation_id", "fiscal_year", "computed_lines"):
        for line in lines:
            if line["kind"] in MAIN_LINE_KINDS and line["facility"] and line["process"]:
                found[organisation_id][(line["facility"], line["process"], fiscal_year)] = Decimal(line["amount"])
    return found
