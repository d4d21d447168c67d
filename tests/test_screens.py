"""Every page a demo user can open, in Chromium, in Japanese: no sideways scrolling on a phone (390 px) or a
desktop (1280 px), and no serious or critical accessibility violation (axe-core).

The pages come from the URL permission matrix (tests/test_permission_matrix.py), so a new page is walked
as soon as it has its rule; each demo user opens the pages its role may open, filled with the demo data.
One browser and one signed-in context per user serve the whole walk.
"""

import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import reverse

from accounts.models import HoldingAccount, User
from conftest import PASSWORD, current_code, enrol_totp
from tests.test_browser import browser  # noqa: F401  (the shared Chromium)
from tests.test_permission_matrix import RULES, AdministratorOnly, Public, Scoped, SignedIn, _organisation_kind
from verification.models import Engagement, RegistrationApplication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1280)
# Files and fragments, not pages: a PDF, a download, a machine's answer or the part a page fetches to refresh itself
# (the market's book) has no layout of its own to check.
DOWNLOADS = {"holding_account_statement", "verification_body_certificate", "evidence_download", "health_live",
             "health_ready", "metrics", "market_book"}
DEMO_USERS = ["admin@meti.example.jp", "rep@entity1.example.jp", "approver@entity1.example.jp",
              "viewer@entity1.example.jp", "verifier@vb1.example.jp", "rep@vb3.example.jp", "market@gxa.example.jp",
              "trader@to1.example.jp"]


def _own_object(target, user, organisation):
    return {
        "organisation": lambda: organisation,
        "facility": lambda: organisation.facilities.order_by("code").first(),
        "holding_account": lambda: HoldingAccount.objects.filter(organisation=organisation).first(),
        "engagement": lambda: Engagement.objects.restrict(user).first(),
        "registration_application": lambda: RegistrationApplication.objects.order_by("pk").first(),
    }.get(target, lambda: None)()


def pages_for(user):
    """[(url name, path)] of every page (GET, not a download, not the API) the user's role may open."""
    membership = user.memberships.select_related("organisation").get()
    role, organisation = membership.role, membership.organisation
    pages = []
    for name, rule in sorted(RULES.items()):
        if name in DOWNLOADS or name.startswith("api") or getattr(rule, "method", "get") != "get":
            continue
        if isinstance(rule, AdministratorOnly) and role != rule.role:
            continue
        if isinstance(rule, Scoped) and (rule.own.get(role) != 200 or (
                rule.target == "organisation" and organisation.kind != _organisation_kind(role))):
            continue  # the matrix's rule is for the role's usual kind of organisation (a body's representative
            # has no compliance page)
        if not isinstance(rule, Public | SignedIn | Scoped | AdministratorOnly):
            continue
        args = []
        if getattr(rule, "target", None):
            target = _own_object(rule.target, user, organisation)
            if target is None:
                continue  # the role's organisation has none (a body has no holding account)
            args.append(target.pk)
        pages.append((name, reverse(name, args=[*args, *rule.extra_args]) if hasattr(rule, "extra_args")
                      else reverse(name, args=args)))
    return pages


@pytest.mark.long
def test_every_page_fits_a_phone_and_a_desktop_and_passes_axe(browser, live_server):  # noqa: F811
    call_command("seed_demo", entities=3, quiet_users=True, stdout=io.StringIO())
    axe = Axe()
    too_wide, violations, walked = [], [], 0
    for email in DEMO_USERS:
        user = User.objects.get(email=email)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        context = browser.new_context(locale="ja-JP", viewport={"width": WIDTHS[0], "height": 800})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/login/")
        page.locator("input[name=username]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        if "/two-factor/" in page.url:
            device = enrol_totp(user)
            page.goto(f"{live_server.url}/two-factor/verify/")
            page.locator("input[name=otp_token]").fill(current_code(device))
            page.locator("main form button[type=submit]").click()
        for _name, path in pages_for(user):
            # Opened once on the phone, then the window widened to the desktop's (the layout and the tables'
            # script follow a resize): half the page loads of opening it at each width.
            page.set_viewport_size({"width": WIDTHS[0], "height": 800})
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, (email, path, response.status)
            walked += 1
            for violation in axe.run(page).response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    violations.append((email, path, violation["id"], violation["nodes"][0]["target"]))
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 800})
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                if scroll_width > width:
                    too_wide.append((email, path, width, scroll_width))
        context.close()
    assert walked > 50  # the walk reached the pages, not only the sign-in
    assert too_wide == [], "pages wider than the screen (user, page, viewport, document width)"
    assert violations == [], "serious or critical accessibility violations"
