"""Transition plans (§7) through their services and pages: filing, confirming, returning, accepting, versions,
item 4 for R&D recipients only, the import, the public list's search, and the chart against its table."""

import io
import re
from datetime import date

import openpyxl
import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse

from accounts.models import CompliancePeriod, VerifiedEmissions
from accounts.roles import Role
from allocation.models import AllocationApplication, PlanEmissions, TransitionPlan
from allocation.services import plans
from gxregistry.errors import ErrorCode, RegistryError

pytestmark = pytest.mark.django_db
P = TransitionPlan.Status


class Filing:
    """One entity with a representative, an approving representative, a viewer, and two administrators."""

    def __init__(self, make_user, make_organisation, **entity):
        CompliancePeriod.objects.get_or_create(fiscal_year=2026, defaults={
            "surrender_deadline": date(2027, 11, 30), "upper_limit_price_yen": 4300, "lower_limit_price_yen": 1700})
        self.entity = make_organisation(**entity)
        self.rep = make_user(Role.AUTHORISED_REPRESENTATIVE, self.entity)
        self.approver = make_user(Role.APPROVING_REPRESENTATIVE, self.entity)
        self.viewer = make_user(Role.VIEWER, self.entity)
        self.admin = make_user(Role.REGISTRY_ADMINISTRATOR)

    def complete_draft(self, plan=None, *, direct_2030=80_000, investment="Electric arc furnace"):
        plan = plan or plans.plan_create(organisation=self.entity, fiscal_year=2026, acting_user=self.rep)
        rows = [{"kind": "projected", "fiscal_year": fy, "direct_t": 100_000 - (fy - 2026) * 5_000,
                 "indirect_t": 10_000} for fy in range(2026, 2030)]
        rows += [{"kind": "projected", "fiscal_year": 2030, "direct_t": direct_2030, "indirect_t": 9_000},
                 {"kind": "actual", "fiscal_year": 2025, "direct_t": 110_000, "indirect_t": 11_000}]
        plans.plan_emissions_save(plan=plan, rows=rows, acting_user=self.rep)
        plans.plan_investments_save(plan=plan, rows=[{"stage": "planned", "measure": investment, "facilities": "F1",
                                                      "timing": "FY2028", "effect_t_per_year": "20,000"}],
                                    acting_user=self.rep)
        plans.plan_document_add(plan=plan, title="中期経営計画", url="https://example.jp/plan", acting_user=self.rep)
        return plan

    def accepted(self, **kwargs):
        plan = self.complete_draft(**kwargs)
        plans.plan_file(plan=plan, acting_user=self.rep)
        plans.plan_confirm(plan=plan, acting_user=self.approver)
        return plans.plan_accept(plan=plan, acting_user=self.admin)


@pytest.fixture
def filing(make_user, make_organisation):
    return Filing(make_user, make_organisation, name="関西製鉄株式会社", name_en="Kansai Steel Co., Ltd.",
                  name_kana="カンサイセイテツ")


