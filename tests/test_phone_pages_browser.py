"""Every kind of page the demo's people reach from their dashboards, on a phone in Japanese: no page wider than the
screen, no figure broken across lines (a wide table scrolls inside a focusable, named region), and no serious
accessibility violation."""

import io
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import Resolver404, resolve

from accounts.models import User
from conftest import PASSWORD
from tests.test_browser import browser, verified  # noqa: F401  (the shared Chromium)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = ["rep@entity1.example.jp", "verifier@vb1.example.jp", "admin@meti.example.jp", "market@gxa.example.jp",
          "trader@to1.example.jp"]
BROKEN_FIGURES = """[...document.querySelectorAll('main td.num')].filter(cell => {
    const range = document.createRange(); range.selectNodeContents(cell);
    return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size > 1;
}).map(cell => cell.innerText)"""


def test_every_page_kind_the_demo_people_reach_reads_on_a_phone(browser, live_server, settings):  # noqa: F811
    settings.LANGUAGE_CODE = "ja"
    call_command("seed_demo", entities=3, quiet_users=True, stdout=io.StringIO())
    axe, seen, problems = Axe(), set(), []
    for email in PEOPLE:
        user = User.objects.get(email=email)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        context = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 800})
        page = context.new_page()
        page.set_default_timeout(20_000)
        verified(page, live_server.url, user)
        links = page.eval_on_selector_all("a[href^='/']", "links => links.map(link => link.getAttribute('href'))")
        for href in ["/dashboard/", *links]:
            try:
                name = resolve(href.split("?")[0]).url_name
            except Resolver404:
                continue
            if name in seen or href.startswith("/admin/") or re.search(r"pdf|export|notice|logout", href):
                continue
            seen.add(name)
            response = page.goto(f"{live_server.url}{href}")
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            if page.evaluate("document.documentElement.scrollWidth") > 390:
                problems.append((email, href, "wider than the screen"))
            if broken := page.evaluate(BROKEN_FIGURES):
                problems.append((email, href, "figures broken across lines", broken[:3]))
            problems += [(email, href, v["id"], v["nodes"][0]["target"]) for v in axe.run(page).response["violations"]
                         if v["impact"] in ("serious", "critical")]
        context.close()
    assert len(seen) > 25  # the demo's registry, not a dashboard or two
    assert problems == [], "\n".join(map(str, problems))
