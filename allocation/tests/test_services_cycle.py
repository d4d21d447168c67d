"""The FY's allocation cycle through its services: period, application, review, approval, run, notice, correction."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from pypdf import PdfReader

from accounts import ledger
from accounts.models import Balance, CompliancePeriod, HoldingAccount, LedgerTransaction, Organisation
from accounts.roles import Role
from accounts.services import system_actor
from allocation.labels import line_label
from allocation.models import (
    AllocationApplication,
    AllocationNotice,
    AllocationParameterSet,
    AllocationRun,
    Facility,
    Process,
    ProcessYear,
    SectorBenchmark,
)
from allocation.services import cycle, notices
from conftest import fresh_code
from gxregistry.errors import ErrorCode, RegistryError

pytestmark = pytest.mark.django_db
S = AllocationApplication.Status


def add_grandfathered_facility(organisation, emissions=100_000, code="F1"):
    """A facility whose one GF energy process emitted ``emissions`` t in each baseline year: FY2026 allocates
    emissions x (1 - 0.017 x 1)."""
    facility = Facility.objects.create(organisation=organisation, code=code, name=f"{code} 工場", prefecture=13,
                                       energy_use_kl=5000, opened_on=date(1990, 4, 1))
    process = Process.objects.create(facility=facility, code="GF", name="ボイラー", method="grandfathering",
                                     emission_type="energy")
    for fy in (2023, 2024, 2025):
        ProcessYear.objects.create(process=process, fiscal_year=fy, emissions_t=emissions)
    return facility


class Cycle:
    """Two entities of one FY, their representatives and two administrators, through the real services."""

    def __init__(self, make_user, make_organisation, fiscal_year=2026, more=0):
        self.fiscal_year = fiscal_year
        self.admin = make_user(Role.REGISTRY_ADMINISTRATOR)
        self.admin2 = make_user(Role.REGISTRY_ADMINISTRATOR, self.admin.memberships.get().organisation)
        self.entities, self.reps, self.accounts = [], [], []
        entities = [("日本製鉄テスト", 100_000), ("東洋セメントテスト", 200_000)]
        entities += [(f"追加エンティティ{n:03d}", 100_000 + 1_000 * n) for n in range(more)]
        for name, emissions in entities:
            entity = make_organisation(name=name, name_en=f"{name} (EN)")
            add_grandfathered_facility(entity, emissions)
            self.entities.append(entity)
            self.reps.append(make_user(Role.AUTHORISED_REPRESENTATIVE, entity))
            self.accounts.append(ledger.holding_account_open(kind="operator_holding", organisation=entity,
                                                             acting_user=system_actor()))

    def open_period(self, **changes):
        values = dict(fiscal_year=self.fiscal_year, surrender_deadline=date(self.fiscal_year + 2, 1, 31),
                      upper_limit_price_yen="4300", lower_limit_price_yen="1700", credit_cap_share="0.10")
        values.update(changes)
        return cycle.compliance_period_save(acting_user=self.admin, **values)

    def approved(self, index=0):
        application = cycle.application_create(organisation=self.entities[index], fiscal_year=self.fiscal_year,
                                               acting_user=self.reps[index])
        cycle.application_submit(application=application, acting_user=self.reps[index])
        cycle.application_review_start(application=application, acting_user=self.admin)
        cycle.application_compute(application=application, acting_user=self.admin)
        return cycle.application_approve(application=application, acting_user=self.admin2,
                                         otp_token=fresh_code(self.admin2))

    def fund_reserve(self, quantity):
        ledger.issue_allowances(vintage=self.fiscal_year, quantity=quantity,
                                idempotency_key=f"reserve-{self.fiscal_year}-{quantity}")

    def run(self, capture):
        with capture(execute=True):
            return cycle.allocation_run_start(fiscal_year=self.fiscal_year, acting_user=self.admin,
                                              otp_token=fresh_code(self.admin))


@pytest.fixture
def fy(make_user, make_organisation):
    return Cycle(make_user, make_organisation)


def holding(account, vintage=2026):
    return Balance.objects.filter(account=account, vintage=vintage).values_list("quantity", flat=True).first() or 0


def reserve_holds(vintage=2026):
    return holding(ledger.government_account(HoldingAccount.Kind.ALLOCATION_RESERVE), vintage)


# --- compliance periods -------------------------------------------------------------------------------------

def test_an_administrator_opens_a_period_with_its_parameters_and_official_values(fy):
    SectorBenchmark.objects.create(key="cement.clinker", name="Clinker", kind="product")
    period = fy.open_period(parameters={"gf_process_rate": "0.010", "bm_special_measure_factor": "0.92"},
                            official_values={"cement.clinker": "0.85"})
    assert period.upper_limit_price_yen == 4300 and period.surrender_deadline == date(2028, 1, 31)
    assert AllocationParameterSet.objects.get(fiscal_year=2026).values == {
        "gf_process_rate": "0.010", "bm_special_measure_factor": "0.92"}
    assert SectorBenchmark.objects.get(key="cement.clinker").official_values.get(fiscal_year=2026).value == Decimal(
        "0.85")
    # A second save changes the same period: the parameter left out is no longer an FY change.
    fy.open_period(upper_limit_price_yen="4500", parameters={"gf_process_rate": "0.012"})
    assert CompliancePeriod.objects.get(fiscal_year=2026).upper_limit_price_yen == 4500
    assert AllocationParameterSet.objects.get(fiscal_year=2026).values == {"gf_process_rate": "0.012"}


@pytest.mark.parametrize(("changes", "field"), [
    ({"surrender_deadline": date(2027, 3, 31)}, "surrender_deadline"),
    ({"upper_limit_price_yen": "1000"}, "upper_limit_price_yen"),
    ({"lower_limit_price_yen": "abc"}, "lower_limit_price_yen"),
    ({"credit_cap_share": "1.5"}, "credit_cap_share"),
    ({"parameters": {"gf_proces_rate": "0.01"}}, "parameters"),
    ({"parameters": {"gf_process_rate": "many"}}, "parameters"),
    ({"official_values": {"nope": "1.0"}}, "official_nope"),
])
def test_a_bad_period_is_refused_naming_the_field_and_nothing_is_saved(fy, changes, field):
    with pytest.raises(RegistryError) as refused:
        fy.open_period(**changes)
    assert refused.value.field == field
    assert not CompliancePeriod.objects.exists() and not AllocationParameterSet.objects.exists()


def test_every_wrong_field_of_a_period_is_named_at_once_and_nothing_is_saved(fy):
    with pytest.raises(RegistryError) as refused:
        fy.open_period(surrender_deadline=date(2027, 3, 31), lower_limit_price_yen="abc", credit_cap_share="1.5",
                       parameters={"gf_proces_rate": "0.01"})
    assert [refusal.field for refusal in refused.value.refusals()] == [
        "surrender_deadline", "lower_limit_price_yen", "credit_cap_share", "parameters"]  # not "upper < lower" too
    assert not CompliancePeriod.objects.exists() and not AllocationParameterSet.objects.exists()


def test_the_period_page_shows_every_wrong_field_at_its_field(fy, client, signed_in):
    signed_in(fy.admin)
    response = client.post(reverse("compliance_period_edit", args=[2026]), {
        "surrender_deadline": "2027-01-31", "upper_limit_price_yen": "1000", "lower_limit_price_yen": "1700",
        "credit_cap_share": "2"})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "surrender_deadline": ["The surrender deadline comes after the FY ends (31 March 2027)."],
        "upper_limit_price_yen": ["The upper limit price must be at least the lower limit price."],
        "credit_cap_share": ["Enter a number from 0 to 1."]}
    assert not CompliancePeriod.objects.exists()


def test_only_an_administrator_opens_a_period(fy):
    with pytest.raises(RegistryError) as refused:
        cycle.compliance_period_save(
            fiscal_year=2026, surrender_deadline=date(2028, 1, 31), upper_limit_price_yen=4300,
            lower_limit_price_yen=1700, credit_cap_share="0.1", acting_user=fy.reps[0])
    assert refused.value.code == ErrorCode.NOT_PERMITTED and not CompliancePeriod.objects.exists()


def test_the_terms_are_fixed_once_the_fy_is_allocated(fy, django_capture_on_commit_callbacks):
    fy.open_period()
    fy.approved()
    fy.fund_reserve(1_000_000)
    fy.run(django_capture_on_commit_callbacks)
    with pytest.raises(RegistryError) as refused:
        fy.open_period(upper_limit_price_yen="9999")
    assert refused.value.code == ErrorCode.INVALID_STATE
    assert CompliancePeriod.objects.get(fiscal_year=2026).upper_limit_price_yen == 4300


# --- applications -------------------------------------------------------------------------------------------

def test_applications_open_with_the_period_once_per_entity(fy):
    with pytest.raises(RegistryError) as refused:
        cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    assert refused.value.field == "fiscal_year"
    fy.open_period()
    cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    with pytest.raises(RegistryError) as refused:
        cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    assert refused.value.code == ErrorCode.DUPLICATE


def test_a_close_stakeholder_applies_through_its_notifying_entity(fy, make_organisation):
    from accounts.models import CloseStakeholder, JointNotificationGroup

    fy.open_period()
    member = fy.entities[1]
    group = JointNotificationGroup.objects.create(name="グループ", notifying_entity=fy.entities[0])
    CloseStakeholder.objects.create(group=group, entity=member, relationship="subsidiary")
    with pytest.raises(RegistryError) as refused:
        cycle.application_create(organisation=member, fiscal_year=2026, acting_user=fy.reps[1])
    assert fy.entities[0].name in str(refused.value.message)
    assert cycle.group_boundary(fy.entities[0]) == [fy.entities[0], member]


def test_evidence_is_kept_and_a_verification_body_cannot_confirm_rd(fy, make_organisation):
    fy.open_period()
    body = make_organisation(Organisation.Kind.VERIFICATION_BODY, name="検証機関テスト")
    application = cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    with pytest.raises(RegistryError) as refused:
        cycle.application_update(application=application, acting_user=fy.reps[0], rd_confirmed_by=body.name)
    assert refused.value.field == "rd_confirmed_by"
    with pytest.raises(RegistryError) as refused:
        cycle.application_update(application=application, acting_user=fy.reps[0], green_innovation_fund_share="2")
    assert refused.value.field == "green_innovation_fund_share"
    cycle.application_update(application=application, acting_user=fy.reps[0], gx_patents="特願2025-000001 Y02E",
                             green_innovation_fund_share="0.25", rd_confirmed_by="監査法人テスト")
    application.refresh_from_db()
    assert application.green_innovation_fund_share == Decimal("0.25") and "Y02E" in application.gx_patents


def test_the_transitions_are_refused_in_the_service_and_by_the_database(fy):
    fy.open_period()
    application = cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    with pytest.raises(RegistryError) as refused:  # draft -> under review skips submission
        cycle.application_review_start(application=application, acting_user=fy.admin)
    assert refused.value.code == ErrorCode.INVALID_STATE
    with pytest.raises(DatabaseError, match="Invalid transition"), transaction.atomic():  # nor can the admin
        AllocationApplication.objects.filter(pk=application.pk).update(status=S.APPROVED)


def test_the_reviewer_returns_it_with_a_message_and_the_entity_resubmits(fy):
    fy.open_period()
    application = cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    cycle.application_submit(application=application, acting_user=fy.reps[0])
    cycle.application_review_start(application=application, acting_user=fy.admin)
    with pytest.raises(RegistryError) as refused:
        cycle.application_return(application=application, message="  ", acting_user=fy.admin)
    assert refused.value.field == "message"
    returned = cycle.application_return(application=application, message="FY2024 の証拠を添付してください",
                                        acting_user=fy.admin)
    assert returned.status == S.RETURNED and "FY2024" in returned.returned_message
    with pytest.raises(RegistryError):  # the entity's act, not the administrator's
        cycle.application_submit(application=application, acting_user=fy.admin)
    assert cycle.application_submit(application=application, acting_user=fy.reps[0]).status == S.SUBMITTED


def test_computed_lines_are_fixed_and_a_second_administrator_approves_with_a_code(fy):
    fy.open_period()
    application = cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    cycle.application_submit(application=application, acting_user=fy.reps[0])
    cycle.application_review_start(application=application, acting_user=fy.admin)
    with pytest.raises(RegistryError) as refused:
        cycle.application_compute(application=application, acting_user=fy.admin, adjustment_t="-500")
    assert refused.value.field == "adjustment_reason"
    computed = cycle.application_compute(application=application, acting_user=fy.admin, adjustment_t="-300",
                                         adjustment_reason="リーマン級の需要急減 (§5-1(2))")
    assert computed.computed_total == 98_300 - 300  # 100,000 x (1 - 0.017 x 1), less the adjustment
    assert [line["kind"] for line in computed.computed_lines] == ["gf_energy"]
    with pytest.raises(RegistryError) as refused:  # the reviewer never approves their own computation
        cycle.application_approve(application=application, acting_user=fy.admin, otp_token=fresh_code(fy.admin))
    assert refused.value.code == ErrorCode.SAME_PERSON
    with pytest.raises(RegistryError) as refused:
        cycle.application_approve(application=application, acting_user=fy.admin2, otp_token="000000")
    assert refused.value.code == ErrorCode.WRONG_SECOND_FACTOR
    approved = cycle.application_approve(application=application, acting_user=fy.admin2,
                                         otp_token=fresh_code(fy.admin2))
    assert approved.status == S.APPROVED and approved.approved_by == fy.admin2
    with pytest.raises(IntegrityError), transaction.atomic():  # four eyes in the database too
        AllocationApplication.objects.filter(pk=application.pk).update(approved_by=fy.admin)


# --- the run ------------------------------------------------------------------------------------------------

def test_the_run_issues_every_approved_application_and_makes_its_notice(fy, django_capture_on_commit_callbacks):
    fy.open_period()
    first, second = fy.approved(0), fy.approved(1)
    fy.fund_reserve(300_000)
    run = fy.run(django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert (run.status, run.done, run.total, run.failures) == (AllocationRun.Status.FINISHED, 2, 2, [])
    assert holding(fy.accounts[0]) == 98_300 and holding(fy.accounts[1]) == 196_600
    assert reserve_holds() == 300_000 - 98_300 - 196_600
    first.refresh_from_db()
    assert first.status == S.ISSUED and first.issued_quantity == 98_300
    assert first.ledger_transaction.kind == LedgerTransaction.Kind.ALLOCATION
    assert AllocationNotice.objects.filter(application__in=[first, second]).count() == 2
    assert ledger.reconcile().clean


def test_the_run_is_refused_with_the_figures_for_an_underfunded_reserve_and_nothing_moves(
        fy, django_capture_on_commit_callbacks):
    fy.open_period()
    fy.approved(0), fy.approved(1)
    fy.fund_reserve(200_000)
    with pytest.raises(RegistryError) as refused:
        fy.run(django_capture_on_commit_callbacks)
    message = str(refused.value.message)
    assert "200,000" in message and "294,900" in message and "94,900" in message
    assert reserve_holds() == 200_000 and holding(fy.accounts[0]) == 0
    assert not AllocationRun.objects.exists()
    assert set(AllocationApplication.objects.values_list("status", flat=True)) == {S.APPROVED}


def test_one_run_per_fy_at_a_time_and_a_rerun_books_nothing_twice(fy, django_capture_on_commit_callbacks):
    fy.open_period()
    application = fy.approved(0)
    fy.fund_reserve(100_000)
    running = AllocationRun.objects.create(fiscal_year=2026, started_by=fy.admin, total=1)
    with pytest.raises(RegistryError) as refused:
        fy.run(django_capture_on_commit_callbacks)
    assert "in progress" in str(refused.value.message)
    # The job again on the same run (a worker retried it): the issued application is skipped.
    cycle.allocation_run_execute(running.pk)
    cycle.allocation_run_execute(running.pk)
    issued = cycle.application_issue(application=application, acting_user=fy.admin)
    assert holding(fy.accounts[0]) == 98_300
    assert LedgerTransaction.objects.filter(kind="allocation").count() == 1
    assert issued.status == S.ISSUED
    running.refresh_from_db()
    assert (running.done, running.status) == (1, AllocationRun.Status.FINISHED)


def test_a_failure_is_listed_with_its_reason_and_the_run_goes_on(fy, django_capture_on_commit_callbacks):
    fy.open_period()
    fy.approved(0), fy.approved(1)
    HoldingAccount.objects.filter(pk=fy.accounts[0].pk).update(state=HoldingAccount.State.CLOSED)
    fy.fund_reserve(300_000)
    run = fy.run(django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.FINISHED_WITH_FAILURES and run.done == 1
    assert [f["entity"] for f in run.failures] == [str(fy.entities[0])]
    assert "closed" in run.failures[0]["reason"]
    assert holding(fy.accounts[1]) == 196_600


def test_the_job_cannot_issue_for_someone_who_may_not(fy):
    fy.open_period()
    application = fy.approved(0)
    fy.fund_reserve(100_000)
    with pytest.raises(RegistryError) as refused:
        cycle.application_issue(application=application, acting_user=fy.reps[0])
    assert refused.value.code == ErrorCode.NOT_PERMITTED and holding(fy.accounts[0]) == 0


# --- corrections and notices --------------------------------------------------------------------------------

def test_a_correction_books_only_the_difference_and_its_notice_names_the_one_it_supersedes(
        fy, django_capture_on_commit_callbacks):
    fy.open_period()
    original = fy.approved(0)
    fy.fund_reserve(200_000)
    fy.run(django_capture_on_commit_callbacks)
    ProcessYear.objects.filter(process__facility__organisation=fy.entities[0]).update(emissions_t=90_000)
    correction = cycle.application_correct(application=original, reason="FY2024 の検証済み排出量の訂正",
                                           acting_user=fy.admin)
    original.refresh_from_db()
    assert original.status == S.ISSUED  # in force until the correction is issued
    cycle.application_compute(application=correction, acting_user=fy.admin)
    cycle.application_approve(application=correction, acting_user=fy.admin2, otp_token=fresh_code(fy.admin2))
    fy.run(django_capture_on_commit_callbacks)
    correction.refresh_from_db()
    original.refresh_from_db()
    assert correction.computed_total == 88_470 and correction.issued_quantity == 88_470 - 98_300
    assert (original.status, correction.status) == (S.SUPERSEDED, S.ISSUED)
    assert holding(fy.accounts[0]) == 88_470 and reserve_holds() == 200_000 - 88_470
    corrected = correction.notice
    assert corrected.supersedes == original.notice
    verdict = notices.notice_verification(number=original.notice.number, sha256=original.notice.sha256)
    assert verdict.matches and verdict.superseded_by == corrected
    assert ledger.reconcile().clean


def test_the_notice_pdf_states_the_entity_the_quantities_and_its_japanese_title(fy, django_capture_on_commit_callbacks):
    fy.open_period()
    application = fy.approved(0)
    fy.fund_reserve(100_000)
    fy.run(django_capture_on_commit_callbacks)
    notice = AllocationNotice.objects.get(application=application)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(bytes(notice.pdf))).pages)
    for expected in ("割当通知書", "Allocation notice", fy.entities[0].name, fy.entities[0].corporate_number,
                     "98,300", fy.accounts[0].number, notice.number, notice.sha256):
        assert expected in text.replace("\n", ""), expected
    assert notice.sha256 == notices.content_hash(notice.content)
    # Made once: asking again returns the stored notice.
    assert notices.notice_create(application=application, acting_user=fy.admin).pk == notice.pk


def test_the_notice_prints_every_engine_line_on_one_row_with_its_figures_and_facility(
        fy, django_capture_on_commit_callbacks):
    fy.open_period()
    application = fy.approved(0)
    fy.fund_reserve(100_000)
    fy.run(django_capture_on_commit_callbacks)
    notice = AllocationNotice.objects.get(application=application)
    rows = "".join(page.extract_text() for page in PdfReader(io.BytesIO(bytes(notice.pdf))).pages).splitlines()
    assert notice.content["lines"]
    for line in notice.content["lines"]:
        amount = notices._figure(line["amount"], 3)
        row = next((row for row in rows if row.strip().startswith(amount) and (line["facility"] or "—") in row), None)
        assert row is not None, (amount, line["facility"])
        assert line["section"] in row and str(line_label(line["kind"])) in row
        if line["factor"] is not None:
            assert notices._figure(line["factor"], 6) in row and notices._figure(line["baseline"], 3) in row


def test_the_notice_grid_lines_figures_up_in_columns_and_indents_what_wraps():
    lines = [{"label": ("製品ベンチマーク", "Product benchmark"), "facility": "第1工場", "process": "高炉",
              "baseline": "1234567.8915", "baseline_unit": "t", "factor": "0.5", "amount": "617283.94575",
              "section": "§5-1(1)"},
             {"label": ("廃止控除", "Closure deduction"), "facility": "Plant B", "process": None, "baseline": None,
              "baseline_unit": "", "factor": None, "amount": "-12.5", "section": "§5-1(2)"}]
    grid = notices.notice_grid(lines, adjustment=(-300, "景気の急激な悪化"))
    first, second, adjustment = grid["rows"]
    # Half-up rounding as the pages print figures; each fixed column ends where the heading's does.
    assert first.startswith("     617,283.946  ") and "1,234,567.892 t" in first and "0.500000" in first
    assert first.endswith("製品ベンチマーク　第1工場 / 高炉") and second.endswith("廃止控除　Plant B")
    assert "-300" in adjustment and "§5-1(2)" in adjustment and adjustment.endswith("景気の急激な悪化")
    wheres = ("区分・施設・工程", "Line, facility, process", "製品ベンチマーク　第1工場 / 高炉", "廃止控除　Plant B",
              "調整 Administrator's adjustment　景気の急激な悪化")
    for row, where in zip((*grid["head"], *grid["rows"]), wheres, strict=True):
        # The kind and facility start at the same column on every row (a wide character takes two).
        assert row.endswith(where) and notices._columns(row) - notices._columns(where) == grid["indent"]
    assert len({notices._columns(row[:row.index("§")]) for row in (first, second, grid["head"][1])}) == 1


def test_the_verify_page_accepts_the_real_hash_and_refuses_a_changed_one(fy, client, django_capture_on_commit_callbacks):
    fy.open_period()
    application = fy.approved(0)
    fy.fund_reserve(100_000)
    fy.run(django_capture_on_commit_callbacks)
    notice = application.notice
    real = client.get("/notices/verify/", {"number": notice.number, "sha256": notice.sha256})
    assert real.status_code == 200 and "was issued by the registry" in real.content.decode()
    assert "98,300" in real.content.decode()
    changed = notice.sha256[:-1] + ("0" if notice.sha256[-1] != "0" else "1")
    forged = client.get("/notices/verify/", {"number": notice.number, "sha256": changed})
    assert "No notice with this document number" in forged.content.decode()
    assert "98,300" not in forged.content.decode()


def test_each_state_that_waits_for_someone_emails_them_with_the_action_and_the_link(
        fy, mailoutbox, django_capture_on_commit_callbacks):
    from accounts.models import User

    fy.open_period()
    User.objects.filter(pk=fy.admin2.pk).update(language="en")  # the one they last chose on a page
    with django_capture_on_commit_callbacks(execute=True):
        application = cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
        cycle.application_submit(application=application, acting_user=fy.reps[0])
    review = {m.to[0]: m for m in mailoutbox}
    assert set(review) == {fy.admin.email, fy.admin2.email}
    assert review[fy.admin.email].subject == f"[GX-ETS] 審査してください：{fy.entities[0].name}の2026年度の割当申請"
    assert review[fy.admin2.email].subject == (f"[GX-ETS] Review: the FY2026 allocation application of "
                                               f"{fy.entities[0].name_en}")
    assert application.get_absolute_url() in review[fy.admin.email].body
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cycle.application_review_start(application=application, acting_user=fy.admin)
        cycle.application_return(application=application, message="根拠資料を添付してください", acting_user=fy.admin)
    assert [m.to for m in mailoutbox] == [[fy.reps[0].email]] and "根拠資料" in mailoutbox[0].body
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cycle.application_submit(application=application, acting_user=fy.reps[0])
        mailoutbox.clear()
        cycle.application_review_start(application=application, acting_user=fy.admin)
        cycle.application_compute(application=application, acting_user=fy.admin)
    approve = [m for m in mailoutbox if m.subject.startswith("[GX-ETS] Approve:")]
    assert [m.to for m in approve] == [[fy.admin2.email]]  # not the reviewer: they may not approve


def test_a_deduction_larger_than_the_allocation_is_carried_to_the_next_fy(fy):
    fy.open_period()
    fy.open_period(fiscal_year=2027, surrender_deadline=date(2029, 1, 31))
    first = cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    cycle.application_submit(application=first, acting_user=fy.reps[0])
    cycle.application_review_start(application=first, acting_user=fy.admin)
    first = cycle.application_compute(application=first, acting_user=fy.admin, adjustment_t=-150_000,
                                      adjustment_reason="生産量の急減（経済危機）")
    assert (first.computed_total, first.carried_forward_t) == (0, 150_000 - 98_300)
    cycle.application_approve(application=first, acting_user=fy.admin2, otp_token=fresh_code(fy.admin2))
    cycle.application_issue(application=first, acting_user=fy.admin)  # 0 allowances: nothing is booked

    second = cycle.application_create(organisation=fy.entities[0], fiscal_year=2027, acting_user=fy.reps[0])
    cycle.application_submit(application=second, acting_user=fy.reps[0])
    cycle.application_review_start(application=second, acting_user=fy.admin)
    second = cycle.application_compute(application=second, acting_user=fy.admin)
    # FY2027 allocates 100,000 x (1 - 0.017 x 2) = 96,600, less what FY2026 could not take.
    assert second.carried_in_t == 51_700 and second.computed_total == 96_600 - 51_700
    assert second.carried_forward_t == 0
    assert second.computed_lines[-1]["kind"] == "carried_deduction"
    assert second.computed_lines[-1]["amount"] == "-51700"


def test_later_true_ups_read_the_main_lines_as_issued_and_in_force(fy, django_capture_on_commit_callbacks):
    from allocation import adapter

    fy.open_period()
    application = fy.approved(0)
    fy.fund_reserve(100_000)
    assert adapter.issued_main_lines([fy.entities[0].pk]) == {}  # approved is not issued
    fy.run(django_capture_on_commit_callbacks)
    assert adapter.issued_main_lines([fy.entities[0].pk]) == {
        fy.entities[0].pk: {("F1", "GF", 2026): Decimal("98300.000")}}
    entity = adapter.entity_inputs([fy.entities[0]])[0]
    assert entity.issued_main == {("F1", "GF", 2026): Decimal("98300.000")}
    cycle.application_correct(application=application, reason="訂正", acting_user=fy.admin)
    # The correction is not in force until issued: the issued version still counts.
    assert adapter.issued_main_lines([fy.entities[0].pk])[fy.entities[0].pk][("F1", "GF", 2026)] == Decimal("98300")


def test_the_entity_gives_last_years_figures_and_the_reviewer_confirms_the_rd_evidence(fy):
    from allocation.models import EntityFinancials

    fy.open_period()
    application = cycle.application_create(organisation=fy.entities[0], fiscal_year=2026, acting_user=fy.reps[0])
    with pytest.raises(RegistryError) as refused:  # every wrong figure named at once, nothing kept
        cycle.application_financials_save(application=application, acting_user=fy.reps[0], sales_yen="-1",
                                          gx_rd_spend_yen="1.5", operating_profit_yen="-7")
    assert [(refusal.field, str(refusal.message)) for refusal in refused.value.refusals()] == [
        ("sales_yen", "Enter an amount of zero or more."), ("gx_rd_spend_yen", "Enter a whole amount in yen.")]
    assert not EntityFinancials.objects.exists()
    cycle.application_financials_save(application=application, acting_user=fy.reps[0],
                                      operating_profit_yen="-2,000,000,000", sales_yen="500000000000",
                                      gx_rd_spend_yen="3000000000", government_rd_support_yen="")
    figures = EntityFinancials.objects.get(organisation=fy.entities[0], fiscal_year=2025)
    assert figures.operating_profit_yen == -2_000_000_000 and figures.government_rd_support_yen == 0
    assert not figures.rd_evidence_confirmed
    cycle.application_submit(application=application, acting_user=fy.reps[0])
    with pytest.raises(RegistryError):  # submitted: the figures are fixed for the review
        cycle.application_financials_save(application=application, acting_user=fy.reps[0], sales_yen="1")
    cycle.application_review_start(application=application, acting_user=fy.admin)
    cycle.application_compute(application=application, acting_user=fy.admin, rd_evidence_confirmed=True)
    figures.refresh_from_db()
    assert figures.rd_evidence_confirmed and figures.sales_yen == 500_000_000_000
