"""What is not public never leaks (§7): item 3 (capital investment), the projections before FY2030, the
administrator's and approver's messages, who filed, and every version the public does not read.

An entity's plans carry unique markers in every non-public field; every public URL and API endpoint (from the
URL permission matrix, so a new public page is walked as soon as it has its rule), in both languages, with
their CSV downloads, searches and error pages, must show none of them.
"""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import ledger
from accounts.roles import Role
from accounts.services import system_actor
from allocation.models import TransitionPlan
from allocation.services import plans
from allocation.tests.test_plans import Filing
from tests.test_permission_matrix import RULES, Public, PublicObject

pytestmark = pytest.mark.django_db

SECRET_TEXT = ["LEAKMEASURE", "LEAKFACILITY", "LEAKTIMING", "LEAKMESSAGE", "LEAKDRAFT", "LEAKFILER"]
# Figures only a non-public field holds: item 3's effect and the projections for FY2026-2029.
SECRET_FIGURES = [7_770_001, *(6_110_000 + fy for fy in range(2026, 2030)), *(6_220_000 + fy for fy in range(2026, 2030))]


def _forms(number: int) -> list[str]:
    return [str(number), f"{number:,}"]


MARKERS = SECRET_TEXT + [text for number in SECRET_FIGURES for text in _forms(number)]


@pytest.fixture
def entity_with_secrets(make_user, make_organisation):
    filing = Filing(make_user, make_organisation, name="漏洩検査株式会社", name_kana="ロウエイケンサ")
    type(filing.rep).objects.filter(pk=filing.rep.pk).update(full_name="LEAKFILER rep")
    filing.rep.refresh_from_db()
    ledger.holding_account_open(kind="operator_holding", organisation=filing.entity, acting_user=system_actor())
    # Version 1: returned with METI's message
    first = filing.complete_draft()
    plans.plan_file(plan=first, acting_user=filing.rep)
    plans.plan_confirm(plan=first, acting_user=filing.approver)
    plans.plan_return(plan=first, message="LEAKMESSAGE please", acting_user=filing.admin)
    # Version 2: accepted, with markers in its non-public fields
    second = plans.plan_create(organisation=filing.entity, fiscal_year=2026, acting_user=filing.rep)
    rows = [{"kind": "projected", "fiscal_year": fy, "direct_t": 6_110_000 + fy, "indirect_t": 6_220_000 + fy}
            for fy in range(2026, 2030)]
    rows += [{"kind": "projected", "fiscal_year": 2030, "direct_t": 50_000, "indirect_t": 5_000},
             {"kind": "actual", "fiscal_year": 2025, "direct_t": 60_000, "indirect_t": 6_000}]
    plans.plan_emissions_save(plan=second, rows=rows, acting_user=filing.rep)
    plans.plan_investments_save(plan=second, rows=[{"stage": "planned", "measure": "LEAKMEASURE furnace",
                                                    "facilities": "LEAKFACILITY works", "timing": "LEAKTIMING",
                                                    "effect_t_per_year": 7_770_001}], acting_user=filing.rep)
    plans.plan_file(plan=second, acting_user=filing.rep)
    plans.plan_confirm(plan=second, acting_user=filing.approver)
    plans.plan_accept(plan=second, acting_user=filing.admin)
    # Version 3: a draft on its way, public fields and all
    third = plans.plan_create(organisation=filing.entity, fiscal_year=2026, acting_user=filing.rep)
    plans.plan_update(plan=third, other_initiatives="LEAKDRAFT initiative", acting_user=filing.rep)
    plans.plan_document_add(plan=third, title="LEAKDRAFT document", url="https://example.jp/LEAKDRAFT",
                            acting_user=filing.rep)
    assert TransitionPlan.objects.filter(organisation=filing.entity).count() == 3
    return filing


def _public_urls(filing) -> list[str]:
    document = filing.entity.transition_plans.get(version=2).documents.first()
    objects = {"accepted_plan": filing.entity, "public_document": document, "organisation": filing.entity}
    urls = []
    for name, rule in sorted(RULES.items()):
        if isinstance(rule, Public):
            urls.append(reverse(name))
        elif isinstance(rule, PublicObject) and rule.target in objects:
            urls.append(reverse(name, args=[objects[rule.target].pk, *rule.extra_args]))
    return urls


def test_no_public_page_file_or_api_shows_a_non_public_field(entity_with_secrets):
    urls = _public_urls(entity_with_secrets)
    pk = entity_with_secrets.entity.pk
    assert reverse("public_plan", args=[pk, 2026]) in urls and reverse("api-public-plan-list") in urls
    variants = [f"{url}{sep}{query}" for url in urls
                for sep in ["?" if "?" not in url else "&"]
                for query in ("", "export=csv", "q=ロウエイ", "q=LEAKMEASURE", "fiscal_year=2026", "format=json")]
    variants += [reverse("public_plan", args=[pk, 2027]), reverse("api-public-plan-detail", args=[pk, 2027]),
                 reverse("public_plan", args=[pk, 2026]) + "?version=3"]
    walked = 0
    for language in ("en", "ja"):
        # From a member of the public's address: /metrics answers the monitoring's addresses only (its counters'
        # long figures would otherwise match a marker by chance).
        client = Client(HTTP_ACCEPT_LANGUAGE=language, REMOTE_ADDR="203.0.113.9")
        for url in variants:
            response = client.get(url)
            assert response.status_code in (200, 404), (url, response.status_code)
            body = (b"".join(response.streaming_content) if response.streaming else response.content).decode(
                "utf-8", "replace")
            # A search box shows what was typed: a marker in the URL itself is not a leak.
            leaked = [marker for marker in MARKERS if marker in body and marker not in url]
            assert leaked == [], f"{url} ({language}) shows {leaked}"
            walked += 1
    assert walked >= 2 * len(urls) * 6


def test_the_public_page_shows_the_public_items_of_the_accepted_version(entity_with_secrets):
    """The walk above would pass on an empty page: the public items are there."""
    pk = entity_with_secrets.entity.pk
    page = Client().get(reverse("public_plan", args=[pk, 2026])).content.decode()
    assert "漏洩検査株式会社" in page and "55,000" in page and "66,000" in page  # FY2030 total, FY2025 actual total
    api = Client().get(reverse("api-public-plan-detail", args=[pk, 2026])).json()
    assert api["target"]["total_t"] == 55_000 and api["version"] == 2
    assert [row["fiscal_year"] for row in api["actuals"]] == [2025]
    search = Client().get(reverse("public_plan_list"), {"q": "LEAKMEASURE"}).content.decode()
    assert "漏洩検査" not in search  # item 3 is not searchable either


def test_a_signed_in_viewer_of_another_entity_sees_no_more_than_the_public(entity_with_secrets, make_user, signed_in,
                                                                           client):
    signed_in(make_user(Role.VIEWER))
    page = client.get(reverse("public_plan", args=[entity_with_secrets.entity.pk, 2026])).content.decode()
    assert [marker for marker in MARKERS if marker in page] == []
    entity_page = client.get(reverse("transition_plan", args=[entity_with_secrets.entity.pk, 2026]))
    assert entity_page.status_code == 404