def test_a_plan_is_filed_confirmed_returned_revised_and_accepted_with_its_versions_kept(filing, mailoutbox,
                                                                                       django_capture_on_commit_callbacks):
    # Given a complete draft
    plan = filing.complete_draft(investment="Version one measure")
    # When the representative files it, the approving representative is asked to confirm
    with django_capture_on_commit_callbacks(execute=True):
        plan = plans.plan_file(plan=plan, acting_user=filing.rep)
    assert plan.status == P.FILED
    assert [m.to for m in mailoutbox] == [[filing.approver.email]]
    assert mailoutbox[0].subject.startswith("[GX-ETS] 移行計画を確認してください")  # in the approver's language
    # and once confirmed it reaches METI, who return it with a message
    plans.plan_confirm(plan=plan, acting_user=filing.approver)
    plan = plans.plan_return(plan=plan, message="Item 3: give the facilities' names.", acting_user=filing.admin)
    assert (plan.status, plan.message) == (P.RETURNED, "Item 3: give the facilities' names.")
    # A returned version is never changed: the entity starts version 2 from it
    with pytest.raises(RegistryError) as refused:
        plans.plan_update(plan=plan, other_initiatives="x", acting_user=filing.rep)
    assert refused.value.code == ErrorCode.INVALID_STATE
    second = plans.plan_create(organisation=filing.entity, fiscal_year=2026, acting_user=filing.rep)
    assert second.version == 2 and second.status == P.DRAFT
    assert list(second.investments.values_list("measure", flat=True)) == ["Version one measure"]
    plans.plan_investments_save(plan=second, rows=[{"stage": "planned", "measure": "Version two measure",
                                                    "facilities": "F1 Kobe works", "timing": "FY2028",
                                                    "effect_t_per_year": 20_000}], acting_user=filing.rep)
    plans.plan_file(plan=second, acting_user=filing.rep)
    plans.plan_confirm(plan=second, acting_user=filing.approver)
    plans.plan_accept(plan=second, acting_user=filing.admin)
    # Then both versions are kept as they were, and the public reads the accepted one
    assert list(plan.investments.values_list("measure", flat=True)) == ["Version one measure"]
    assert dict(TransitionPlan.objects.filter(organisation=filing.entity).values_list("version", "status")) == {
        1: P.RETURNED, 2: P.ACCEPTED}
    page = plans_page(filing.entity.pk)
    assert "Kansai Steel" in page and "version 2" in page


