"""Reads of facility data, always through the user's restriction."""

from django.db.models import Count, Prefetch, Sum

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
    """[(fiscal_year, total t-CO2)] over what the user may see, oldest first."""
    qs = ProcessYear.objects.restrict(fetched_by)
    if organisations is not None:
        qs = qs.filter(process__facility__organisation__in=organisations)
    if facility is not None:
        qs = qs.filter(process__facility=facility)
    rows = qs.values("fiscal_year").annotate(total=Sum("emissions_t")).order_by("fiscal_year")
    return [(row["fiscal_year"], row["total"]) for row in rows]
