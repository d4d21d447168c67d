"""Reads of the market for its pages: the book by price level and the latest trades, with no participant named."""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone

from accounts import ledger
from accounts.models import YEN_VINTAGE, HoldingAccount, UnitType
from accounts.roles import ACT
from allocation.charts import nice_ceiling
from gxregistry.authorization import may
from gxregistry.fiscal import fiscal_year_of
from market.models import Alert, Instrument, Order, Participant, ReverseAuction, Trade

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


def trading_participant(user, permission: str = ACT) -> Participant | None:
    """The participant the user may enter orders for: one of its organisations that takes part in the market
    (with ``VIEW``, one whose position and orders the user may see)."""
    if not user.is_authenticated:
        return None
    for participant in Participant.objects.filter(
            organisation__memberships__user=user, organisation__memberships__ended_at__isnull=True,
    ).select_related("organisation").distinct().order_by("pk"):
        if may(user, permission, participant.organisation):
            return participant
    return None


def participant_position(participant: Participant, instrument: Instrument) -> dict:
    """What the participant has free and reserved to trade ``instrument``, and its open orders."""
    accounts = {account.kind: account for account in participant.organisation.holding_accounts.order_by("-pk")}
    units = accounts.get(HoldingAccount.Kind.OPERATOR_HOLDING) or accounts.get(HoldingAccount.Kind.TRADING)
    cash = accounts.get(HoldingAccount.Kind.MARKET_CASH)  # opened with its first deposit or order
    return {"units": ledger.free_and_reserved(units, ledger.allowance(instrument.vintage)) if units else (0, 0),
            "yen": ledger.free_and_reserved(cash, ledger.Unit(UnitType.YEN, YEN_VINTAGE)) if cash else (0, 0),
            "unit_account": units,
            "cash_account": cash,
            "open_orders": Order.objects.filter(participant=participant, instrument=instrument,
                                                status=Order.Status.OPEN).order_by("-sequence")}


# --- market data (public) ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Day:
    day: date
    open: int
    high: int
    low: int
    close: int
    volume: int
    trades: int
    vwap: Decimal  # the volume-weighted average price, to the sen


def daily_prices(instrument: Instrument) -> list[Day]:
    """One row per Tokyo trading day with trades: open, high, low, close, volume, number of trades and VWAP."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT (traded_at AT TIME ZONE 'Asia/Tokyo')::date AS day,
                   (array_agg(price_yen ORDER BY traded_at, id))[1], max(price_yen), min(price_yen),
                   (array_agg(price_yen ORDER BY traded_at DESC, id DESC))[1], sum(quantity), count(*),
                   round(sum(price_yen::numeric * quantity) / sum(quantity), 2)
              FROM market_trade WHERE instrument_id = %s GROUP BY 1 ORDER BY 1""", [instrument.pk])
        return [Day(*row) for row in cursor.fetchall()]


def open_interest(instrument: Instrument) -> dict:
    """What rests on the book now, bought and sold (a spot market's open interest: orders not yet traded)."""
    totals = dict(Order.objects.filter(instrument=instrument, status=Order.Status.OPEN).values_list("side").annotate(
        Sum("remaining")))
    return {"bid": totals.get(Order.Side.BUY, 0), "ask": totals.get(Order.Side.SELL, 0)}


def average_price(fiscal_year: int) -> Decimal | None:
    """The FY's average market price of allowances (every trade from 1 April to 31 March, Tokyo time, weighted by
    quantity), or None when nothing traded: the price the allocation engine reads for the next FY's carbon-leakage
    (§6-2) and R&D (§6-3) additions (allocation.adapter.parameters)."""
    tokyo = ZoneInfo("Asia/Tokyo")
    start = datetime.combine(date(fiscal_year, 4, 1), time(0, 0), tzinfo=tokyo)
    end = datetime.combine(date(fiscal_year + 1, 4, 1), time(0, 0), tzinfo=tokyo)
    totals = Trade.objects.filter(traded_at__gte=start, traded_at__lt=end).aggregate(
        paid=Sum(F("price_yen") * F("quantity"), output_field=models.BigIntegerField()), quantity=Sum("quantity"))
    if not totals["quantity"]:
        return None
    return (Decimal(totals["paid"]) / totals["quantity"]).quantize(Decimal("0.01"))


def traded_fiscal_years() -> list[int]:
    """The FYs in which the market traded (April to March, Tokyo time)."""
    days = Trade.objects.aggregate(first=Min("traded_at"), last=Max("traded_at"))
    if days["first"] is None:
        return []
    first, last = (timezone.localdate(days[key]) for key in ("first", "last"))
    return list(range(fiscal_year_of(first), fiscal_year_of(last) + 1))


def candles(days: list[Day], *, width: int = 720, height: int = 320) -> dict:
    """The candlestick chart's geometry (an SVG drawn by the template): one candle a day over a price axis in yen
    with round gridlines, each day's volume as a bar in a pane below, and the days' dates under it (thinned to
    about ten labels)."""
    if not days:
        return {}
    left, right, top, price_bottom, volume_top, volume_bottom = 60, 12, 16, 206, 222, 274
    low, high = min(d.low for d in days), max(d.high for d in days)
    step = nice_ceiling(max(high - low, 1) / 4)  # four or five round gridlines
    axis_low, axis_high = low // step * step, -(-high // step) * step
    if axis_high == axis_low:  # one price all along: a band of one step around it
        axis_low, axis_high = axis_low - step, axis_high + step
    most_volume = max(d.volume for d in days) or 1
    slot = (width - left - right) / len(days)
    label_every = -(-len(days) // 10)

    def y(price):
        return round(price_bottom - (price - axis_low) * (price_bottom - top) / (axis_high - axis_low), 1)

    shapes = []
    for index, d in enumerate(days):
        x = round(left + slot * index + slot / 2, 1)
        body_top, body_bottom = y(max(d.open, d.close)), y(min(d.open, d.close))
        volume_y = round(volume_bottom - d.volume * (volume_bottom - volume_top) / most_volume, 1)
        shapes.append({"x": x, "wick_top": y(d.high), "wick_bottom": y(d.low), "body_y": body_top,
                       "body_height": max(body_bottom - body_top, 1), "body_x": round(x - slot * 0.3, 1),
                       "body_width": round(max(slot * 0.6, 1), 1), "rising": d.close >= d.open, "day": d,
                       "volume_y": volume_y, "volume_height": round(volume_bottom - volume_y, 1),
                       "labelled": index % label_every == 0 or index == len(days) - 1})
    ticks = [{"price": price, "y": y(price), "label_y": y(price) + 4} for price in range(axis_low, axis_high + 1, step)]
    return {"width": width, "height": height, "left": left, "right": width - right, "label_x": left - 6,
            "candles": shapes, "ticks": ticks, "low": low, "high": high, "most_volume": most_volume,
            "most_volume_y": volume_top + 8, "volume_top": volume_top, "volume_bottom": volume_bottom,
            "date_y": height - 22}


# --- GXA's surveillance and reverse auctions ------------------------------------------------------------

def alerts_for_review(status: str | None = "open"):
    """GXA's review queue: alerts of a status (all when None), newest trading day first."""
    alerts = Alert.objects.select_related("participant__organisation", "instrument", "decided_by")
    if status:
        alerts = alerts.filter(status=status)
    return alerts.order_by("-trading_day", "-raised_at", "-pk")


def published_auctions():
    """Cleared reverse auctions with their results (public: volume, clearing price, number of bidders)."""
    return ReverseAuction.objects.filter(status=ReverseAuction.Status.CLEARED).select_related("instrument").order_by(
        "-cleared_at")
