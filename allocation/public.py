"""What the public reads of transition plans (§7): the one place public pages, their CSV and the public API
get plan data from.

Nothing here hands out a model instance: each function names the public columns it reads and returns plain
data, so item 3 (capital investment) and the projections before FY2030 cannot reach a template, a file or a
serializer by accident. tests/test_public_leaks.py walks every public surface with marker strings in the
non-public fields to keep it so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from accounts.validators import normalise_corporate_number, normalise_kana
from allocation.models import PUBLIC_PROJECTION_YEAR, PlanDocument, PlanEmissions, PlanResearch, TransitionPlan

ACCEPTED = TransitionPlan.Status.ACCEPTED
ENTITY_COLUMNS = ("organisation_id", "organisation__name", "organisation__name_en", "organisation__name_kana",
                  "organisation__corporate_number", "organisation__sector")


def _latest_accepted():
    """The pk of each entity's latest accepted version per FY."""
    return (TransitionPlan.objects.filter(status=ACCEPTED).order_by("organisation_id", "fiscal_year", "-version")
            .distinct("organisation_id", "fiscal_year").values("pk"))


def _total(kind, fiscal_year=None):
    """A plan's total of ``kind`` for the FY, or for the latest FY it has."""
    rows = PlanEmissions.objects.filter(plan=OuterRef("pk"), kind=kind)
    if fiscal_year is not None:
        rows = rows.filter(fiscal_year=fiscal_year)
    return Subquery(rows.order_by("-fiscal_year").values("total_t")[:1])


def search_condition(query: str) -> Q:
    """Company name in kanji or English, its reading in kana (hiragana, katakana or half-width), or its corporate
    number (with or without separators)."""
    query = (query or "").strip()
    if not query:
        return Q()
    number = normalise_corporate_number(query)
    condition = Q(organisation__name__icontains=query) | Q(organisation__name_en__icontains=query)
    kana = normalise_kana(query).replace(" ", "").replace("　", "")
    if kana:
        condition |= Q(organisation__name_kana__icontains=kana)
    if number.isdigit():
        condition |= Q(organisation__corporate_number__startswith=number)
    return condition


def plan_list(*, query: str = "", sector: str = "", fiscal_year: int | None = None):
    """Rows (dicts) of the latest accepted plan per entity and FY, public columns only: the entity, the FY, the
    acceptance date, the FY2030 projected total and the latest actual total."""
    plans = TransitionPlan.objects.filter(pk__in=_latest_accepted()).filter(search_condition(query))
    if sector:
        plans = plans.filter(organisation__sector=sector)
    if fiscal_year:
        plans = plans.filter(fiscal_year=fiscal_year)
    return (plans.annotate(target_total_t=_total(PlanEmissions.Kind.PROJECTED, PUBLIC_PROJECTION_YEAR),
                           actual_total_t=_total(PlanEmissions.Kind.ACTUAL))
            .order_by("organisation__name_kana", "organisation__name", "-fiscal_year")
            .values(*ENTITY_COLUMNS, "fiscal_year", "decided_at", "target_total_t", "actual_total_t"))


@dataclass(frozen=True)
class EmissionsYear:
    fiscal_year: int
    direct_t: int
    indirect_t: int | None
    total_t: int | None


@dataclass(frozen=True)
class PublicPlan:
    organisation_id: int
    name: str
    name_en: str
    name_kana: str
    corporate_number: str
    sector: str
    fiscal_year: int
    version: int
    accepted_at: object
    group_boundary: str
    target: EmissionsYear | None  # item 1: the FY2030 projection only
    actuals: list[EmissionsYear] = field(default_factory=list)  # item 2
    research: list[dict] = field(default_factory=list)  # item 4①②
    rd_expenses_yen: int | None = None  # item 4③
    rd_initiatives: str = ""
    other_initiatives: str = ""
    documents: list[dict] = field(default_factory=list)  # item 5: {title, url}
    fiscal_years: list[int] = field(default_factory=list)  # the entity's other public plans


@dataclass(frozen=True)
class PlanRow:
    """A line of the public list."""

    organisation_id: int
    name: str
    name_en: str
    name_kana: str
    corporate_number: str
    sector: str
    fiscal_year: int
    accepted_at: object
    target_total_t: int | None
    actual_total_t: int | None

    @classmethod
    def of(cls, row: dict) -> PlanRow:
        return cls(row["organisation_id"], row["organisation__name"], row["organisation__name_en"],
                   row["organisation__name_kana"], row["organisation__corporate_number"], row["organisation__sector"],
                   row["fiscal_year"], row["decided_at"], row["target_total_t"], row["actual_total_t"])


