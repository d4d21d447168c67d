"""Every demo user's pages, filled with the demo data, render in Japanese and in English."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse

from accounts.models import User
from allocation.models import Facility
from conftest import PASSWORD


@pytest.fixture(scope="module")
def _demo_data(django_db_setup, django_db_blocker):
    """The demo, seeded once for the module (a seed takes ~7 s) in a transaction rolled back after its last test, as
    Django's TestCase.setUpTestData does; each test runs in a savepoint inside it, so what one test changes the
    next does not see."""
    with django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
        try:
            call_command("seed_demo", entities=3, quiet_users=True, stdout=io.StringIO())
            for user in User.objects.all():
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
            yield
        finally:
            TestCase._rollback_atomics(atomics)


@pytest.fixture
def demo(_demo_data, db):
    """The module's demo data, the test in a savepoint of its own (``db``)."""


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_demo_user_reaches_a_dashboard_with_charts_and_every_nav_link(demo, client, signed_in, language):
    client.cookies["django_language"] = language
    for user in User.objects.filter(memberships__isnull=False).distinct():
        client.logout()
        signed_in(user)
        response = client.get("/dashboard/")
        assert response.status_code == 200, (user.email, language)
        assert f'lang="{language}"' in response.text
        nav = re.search(r'<nav class="mainnav".*?</nav>', response.text, re.S).group(0)
        links = [href for href in re.findall(r'href="(/[^"]*)"', nav) if not href.startswith("/admin/")]
        assert links, user.email
        for href in links:
            assert client.get(href).status_code == 200, (user.email, language, href)


def test_the_navigation_offers_facilities_only_to_those_whose_organisation_has_them(demo, client, signed_in):
    for email, has_facilities in [("rep@entity1.example.jp", True), ("trader@to1.example.jp", False),
                                  ("market@gxa.example.jp", False)]:
        client.logout()
        signed_in(User.objects.get(email=email))
        nav = re.search(r'<nav class="mainnav".*?</nav>', client.get("/dashboard/").text, re.S).group(0)
        assert ('href="/facilities/"' in nav) is has_facilities, email
        assert 'href="/market/"' in nav, email


def test_company_dashboard_and_facility_page_draw_the_emissions_chart(demo, client, signed_in):
    facility = Facility.objects.filter(processes__years__isnull=False).select_related("organisation").first()
    representative = User.objects.filter(memberships__organisation=facility.organisation).first()
    signed_in(representative)
    dashboard = client.get("/dashboard/")
    assert dashboard.status_code == 200
    assert '<svg class="chart"' in dashboard.text
    page = client.get(reverse("facility_detail", args=[facility.pk]))
    assert page.status_code == 200
    assert '<rect class="bar application"' in page.text  # a facility's are its processes' data


@pytest.mark.parametrize(("language", "shown"), [("ja", "2025年度"), ("en", "FY2025")])
def test_fiscal_years_read_as_years_not_quantities(demo, client, signed_in, language, shown):
    facility = Facility.objects.filter(processes__years__fiscal_year=2025).first()
    signed_in(User.objects.filter(memberships__organisation=facility.organisation).first())
    client.cookies["django_language"] = language
    page = client.get(reverse("facility_detail", args=[facility.pk])).text
    assert shown in page
    assert "2,025" not in page


def test_the_market_operator_and_a_trading_operator_see_what_their_roles_do(demo, client, signed_in):
    from accounts.models import Organisation
    from accounts.roles import Role

    operator = User.objects.get(memberships__role=Role.MARKET_OPERATOR)
    signed_in(operator)
    page = client.get("/dashboard/").text
    corridor = page.split('id="price-corridor"')[1].split("</table>")[0]
    assert "FY2026" in corridor and "yen" not in corridor.split("<tbody>")[1]  # figures, not a label
    trading = page.split('id="trading-accounts"')[1].split("</table>")[0]
    assert Organisation.objects.filter(kind=Organisation.Kind.TRADING_OPERATOR).first().name_en in trading
    assert "Regulated entities" in page and "Trading operators" in page
    # What waits for GXA, linked to where it is done: the demo's alert in the review queue.
    todo = page.split('id="todo"')[1].split("</ul>")[0]
    assert f'href="{reverse("market_surveillance")}">1 surveillance alert to review<' in todo
    assert "until then" not in page  # the market is open: no text from before it was
    client.logout()

    trader = User.objects.filter(memberships__organisation__kind=Organisation.Kind.TRADING_OPERATOR).first()
    signed_in(trader)
    page = client.get("/dashboard/").text
    assert 'id="dashboard-accounts"' in page and 'id="trading-operator-note"' in page
    assert "<th>Compliance</th>" not in page  # a trading operator has no obligation: no empty column for one
    assert "Emissions by fiscal year" not in page and "Facilities</h2>" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_home_page_shows_a_visitor_what_is_open_to_everyone_and_every_link_opens(client, language):
    client.cookies["django_language"] = language
    cards = re.search(r'<div class="cards" id="public-pages">.*?</div>', client.get("/").text, re.S).group(0)
    links = re.findall(r'href="(/[^"]*)"', cards)
    assert links == ["/registry-report/", "/transition-plans/", "/verification-bodies/", "/market/"]
    for href in links:
        assert client.get(href).status_code == 200, href


@pytest.mark.django_db
def test_pages_link_a_favicon_that_exists(client):
    from django.contrib.staticfiles import finders

    page = client.get("/").text
    icon = re.search(r'<link rel="icon" href="/static/([^"]+)"', page)
    assert icon, "no favicon link"
    found = finders.find(icon.group(1))
    assert found and open(found, encoding="utf-8").read().lstrip().startswith("<svg")


def test_the_demo_writes_each_name_in_its_own_language(demo):
    from accounts.models import Organisation

    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    for thing in [*Organisation.objects.exclude(name_en=""), *Facility.objects.exclude(name_en="")]:
        assert not japanese.search(thing.name_en), thing.name_en  # not "Nihon セメント Co. 2"
        assert japanese.search(thing.name), thing.name
    # A company's English name is capitalised as one: "Tokai Iron and Steel Co., Ltd.", not "Iron and steel".
    names = Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).values_list("name_en", flat=True)
    assert all(word[0].isupper() for name in names for word in name.split() if word != "and"), list(names)


def test_every_table_and_fact_heading_a_demo_user_reaches_starts_with_a_capital(demo, client, signed_in):
    """Headings written from a field's lower-case name ("plan or result") read as a sentence's middle; each page
    kind (one URL name) that a demo user reaches from the dashboard, in English, is read once."""
    from django.urls import Resolver404, resolve

    client.cookies["django_language"] = "en"
    seen, lower = set(), []
    for user in User.objects.filter(memberships__isnull=False).distinct():
        client.logout()
        signed_in(user)
        dashboard = client.get("/dashboard/").text
        for href in ["/dashboard/", *re.findall(r'href="(/[^"#?]*)"', dashboard)]:
            try:
                name = resolve(href).url_name
            except Resolver404:
                continue
            if name in seen or href.startswith("/admin/"):
                continue
            seen.add(name)
            response = client.get(href)
            if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                continue
            for heading in re.findall(r"<(?:th|dt)\b[^>]*>(.*?)</(?:th|dt)>", response.text, re.S):
                text = re.sub(r"<[^>]+>", "", heading).strip()
                if text[:1].islower() and not text.startswith("t-CO2"):
                    lower.append((href, text))
    assert len(seen) > 20  # the crawl reached the registry's pages, not only a dashboard
    assert lower == []
