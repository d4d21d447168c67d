"""The transfer workflow with a fixed clock: four eyes, delays, Japanese holidays, trusted lists."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError

from accounts import ledger
from accounts.ledger import transfers
from accounts.models import HoldingAccount, LedgerTransaction, TransferRequest
from accounts.roles import Role
from accounts.services import system_actor
from accounts.tests.ledger_fixtures import held, key
from conftest import fresh_code as otp
from gxregistry.errors import RegistryError

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
ALLOWANCE = ledger.allowance(2026)


def jst(*args):
    return datetime(*args, tzinfo=TOKYO)



@pytest.fixture
def company(make_user, make_organisation):
    organisation = make_organisation()
    initiator = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=organisation)
    approver = make_user(Role.APPROVING_REPRESENTATIVE, organisation=organisation)
    second_initiator = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=organisation)
    source = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING, organisation=organisation)
    destination = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING,
                                              organisation=make_organisation())
    ledger.issue_allowances(vintage=2026, quantity=1000, idempotency_key=key())
    ledger.allocation_transfer(account=source, vintage=2026, quantity=1000, idempotency_key=key())
    return {"initiator": initiator, "approver": approver, "second": second_initiator, "source": source,
            "destination": destination}


def initiate(c, quantity=100, now=None, user=None):
    user = user or c["initiator"]
    return transfers.transfer_initiate(source=c["source"], destination=c["destination"], unit=ALLOWANCE,
                                       quantity=quantity, acting_user=user, otp_token=otp(user),
                                       now=now or jst(2026, 11, 20, 15))


def approve(c, request, now):
    return transfers.transfer_approve(request=request, acting_user=c["approver"], otp_token=otp(c["approver"]),
                                      now=now)


def test_the_initiator_can_never_approve(company):
    request = initiate(company)
    with pytest.raises(RegistryError, match="cannot approve"):
        transfers.transfer_approve(request=request, acting_user=company["initiator"],
                                   otp_token=otp(company["initiator"]), now=jst(2026, 11, 20, 16))
    with pytest.raises(IntegrityError):  # and the database refuses it too
        TransferRequest.objects.filter(pk=request.pk).update(decided_by=company["initiator"])


def test_the_approving_representatives_are_told_a_transfer_waits_for_them(company, mailoutbox,
                                                                          django_capture_on_commit_callbacks):
    from accounts.models import User

    User.objects.filter(pk=company["approver"].pk).update(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        request = initiate(company, quantity=120)
    assert [m.to for m in mailoutbox] == [[company["approver"].email]]
    mail = mailoutbox[0]
    assert mail.subject == f"[GX-ETS] Approve: transfer of 120 t from {company['source'].number}"
    assert f"/holding-accounts/{request.source_id}/transfers/" in mail.body


def test_a_wrong_second_factor_code_is_refused_and_nothing_is_created(company):
    with pytest.raises(RegistryError, match="second-factor"):
        transfers.transfer_initiate(source=company["source"], destination=company["destination"], unit=ALLOWANCE,
                                    quantity=5, acting_user=company["initiator"], otp_token="000000")
    assert not TransferRequest.objects.exists()


def test_a_viewer_or_another_company_cannot_initiate(company, make_user):
    for user in (make_user(Role.VIEWER, organisation=company["source"].organisation), make_user(
            Role.AUTHORISED_REPRESENTATIVE)):
        with pytest.raises(RegistryError, match="may not"):
            initiate(company, user=user)


def test_delayed_transfer_waits_over_a_japanese_holiday_until_noon(company):
    # Approved Friday 20 Nov 2026 15:00 JST; Monday 23 Nov is Labour Thanksgiving Day.
    request = approve(company, initiate(company), jst(2026, 11, 20, 15, 30))
    assert request.status == TransferRequest.Status.SCHEDULED
    assert request.execute_after == jst(2026, 11, 24, 12)
    assert transfers.transfers_execute_due(now=jst(2026, 11, 23, 12)) == 0
    assert transfers.transfers_execute_due(now=jst(2026, 11, 24, 11, 59)) == 0
    assert held(company["destination"]) == 0
    assert transfers.transfers_execute_due(now=jst(2026, 11, 24, 12)) == 1
    assert (held(company["source"]), held(company["destination"])) == (900, 100)


def test_cancel_during_the_delay(company):
    request = approve(company, initiate(company), jst(2026, 11, 20, 15, 30))
    transfers.transfer_cancel(request=request, acting_user=company["second"])
    assert transfers.transfers_execute_due(now=jst(2026, 11, 25, 12)) == 0
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.CANCELLED and held(company["destination"]) == 0
    with pytest.raises(RegistryError, match="no longer"):
        transfers.transfer_cancel(request=request, acting_user=company["second"])


def test_trusted_account_is_active_from_noon_on_the_fourth_working_day_across_a_holiday(company):
    entry = transfers.trusted_account_propose(account=company["source"], trusted=company["destination"],
                                              acting_user=company["initiator"])
    with pytest.raises(RegistryError, match="second representative"):
        transfers.trusted_account_confirm(entry=entry, acting_user=company["initiator"],
                                          otp_token=otp(company["initiator"]), now=jst(2026, 11, 18, 10))
    entry = transfers.trusted_account_confirm(entry=entry, acting_user=company["second"],
                                              otp_token=otp(company["second"]), now=jst(2026, 11, 18, 10))
    # Thu 19, Fri 20, (Mon 23 holiday), Tue 24, Wed 25.
    assert entry.active_from == jst(2026, 11, 25, 12)
    before = approve(company, initiate(company, now=jst(2026, 11, 25, 11)), jst(2026, 11, 25, 11, 59))
    assert before.status == TransferRequest.Status.SCHEDULED
    after = approve(company, initiate(company, quantity=50, now=jst(2026, 11, 25, 12)), jst(2026, 11, 25, 12))
    assert after.status == TransferRequest.Status.EXECUTED and held(company["destination"]) == 50
    transfers.trusted_account_remove(entry=entry, acting_user=company["initiator"], now=jst(2026, 11, 26, 9))
    removed = approve(company, initiate(company, quantity=10, now=jst(2026, 11, 26, 9)), jst(2026, 11, 26, 9, 1))
    assert removed.status == TransferRequest.Status.SCHEDULED


def test_a_suspended_representative_is_refused_with_the_reason(company, make_user):
    membership = company["initiator"].memberships.get()
    with pytest.raises(RegistryError, match="registry administrator"):
        transfers.membership_suspend(membership=membership, reason="Fake", acting_user=company["approver"])
    transfers.membership_suspend(membership=membership, reason="Under investigation",
                                 acting_user=make_user(Role.REGISTRY_ADMINISTRATOR))
    with pytest.raises(RegistryError, match="Under investigation"):
        initiate(company)


def test_execution_that_finds_the_units_gone_fails_cleanly(company):
    request = approve(company, initiate(company, quantity=1000), jst(2026, 11, 20, 15, 30))
    ledger.cancel_units(account=company["source"], unit=ALLOWANCE, quantity=1, idempotency_key=key())
    before = LedgerTransaction.objects.count()
    transfers.transfers_execute_due(now=jst(2026, 11, 24, 12))
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.FAILED and "holds 999" in request.failure
    assert LedgerTransaction.objects.count() == before and held(company["source"]) == 999


@pytest.mark.parametrize(("day", "working"), [
    (jst(2026, 11, 23).date(), False), (jst(2026, 11, 24).date(), True), (jst(2026, 11, 21).date(), False),
    (jst(2026, 12, 31).date(), False), (jst(2027, 1, 4).date(), True), (jst(2027, 1, 11).date(), False),
])
def test_working_days_follow_the_japanese_calendar(day, working):
    assert transfers.is_working_day(day) is working
