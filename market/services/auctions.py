"""GXA's reverse auction at the lower-limit price (issue 14, report §1; docs/market.md).

When the market price stays at or below the lower-limit price, GXA buys allowances back: it opens an auction with
a budget (allowances or yen), a window and a pricing rule; holders send sealed offers whose allowances are
reserved like a sell order's; after the window GXA clears it cheapest offer first (``market.engine.auction``) and
every accepted offer is settled in the same database transaction through the ledger's one booking service —
allowances to GXA's auction account, yen from GXA's bank to the seller's cash account. The result is public.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.models import HoldingAccount, LedgerTransaction
from accounts.roles import ACT, OPERATE_MARKET
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.transitions import transition_check
from market.engine import auction as engine
from market.models import AuctionOffer, Instrument, Participant, ReverseAuction
from market.selectors import daily_prices
from market.services.orders import (
    YEN,
    allowance_of,
    cash_account,
    clean_quantity,
    next_sequence,
    price_corridor,
    release,
    reserve,
    unit_account,
    whole_number,
)
from market.services.participants import market_operator

# "Stays at or below" (§1), read as: the closing price of each of the last this many trading days with trades.
TRIGGER_DAYS = 3


def _refuse(message, field=None, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


def lower_limit_price(day) -> int | None:
    period = price_corridor(day)
    return int(period.lower_limit_price_yen) if period is not None else None


def lower_limit_closes(instrument: Instrument, day) -> list:
    """The last ``TRIGGER_DAYS`` trading days with trades up to ``day``, when every one closed at or below the
    lower-limit price in force on ``day``; else an empty list (no auction is due)."""
    floor = lower_limit_price(day)
    days = [d for d in daily_prices(instrument) if d.day <= day][-TRIGGER_DAYS:]
    if floor is None or len(days) < TRIGGER_DAYS or any(d.close > floor for d in days):
        return []
    return days


def _locked(auction: ReverseAuction) -> ReverseAuction:
    return ReverseAuction.objects.select_for_update(no_key=True).select_related("instrument").get(pk=auction.pk)


@state_change
def auction_open(*, instrument: Instrument, budget_kind: str, budget, pricing: str, offers_from: datetime,
                 offers_until: datetime, reason: str, acting_user, otp_token,
                 now: datetime | None = None) -> ReverseAuction:
    """GXA opens a reverse auction on a vintage whose price has stayed at or below the lower limit (§1)."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="auction_open"):
        instrument = Instrument.objects.select_for_update(no_key=True).get(pk=instrument.pk)
        authorize(acting_user, OPERATE_MARKET, market_operator(), fresh_code=otp_token)
        if budget_kind not in ReverseAuction.BudgetKind.values:
            _refuse(_("Choose whether the budget is in allowances or in yen."), "budget_kind")
        budget = ledger.clean_quantity(budget, "budget")
        if pricing not in ReverseAuction.Pricing.values:
            _refuse(_("Choose uniform price or pay as bid."), "pricing")
        if offers_from is None or offers_until is None or offers_until <= offers_from:
            _refuse(_("The window for offers must end after it begins."), "offers_until")
        if offers_until <= now:
            _refuse(_("The window for offers must end in the future."), "offers_until")
        if not (reason or "").strip():
            _refuse(_("Give the reason for the auction (it is published with the result)."), "reason")
        day = timezone.localdate(now)
        if not lower_limit_closes(instrument, day):
            _refuse(_("%(instrument)s has not closed at or below the lower-limit price of %(floor)s yen on each of "
                      "its last %(days)s trading days (§1): no reverse auction is due.") % {
                "instrument": instrument, "floor": f"{lower_limit_price(day) or 0:,}", "days": TRIGGER_DAYS},
                "instrument", ErrorCode.INVALID_STATE)
        if instrument.reverse_auctions.filter(status=ReverseAuction.Status.OPEN).exists():
            _refuse(_("A reverse auction of %(instrument)s is already open.") % {"instrument": instrument},
                    "instrument", ErrorCode.INVALID_STATE)
        return ReverseAuction.objects.create(
            instrument=instrument, budget_kind=budget_kind, budget=budget, pricing=pricing,
            max_price_yen=lower_limit_price(day), offers_from=offers_from, offers_until=offers_until,
            reason=reason.strip(), opened_by=acting_user, opened_at=now)


def _window_open(auction: ReverseAuction, now: datetime) -> None:
    if auction.status != ReverseAuction.Status.OPEN or not auction.offers_from <= now < auction.offers_until:
        _refuse(_("Offers are taken from %(start)s to %(end)s (JST).") % {
            "start": f"{timezone.localtime(auction.offers_from):%Y-%m-%d %H:%M}",
            "end": f"{timezone.localtime(auction.offers_until):%Y-%m-%d %H:%M}"}, "auction", ErrorCode.INVALID_STATE)


