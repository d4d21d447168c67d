"""Conservation for every account, routes between account kinds, and compliance net of reversals (issue 10).

Each test names a class of defect found by an audit: a government account below zero, units routed where no
act records them, a reversed surrender still counted, a second pending issuance, a confirmation repeated.
"""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts import compliance, ledger
from accounts.ledger import administration, routes, transfers
from accounts.models import (
    BookingRequest,
    CompliancePeriod,
    HoldingAccount,
    LedgerTransaction,
    Organisation,
    SurrenderRecord,
    UpperLimitPayment,
    VerifiedEmissions,
)
from accounts.roles import Role
from accounts.services import system_actor
from accounts.tests.ledger_fixtures import funded, held, holding_account, key
from conftest import fresh_code as otp
from gxregistry.errors import ErrorCode, RegistryError

pytestmark = pytest.mark.django_db



def reserve():
    return ledger.government_account(HoldingAccount.Kind.ALLOCATION_RESERVE)


def reserve_held(vintage=2026):
    balance = reserve().balances.filter(unit_type="allowance", vintage=vintage).first()
    return balance.quantity if balance else 0


@pytest.fixture
def administrators(make_user):
    first = make_user(Role.REGISTRY_ADMINISTRATOR)
    second = make_user(Role.REGISTRY_ADMINISTRATOR, first.memberships.get().organisation)
    return first, second


# --- only the issuance account goes below zero --------------------------------------------------------

def test_the_allocation_reserve_cannot_hand_out_more_than_it_holds():
    ledger.issue_allowances(vintage=2026, quantity=100, idempotency_key=key())
    account = holding_account()
    with pytest.raises(RegistryError) as refused:
        ledger.allocation_transfer(account=account, vintage=2026, quantity=101, idempotency_key=key())
    assert refused.value.code == ErrorCode.INSUFFICIENT_UNITS and "holds 100" in str(refused.value.message)
    assert (reserve_held(), held(account)) == (100, 0)
    assert ledger.reconcile().clean


def test_a_cancellation_from_an_empty_reserve_is_approved_but_fails_and_moves_nothing(administrators):
    first, second = administrators
    request = administration.booking_request_create(kind="cancellation", vintage=2026, quantity=5, reason="r",
                                                    account=reserve(), acting_user=first)
    done = administration.booking_request_approve(request=request, acting_user=second, otp_token=otp(second))
    assert done.status == BookingRequest.Status.FAILED and "holds 0" in done.failure
    assert reserve_held() == 0 and ledger.reconcile().clean


@pytest.mark.parametrize("kind", [k for k in HoldingAccount.GOVERNMENT_KINDS if k != "issuance"])
def test_the_database_refuses_a_negative_balance_in_every_account_but_issuance(kind):
    account = ledger.government_account(kind)
    issuance = ledger.government_account(HoldingAccount.Kind.ISSUANCE)
    booking = LedgerTransaction.objects.create(kind="transfer", idempotency_key=key(), request_hash="x")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        # Past the booking function, straight into the entries: the balance CHECK is what stops it.
        cursor.execute("INSERT INTO accounts_ledgerentry (transaction_id, account_id, unit_type, vintage, quantity) "
                       "VALUES (%s, %s, 'allowance', 2026, -1), (%s, %s, 'allowance', 2026, 1)",
                       [booking.pk, account.pk, booking.pk, issuance.pk])


def test_reconciliation_raises_the_alarm_on_a_negative_balance_outside_issuance():
    account = funded(10)
    with connection.cursor() as cursor:  # only the database owner could: triggers and checks bypassed
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("ALTER TABLE accounts_balance DROP CONSTRAINT balance_not_negative_outside_issuance")
        cursor.execute("UPDATE accounts_balance SET quantity = -3 WHERE account_id = %s", [account.pk])
        cursor.execute("SET LOCAL session_replication_role = origin")
    report = ledger.reconcile()
    assert any(f"{account.number} holds -3" in d and "only the issuance account" in d for d in report.differences)


