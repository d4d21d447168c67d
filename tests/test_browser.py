"""End to end in Debian's Chromium: enrol TOTP, sign in, reach the dashboard in Japanese and English."""

import os

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect, sync_playwright

from accounts.roles import Role
from accounts.services import system_actor
from conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django's ORM
    # calls made by the test itself are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, settings):
    settings.LANGUAGE_CODE = "ja"
    # A Japanese office's browser: the registry must answer in Japanese.
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page, base_url, email):
    page.goto(f"{base_url}/login/")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()


def test_representative_enrols_totp_and_reaches_the_dashboard_in_japanese_and_english(page, live_server, make_user):
    user = make_user(Role.AUTHORISED_REPRESENTATIVE, email="rep@e2e.example.jp")
    organisation = user.memberships.get().organisation

    sign_in(page, live_server.url, user.email)
    # No device yet: the role requires a second factor, so enrolment comes first.
    expect(page.locator("h1")).to_have_text("二要素認証の設定")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = bytes.fromhex(page.locator("#totp-secret").get_attribute("data-hex"))
    page.locator("input[name=otp_token]").fill(f"{totp(secret):06d}")
    page.locator("main form button[type=submit]").click()
    codes = page.locator("#backup-codes li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="続ける").click()

    expect(page.locator("h1")).to_have_text("ダッシュボード")
    expect(page.locator("main")).to_contain_text(organisation.name)
    expect(page.locator("html")).to_have_attribute("lang", "ja")

    english = page.locator("form.language button[value=en]")
    # The switcher must be readable: text colour differs from its background.
    colours = english.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert colours[0] != colours[1], colours
    english.click()
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # Sign out and back in with a backup code (the TOTP code above is spent).
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server.url, user.email)
    expect(page.locator("input[name=otp_token]")).to_be_visible()
    page.locator("input[name=otp_token]").fill(codes[0])
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_wrong_password_shows_an_error_in_japanese(page, live_server, make_user):
    user = make_user(Role.VIEWER, email="viewer@e2e.example.jp")
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username]").fill(user.email)
    page.locator("input[name=password]").fill("wrong-password")
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("メールアドレス")
    expect(page).to_have_url(f"{live_server.url}/login/")


def verified(page, base_url, user):
    """Signed in with the user's TOTP device (enrolled here) at the code the app shows now."""
    from conftest import current_code, enrol_totp

    device = enrol_totp(user)
    sign_in(page, base_url, user.email)
    page.locator("input[name=otp_token]").fill(current_code(device))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("ダッシュボード")  # 管理者ダッシュボード for administrators


def test_a_refused_form_far_down_a_page_comes_back_with_its_errors_in_view(page, live_server, make_user):
    from datetime import date

    from accounts.models import CompliancePeriod
    from allocation.services import plans

    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=4300, lower_limit_price_yen=1700)
    user = make_user(Role.AUTHORISED_REPRESENTATIVE, email="rep@e2e.example.jp")
    organisation = user.memberships.get().organisation
    plans.plan_create(organisation=organisation, fiscal_year=2026, acting_user=user)
    page.set_viewport_size({"width": 390, "height": 640})
    verified(page, live_server.url, user)
    page.goto(f"{live_server.url}/organisations/{organisation.pk}/transition-plan/2026/")
    page.fill("input[name=projected_2027_direct]", "-5")
    page.locator("form:has(input[name=projected_2027_direct]) button[type=submit]").last.click()
    summary = page.locator("main .error-summary").first
    expect(summary).to_contain_text("2027年度 直接")
    expect(summary).to_be_focused()  # the browser scrolled to it; a screen reader reads it
    expect(summary).to_be_in_viewport()


