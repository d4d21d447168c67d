"""The engine on database data: adapter, sector benchmark levels, official values, parameters, the page."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from accounts.services import system_actor
from allocation import engine, services
from allocation.models import (
    AllocationParameterSet,
    Facility,
    FacilityEvent,
    Process,
    ProcessYear,
    SectorBenchmark,
)
from gxregistry.errors import RegistryError

D = Decimal
pytestmark = pytest.mark.django_db


def add_facility(organisation, code, *, key="steel.bf", intensity="2.0", activity=1000, gf=True):
    facility = Facility.objects.create(organisation=organisation, code=code, name=code, prefecture=13,
                                       energy_use_kl=5000, opened_on=date(1990, 4, 1))
    bm = Process.objects.create(facility=facility, code="BM", name="furnace", method="benchmark",
                                benchmark_kind="product", sector_benchmark=key, emission_type="energy")
    for fy in (2023, 2024, 2025):
        ProcessYear.objects.create(process=bm, fiscal_year=fy, activity=activity, emissions_t=D(activity) * D(intensity))
    if gf:
        boiler = Process.objects.create(facility=facility, code="GF", name="boiler", method="grandfathering",
                                        emission_type="energy")
        for fy, emissions in ((2023, 100), (2024, 55), (2025, 115)):
            ProcessYear.objects.create(process=boiler, fiscal_year=fy, emissions_t=emissions)
        FacilityEvent.objects.create(facility=facility, kind="designated_disaster", fiscal_year=2024,
                                     started_on=date(2024, 9, 1))
    return facility


@pytest.fixture
def benchmark(db):
    return SectorBenchmark.objects.create(key="steel.bf", name="Blast furnace", kind="product")


def test_levels_are_read_off_the_sector_data_and_recorded_with_provenance(benchmark, make_organisation):
    for intensity, activity in (("1.8", 3000), ("2.0", 2000), ("2.4", 5000)):
        add_facility(make_organisation(), "F1", intensity=intensity, activity=activity, gf=False)
    services.sector_benchmark_levels_compute(acting_user=system_actor(), benchmark=benchmark)
    benchmark.refresh_from_db()
    # Cumulative activity shares: 0.3 at 1.8, 0.5 at 2.0, 1.0 at 2.4.
    assert benchmark.top_32_5 == D("2.0") and benchmark.top_50 == D("2.0")
    assert "3 entities" in benchmark.provenance and benchmark.computed_at is not None


def test_official_value_overrides_the_path_and_is_audited(benchmark, make_user):
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    benchmark.top_50, benchmark.top_32_5 = D("2.0"), D("1.8")
    benchmark.save()
    with pytest.raises(RegistryError) as refused:
        services.sector_benchmark_official_value_set(benchmark=benchmark, fiscal_year=2027, value=D("1.9"),
                                                     reason=" ", acting_user=administrator)
    assert refused.value.field == "reason"
    official = services.sector_benchmark_official_value_set(
        benchmark=benchmark, fiscal_year=2027, value=D("1.95"), reason="Ministerial notice 12", acting_user=administrator)
    history = official.history.get()
    assert history.pgh_context.metadata["user"] == administrator.pk
    from allocation import adapter

    value = engine.benchmark_value(adapter.sector_benchmarks()["steel.bf"], 2027, adapter.parameters())
    assert value.value == D("1.95") and "official" in value.derivation


def test_parameter_sets_are_validated_naming_the_field():
    with pytest.raises(ValidationError, match="gf_proces_rate"):
        AllocationParameterSet(values={"gf_proces_rate": "0.01"}).full_clean()
    with pytest.raises(ValidationError, match="gf_process_rate"):
        AllocationParameterSet(values={"gf_process_rate": "fast"}).full_clean()
    AllocationParameterSet(fiscal_year=2027, values={"gf_process_rate": "0.01"}).full_clean()


def test_database_allocation_matches_the_engine_on_the_same_data(benchmark, make_organisation):
    benchmark.top_50, benchmark.top_32_5 = D("2.0"), D("1.8")
    benchmark.save()
    organisation = make_organisation()
    add_facility(organisation, "F1")
    allocation = services.allocation_compute(organisations=[organisation], fiscal_year=2026)[organisation.pk]
    bm = engine.SectorBenchmark("steel.bf", engine.Method.PRODUCT_BENCHMARK, D("2.0"), D("1.8"))
    years = tuple(engine.YearData(fy, D(2000), activity=D(1000)) for fy in (2023, 2024, 2025))
    boiler = tuple(engine.YearData(fy, D(e)) for fy, e in ((2023, 100), (2024, 55), (2025, 115)))
    expected = engine.allocate(engine.Entity(organisation.corporate_number, "x", 2026, (engine.Facility(
        "F1", "F1", D(5000), (engine.Process("BM", "", engine.Method.PRODUCT_BENCHMARK, engine.EmissionType.ENERGY,
                                             years, sector_benchmark="steel.bf"),
                              engine.Process("GF", "", engine.Method.GRANDFATHERING, engine.EmissionType.ENERGY, boiler)),
        opened_on=date(1990, 4, 1), events=(engine.FacilityEvent(engine.EventKind.DESIGNATED_DISASTER, 2024),)),)),
        2026, {"steel.bf": bm}, engine.Parameters())
    assert allocation.total == expected.total
    assert allocation.total_before_rounding == expected.total_before_rounding
    gf_line = [line for line in allocation.lines if line.process == "GF"][0]
    assert gf_line.baseline == 105  # the report's disaster example, from the database


def test_query_count_does_not_grow_with_entities_or_facilities(benchmark, make_organisation):
    benchmark.top_50, benchmark.top_32_5 = D("2.0"), D("1.8")
    benchmark.save()

    def queries(entities, facilities):
        organisations = [make_organisation() for _ in range(entities)]
        for organisation in organisations:
            for n in range(facilities):
                add_facility(organisation, f"F{n}")
        with CaptureQueriesContext(connection) as captured:
            results = services.allocation_compute(organisations=organisations, fiscal_year=2027)
        assert all(not isinstance(r, Exception) for r in results.values())
        return len(captured.captured_queries)

    assert queries(1, 1) == queries(5, 4)


def test_entity_page_explains_each_line(benchmark, make_user, signed_in, client):
    benchmark.top_50, benchmark.top_32_5 = D("2.0"), D("1.8")
    benchmark.save()
    viewer = make_user(Role.VIEWER)
    organisation = viewer.memberships.get().organisation
    add_facility(organisation, "F1")
    signed_in(viewer)
    page = client.get(reverse("entity_allocation", args=[organisation.pk, 2026])).text
    expected = services.allocation_compute(organisations=[organisation], fiscal_year=2026)[organisation.pk].total
    assert f"{expected:,} allowances" in page
    assert "deemed equal to FY2023" in page
    assert "§5-2" in page and "§5-3" in page
    assert '<svg class="chart"' in page


def test_entity_page_says_what_is_missing(make_user, signed_in, client):
    viewer = make_user(Role.VIEWER)
    organisation = viewer.memberships.get().organisation
    add_facility(organisation, "F1", key="cement.none")
    signed_in(viewer)
    page = client.get(reverse("entity_allocation", args=[organisation.pk, 2026])).text
    assert "cannot be calculated" in page and "cement.none" in page


def test_entity_page_only_for_the_scheme_years(make_user, signed_in, client):
    viewer = make_user(Role.VIEWER)
    signed_in(viewer)
    organisation = viewer.memberships.get().organisation
    assert client.get(reverse("entity_allocation", args=[organisation.pk, 2019])).status_code == 404


def test_business_transfer_in_the_database_follows_section_5_4(make_organisation):
    from allocation.models import FacilitySuccession

    seller, buyer = make_organisation(), make_organisation()
    facility = add_facility(seller, "F1", gf=False, key="cement.none")
    Process.objects.filter(facility=facility).update(method="grandfathering", benchmark_kind="", sector_benchmark="")
    ProcessYear.objects.filter(process__facility=facility).update(emissions_t=150000)
    facility.organisation = buyer
    facility.save()
    FacilitySuccession.objects.create(facility=facility, kind="business_transfer", executed_on=date(2026, 10, 1),
                                      transferor=seller, successor=buyer)
    for fy, seller_total, buyer_total in ((2026, 147450, 0), (2027, 0, 144900)):
        results = services.allocation_compute(organisations=[seller, buyer], fiscal_year=fy)
        assert (results[seller.pk].total, results[buyer.pk].total) == (seller_total, buyer_total), fy


def test_leakage_reads_financials_and_the_sector_profile(make_organisation):
    from allocation.models import EntityFinancials, SectorAllocationProfile

    AllocationParameterSet.objects.create(fiscal_year=2026, values={"average_allowance_price_yen": "2500"})
    SectorAllocationProfile.objects.create(sector="steel", leakage_trade_share=D("0.3"), rd_category="manufacturing")
    organisation = make_organisation(sector="steel")
    add_facility(organisation, "F1", gf=False, key="cement.none")
    Process.objects.update(method="grandfathering", benchmark_kind="", sector_benchmark="")
    EntityFinancials.objects.create(organisation=organisation, fiscal_year=2026, operating_profit_yen=-1,
                                    shortfall_t=1000)
    allocation = services.allocation_compute(organisations=[organisation], fiscal_year=2027)[organisation.pk]
    leakage = [line for line in allocation.lines if line.kind == engine.LineKind.LEAKAGE]
    assert leakage and leakage[0].amount == 500


def test_the_last_day_of_operation_a_user_types_counts_as_a_day_of_operation(make_organisation):
    """A facility that last operated on 31 December 2026 operated 275 days of FY2026 (1 April - 31 December):
    FY2027's closure deduction takes back the other 90."""
    from allocation.engine import LineKind
    from allocation.tests.test_services_cycle import add_grandfathered_facility

    organisation = make_organisation()
    facility = add_grandfathered_facility(organisation, 100)
    facility.last_operating_day = date(2026, 12, 31)
    facility.save()
    fy2026 = services.allocation_compute(organisations=[organisation], fiscal_year=2026)[organisation.pk]
    fy2027 = services.allocation_compute(organisations=[organisation], fiscal_year=2027)[organisation.pk]
    full = next(line.amount for line in fy2026.lines if line.kind == LineKind.GF_ENERGY)
    deduction = next(line for line in fy2027.lines if line.kind == LineKind.CLOSURE_DEDUCTION and line.process == "GF")
    assert deduction.amount == -full * (1 - D(275) / 365)