def test_reconciliation_checks_issued_equals_held_retired_and_cancelled(make_user):
    account = funded(100)
    ledger.cancel_units(account=account, unit=ledger.allowance(2026), quantity=10, idempotency_key=key())
    ledger.book(kind="surrender", idempotency_key=key(), moves=[ledger.Move(
        account, ledger.government_account("retirement"), ledger.allowance(2026), 30)])
    report = ledger.reconcile()
    assert report.clean and report.units["Allowance FY2026"] == (100, 60, 30, 10)


# --- routes between account kinds ------------------------------------------------------------------------

def test_the_database_route_function_agrees_with_the_table_in_code():
    kinds = HoldingAccount.Kind.values
    with connection.cursor() as cursor:
        for transaction_kind, source, destination in itertools.product(LedgerTransaction.Kind.values, kinds, kinds):
            cursor.execute("SELECT gx_ledger_route_allowed(%s, %s, %s)", [transaction_kind, source, destination])
            assert cursor.fetchone()[0] == routes.allowed(transaction_kind, source, destination), (
                transaction_kind, source, destination)


@pytest.mark.parametrize("kind", ["retirement", "cancellation", "issuance", "allocation_reserve"])
def test_a_holder_cannot_book_a_transfer_into_a_government_account(kind):
    account = funded(50)
    with pytest.raises(RegistryError) as refused:
        ledger.transfer_units(source=account, destination=ledger.government_account(kind),
                              unit=ledger.allowance(2026), quantity=5, idempotency_key=key())
    assert refused.value.code == ErrorCode.ROUTE_NOT_ALLOWED
    assert held(account) == 50 and ledger.reconcile().clean


def test_a_transfer_to_the_retirement_account_is_refused_at_initiation_naming_the_field(make_user):
    account = funded(50)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, account.organisation)
    with pytest.raises(RegistryError) as refused:
        transfers.transfer_initiate(source=account, destination=ledger.government_account("retirement"),
                                    unit=ledger.allowance(2026), quantity=5, acting_user=representative,
                                    otp_token=otp(representative))
    assert refused.value.code == ErrorCode.ROUTE_NOT_ALLOWED and refused.value.field == "destination"
    assert "Surrender (retirement) account" in str(refused.value.message)


def test_units_reach_retirement_only_by_a_surrender_which_compliance_counts():
    account = funded(50)
    with pytest.raises(RegistryError) as refused:
        ledger.book(kind="transfer", idempotency_key=key(), moves=[ledger.Move(
            account, ledger.government_account("retirement"), ledger.allowance(2026), 5)])
    assert refused.value.code == ErrorCode.ROUTE_NOT_ALLOWED


def test_a_reversal_moves_units_back_along_the_original_route_only():
    account = funded(50)
    allocation = LedgerTransaction.objects.filter(kind="allocation").latest("pk")
    ledger.reverse_transaction(original=allocation, idempotency_key=key())
    assert held(account) == 0 and reserve_held() == 50
    other = funded(5)
    transfer = ledger.transfer_units(source=other, destination=holding_account(), unit=ledger.allowance(2026),
                                     quantity=5, idempotency_key=key())
    reversal = ledger.reverse_transaction(original=transfer, idempotency_key=key())
    with pytest.raises(RegistryError):  # a reversal is never itself reversed
        ledger.reverse_transaction(original=reversal, idempotency_key=key())
    assert ledger.reconcile().clean


# --- compliance net of reversals ------------------------------------------------------------------------

@pytest.fixture
def surrendered(make_user):
    account = funded(1_000)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, account.organisation)
    system = system_actor()
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=Decimal(4300), lower_limit_price_yen=Decimal(1700))
    compliance.verified_emissions_record(organisation=account.organisation, fiscal_year=2026, emissions_t=800,
                                         acting_user=system)
    record = compliance.surrender(account=account, fiscal_year=2026, allowances={2026: 800},
                                  acting_user=representative, otp_token=otp(representative),
                                  idempotency_key=key())
    return account, record