def plan(*, organisation_id: int, fiscal_year: int) -> PublicPlan | None:
    """The latest accepted version of the entity's plan for the FY, public items only; None when there is none."""
    row = (TransitionPlan.objects.filter(organisation_id=organisation_id, fiscal_year=fiscal_year, status=ACCEPTED)
           .order_by("-version").values(*ENTITY_COLUMNS, "pk", "fiscal_year", "version", "decided_at",
                                        "group_boundary", "rd_expenses_yen", "rd_initiatives",
                                        "other_initiatives").first())
    if row is None:
        return None
    emissions = PlanEmissions.objects.filter(plan_id=row["pk"]).filter(
        Q(kind=PlanEmissions.Kind.ACTUAL) | Q(kind=PlanEmissions.Kind.PROJECTED, fiscal_year=PUBLIC_PROJECTION_YEAR))
    years = {(kind, fy): EmissionsYear(fy, direct, indirect, total) for kind, fy, direct, indirect, total in
             emissions.values_list("kind", "fiscal_year", "direct_t", "indirect_t", "total_t")}
    research = [{"kind": PlanResearch.Kind(kind).label, "reference": reference, "technology_category": category}
                for kind, reference, category in PlanResearch.objects.filter(plan_id=row["pk"])
                .values_list("kind", "reference", "technology_category")]
    documents = [{"title": title, "url": url or reverse("plan_document", args=[pk])}
                 for pk, title, url in PlanDocument.objects.filter(plan_id=row["pk"]).values_list("pk", "title", "url")]
    return PublicPlan(
        organisation_id=row["organisation_id"], name=row["organisation__name"], name_en=row["organisation__name_en"],
        name_kana=row["organisation__name_kana"], corporate_number=row["organisation__corporate_number"],
        sector=row["organisation__sector"], fiscal_year=row["fiscal_year"], version=row["version"],
        accepted_at=row["decided_at"], group_boundary=row["group_boundary"],
        target=years.get((PlanEmissions.Kind.PROJECTED, PUBLIC_PROJECTION_YEAR)),
        actuals=sorted((y for (kind, _fy), y in years.items() if kind == PlanEmissions.Kind.ACTUAL),
                       key=lambda y: y.fiscal_year),
        research=research, rd_expenses_yen=row["rd_expenses_yen"], rd_initiatives=row["rd_initiatives"],
        other_initiatives=row["other_initiatives"], documents=documents,
        fiscal_years=plan_fiscal_years(organisation_id))


def plan_fiscal_years(organisation_id: int) -> list[int]:
    return sorted(set(TransitionPlan.objects.filter(organisation_id=organisation_id, status=ACCEPTED)
                      .values_list("fiscal_year", flat=True)), reverse=True)


def plan_years() -> list[int]:
    """The FYs with at least one accepted plan, latest first (the list's filter)."""
    return sorted(set(TransitionPlan.objects.filter(status=ACCEPTED).values_list("fiscal_year", flat=True)),
                  reverse=True)


def document_is_public(document: PlanDocument) -> bool:
    """A document is public once a version of the plan that lists it was accepted."""
    return document.plan.status == ACCEPTED


def entity(organisation_id: int) -> dict | None:
    """A regulated entity's public identity: names, corporate number, sector."""
    return (Organisation.objects.filter(pk=organisation_id, kind=Organisation.Kind.REGULATED_ENTITY)
            .values("pk", "name", "name_en", "name_kana", "corporate_number", "sector").first())


PLAN_LIST_HEADERS = ("corporate_number", "entity", "entity_en", "reading", "sector", "fiscal_year", "accepted_on",
                     f"projected_total_fy{PUBLIC_PROJECTION_YEAR}_t", "latest_actual_total_t")


def plan_list_csv_rows(rows):
    for row in rows:
        yield (row["organisation__corporate_number"], row["organisation__name"], row["organisation__name_en"],
               row["organisation__name_kana"], row["organisation__sector"], row["fiscal_year"],
               timezone.localdate(row["decided_at"]).isoformat() if row["decided_at"] else "",
               "" if row["target_total_t"] is None else row["target_total_t"],
               "" if row["actual_total_t"] is None else row["actual_total_t"])