def test_a_transfer_is_initiated_and_approved_by_two_representatives_in_japanese(browser, live_server, make_user,
                                                                                settings):
    from accounts import ledger
    from accounts.models import HoldingAccount, TransferRequest
    from accounts.tests.ledger_fixtures import funded, key
    from accounts.tests.test_transfer_workflow import otp

    settings.LANGUAGE_CODE = "ja"
    initiator = make_user(Role.AUTHORISED_REPRESENTATIVE, email="init@e2e.example.jp")
    organisation = initiator.memberships.get().organisation
    approver = make_user(Role.APPROVING_REPRESENTATIVE, organisation=organisation, email="appr@e2e.example.jp")
    account = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING, organisation=organisation)
    ledger.issue_allowances(vintage=2026, quantity=500, idempotency_key=key())
    ledger.allocation_transfer(account=account, vintage=2026, quantity=500, idempotency_key=key())
    destination = funded(1)
    transfers_url = f"{live_server.url}/holding-accounts/{account.pk}/transfers/"

    first = browser.new_context(locale="ja-JP").new_page()
    verified(first, live_server.url, initiator)
    first.goto(transfers_url)
    form = first.locator("form#initiate")
    form.locator("input[name=destination]").fill(destination.number)
    form.locator("input[name=quantity]").fill("0")
    form.locator("button[type=submit]").click()
    summary = first.locator("form#initiate .error-summary")
    expect(summary).to_contain_text("数量")  # the field is named, in Japanese, and the summary links to it
    summary.get_by_role("link").first.click()
    expect(first.locator("form#initiate input[name=quantity]")).to_be_focused()
    form = first.locator("form#initiate")
    form.locator("input[name=quantity]").fill("120")
    form.locator("button[type=submit]").click()
    # The check page: the other side by holder and number, then the code.
    expect(first.locator("#check-answers")).to_contain_text(f"{destination.number} — {destination.organisation.name}")
    expect(first.locator("#check-answers")).to_contain_text("120 t-CO2")
    assert not TransferRequest.objects.exists()
    first.locator("form#confirm input[name=otp_token]").fill(otp(initiator))
    first.locator("form#confirm button[type=submit]").click()
    expect(first.locator("#awaiting")).to_contain_text(destination.number)
    expect(first.locator("#awaiting")).to_contain_text("別の代表者が承認する必要があります。")

    second = browser.new_context(locale="ja-JP").new_page()
    verified(second, live_server.url, approver)
    second.goto(transfers_url)
    second.set_viewport_size({"width": 390, "height": 800})  # approving on a phone
    second.locator("#awaiting tr", has_text=destination.number).get_by_role("link", name="確認して承認").click()
    expect(second.locator("#check-answers")).to_contain_text(destination.number)
    assert second.evaluate("document.documentElement.scrollWidth") <= 390
    second.locator("form#confirm input[name=otp_token]").fill(otp(approver))
    second.locator("form#confirm button[type=submit]").click()
    expect(second.locator(".messages")).to_contain_text("承認しました")
    expect(second.locator("#scheduled")).to_contain_text(destination.number)
    assert TransferRequest.objects.get().status == TransferRequest.Status.SCHEDULED
    first.context.close()
    second.context.close()


def test_a_credit_batch_is_brought_in_and_approved_by_two_administrators_in_japanese(browser, live_server, make_user,
                                                                                    settings):
    from accounts.models import CreditBatch
    from accounts.tests.ledger_fixtures import holding_account
    from accounts.tests.test_transfer_workflow import otp

    settings.LANGUAGE_CODE = "ja"
    first_admin = make_user(Role.REGISTRY_ADMINISTRATOR, email="admin1@e2e.example.jp")
    second_admin = make_user(Role.REGISTRY_ADMINISTRATOR, email="admin2@e2e.example.jp")
    account = holding_account("北海道バイオマス株式会社")
    CreditBatch.objects.create(unit_type="j_credit", serial_start=1, serial_end=1000, vintage=2024, origin="既存")
    queue_url = f"{live_server.url}/administration/four-eyes/"

    first = browser.new_context(locale="ja-JP").new_page()
    verified(first, live_server.url, first_admin)
    first.goto(f"{live_server.url}/administration/four-eyes/new/")
    form = first.locator("form#credit-issuance")
    form.locator("select[name=unit_type]").select_option("j_credit")
    form.locator("input[name=serial_start]").fill("900")  # inside the batch already in the registry
    form.locator("input[name=serial_end]").fill("1100")
    form.locator("input[name=vintage]").fill("2024")
    form.locator("input[name=origin]").fill("JCR-0042 バイオマスボイラー")
    form.locator("select[name=eligible]").select_option("yes")
    form.locator("input[name=account]").fill(account.number)
    form.locator("input[name=reason]").fill("J-クレジット登録簿からの移転")
    form.locator("button[type=submit]").click()
    expect(first.locator("form#credit-issuance .error-summary")).to_contain_text("開始シリアル番号: このシリアル番号は")
    form = first.locator("form#credit-issuance")
    form.locator("input[name=serial_start]").fill("1001")
    form.locator("button[type=submit]").click()
    expect(first.locator(".messages")).to_contain_text("別の管理者の承認が必要です")
    expect(first.locator("#pending")).to_contain_text("クレジット受入")
    expect(first.locator("#pending")).to_contain_text("シリアル番号 1001–1100")

    second = browser.new_context(locale="ja-JP").new_page()
    verified(second, live_server.url, second_admin)
    second.goto(queue_url)
    second.locator("#pending tr", has_text="1001–1100").get_by_role("link", name="確認して承認").click()
    expect(second.locator("#check-answers")).to_contain_text(account.number)
    second.locator("form#confirm input[name=otp_token]").fill(otp(second_admin))
    second.locator("form#confirm button[type=submit]").click()
    expect(second.locator(".messages")).to_contain_text("承認")
    second.goto(f"{live_server.url}/holding-accounts/{account.pk}/")
    expect(second.locator("#holdings")).to_contain_text("J-クレジット 1001-1100")
    assert account.balances.get(credit_batch__serial_start=1001).quantity == 100
    first.context.close()
    second.context.close()