@state_change
def offer_submit(*, auction: ReverseAuction, participant: Participant, price_yen, quantity, acting_user,
                 now: datetime | None = None) -> AuctionOffer:
    """A participant's sealed offer to sell allowances to GXA at a price no higher than the lower limit; the
    allowances are reserved until the auction clears or the offer is withdrawn."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="offer_submit"):
        authorize(acting_user, ACT, participant.organisation)
        participant = Participant.objects.select_for_update(of=("self",), no_key=True).select_related(
            "organisation").get(pk=participant.pk)
        auction = _locked(auction)
        if participant.status != Participant.Status.ACTIVE:
            _refuse(_("%(participant)s cannot offer: it is %(state)s.") % {
                "participant": participant, "state": participant.get_status_display()}, "participant",
                ErrorCode.INVALID_STATE)
        _window_open(auction, now)
        instrument = auction.instrument
        price = whole_number(price_yen, "price_yen", _("Enter the price in whole yen."))
        if not 1 <= price <= auction.max_price_yen:
            _refuse(_("Offer a price from 1 yen up to the lower-limit price of %(floor)s yen.") % {
                "floor": f"{auction.max_price_yen:,}"}, "price_yen")
        if price % instrument.tick_yen:
            _refuse(_("The price is a whole number of ticks (%(tick)s yen).") % {"tick": instrument.tick_yen},
                    "price_yen")
        quantity = clean_quantity(instrument, quantity)
        organisation = participant.organisation
        units = unit_account(organisation)
        reserve(units, allowance_of(instrument), quantity, "quantity")
        return AuctionOffer.objects.create(
            auction=auction, participant=participant, price_yen=price, quantity=quantity, unit_account=units,
            cash_account=cash_account(organisation), reserved_units=quantity, sequence=next_sequence(),
            submitted_by=acting_user, submitted_at=now)


@state_change
def offer_withdraw(*, offer: AuctionOffer, acting_user, now: datetime | None = None) -> AuctionOffer:
    """The participant takes its offer back while the window is open; its allowances are free again."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="offer_withdraw"):
        auction = _locked(offer.auction)
        offer = AuctionOffer.objects.select_for_update(no_key=True).select_related("participant__organisation").get(
            pk=offer.pk)
        authorize(acting_user, ACT, offer.participant.organisation)
        transition_check(offer, AuctionOffer.Status.WITHDRAWN)
        _window_open(auction, now)
        release(offer.unit_account_id, allowance_of(auction.instrument), offer.reserved_units)
        offer.status, offer.reserved_units = AuctionOffer.Status.WITHDRAWN, 0
        offer.save()
        return offer


@state_change
def auction_clear(*, auction: ReverseAuction, acting_user, otp_token, now: datetime | None = None) -> ReverseAuction:
    """After the window, GXA accepts offers cheapest first within the budget and settles each accepted one in one
    ledger transaction; every reservation is released; the result is published."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="auction_clear"):
        auction = _locked(auction)
        authorize(acting_user, OPERATE_MARKET, market_operator(), fresh_code=otp_token)
        transition_check(auction, ReverseAuction.Status.CLEARED)
        if now < auction.offers_until:
            _refuse(_("Offers are taken until %(end)s (JST); clear the auction after that.") % {
                "end": f"{timezone.localtime(auction.offers_until):%Y-%m-%d %H:%M}"}, "auction",
                ErrorCode.INVALID_STATE)
        instrument = auction.instrument
        offers = list(auction.offers.select_for_update(no_key=True).filter(status=AuctionOffer.Status.SUBMITTED)
                      .order_by("price_yen", "sequence"))
        result = engine.clear([engine.Offer(o.pk, o.price_yen, o.quantity, o.sequence) for o in offers],
                              budget_kind=engine.Budget(auction.budget_kind), budget=auction.budget,
                              pricing=engine.Pricing(auction.pricing), lot=instrument.lot)
        awards = {award.offer_id: award for award in result.awards}
        gxa_units = ledger.government_account(HoldingAccount.Kind.GXA_AUCTION)
        bank = ledger.government_account(HoldingAccount.Kind.MARKET_BANK)
        unit = allowance_of(instrument)
        for offer in offers:
            release(offer.unit_account_id, unit, offer.reserved_units)
            offer.reserved_units = 0
            award = awards.get(offer.pk)
            if award is None:
                offer.status = AuctionOffer.Status.REJECTED
            else:
                offer.status, offer.accepted_quantity, offer.paid_price_yen = (
                    AuctionOffer.Status.ACCEPTED, award.quantity, award.price)
                offer.ledger_transaction = ledger.book(
                    kind=LedgerTransaction.Kind.REVERSE_AUCTION,
                    moves=[ledger.Move(offer.unit_account, gxa_units, unit, award.quantity),
                           ledger.Move(bank, offer.cash_account, YEN, award.quantity * award.price)],
                    idempotency_key=f"reverse-auction-{auction.pk}-offer-{offer.pk}", booked_by=acting_user,
                    note=f"{instrument.code} reverse auction {award.quantity} @ {award.price}")
            offer.save()
        auction.status, auction.cleared_by, auction.cleared_at = ReverseAuction.Status.CLEARED, acting_user, now
        auction.cleared_quantity, auction.cleared_yen = result.quantity, result.yen
        auction.clearing_price_yen = result.clearing_price
        auction.bidders = len({offer.participant_id for offer in offers})
        auction.accepted_bidders = len({offer.participant_id for offer in offers if offer.pk in awards})
        auction.save()
        return auction
