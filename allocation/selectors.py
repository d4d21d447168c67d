"""Reads of facility data, always through the user's restriction."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Prefetch, Sum

from accounts.models import EmissionsSource, VerifiedEmissions
from allocation.models import Facility, Process, ProcessYear


def facility_list(*, fetched_by, organisation=None):
    qs = Facility.objects.restrict(fetched_by).select_related("organisation")
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return qs.annotate(process_count=Count("processes")).order_by("organisation__name", "code")


def facility_detail_processes(*, facility):
    years = ProcessYear.objects.order_by("fiscal_year")
    return (
        Process.objects.filter(facility=facility)
        .prefetch_related(Prefetch("years", queryset=years))
        .order_by("code")
    )


def emissions_by_fiscal_year(*, fetched_by, organisations=None, facility=None):
    """[(fiscal_year, total t-CO2, EmissionsSource)] over what the user may see, oldest first.

    An entity's FY is its verified emissions where they are recorded, else the total of its processes' data; a
    facility's, its processes' data (verified emissions are the entity's, not a facility's)."""
    processes = ProcessYear.objects.restrict(fetched_by)
    if facility is not None:
        rows = (processes.filter(process__facility=facility).values("fiscal_year")
                .annotate(total=Sum("emissions_t")).order_by("fiscal_year"))
        return [(row["fiscal_year"], row["total"], EmissionsSource.APPLICATION) for row in rows]
    verified = VerifiedEmissions.objects.restrict(fetched_by)
    if organisations is not None:
        processes = processes.filter(process__facility__organisation__in=organisations)
        verified = verified.filter(organisation__in=organisations)
    figures = {(organisation, fy): Decimal(t) for organisation, fy, t in
               verified.values_list("organisation", "fiscal_year", "emissions_t")}
    by_entity = processes.values_list("process__facility__organisation", "fiscal_year").annotate(
        total=Sum("emissions_t"))
    years: dict[int, list] = defaultdict(lambda: [Decimal(0), set()])
    for (organisation, fy), total in [*figures.items(),
                                      *(((o, fy), t) for o, fy, t in by_entity if (o, fy) not in figures)]:
        years[fy][0] += total or 0
        years[fy][1].add(EmissionsSource.VERIFIED if (organisation, fy) in figures else EmissionsSource.APPLICATION)
    return [(fy, total, sources.pop() if len(sources) == 1 else EmissionsSource.MIXED)
            for fy, (total, sources) in sorted(years.items())]


# --- the FY's allocation cycle -----------------------------------------------------------------------------

def run_progress(*, fiscal_year: int) -> dict:
    """The latest run of the FY as the page's progress bar reads it (also as JSON, polled while it runs)."""
    from allocation.models import AllocationNotice, AllocationRun

    run = AllocationRun.objects.filter(fiscal_year=fiscal_year).order_by("-started_at").first()
    if run is None:
        return {"run": None}
    notices = AllocationNotice.objects.filter(application__fiscal_year=fiscal_year,
                                              application__issued_at__gte=run.started_at).count()
    return {"run": run.pk, "status": run.status, "status_label": str(run.get_status_display()), "done": run.done,
            "total": run.total, "quantity": run.quantity, "failures": run.failures, "notices": notices,
            "running": run.status == AllocationRun.Status.RUNNING,
            "started_at": run.started_at.isoformat(), "finished_at": run.finished_at.isoformat()
            if run.finished_at else None}


def fiscal_year_overview(*, fiscal_year: int, page=1, per_page: int = 100) -> dict:
    """The FY's applications (one page of them) and their counts by state, the issued allocation by sector,
    and the runs so far; counts and sums in the database, so the page costs the same for 40 or 400 entities."""
    from django.core.paginator import Paginator
    from django.db.models import Sum

    from accounts.models import Sector
    from allocation.models import AllocationApplication, AllocationRun

    of_fy = AllocationApplication.objects.filter(fiscal_year=fiscal_year)
    counts = dict(of_fy.values_list("status").annotate(n=Count("pk")))
    sectors = dict(Sector.choices)
    by_sector = (of_fy.filter(status=AllocationApplication.Status.ISSUED).values_list("organisation__sector")
                 .annotate(n=Count("pk"), total=Sum("computed_total")).order_by("-total"))
    # The engine lines (tens of kilobytes an entity) stay in the database: the list shows totals.
    listed = of_fy.defer("computed_lines").select_related("organisation", "reviewer").order_by(
        "organisation__name", "-version")
    page_obj = Paginator(listed, per_page).get_page(page)
    return {"applications": page_obj.object_list, "page_obj": page_obj, "is_paginated": page_obj.has_other_pages(),
            "status_counts": [(status.label, counts.get(status, 0)) for status in AllocationApplication.Status],
            "by_sector": [(sectors.get(k, k), n, t) for k, n, t in by_sector],
            "runs": AllocationRun.objects.filter(fiscal_year=fiscal_year).select_related("started_by")[:10]}


def application_facilities(*, organisation, fiscal_year: int) -> list:
    """The facilities an application covers (for a notifying entity, its group's too), each with its processes,
    their baseline years (J-3..J-1 of the entity's first FY) marked verified or not, and events."""
    from allocation.services.cycle import group_boundary

    first = organisation.first_fiscal_year or 2026
    baseline_years = (first - 3, first - 2, first - 1)
    years = ProcessYear.objects.filter(fiscal_year__in=baseline_years).order_by("fiscal_year")
    facilities = (Facility.objects.filter(organisation__in=group_boundary(organisation))
                  .select_related("organisation").prefetch_related(
                      Prefetch("processes", queryset=Process.objects.order_by("code").prefetch_related(
                          Prefetch("years", queryset=years))), "events")
                  .order_by("organisation__name", "code"))
    return [{"facility": facility, "processes": [
        {"process": process, "years": {y.fiscal_year: y for y in process.years.all()}}
        for process in facility.processes.all()], "baseline_years": baseline_years,
        "events": list(facility.events.all())} for facility in facilities]


def stored_lines(application) -> list[tuple[str, dict]]:
    """The lines an application fixed when computed, with each kind's label."""
    from allocation.labels import line_label

    return [(line_label(line["kind"]), line) for line in application.computed_lines]


def application_list(*, fetched_by, organisations=None):
    """The allocation applications the user may see (the latest version of each entity's FY first), with notices."""
    from allocation.models import AllocationApplication

    qs = AllocationApplication.objects.restrict(fetched_by).exclude(status=AllocationApplication.Status.SUPERSEDED)
    if organisations is not None:
        qs = qs.filter(organisation__in=organisations)
    return (qs.defer("computed_lines", "notice__pdf", "notice__content").select_related("organisation", "notice")
            .order_by("-fiscal_year", "organisation__name", "-version"))


def waiting_for_administrators() -> dict:
    """What the cycle waits for METI to do: applications to review, and computed ones to approve."""
    from allocation.models import AllocationApplication

    counts = dict(AllocationApplication.objects.filter(status__in=["submitted", "computed"]).values_list(
        "status").annotate(n=Count("pk")))
    return {"to_review": counts.get("submitted", 0), "to_approve": counts.get("computed", 0)}