def test_an_entity_reports_a_body_verifies_and_the_entity_surrenders_in_japanese(browser, live_server, make_user,
                                                                                  make_organisation, settings):
    from datetime import date
    from decimal import Decimal

    from accounts import ledger
    from accounts.models import CompliancePeriod, HoldingAccount, SurrenderRecord
    from conftest import fresh_code
    from verification.tests.builders import entity_with_facility, registered_body

    settings.LANGUAGE_CODE = "ja"
    body = registered_body(make_user, make_organisation)
    entity = entity_with_facility(make_user, make_organisation)
    account = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING,
                                          organisation=entity.organisation)
    ledger.issue_allowances(vintage=2026, quantity=5_000, idempotency_key="e2e-issue")
    ledger.allocation_transfer(account=account, vintage=2026, quantity=5_000, idempotency_key="e2e-allocation")
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=Decimal(4300), lower_limit_price_yen=Decimal(1700))
    report_url = f"{live_server.url}/organisations/{entity.organisation.pk}/emissions/2026/"

    company = browser.new_context(locale="ja-JP").new_page()
    verified(company, live_server.url, entity.representative)
    company.goto(report_url)
    company.get_by_role("button", name="報告を作成する").click()
    form = company.locator("form#line")
    form.locator("select[name=facility]").select_option(str(entity.facility.pk))
    form.locator("select[name=kind]").select_option("energy")
    form.locator("input[name=source]").fill("A重油")
    form.locator("select[name=method]").select_option("activity_factor")
    form.locator("input[name=activity]").fill("1000")
    form.locator("input[name=emission_factor]").fill("2.71")
    form.locator("button[type=submit]").click()
    expect(company.locator(".messages")).to_contain_text("2,710.000 t-CO2")
    company.get_by_role("button", name="報告を提出する").click()
    form = company.locator("form#appoint")
    form.locator("select[name=body]").select_option(str(body.body.pk))
    form.locator("select[name=purpose]").select_option("actual")
    form.locator("button[type=submit]").click()
    expect(company.locator(".messages")).to_contain_text("限定的保証")

    verifier = browser.new_context(locale="ja-JP").new_page()
    verified(verifier, live_server.url, body.lead)
    verifier.get_by_role("link", name=entity.organisation.name).first.click()
    team = verifier.locator("form#team")
    team.locator(f"input[name=team][value='{body.lead.pk}']").check()
    team.locator("select[name=independent_reviewer]").select_option(str(body.reviewer.pk))
    team.locator("button[type=submit]").click()
    verifier.get_by_role("button", name="検証を開始する").click()
    expect(verifier.locator(".messages")).to_contain_text("検証を開始しました")
    # A misstatement the entity corrected (its box sits under its label, where the eye looks, not centred across
    # the form): the verified figure, and so the obligation, take it in.
    misstatement = verifier.locator("form#misstatement")
    misstatement.locator("input[name=amount_t]").fill("10")
    misstatement.locator("textarea[name=description]").fill("計量器の校正漏れ")
    corrected = misstatement.locator("input[name=corrected]")
    label = misstatement.locator("label[for=id_misstatement_corrected]")
    box = corrected.bounding_box()
    assert box["width"] < 40 and abs(box["x"] - label.bounding_box()["x"]) < 2  # not a form-wide box drawn centred
    corrected.check()
    misstatement.get_by_role("button", name="記録する").click()  # was "レコード" (a vinyl record)
    expect(verifier.locator("#misstatements")).to_contain_text("はい")

    reviewer = browser.new_context(locale="ja-JP").new_page()
    verified(reviewer, live_server.url, body.reviewer)
    reviewer.goto(verifier.url)
    opinion = reviewer.locator("form#opinion-form")
    opinion.locator("input[name=kind][value=unmodified]").check()
    opinion.locator("textarea[name=statement]").fill("重要な虚偽表示は認められない。")
    opinion.locator("input[name=otp_token]").fill(fresh_code(body.reviewer))
    opinion.locator("button[type=submit]").click()
    expect(reviewer.locator(".messages")).to_contain_text("意見に署名しました")

    company.goto(report_url)
    expect(company.locator("#report-facts")).to_contain_text("検証済み")
    company.get_by_role("link", name="遵守状況・償却へ").click()
    expect(company.locator("#compliance-card")).to_contain_text("2,700 t")
    surrender = company.locator("form#surrender")
    surrender.locator("input[name=allowances]").fill("2700")
    surrender.locator("button[type=submit]").click()
    expect(company.locator("#check-answers")).to_contain_text("2,700 t-CO2")
    company.locator("form#confirm input[name=otp_token]").fill(fresh_code(entity.representative))
    company.locator("form#confirm button[type=submit]").click()
    expect(company.locator("#compliance-card")).to_contain_text("遵守")
    assert SurrenderRecord.objects.get(organisation=entity.organisation).allowances == 2700
    for page in (company, verifier, reviewer):
        page.context.close()


