"""The public reads transition plans in Chromium: the list, a search by kana and a plan page, in Japanese and
English, on a desktop and a phone; no sideways scrolling, no serious accessibility violation, and a clean print."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from allocation.tests.test_plans import Filing
from tests.test_browser import browser  # noqa: F401  (the shared Chromium)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWS = [("ja", 1280), ("ja", 390), ("en", 1280), ("en", 390)]


def _serious(page, axe):
    return [(v["id"], v["nodes"][0]["target"]) for v in axe.run(page).response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_the_public_finds_and_reads_a_plan_in_both_languages_on_a_desktop_and_a_phone(
        browser, live_server, make_user, make_organisation):  # noqa: F811
    filing = Filing(make_user, make_organisation, name="関西製鉄株式会社", name_en="Kansai Steel Co., Ltd.",
                    name_kana="カンサイセイテツ")
    filing.accepted()
    Filing(make_user, make_organisation, name="東洋セメント株式会社", name_kana="トウヨウセメント",
           sector="cement").accepted()
    axe = Axe()
    problems = []
    for language, width in VIEWS:
        context = browser.new_context(locale="ja-JP" if language == "ja" else "en-GB",
                                      viewport={"width": width, "height": 800},
                                      extra_http_headers={"Accept-Language": language})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/transition-plans/")
        assert page.locator("#plans tbody tr").count() == 2
        problems += [(language, width, "list", *v) for v in _serious(page, axe)]
        # Search by reading in hiragana: only the steel company is left
        page.locator("#q").fill("かんさい")
        page.locator("form.search button[type=submit]").click()
        page.wait_for_url("**q=**")
        assert page.locator("#plans tbody tr").count() == 1
        name = "関西製鉄株式会社" if language == "ja" else "Kansai Steel Co., Ltd."
        page.get_by_role("link", name=name).click()
        page.wait_for_url(f"**/transition-plans/{filing.entity.pk}/2026/")
        assert name in page.locator("h1").inner_text()
        heading = "項目1・2：排出量" if language == "ja" else "Items 1 and 2: emissions"
        assert page.get_by_role("heading", name=heading).is_visible()
        assert page.locator("svg#plan-chart rect.bar.projected").count() == 1 + 1  # the bar and its legend key
        assert page.locator("#emissions-table").inner_text().count("89,000") == 1
        problems += [(language, width, "plan", *v) for v in _serious(page, axe)]
        for path in ("/transition-plans/", f"/transition-plans/{filing.entity.pk}/2026/"):
            page.goto(f"{live_server.url}{path}")
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                problems.append((language, width, path, "wider than the screen", scroll_width))
        # Printed: the content without the header, the chart and the table whole
        page.emulate_media(media="print")
        assert not page.locator("header.topbar").is_visible()
        assert page.locator("svg#plan-chart").is_visible() and page.locator("#emissions-table").is_visible()
        context.close()
    assert problems == []


def test_the_public_reads_the_markets_prices_on_a_desktop_and_a_phone_with_every_number_whole(
        browser, live_server, make_user, make_organisation):  # noqa: F811
    from datetime import timedelta

    from market.tests.test_services_orders import OPEN, Market

    market = Market(make_user, make_organisation)
    seller, buyer = market.participant(allowances=10_000), market.participant(yen=100_000_000)
    for day, price in enumerate([3010, 3050, 2990]):  # three trading days with trades
        market.order(seller, "sell", price, 1_200, now=OPEN + timedelta(days=day))
        market.order(buyer, "buy", price, 1_200, now=OPEN + timedelta(days=day, minutes=1))
    axe = Axe()
    problems = []
    for language, width in VIEWS:
        context = browser.new_context(viewport={"width": width, "height": 800},
                                      extra_http_headers={"Accept-Language": language})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/")
        page.locator("nav.mainnav a[href='/market/']").click()
        page.locator(f"a[href='/market/{market.instrument.code}/prices/']").click()
        page.wait_for_url("**/prices/")
        assert page.locator("svg.candles text.date").count() == 3 and page.locator("#daily-prices tbody tr").count() == 3
        for path in ("/market/", f"/market/{market.instrument.code}/prices/", "/market/auctions/"):
            page.goto(f"{live_server.url}{path}")
            problems += [(language, width, path, *v) for v in _serious(page, axe)]
            if page.evaluate("document.documentElement.scrollWidth") > width:
                problems.append((language, width, path, "wider than the screen"))
            wrapped = page.evaluate("""[...document.querySelectorAll('td.num')].filter(cell => {
                const range = document.createRange(); range.selectNodeContents(cell);
                return range.getClientRects().length > 1; }).map(cell => cell.innerText)""")
            if wrapped:
                problems.append((language, width, path, "numbers broken across lines", wrapped[:3]))
            # A chart's labels as tall on a phone as on a desktop (drawn 11 high): the chart keeps its width and
            # scrolls in a region of its own, named and reachable from the keyboard, not shrunk to the screen.
            smallest = page.evaluate("""Math.min(...[...document.querySelectorAll('svg.chart text')].map(
                text => text.getBoundingClientRect().height), 99)""")
            if smallest < 10:
                problems.append((language, width, path, "chart labels too small to read", smallest))
            if page.locator("svg.chart").count():
                region = page.locator(".chart-wide:has(svg.chart)")
                if region.get_attribute("role") != "region" or not region.get_attribute("aria-label"):
                    problems.append((language, width, path, "chart's region not named"))
                if width < 500 and region.get_attribute("tabindex") != "0":
                    problems.append((language, width, path, "chart's region not reachable from the keyboard"))
        context.close()
    assert problems == []


def test_the_registry_report_and_the_bodies_on_a_phone_keep_numbers_whole_and_names_readable(
        browser, live_server, make_user, make_organisation):  # noqa: F811
    from datetime import date

    from accounts import ledger
    from accounts.models import CompliancePeriod, HoldingAccount
    from accounts.services import system_actor
    from verification.tests.builders import registered_body

    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=4300, lower_limit_price_yen=1700)
    entity = make_organisation(name="日本アルミニウム株式会社")
    ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING,
                                organisation=entity)
    registered_body(make_user, make_organisation)
    context = browser.new_context(viewport={"width": 390, "height": 800},
                                  extra_http_headers={"Accept-Language": "ja"})
    page = context.new_page()
    lines = {}
    for path, table in (("/registry-report/?fiscal_year=2026", "registry-report"), ("/verification-bodies/", "bodies")):
        page.goto(f"{live_server.url}{path}")
        lines[table] = page.evaluate("""table => [...document.querySelector(`#${table} tbody tr`).cells].map(cell => {
            const range = document.createRange(); range.selectNodeContents(cell);
            return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size; })""", table)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    context.close()
    name, account = lines["registry-report"][:2]
    assert name <= 2, "the entity's name is broken into a column a few characters wide"
    assert account == 1, "the account number is broken across lines"
    body_name, number, status, valid_until, _scope, certificate = lines["bodies"]
    assert body_name <= 2 and (number, status, valid_until, certificate) == (1, 1, 1, 1)
