"""Orders through the services: cash at GXA, reservations, matching and delivery versus payment in the ledger."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, transaction
from django.utils import translation

from accounts import ledger
from accounts.ledger import holdings
from accounts.models import (
    Balance,
    CloseStakeholder,
    CompliancePeriod,
    HoldingAccount,
    JointNotificationGroup,
    LedgerTransaction,
    Organisation,
)
from accounts.roles import Role
from accounts.services import system_actor
from conftest import fresh_code
from gxregistry.errors import ErrorCode, RegistryError
from market.models import Order, Trade
from market.services import orders as market
from market.services import participants

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
OPEN = datetime(2027, 10, 5, 10, 0, tzinfo=TOKYO)  # a Tuesday, in the session
S = Order.Status


class Market:
    """GXA, an instrument for FY2027 allowances with a band, and participants with allowances and yen."""

    def __init__(self, make_user, make_organisation):
        self.make_user, self.make_organisation = make_user, make_organisation
        self.gxa = make_user(Role.MARKET_OPERATOR, make_organisation(Organisation.Kind.MARKET_OPERATOR))
        CompliancePeriod.objects.create(fiscal_year=2027, surrender_deadline=date(2028, 11, 30),
                                        upper_limit_price_yen=4400, lower_limit_price_yen=1750)
        self.instrument = participants.instrument_create(vintage=2027, opens_on=date(2027, 10, 1), tick_yen=1,
                                                         acting_user=self.gxa)
        participants.InstrumentParameters.objects.create(
            instrument=self.instrument, effective_from=OPEN - timedelta(days=1), reference_price_yen=3000,
            band_percent=20, halt_minutes=10, reason="opening", set_by=self.gxa)
        ledger.issue_allowances(vintage=2027, quantity=1_000_000, idempotency_key="market-test-issuance")

    def participant(self, *, allowances=0, yen=0, organisation=None):
        organisation = organisation or self.make_organisation()
        rep = self.make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)
        account = ledger.holding_account_open(kind="operator_holding", organisation=organisation,
                                              acting_user=system_actor())
        if allowances:
            ledger.allocation_transfer(account=account, vintage=2027, quantity=allowances,
                                       idempotency_key=f"market-test-{account.pk}")
        participant = participants.participant_join(organisation=organisation, rules_version=participants.RULES_VERSION,
                                                    acting_user=rep)
        participant.rep, participant.account = rep, account
        if yen:
            market.cash_deposit(participant=participant, amount_yen=yen, bank_reference=f"BANK-{account.pk}",
                                acting_user=self.gxa, otp_token=fresh_code(self.gxa))
        participant.cash = market.cash_account(organisation)
        return participant

    def order(self, participant, side, price, quantity, key=None, now=OPEN, **options):
        return market.order_enter(participant=participant, instrument=self.instrument, side=side, price_yen=price,
                                  quantity=quantity, idempotency_key=key or f"k-{Order.objects.count()}",
                                  acting_user=participant.rep, now=now, **options)


def held(account, unit_type="allowance", vintage=2027):
    balance = Balance.objects.filter(account=account, unit_type=unit_type, vintage=vintage).first()
    return (balance.quantity, balance.reserved) if balance else (0, 0)


def yen(account):
    return held(account, "yen", 0)


def test_a_trade_delivers_allowances_against_yen_in_one_ledger_transaction(mkt):
    seller, buyer = mkt.participant(allowances=1_000), mkt.participant(yen=10_000_000)
    resting = mkt.order(seller, "sell", 3000, 600).order
    assert held(seller.account) == (1_000, 600)  # reserved while it rests
    entered = mkt.order(buyer, "buy", 3100, 1_000)
    (trade,) = entered.trades
    # At the resting order's price; the buy order's rest stays on the book, reserving its yen at its own price.
    assert (trade.price_yen, trade.quantity, trade.aggressor) == (3000, 600, "buy")
    assert held(seller.account) == (400, 0) and held(buyer.account) == (600, 0)
    assert yen(seller.cash) == (1_800_000, 0) and yen(buyer.cash) == (10_000_000 - 1_800_000, 400 * 3100)
    entries = trade.ledger_transaction.entries.all()
    assert trade.ledger_transaction.kind == LedgerTransaction.Kind.TRADE and len(entries) == 4
    resting.refresh_from_db()
    assert (resting.status, entered.order.status, entered.order.remaining) == (S.FILLED, S.OPEN, 400)
    assert ledger.reconcile().clean


def test_a_statement_names_the_other_side_of_each_leg_of_a_trade_in_its_own_unit(mkt):
    """The trade's booking moves allowances one way and yen the other: the seller's allowances went to the buyer's
    account (not to the seller's own cash account, which received yen in the same transaction), its yen came from
    the buyer's cash account."""
    seller, buyer = mkt.participant(allowances=100), mkt.participant(yen=1_000_000)
    mkt.order(seller, "sell", 3000, 100)
    (trade,) = mkt.order(buyer, "buy", 3000, 100).trades
    seller_entries = holdings.with_counterparties(trade.ledger_transaction.entries.filter(
        account__in=[seller.account, seller.cash]).order_by("unit_type"), account=seller.account)
    assert [(entry.unit_type, entry.counterparties) for entry in seller_entries] == [
        ("allowance", [buyer.account]), ("yen", [buyer.cash])]


def test_the_audit_trail_of_an_order_is_its_row_its_trades_and_what_people_changed_after_entry(mkt):
    """Who entered an order is on its row, what filled it in its trades; pghistory keeps each later change a person
    made (an amend, a cancellation) as the order was before it, with who made it. Fills write no audit row."""
    seller, buyer = mkt.participant(allowances=100), mkt.participant(yen=1_000_000)
    resting = mkt.order(seller, "sell", 3000, 100).order
    (trade,) = mkt.order(buyer, "buy", 3000, 40).trades
    resting.refresh_from_db()
    assert resting.entered_by == seller.rep and trade.buy_order.entered_by == buyer.rep and resting.remaining == 60
    assert not resting.history.exists()  # entered and partly filled: nothing but its row and its trade
    market.order_amend(order=resting, acting_user=seller.rep, price_yen=3100, now=OPEN)
    market.order_cancel(order=resting, acting_user=seller.rep, now=OPEN)
    amended, cancelled = resting.history.order_by("pgh_id")
    assert (amended.pgh_label, amended.price_yen, amended.remaining, amended.status) == ("before_change", 3000, 60,
                                                                                         S.OPEN)
    assert (cancelled.price_yen, cancelled.status) == (3100, S.OPEN)
    assert amended.pgh_context.metadata["action"] == "order_amend"
    assert cancelled.pgh_context.metadata["action"] == "order_cancel"
    assert cancelled.pgh_context.metadata["user"] == seller.rep.pk


def test_an_order_that_trades_on_entry_is_written_once_and_reserves_only_what_rests(mkt):
    """Entry matches before it writes the order: one row as matching left it (not an insert and an update, and no
    audit row), its fills paid from what is free and only its rest reserved; yet it needs all it may deliver free at
    entry, as if nothing filled."""
    seller, buyer = mkt.participant(allowances=100), mkt.participant(yen=1_000_000)
    mkt.order(seller, "sell", 2900, 60)
    rested = mkt.order(buyer, "buy", 3000, 100).order  # 60 filled at 2,900, 40 rest at 3,000
    assert (rested.status, rested.remaining, rested.reserved_yen) == (S.OPEN, 40, 120_000)
    assert not rested.history.exists()
    assert yen(buyer.cash) == (1_000_000 - 60 * 2900, 40 * 3000)
    filled = mkt.order(seller, "sell", 3000, 40).order
    assert (filled.status, filled.remaining, filled.reserved_units) == (S.FILLED, 0, 0) and not filled.history.exists()
    assert held(seller.account) == (0, 0) and yen(buyer.cash) == (1_000_000 - 174_000 - 120_000, 0)
    short = mkt.participant(yen=260_000)
    mkt.order(mkt.participant(allowances=100), "sell", 2500, 100)
    with pytest.raises(RegistryError) as refused:
        mkt.order(short, "buy", 3000, 100)  # would fill at 2,500 (250,000 yen), but may deliver 300,000
    assert (refused.value.code, refused.value.field) == (ErrorCode.INSUFFICIENT_UNITS, "price_yen")
    assert not short.orders.exists() and yen(short.cash) == (260_000, 0) and ledger.reconcile().clean


def test_a_first_order_opens_the_cash_account_and_one_without_an_account_to_trade_from_is_refused(mkt):
    buyer = mkt.participant(yen=1_000_000)
    mkt.order(buyer, "buy", 3000, 100)
    organisation = mkt.make_organisation()
    seller = mkt.participant(allowances=100, organisation=organisation)
    HoldingAccount.objects.filter(organisation=organisation, kind="market_cash").delete()  # never funded
    (trade,) = mkt.order(seller, "sell", 3000, 100).trades  # its yen need an account to arrive in
    cash = HoldingAccount.objects.get(organisation=organisation, kind="market_cash")
    assert trade.ledger_transaction.entries.filter(account=cash, quantity=300_000).exists()
    bare = mkt.make_organisation()  # a regulated entity with no corporate holding account yet
    rep = mkt.make_user(Role.AUTHORISED_REPRESENTATIVE, bare)
    participant = participants.participant_join(organisation=bare, rules_version=participants.RULES_VERSION,
                                                acting_user=rep)
    participant.rep = rep
    with pytest.raises(RegistryError) as refused:
        mkt.order(participant, "buy", 3000, 10)
    assert (refused.value.code, refused.value.field) == (ErrorCode.ACCOUNT_NOT_USABLE, "account")
    assert "Corporate holding account" in refused.value.message


def test_price_time_priority_and_partial_fills(mkt):
    buyer = mkt.participant(yen=100_000_000)
    first, second, better = (mkt.participant(allowances=500) for _ in range(3))
    a = mkt.order(first, "sell", 3000, 300).order
    b = mkt.order(second, "sell", 3000, 300).order
    c = mkt.order(better, "sell", 2990, 100).order
    trades = mkt.order(buyer, "buy", 3000, 500).trades
    assert [(t.sell_order_id, t.price_yen, t.quantity) for t in trades] == [(c.pk, 2990, 100), (a.pk, 3000, 300),
                                                                           (b.pk, 3000, 100)]
    b.refresh_from_db()
    assert (b.status, b.remaining, b.reserved_units) == (S.OPEN, 200, 200)
    assert held(second.account) == (400, 200) and ledger.reconcile().clean


def test_reserved_allowances_cannot_be_transferred_or_sold_twice(mkt):
    seller = mkt.participant(allowances=1_000)
    other = mkt.participant()
    mkt.order(seller, "sell", 3500, 800)
    with pytest.raises(RegistryError) as transfer:
        ledger.transfer_units(source=seller.account, destination=other.account, unit=ledger.allowance(2027),
                              quantity=300, idempotency_key="t-1")
    assert transfer.value.code == ErrorCode.INSUFFICIENT_UNITS and "800" in str(transfer.value.message)
    with pytest.raises(RegistryError) as again:
        mkt.order(seller, "sell", 3500, 300)
    assert again.value.code == ErrorCode.INSUFFICIENT_UNITS and again.value.field == "quantity"
    # Nor around the services: the database keeps a reservation within the balance.
    with pytest.raises(DatabaseError), transaction.atomic():
        Balance.objects.filter(account=seller.account, vintage=2027).update(reserved=1_001)
    assert held(seller.account) == (1_000, 800) and ledger.reconcile().clean
    # A reservation that no open order explains is a reconciliation difference.
    with transaction.atomic():
        Balance.objects.filter(account=seller.account, vintage=2027).update(reserved=700)
        assert [f"account {seller.account.pk} allowance 2027: reserved 700, open orders 800"] == list(
            ledger.reconcile().differences)
        transaction.set_rollback(True)


def test_a_buy_order_needs_the_yen_and_a_withdrawal_leaves_reserved_yen(mkt):
    buyer = mkt.participant(yen=1_000_000)
    with pytest.raises(RegistryError) as short, translation.override("en"):
        mkt.order(buyer, "buy", 3000, 400)  # 1,200,000 yen
    assert short.value.code == ErrorCode.INSUFFICIENT_UNITS and short.value.field == "price_yen"
    assert str(short.value.message) == (f"Account {buyer.cash.number} holds ¥1,000,000; ¥1,200,000 was asked "
                                        "for.")  # an amount of yen, not "1,000,000 of Yen"
    assert not Order.objects.exists() and yen(buyer.cash) == (1_000_000, 0)
    mkt.order(buyer, "buy", 3000, 300)
    with pytest.raises(RegistryError) as withdrawal, translation.override("ja"):
        market.cash_withdrawal(participant=buyer, amount_yen=200_000, bank_reference="OUT-1", acting_user=mkt.gxa,
                               otp_token=fresh_code(mkt.gxa))
    assert withdrawal.value.code == ErrorCode.INSUFFICIENT_UNITS
    assert str(withdrawal.value.message) == (f"口座 {buyer.cash.number} で使える金額は 100,000 円です（ほかに 900,000 円が"
                                             "市場の注文で拘束されています）。200,000 円が求められました。")
    market.cash_withdrawal(participant=buyer, amount_yen=100_000, bank_reference="OUT-2", acting_user=mkt.gxa,
                           otp_token=fresh_code(mkt.gxa))
    assert yen(buyer.cash) == (900_000, 900_000) and ledger.reconcile().clean


def test_a_bank_transfer_confirmed_twice_is_booked_once_and_only_gxa_confirms(mkt):
    participant = mkt.participant()
    for _ in range(2):
        market.cash_deposit(participant=participant, amount_yen="５００，０００", bank_reference="IN-7",
                            acting_user=mkt.gxa, otp_token=fresh_code(mkt.gxa))
    assert yen(participant.cash) == (500_000, 0)
    with pytest.raises(RegistryError) as refused:
        market.cash_deposit(participant=participant, amount_yen=1, bank_reference="IN-8",
                            acting_user=participant.rep, otp_token=fresh_code(participant.rep))
    assert refused.value.code == ErrorCode.NOT_PERMITTED and yen(participant.cash) == (500_000, 0)


def test_yen_never_leave_cash_accounts(mkt):
    participant = mkt.participant(yen=100)
    with pytest.raises(RegistryError) as transfer:
        ledger.transfer_units(source=participant.cash, destination=participant.account, unit=market.YEN, quantity=1,
                              idempotency_key="yen-out")
    assert transfer.value.code == ErrorCode.ROUTE_NOT_ALLOWED
    # A trade's route between holders carries units only: the balance guard refuses yen in a holding account.
    other = mkt.participant()
    with pytest.raises(DatabaseError), transaction.atomic():
        ledger.book(kind="trade", moves=[ledger.Move(participant.cash, other.cash, ledger.allowance(2027), 1)],
                    idempotency_key="units-in-cash")
    assert yen(participant.cash) == (100, 0)


def test_orders_above_the_upper_limit_price_or_off_tick_or_out_of_session_are_refused(mkt):
    buyer = mkt.participant(yen=100_000_000)
    with pytest.raises(RegistryError) as upper:
        mkt.order(buyer, "buy", 4401, 1)
    assert upper.value.field == "price_yen" and "4,400" in str(upper.value.message)
    with pytest.raises(RegistryError) as saturday:
        mkt.order(buyer, "buy", 3000, 1, now=datetime(2027, 10, 9, 10, 0, tzinfo=TOKYO))
    assert saturday.value.field == "instrument"
    with pytest.raises(RegistryError) as evening:
        mkt.order(buyer, "buy", 3000, 1, now=datetime(2027, 10, 5, 15, 30, tzinfo=TOKYO))
    assert evening.value.field == "instrument"
    for price in ("abc", "0", "-5"):
        with pytest.raises(RegistryError) as bad:
            mkt.order(buyer, "buy", price, 1)
        assert bad.value.field == "price_yen"
    with pytest.raises(RegistryError) as several:  # every wrong field named at once
        mkt.order(buyer, "hold", "3001.5", 0)
    assert [refusal.field for refusal in several.value.refusals()] == ["side", "price_yen", "quantity"]
    assert not Order.objects.exists() and yen(buyer.cash) == (100_000_000, 0)


def test_an_order_never_trades_with_its_own_group(mkt, make_organisation):
    parent, subsidiary = make_organisation(), make_organisation()
    group = JointNotificationGroup.objects.create(name="Group", notifying_entity=parent)
    CloseStakeholder.objects.create(group=group, entity=subsidiary, relationship="subsidiary")
    seller = mkt.participant(allowances=100, organisation=parent)
    buyer = mkt.participant(yen=10_000_000, organisation=subsidiary)
    resting = mkt.order(seller, "sell", 3000, 100).order
    entered = mkt.order(buyer, "buy", 3000, 100)
    assert entered.trades == () and (entered.order.status, entered.order.closed_reason) == (S.CANCELLED, "self_trade")
    resting.refresh_from_db()
    assert resting.status == S.OPEN and yen(buyer.cash) == (10_000_000, 0) and ledger.reconcile().clean


def test_an_order_that_would_trade_outside_the_band_halts_the_instrument(mkt):
    seller, buyer = mkt.participant(allowances=1_000), mkt.participant(yen=100_000_000)
    mkt.order(seller, "sell", 3500, 100)  # the band is 2400-3600
    mkt.order(seller, "sell", 3700, 100)
    entered = mkt.order(buyer, "buy", 3800, 200)
    assert [t.price_yen for t in entered.trades] == [3500] and entered.halted
    assert entered.order.status == S.CANCELLED and entered.order.closed_reason == "price_band"
    with pytest.raises(RegistryError) as halted:
        mkt.order(buyer, "buy", 3000, 1, now=OPEN + timedelta(minutes=5))
    assert halted.value.code == ErrorCode.INVALID_STATE
    mkt.order(buyer, "buy", 3000, 1, now=OPEN + timedelta(minutes=11))  # the halt is over
    assert yen(buyer.cash)[1] == 3000 and ledger.reconcile().clean


def test_cancel_amend_and_expiry_release_what_the_order_reserved(mkt):
    seller = mkt.participant(allowances=1_000)
    other = mkt.participant(allowances=1_000)
    first = mkt.order(seller, "sell", 3200, 400).order
    second = mkt.order(other, "sell", 3200, 400).order
    smaller = market.order_amend(order=first, quantity=300, acting_user=seller.rep, now=OPEN).order
    assert smaller.sequence == first.sequence and held(seller.account) == (1_000, 300)  # kept its place
    higher = market.order_amend(order=smaller, quantity=500, acting_user=seller.rep, now=OPEN).order
    assert higher.sequence > second.sequence and held(seller.account) == (1_000, 500)  # lost it
    with pytest.raises(RegistryError) as stranger:
        market.order_cancel(order=second, acting_user=seller.rep)
    assert stranger.value.code == ErrorCode.NOT_PERMITTED
    market.order_cancel(order=higher, acting_user=seller.rep)
    assert held(seller.account) == (1_000, 0)
    assert market.orders_expire(instrument=mkt.instrument, acting_user=mkt.gxa,
                                now=OPEN.replace(hour=15, minute=5)) == 1
    second.refresh_from_db()
    assert second.status == S.EXPIRED and held(other.account) == (1_000, 0) and ledger.reconcile().clean
    with pytest.raises(DatabaseError), transaction.atomic():  # a closed order is never reopened
        Order.objects.filter(pk=second.pk).update(status=S.OPEN)


def test_the_same_idempotency_key_enters_one_order(mkt):
    seller, buyer = mkt.participant(allowances=100), mkt.participant(yen=10_000_000)
    mkt.order(seller, "sell", 3000, 100)
    first = mkt.order(buyer, "buy", 3000, 100, key="client-1")
    again = mkt.order(buyer, "buy", 3000, 100, key="client-1")
    assert again.order.pk == first.order.pk and [t.pk for t in again.trades] == [t.pk for t in first.trades]
    with pytest.raises(RegistryError) as conflict:
        mkt.order(buyer, "buy", 3001, 100, key="client-1")
    assert conflict.value.code == ErrorCode.IDEMPOTENCY_CONFLICT
    assert Trade.objects.count() == 1 and held(buyer.account) == (100, 0)


def test_a_suspended_participant_cannot_enter_orders(mkt):
    buyer = mkt.participant(yen=10_000)
    participants.participant_decide(participant=buyer, decision="suspend", reason="Margin call",
                                    acting_user=mkt.gxa, otp_token=fresh_code(mkt.gxa))
    with pytest.raises(RegistryError) as refused:
        mkt.order(buyer, "buy", 3000, 1)
    assert refused.value.code == ErrorCode.INVALID_STATE and HoldingAccount.objects.filter(
        kind="market_cash", organisation=buyer.organisation).exists()


def test_gxa_cancels_a_participants_order_and_a_registry_administrator_cannot(mkt, make_user):
    seller = mkt.participant(allowances=100)
    order = mkt.order(seller, "sell", 3000, 100).order
    with pytest.raises(RegistryError) as admin:
        market.order_cancel(order=order, acting_user=make_user(Role.REGISTRY_ADMINISTRATOR))
    assert admin.value.code == ErrorCode.NOT_PERMITTED
    cancelled = market.order_cancel(order=order, acting_user=mkt.gxa, reason="surveillance")
    assert (cancelled.status, cancelled.closed_reason) == (S.CANCELLED, "surveillance")
    assert held(seller.account) == (100, 0)