def plans_page(pk, fiscal_year=2026, client=None):
    from django.test import Client

    response = (client or Client()).get(reverse("public_plan", args=[pk, fiscal_year]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_approving_representative_sends_back_and_nobody_confirms_their_own_filing(filing):
    plan = filing.complete_draft()
    plans.plan_file(plan=plan, acting_user=filing.rep)
    # The representative cannot confirm (no approving role), nor can METI
    for someone in (filing.rep, filing.admin, filing.viewer):
        with pytest.raises(RegistryError) as refused:
            plans.plan_confirm(plan=plan, acting_user=someone)
        assert refused.value.code == ErrorCode.NOT_PERMITTED
    plans.plan_send_back(plan=plan, message="Check FY2030.", acting_user=filing.approver)
    plan.refresh_from_db()
    assert (plan.status, plan.message, plan.filed_by) == (P.DRAFT, "Check FY2030.", None)
    # The database refuses a plan confirmed by the person who filed it, whoever writes it
    with pytest.raises(IntegrityError), transaction.atomic():
        TransitionPlan.objects.filter(pk=plan.pk).update(filed_by=filing.rep, confirmed_by=filing.rep)


def test_transitions_out_of_order_are_refused_by_the_service_and_the_database(filing):
    plan = filing.complete_draft()
    with pytest.raises(RegistryError) as refused:
        plans.plan_accept(plan=plan, acting_user=filing.admin)
    assert refused.value.code == ErrorCode.INVALID_STATE
    with pytest.raises(DatabaseError), transaction.atomic():
        TransitionPlan.objects.filter(pk=plan.pk).update(status=P.ACCEPTED)
    assert TransitionPlan.objects.get(pk=plan.pk).status == P.DRAFT


def test_filing_an_incomplete_plan_names_what_is_missing_and_changes_nothing(filing):
    plan = plans.plan_create(organisation=filing.entity, fiscal_year=2026, acting_user=filing.rep)
    with pytest.raises(RegistryError) as refused:
        plans.plan_file(plan=plan, acting_user=filing.rep)
    assert refused.value.field == "projected_2026" and "FY2026" in str(refused.value.message)
    assert TransitionPlan.objects.get(pk=plan.pk).status == P.DRAFT
    assert set(plans.plan_missing(plan)) >= {"projected_2030", "actual_2025", "investments", "documents"}


def _computed_application(entity, rep, rd_amount):
    return AllocationApplication.objects.create(
        organisation=entity, fiscal_year=2026, status="computed", created_by=rep, computed_total=1000,
        computed_lines=[{"kind": "gf_energy", "amount": "1000"}, {"kind": "rd", "amount": str(rd_amount)}])


@pytest.mark.parametrize(("rd_amount", "required"), [(250, True), (0, False)])
def test_item_4_is_required_only_of_an_entity_receiving_the_rd_allocation(filing, rd_amount, required):
    _computed_application(filing.entity, filing.rep, rd_amount)
    plan = filing.complete_draft()
    missing = plans.plan_missing(plan)
    rd_items = {"research", "rd_expenses_yen", "rd_initiatives"}
    assert (rd_items & set(missing)) == (rd_items if required else set())
    if required:
        plans.plan_research_save(plan=plan, rows=[{"kind": "patent", "reference": "特願2025-012345",
                                                   "technology_category": "Y02E 水素"}], acting_user=filing.rep)
        plans.plan_update(plan=plan, rd_expenses_yen="1,200,000,000", rd_initiatives="水素還元製鉄の実証",
                          acting_user=filing.rep)
    assert plans.plan_file(plan=plan, acting_user=filing.rep).status == P.FILED  # complete either way now


def test_verified_emissions_prefill_direct_actuals_and_the_database_adds_the_total(filing):
    VerifiedEmissions.objects.create(organisation=filing.entity, fiscal_year=2025, emissions_t=123_456,
                                     entered_by=filing.admin)
    plan = plans.plan_create(organisation=filing.entity, fiscal_year=2026, acting_user=filing.rep)
    row = plan.emissions.get(kind="actual", fiscal_year=2025)
    assert (row.direct_t, row.indirect_t, row.total_t) == (123_456, None, None)
    # The representative's different figure for a verified year does not replace the verified one
    plans.plan_emissions_save(plan=plan, rows=[{"kind": "actual", "fiscal_year": 2025, "direct_t": "1",
                                                "indirect_t": "4,000"}], acting_user=filing.rep)
    row = PlanEmissions.objects.get(plan=plan, kind="actual", fiscal_year=2025)
    assert (row.direct_t, row.indirect_t, row.total_t) == (123_456, 4_000, 127_456)


@pytest.mark.parametrize("bad", [{"direct_t": "-5"}, {"direct_t": "1.5"}, {"direct_t": "abc"},
                                 {"fiscal_year": 2031}, {"kind": "guess"}])
def test_bad_figures_are_refused_naming_the_field_and_nothing_changes(filing, bad):
    plan = filing.complete_draft()
    before = list(plan.emissions.values_list("kind", "fiscal_year", "direct_t", "indirect_t"))
    with pytest.raises(RegistryError) as refused:
        plans.plan_emissions_save(plan=plan, rows=[{"kind": "projected", "fiscal_year": 2030, "direct_t": "5",
                                                    "indirect_t": "1"} | bad], acting_user=filing.rep)
    assert refused.value.code == ErrorCode.INVALID_INPUT and refused.value.field
    assert list(plan.emissions.values_list("kind", "fiscal_year", "direct_t", "indirect_t")) == before


def test_items_1_and_2_import_from_shift_jis_csv_and_xlsx(filing):
    plan = plans.plan_create(organisation=filing.entity, fiscal_year=2026, acting_user=filing.rep)
    csv = "区分,年度,直接排出量,間接排出量\n予測,2030,\"80,000\",9000\n実績,FY2025,110000,11000\n"
    plans.plan_emissions_import(plan=plan, data=csv.encode("cp932"), filename="計画.csv", acting_user=filing.rep)
    assert set(plan.emissions.values_list("kind", "fiscal_year", "total_t")) == {
        ("projected", 2030, 89_000), ("actual", 2025, 121_000)}
    book = openpyxl.Workbook()
    book.active.append(["kind", "fiscal_year", "direct_t", "indirect_t"])
    book.active.append(["projected", 2029, 85_000, 9_500])
    data = io.BytesIO()
    book.save(data)
    plans.plan_emissions_import(plan=plan, data=data.getvalue(), filename="plan.xlsx", acting_user=filing.rep)
    assert plan.emissions.filter(kind="projected").count() == 2  # the file's years replace, the others stay


def test_a_bad_import_row_names_its_line_and_column_and_imports_nothing(filing):
    plan = plans.plan_create(organisation=filing.entity, fiscal_year=2026, acting_user=filing.rep)
    csv = "区分,年度,直接排出量,間接排出量\n予測,2030,80000,9000\n予測,2029,八万,9000\n"
    with pytest.raises(RegistryError) as refused:
        plans.plan_emissions_import(plan=plan, data=csv.encode("utf-8"), filename="plan.csv", acting_user=filing.rep)
    assert "Line 3" in str(refused.value.message) and "direct_t" in str(refused.value.message)
    assert not plan.emissions.exists()


def test_a_member_of_a_joint_notification_group_does_not_file_its_own_plan(filing, make_organisation):
    from accounts.models import CloseStakeholder, JointNotificationGroup

    member = make_organisation()
    group = JointNotificationGroup.objects.create(name="Group", notifying_entity=filing.entity)
    CloseStakeholder.objects.create(group=group, entity=member, relationship="subsidiary")
    rep = type(filing.rep).objects.get(pk=filing.rep.pk)
    from accounts import services

    member_rep = services.user_create(email="m@example.jp", full_name="M", password=None,
                                      acting_user=services.system_actor())
    services.membership_create(user=member_rep, organisation=member, role=Role.AUTHORISED_REPRESENTATIVE,
                               acting_user=services.system_actor())
    with pytest.raises(RegistryError) as refused:
        plans.plan_create(organisation=member, fiscal_year=2026, acting_user=member_rep)
    assert refused.value.code == ErrorCode.INVALID_STATE
    # The notifying entity's plan states the group's boundary before it is filed
    plan = filing.complete_draft()
    assert "group_boundary" in plans.plan_missing(plan)
    plan = plans.plan_update(plan=plan, group_boundary="関西製鉄、関西鋼管", acting_user=rep)
    assert "group_boundary" not in plans.plan_missing(plan)


# --- public pages ---------------------------------------------------------------------------------------

def test_the_public_finds_a_plan_by_kana_kanji_english_or_corporate_number(filing, make_user, make_organisation,
                                                                           client):
    filing.accepted()
    other = Filing(make_user, make_organisation, name="東洋セメント株式会社", name_kana="トウヨウセメント",
                   sector="cement")
    other.accepted()
    number = filing.entity.corporate_number
    url = reverse("public_plan_list")
    for query in ("かんさい", "ｶﾝｻｲ", "カンサイセイテツ", "関西", "kansai steel",
                  f"{number[0]}-{number[1:5]}-{number[5:9]}-{number[9:]}"):
        page = client.get(url, {"q": query}).content.decode()
        assert "Kansai Steel" in page and "東洋セメント" not in page, query
    cement = client.get(url, {"sector": "cement"}).content.decode()
    assert "東洋セメント" in cement and "Kansai Steel" not in cement
    assert "0 plans" in client.get(url, {"fiscal_year": 2027}).content.decode()
    csv = client.get(url, {"q": "とうよう", "export": "csv"}).content.decode("utf-8-sig")
    assert csv.splitlines()[1].startswith(other.entity.corporate_number) and len(csv.splitlines()) == 2


def test_an_unaccepted_plan_is_not_public(filing, client):
    plan = filing.complete_draft()
    plans.plan_file(plan=plan, acting_user=filing.rep)
    plans.plan_confirm(plan=plan, acting_user=filing.approver)
    assert client.get(reverse("public_plan", args=[filing.entity.pk, 2026])).status_code == 404
    assert "関西製鉄" not in client.get(reverse("public_plan_list")).content.decode()


def test_the_charts_values_are_the_tables(filing, client):
    filing.accepted()
    page = plans_page(filing.entity.pk)
    bars = {(int(fy), series): int(value) for fy, series, value in
            re.findall(r'<rect class="bar \w+" [^>]*data-fiscal-year="(\d+)" data-series="(\w+)" data-t="(\d+)"', page)}
    table = {}
    for fy, _kind, cells in re.findall(r'<tr data-fiscal-year="(\d+)" data-kind="(\w+)">(.*?)</tr>', page):
        for series, value in re.findall(r'data-series="(\w+)">([\d,]+)<', cells):
            table[(int(fy), series)] = int(value.replace(",", ""))
    assert bars == table == {(2025, "direct"): 110_000, (2025, "indirect"): 11_000, (2030, "projected"): 89_000}


def test_the_public_page_is_cached_and_refreshed_when_a_newer_version_is_accepted(
        filing, client, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    with django_capture_on_commit_callbacks(execute=True):
        filing.accepted(direct_2030=80_000)
    assert "89,000" in plans_page(filing.entity.pk, client=client)
    with django_assert_max_num_queries(3):  # the cache and the session, not the plan's tables
        assert "89,000" in plans_page(filing.entity.pk, client=client)
    with django_capture_on_commit_callbacks(execute=True):
        plan = plans.plan_create(organisation=filing.entity, fiscal_year=2026, acting_user=filing.rep)
        filing.complete_draft(plan, direct_2030=70_000)
        plans.plan_file(plan=plan, acting_user=filing.rep)
        plans.plan_confirm(plan=plan, acting_user=filing.approver)
        plans.plan_accept(plan=plan, acting_user=filing.admin)
    page = plans_page(filing.entity.pk, client=client)
    assert "79,000" in page and "89,000" not in page


def test_a_plan_document_is_public_only_once_its_plan_is_accepted(filing, client, signed_in):
    from django.core.files.uploadedfile import SimpleUploadedFile

    plan = filing.complete_draft()
    document = plans.plan_document_add(plan=plan, title="統合報告書", acting_user=filing.rep,
                                       upload=SimpleUploadedFile("report.pdf", b"%PDF-1.4 report"))
    url = reverse("plan_document", args=[document.pk])
    assert client.get(url).status_code == 404
    signed_in(filing.viewer)
    assert client.get(url).status_code == 200
    client.logout()
    plans.plan_file(plan=plan, acting_user=filing.rep)
    plans.plan_confirm(plan=plan, acting_user=filing.approver)
    plans.plan_accept(plan=plan, acting_user=filing.admin)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 report"
    with pytest.raises(RegistryError) as refused:
        plans.plan_document_add(plan=plans.plan_create(organisation=filing.entity, fiscal_year=2026,
                                                       acting_user=filing.rep),
                                title="Not a PDF", upload=SimpleUploadedFile("x.pdf", b"MZ..."), acting_user=filing.rep)
    assert refused.value.field == "file"


def test_the_entity_page_of_the_registry_report_lists_each_fiscal_year_and_links_the_plan(filing, client):
    from accounts import ledger
    from accounts.services import system_actor

    ledger.holding_account_open(kind="operator_holding", organisation=filing.entity, acting_user=system_actor())
    VerifiedEmissions.objects.create(organisation=filing.entity, fiscal_year=2026, emissions_t=98_765,
                                     entered_by=filing.admin)
    filing.accepted()
    url = reverse("registry_report_entity", args=[filing.entity.pk])
    page = client.get(url).content.decode()
    assert "98,765" in page and reverse("public_plan", args=[filing.entity.pk, 2026]) in page
    csv = client.get(url, {"export": "csv"}).content.decode("utf-8-sig").splitlines()
    assert csv[1].split(",")[:2] == [filing.entity.corporate_number, "関西製鉄株式会社"] and "98765" in csv[1]


def test_each_person_sees_the_plan_waiting_for_them_on_the_dashboard(filing, client, signed_in):
    from django.test import Client

    def dashboard(user):
        browser = Client()
        signed_in(user, browser)
        return browser.get(reverse("dashboard")).content.decode()

    url = reverse("transition_plan", args=[filing.entity.pk, 2026])
    assert "File the FY2026 transition plan of Kansai Steel" in dashboard(filing.rep)
    assert url in dashboard(filing.rep) and url not in dashboard(filing.approver)
    plan = filing.complete_draft()
    plans.plan_file(plan=plan, acting_user=filing.rep)
    assert "Confirm the FY2026 transition plan" in dashboard(filing.approver)
    assert url not in dashboard(filing.rep) and url not in dashboard(filing.viewer)
    plans.plan_confirm(plan=plan, acting_user=filing.approver)
    assert "1 transition plan to review" in dashboard(filing.admin)
    plans.plan_return(plan=plan, message="More detail", acting_user=filing.admin)
    assert "Revise the FY2026 transition plan" in dashboard(filing.rep)


def test_the_review_queue_lists_submitted_plans_and_the_fys_filing_progress(filing, client, signed_in):
    plan = filing.complete_draft()
    plans.plan_file(plan=plan, acting_user=filing.rep)
    plans.plan_confirm(plan=plan, acting_user=filing.approver)
    signed_in(filing.admin)
    page = client.get(reverse("plan_review_queue"), {"fiscal_year": 2026}).content.decode()
    assert plan.get_absolute_url() in page
    progress = plans.filing_progress(2026)
    assert dict((status, n) for _label, status, n in progress["counts"])["submitted"] == 1
    assert progress["none"] == progress["total"] - 1


def test_a_draft_of_a_later_fy_is_on_the_dashboard_too(filing, client, signed_in):
    CompliancePeriod.objects.create(fiscal_year=2027, surrender_deadline=date(2028, 11, 30),
                                    upper_limit_price_yen=4500, lower_limit_price_yen=1700)
    filing.accepted()  # FY2026 done
    plans.plan_create(organisation=filing.entity, fiscal_year=2027, acting_user=filing.rep)
    signed_in(filing.rep)
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("transition_plan", args=[filing.entity.pk, 2027]) in page
    assert reverse("transition_plan", args=[filing.entity.pk, 2026]) not in page


def test_every_wrong_figure_of_the_emissions_grid_is_named_on_the_page_at_once(filing, client, signed_in):
    plan = filing.complete_draft()
    before = list(plan.emissions.values_list("kind", "fiscal_year", "direct_t", "indirect_t"))
    signed_in(filing.rep)
    response = client.post(reverse("transition_plan", args=[filing.entity.pk, 2026]), {
        "form": "emissions", "projected_2027_direct": "-5", "projected_2028_indirect": "1.5",
        "projected_2029_indirect": "7"})  # a direct figure left out beside its indirect one
    assert response.status_code == 400
    errors = response.context["emissions_form"].errors
    assert set(errors) == {"projected_2027_direct", "projected_2028_indirect", "projected_2029_direct"}
    assert errors["projected_2029_direct"] == ["Enter the direct emissions too."]
    page = response.content.decode()  # the summary above the form links each message to its field
    for field, message in (("projected_2027_direct", "FY2027 direct: Enter a whole number of tonnes, e.g. 125000."),
                           ("projected_2028_indirect", "FY2028 indirect: Enter a whole number of tonnes, e.g. 125000."),
                           ("projected_2029_direct", "FY2029 direct: Enter the direct emissions too.")):
        assert f'<a href="#id_emissions_{field}">{message}</a>' in page
    assert list(plan.emissions.values_list("kind", "fiscal_year", "direct_t", "indirect_t")) == before