def test_the_dashboards_emissions_read_an_entitys_verified_figure_where_recorded_else_its_application_data(
        make_organisation, make_user, client, signed_in):
    from accounts.models import EmissionsSource, VerifiedEmissions
    from allocation.selectors import emissions_by_fiscal_year

    verified_entity, other = make_organisation(), make_organisation()
    add_facility(verified_entity, "F1")  # 2,100 / 2,055 / 2,115 t in FY2023-2025
    add_facility(other, "F1", gf=False)  # 2,000 t each year
    admin = make_user(Role.REGISTRY_ADMINISTRATOR)
    for fy, tonnes in ((2025, 2_200), (2026, 1_900)):
        VerifiedEmissions.objects.create(organisation=verified_entity, fiscal_year=fy, emissions_t=tonnes,
                                         entered_by=admin)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=verified_entity)

    assert emissions_by_fiscal_year(fetched_by=representative, organisations=[verified_entity]) == [
        (2023, D(2100), EmissionsSource.APPLICATION), (2024, D(2055), EmissionsSource.APPLICATION),
        (2025, D(2200), EmissionsSource.VERIFIED), (2026, D(1900), EmissionsSource.VERIFIED)]
    # Across entities (METI's dashboard): the verified figure replaces the entity's process data, never adds to it.
    assert emissions_by_fiscal_year(fetched_by=admin)[2:] == [
        (2025, D(4200), EmissionsSource.MIXED), (2026, D(1900), EmissionsSource.VERIFIED)]
    # The representative sees nothing of the other entity's.
    assert emissions_by_fiscal_year(fetched_by=representative)[0] == (2023, D(2100), EmissionsSource.APPLICATION)

    signed_in(representative)
    page = client.get(reverse("dashboard")).text
    assert "FY2026</td><td class=\"num\">1,900</td><td>Verified emissions" in page
    assert "FY2024</td><td class=\"num\">2,055</td><td>Allocation application data" in page
    assert 'class="bar verified"' in page and 'class="bar application"' in page  # and the legend tells them apart

    # METI reads how complete the current FY's figure is.
    from accounts.models import CompliancePeriod

    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=4300, lower_limit_price_yen=1700)
    client.logout()
    signed_in(admin)
    coverage = client.get(reverse("dashboard")).text.split('id="verified-coverage">')[1].split("</p>")[0]
    assert coverage == ("FY2026: verified emissions are recorded for 1 of 2 regulated entities; the others are not "
                        "in its figure yet.")