def test_a_reversed_surrender_no_longer_counts_on_the_card_or_in_the_public_report(surrendered, administrators):
    account, record = surrendered
    organisation = account.organisation
    assert compliance.compliance_card(organisation=organisation, fiscal_year=2026).status == "compliant"
    first, second = administrators
    request = administration.reversal_request_create(original=record.ledger_transaction, reason="Wrong vintage",
                                                     acting_user=first)
    done = administration.booking_request_approve(request=request, acting_user=second, otp_token=otp(second))
    assert done.status == BookingRequest.Status.EXECUTED, done.failure
    card = compliance.compliance_card(organisation=organisation, fiscal_year=2026)
    assert (card.surrendered_allowances, card.shortfall_t, card.status) == (0, 800, "open")
    row = next(r for r in compliance.registry_report(fiscal_year=2026) if r.organisation == organisation)
    assert row.card.surrendered_allowances == 0 and held(account) == 1_000
    assert ledger.reconcile().clean


def test_a_transaction_is_reversed_once_at_most_and_never_by_the_one_who_asked(surrendered, administrators):
    _account, record = surrendered
    first, second = administrators
    request = administration.reversal_request_create(original=record.ledger_transaction, reason="r",
                                                     acting_user=first)
    with pytest.raises(RegistryError) as pending:
        administration.reversal_request_create(original=record.ledger_transaction, reason="r", acting_user=second)
    assert pending.value.code == ErrorCode.PENDING_EXISTS
    with pytest.raises(RegistryError) as own:
        administration.booking_request_approve(request=request, acting_user=first, otp_token=otp(first))
    assert own.value.code == ErrorCode.SAME_PERSON
    administration.booking_request_approve(request=request, acting_user=second, otp_token=otp(second))
    with pytest.raises(RegistryError) as again:
        administration.reversal_request_create(original=record.ledger_transaction, reason="r", acting_user=first)
    assert again.value.code == ErrorCode.ALREADY_REVERSED


def test_the_credit_cap_counts_only_surrenders_that_stand(surrendered, administrators):
    account, record = surrendered
    first, second = administrators
    request = administration.reversal_request_create(original=record.ledger_transaction, reason="r",
                                                     acting_user=first)
    administration.booking_request_approve(request=request, acting_user=second, otp_token=otp(second))
    standing = SurrenderRecord.objects.standing().filter(organisation=account.organisation)
    assert not standing.exists()


# --- one pending issuance per vintage; decisions taken once -----------------------------------------

def test_a_second_issuance_of_a_vintage_while_one_is_pending_is_refused(administrators):
    first, second = administrators
    administration.booking_request_create(kind="issuance", vintage=2027, quantity=10, reason="r", acting_user=first)
    with pytest.raises(RegistryError) as refused:
        administration.booking_request_create(kind="issuance", vintage=2027, quantity=10, reason="r",
                                              acting_user=second)
    assert refused.value.code == ErrorCode.PENDING_EXISTS and refused.value.field == "vintage"
    administration.booking_request_create(kind="issuance", vintage=2028, quantity=10, reason="r", acting_user=second)
    assert BookingRequest.objects.filter(status="awaiting_approval").count() == 2


def test_an_upper_limit_payment_is_confirmed_once(make_user, administrators):
    first, second = administrators
    account = funded(1)
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=Decimal(4300), lower_limit_price_yen=Decimal(1700))
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, account.organisation)
    payment = compliance.upper_limit_payment_record(organisation=account.organisation, fiscal_year=2026, quantity=2,
                                                    amount_yen="8,600", payment_reference="BANK-1",
                                                    acting_user=representative)
    compliance.upper_limit_payment_confirm(payment=payment, acting_user=first)
    with pytest.raises(RegistryError) as again:
        compliance.upper_limit_payment_confirm(payment=payment, acting_user=second)
    assert again.value.code == ErrorCode.INVALID_STATE
    assert UpperLimitPayment.objects.get(pk=payment.pk).confirmed_by == first


