"""Reads of the market for its pages: the book by price level and the latest trades, with no participant named."""

from django.db.models import Count, Sum

from accounts.models import Balance, HoldingAccount, UnitType
from accounts.roles import ACT
from gxregistry.authorization import may
from market.models import Instrument, Order, Participant, Trade

DEPTH = 10  # price levels shown on each side


def book_levels(instrument: Instrument) -> dict:
    """The best ``DEPTH`` price levels of each side: price, quantity and number of orders (no identities)."""
    open_orders = Order.objects.filter(instrument=instrument, status=Order.Status.OPEN)

    def side(name, ordering):
        return list(open_orders.filter(side=name).values("price_yen").annotate(
            quantity=Sum("remaining"), orders=Count("id")).order_by(ordering)[:DEPTH])

    return {"bids": side(Order.Side.BUY, "-price_yen"), "asks": side(Order.Side.SELL, "price_yen")}


def recent_trades(instrument: Instrument, limit: int = 20):
    return Trade.objects.filter(instrument=instrument).only("price_yen", "quantity", "traded_at", "aggressor")[:limit]


def trading_participant(user) -> Participant | None:
    """The participant the user may enter orders for: one of its organisations that takes part in the market."""
    if not user.is_authenticated:
        return None
    for participant in Participant.objects.filter(
            organisation__memberships__user=user, organisation__memberships__ended_at__isnull=True,
    ).select_related("organisation").distinct().order_by("pk"):
        if may(user, ACT, participant.organisation):
            return participant
    return None


def free_and_reserved(account, unit_type: str, vintage: int) -> tuple[int, int]:
    quantity, reserved = Balance.objects.filter(account=account, unit_type=unit_type, vintage=vintage,
                                                credit_batch__isnull=True).values_list("quantity", "reserved").first() \
        or (0, 0)
    return quantity - reserved, reserved


def participant_position(participant: Participant, instrument: Instrument) -> dict:
    """What the participant has free and reserved to trade ``instrument``, and its open orders."""
    accounts = {account.kind: account for account in participant.organisation.holding_accounts.order_by("-pk")}
    units = accounts.get(HoldingAccount.Kind.OPERATOR_HOLDING) or accounts.get(HoldingAccount.Kind.TRADING)
    cash = accounts.get(HoldingAccount.Kind.MARKET_CASH)  # opened with its first deposit or order
    return {"units": free_and_reserved(units, UnitType.ALLOWANCE, instrument.vintage) if units else (0, 0),
            "yen": free_and_reserved(cash, UnitType.YEN, 0) if cash else (0, 0), "unit_account": units,
            "cash_account": cash,
            "open_orders": Order.objects.filter(participant=participant, instrument=instrument,
                                                status=Order.Status.OPEN).order_by("-sequence")}