def test_an_fy_is_allocated_from_period_to_notice_in_japanese(browser, live_server, make_user, settings):
    """METI opens FY2026, the entity applies, one administrator computes, another approves, the run issues and
    the entity downloads its notice: the cycle a fiscal year goes through, in Japanese, in Chromium."""
    import io

    from pypdf import PdfReader

    from accounts import ledger
    from accounts.models import HoldingAccount
    from allocation.tests.test_services_cycle import add_grandfathered_facility
    from conftest import fresh_code

    settings.LANGUAGE_CODE = "ja"
    admin = make_user(Role.REGISTRY_ADMINISTRATOR, email="alloc1@e2e.example.jp")
    admin2 = make_user(Role.REGISTRY_ADMINISTRATOR, admin.memberships.get().organisation, email="alloc2@e2e.example.jp")
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, email="alloc-rep@e2e.example.jp")
    entity = representative.memberships.get().organisation
    add_grandfathered_facility(entity)  # 100,000 t a year: FY2026 allocates 98,300
    account = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING,
                                          organisation=entity)
    ledger.issue_allowances(vintage=2026, quantity=100_000, idempotency_key="e2e-allocation-reserve")
    application_url = f"{live_server.url}/organisations/{entity.pk}/allocation-application/2026/"

    meti = browser.new_context(locale="ja-JP").new_page()
    verified(meti, live_server.url, admin)
    meti.goto(f"{live_server.url}/allocation/periods/")
    meti.locator("#open-next").click()
    form = meti.locator("form#period")
    form.locator("input[name=surrender_deadline]").fill("2028-01-31")
    form.locator("input[name=upper_limit_price_yen]").fill("4300")
    form.locator("input[name=lower_limit_price_yen]").fill("4400")  # above the upper limit: refused, named
    form.locator("button[type=submit]").click()
    expect(meti.locator("form#period .error-summary")).to_contain_text("上限価格")
    meti.locator("form#period input[name=lower_limit_price_yen]").fill("1700")
    meti.locator("form#period button[type=submit]").click()
    expect(meti.locator(".messages")).to_contain_text("2026年度の遵守期間を保存しました")

    company = browser.new_context(locale="ja-JP").new_page()
    verified(company, live_server.url, representative)
    company.goto(application_url)
    expect(company.locator("#preview-total")).to_contain_text("98,300")
    company.locator("form#create button[type=submit]").click()
    company.locator("form#evidence textarea[name=gx_patents]").fill("特願2025-123456 Y02P")
    company.locator("form#evidence button[type=submit]").click()
    company.locator("form#submit button[type=submit]").click()
    expect(company.locator(".messages")).to_contain_text("経済産業省に提出しました")

    meti.goto(application_url)
    meti.locator("form#review button[type=submit]").click()
    meti.locator("form#compute button[type=submit]").click()
    expect(meti.locator("#computed-total")).to_contain_text("98,300")

    second = browser.new_context(locale="ja-JP").new_page()
    verified(second, live_server.url, admin2)
    second.set_viewport_size({"width": 390, "height": 800})  # approving on a phone
    second.goto(application_url)
    second.locator("form#approve button[type=submit]").click()
    expect(second.locator("#check-answers")).to_contain_text("98,300")
    expect(second.locator("#check-answers")).to_contain_text("2026年度")  # the year in the reader's words
    assert second.evaluate("document.documentElement.scrollWidth") <= 390
    second.locator("form#confirm input[name=otp_token]").fill(fresh_code(admin2))
    second.locator("form#confirm button[type=submit]").click()
    expect(second.locator(".messages")).to_contain_text("承認しました")

    meti.goto(f"{live_server.url}/allocation/2026/")
    meti.locator("form#run button[type=submit]").click()
    expect(meti.locator("#check-answers")).to_contain_text("98,300")
    meti.locator("form#confirm input[name=otp_token]").fill(fresh_code(admin))
    meti.locator("form#confirm button[type=submit]").click()
    expect(meti.locator("#run-status")).to_have_text("完了")
    expect(meti.locator("#run-progress [data-done]")).to_have_text("1 / 1")
    assert account.balances.get(vintage=2026).quantity == 98_300

    company.goto(application_url)
    expect(company.locator("#application-status")).to_contain_text("割当済み")
    with company.expect_download() as download:
        company.locator("#notices a").first.click()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(open(download.value.path(), "rb").read())).pages)
    assert "割当通知書" in text and "98,300" in text and entity.name in text
    for page in (meti, company, second):
        page.context.close()