def test_a_closed_account_stays_closed_blocking_cannot_reopen_it(administrators):
    first, _second = administrators
    account = holding_account()
    transfers.account_close(account=account, reason="Dissolved", acting_user=first)
    with pytest.raises(RegistryError) as refused:
        transfers.account_block(account=account, reason="r", acting_user=first)
    assert refused.value.code == ErrorCode.INVALID_STATE
    with pytest.raises(RegistryError):
        transfers.account_unblock(account=account, acting_user=first)
    account.refresh_from_db()
    assert account.state == HoldingAccount.State.CLOSED


# --- the trusted list ----------------------------------------------------------------------------------

@pytest.fixture
def company(make_user):
    account = funded(100)
    organisation = account.organisation
    return {"account": account, "other": holding_account("Other"),
            "rep": make_user(Role.AUTHORISED_REPRESENTATIVE, organisation),
            "rep2": make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)}


def test_the_same_destination_twice_is_refused_naming_the_field(company):
    transfers.trusted_account_propose(account=company["account"], trusted=company["other"],
                                      acting_user=company["rep"])
    with pytest.raises(RegistryError) as refused:
        transfers.trusted_account_propose(account=company["account"], trusted=company["other"],
                                          acting_user=company["rep2"])
    assert refused.value.code == ErrorCode.DUPLICATE and refused.value.field == "trusted"


def test_a_removed_entry_cannot_be_confirmed(company):
    entry = transfers.trusted_account_propose(account=company["account"], trusted=company["other"],
                                              acting_user=company["rep"])
    transfers.trusted_account_remove(entry=entry, acting_user=company["rep"])
    with pytest.raises(RegistryError) as refused:
        transfers.trusted_account_confirm(entry=entry, acting_user=company["rep2"], otp_token=otp(company["rep2"]))
    assert refused.value.code == ErrorCode.INVALID_STATE
    entry.refresh_from_db()
    assert entry.confirmed_by is None


def test_an_account_set_to_trusted_only_sends_only_to_its_trusted_list(company):
    transfers.account_trusted_only_set(account=company["account"], trusted_only=True, acting_user=company["rep"])
    with pytest.raises(RegistryError) as refused:
        transfers.transfer_initiate(source=company["account"], destination=company["other"],
                                    unit=ledger.allowance(2026), quantity=1, acting_user=company["rep"],
                                    otp_token=otp(company["rep"]))
    assert refused.value.field == "destination" and "trusted list" in str(refused.value.message)
    entry = transfers.trusted_account_propose(account=company["account"], trusted=company["other"],
                                              acting_user=company["rep"])
    transfers.trusted_account_confirm(entry=entry, acting_user=company["rep2"], otp_token=otp(company["rep2"]),
                                      now=timezone.now() - timedelta(days=30))
    created = transfers.transfer_initiate(source=company["account"], destination=company["other"],
                                          unit=ledger.allowance(2026), quantity=1, acting_user=company["rep"],
                                          otp_token=otp(company["rep"]))
    assert created.destination == company["other"]


# --- quantities people type ----------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "value"), [("1,000", 1000), ("１０００", 1000), ("１，０００", 1000), (" 42 ", 42)])
def test_quantities_as_a_japanese_user_types_them_are_accepted(typed, value):
    assert ledger.clean_quantity(typed) == value


@pytest.mark.parametrize("typed", ["--5", "²", "①", "1e3", "1" * 40, "1,00", "12.0", "+5", "٣", ""])
def test_other_quantities_are_refused_naming_the_field(typed):
    with pytest.raises(RegistryError) as refused:
        ledger.clean_quantity(typed, "allowances")
    assert refused.value.code == ErrorCode.INVALID_QUANTITY and refused.value.field == "allowances"


def test_verified_emissions_are_recorded_by_an_administrator_only(make_user):
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE)
    organisation = representative.memberships.get().organisation
    for person in (representative, make_user(Role.VIEWER, organisation)):
        with pytest.raises(RegistryError) as refused:
            compliance.verified_emissions_record(organisation=organisation, fiscal_year=2026, emissions_t=0,
                                                 acting_user=person)
        assert refused.value.code == ErrorCode.NOT_PERMITTED
    assert not VerifiedEmissions.objects.exists()
    assert Organisation.objects.filter(pk=organisation.pk).exists()
