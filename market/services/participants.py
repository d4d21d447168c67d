"""Participants, instruments and GXA's trading parameters (issue 14, report §8; docs/market.md)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import jpholiday
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from accounts.roles import ACT, OPERATE_MARKET
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.transitions import transition_check
from market.models import Instrument, InstrumentParameters, Participant

RULES_VERSION = "2027-1"  # the market rules a participant accepts (their text: docs/market.md)
P = Participant.Status
DECISIONS = {"approve": (P.APPLIED, P.ACTIVE), "refuse": (P.APPLIED, P.REFUSED),
             "suspend": (P.ACTIVE, P.SUSPENDED), "reinstate": (P.SUSPENDED, P.ACTIVE)}


def _refuse(message, field=None, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


def market_operator() -> Organisation:
    """GXA, the one organisation of its kind."""
    gxa = Organisation.objects.filter(kind=Organisation.Kind.MARKET_OPERATOR).order_by("pk").first()
    if gxa is None:
        _refuse(_("The market operator (GXA) is not registered."), code=ErrorCode.INVALID_STATE)
    return gxa


@state_change
def participant_join(*, organisation: Organisation, rules_version: str, acting_user) -> Participant:
    """An authorised representative accepts the market rules: a regulated entity takes part at once, a specified
    trading operator applies and waits for GXA (§8)."""
    with transaction.atomic(), audit_context(acting_user, action="participant_join"):
        organisation = Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        authorize(acting_user, ACT, organisation)
        if rules_version != RULES_VERSION:
            _refuse(_("Accept the market rules in force (version %(version)s).") % {"version": RULES_VERSION},
                    "rules_version")
        status = {Organisation.Kind.REGULATED_ENTITY: P.ACTIVE,
                  Organisation.Kind.TRADING_OPERATOR: P.APPLIED}.get(organisation.kind)
        if status is None:
            _refuse(_("Only regulated entities and specified trading operators take part in the market."),
                    "organisation", ErrorCode.NOT_PERMITTED)
        if Participant.objects.filter(organisation=organisation).exists():
            _refuse(_("%(organisation)s has already joined or applied.") % {"organisation": organisation},
                    "organisation", ErrorCode.INVALID_STATE)
        return Participant.objects.create(organisation=organisation, status=status, rules_version=rules_version,
                                          rules_accepted_by=acting_user, rules_accepted_at=timezone.now())


@state_change
def participant_decide(*, participant: Participant, decision: str, reason: str = "", acting_user,
                       otp_token) -> Participant:
    """GXA approves or refuses an application, suspends or reinstates a participant; refusing and suspending
    need a reason, which the participant sees."""
    with transaction.atomic(), audit_context(acting_user, action=f"participant_{decision}"):
        participant = Participant.objects.select_for_update(no_key=True).get(pk=participant.pk)
        if decision not in DECISIONS:
            _refuse(_("Unknown decision."), "decision")
        authorize(acting_user, OPERATE_MARKET, market_operator(), fresh_code=otp_token)
        old, new = DECISIONS[decision]
        transition_check(participant, new)
        if participant.status != old:  # "approve" answers an application; a suspension ends by "reinstate"
            _refuse(_("This cannot be done now: it is %(state)s.") % {"state": participant.get_status_display()},
                    "status", ErrorCode.INVALID_STATE)
        reason = (reason or "").strip()
        if new in (P.REFUSED, P.SUSPENDED) and not reason:
            _refuse(_("Give the reason: the participant reads it."), "reason")
        participant.status, participant.reason = new, reason if new in (P.REFUSED, P.SUSPENDED) else ""
        participant.decided_by, participant.decided_at = acting_user, timezone.now()
        participant.save()
        return participant


@state_change
def instrument_create(*, vintage: int, opens_on: date, tick_yen: int = 1, lot: int = 1,
                      session_opens_at: time = time(9, 0), session_closes_at: time = time(15, 0),
                      acting_user) -> Instrument:
    """GXA lists the allowances of a vintage for trading."""
    with transaction.atomic(), audit_context(acting_user, action="instrument_create"):
        authorize(acting_user, OPERATE_MARKET, market_operator())
        if not 2026 <= int(vintage) <= 2100:
            _refuse(_("Give a vintage from 2026."), "vintage")
        if tick_yen < 1 or lot < 1:
            _refuse(_("The tick and the lot are whole numbers from 1."), "tick_yen" if tick_yen < 1 else "lot")
        if session_opens_at >= session_closes_at:
            _refuse(_("The session must open before it closes."), "session_closes_at")
        try:
            with transaction.atomic():
                return Instrument.objects.create(
                    code=f"JPA-{vintage}", vintage=vintage, opens_on=opens_on, tick_yen=tick_yen, lot=lot,
                    session_opens_at=session_opens_at, session_closes_at=session_closes_at, created_by=acting_user)
        except IntegrityError:
            _refuse(_("FY%(vintage)s allowances are already listed.") % {"vintage": vintage}, "vintage",
                    ErrorCode.INVALID_STATE)


def _positive_decimal(value, field, maximum) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        _refuse(_("Enter a number."), field)
    if not number.is_finite() or not 0 < number <= maximum:
        _refuse(_("Enter a number above 0 and at most %(maximum)s.") % {"maximum": maximum}, field)
    return number


@state_change
def parameters_set(*, instrument: Instrument, effective_from: datetime, reference_price_yen, band_percent,
                   halt_minutes, reason: str, acting_user) -> InstrumentParameters:
    """GXA sets the price-spike measures from a moment on (not in the past: the history is not rewritten)."""
    with transaction.atomic(), audit_context(acting_user, action="parameters_set"):
        instrument = Instrument.objects.select_for_update(no_key=True).get(pk=instrument.pk)
        authorize(acting_user, OPERATE_MARKET, market_operator())
        if effective_from < timezone.now() - timedelta(minutes=1):
            _refuse(_("Parameters take effect from now or later; the past is not changed."), "effective_from")
        price = _positive_decimal(reference_price_yen, "reference_price_yen", Decimal(10**7))
        if price != price.to_integral_value() or price % instrument.tick_yen:
            _refuse(_("The reference price is a whole number of ticks (%(tick)s yen).") % {
                "tick": instrument.tick_yen}, "reference_price_yen")
        band = _positive_decimal(band_percent, "band_percent", Decimal(50))
        halt = _positive_decimal(halt_minutes, "halt_minutes", Decimal(24 * 60))
        if halt != halt.to_integral_value():
            _refuse(_("Enter whole minutes."), "halt_minutes")
        if not (reason or "").strip():
            _refuse(_("Give the reason for the change (it is kept with the parameters)."), "reason")
        try:
            with transaction.atomic():
                return InstrumentParameters.objects.create(
                    instrument=instrument, effective_from=effective_from, reference_price_yen=int(price),
                    band_percent=band, halt_minutes=int(halt), reason=reason.strip(), set_by=acting_user)
        except IntegrityError:
            _refuse(_("Parameters already take effect at that moment."), "effective_from", ErrorCode.INVALID_STATE)


def parameters_at(instrument: Instrument, moment: datetime) -> InstrumentParameters | None:
    """The parameters in force at ``moment`` (the latest that took effect by then)."""
    return instrument.parameters.filter(effective_from__lte=moment).order_by("-effective_from").first()


def trading_day(day: date) -> bool:
    """Tokyo's working days: not Saturday, Sunday, a national holiday or the year-end closure (Dec 31 - Jan 3)."""
    year_end = (day.month == 12 and day.day == 31) or (day.month == 1 and day.day <= 3)
    return day.weekday() < 5 and not jpholiday.is_holiday(day) and not year_end


def in_session(instrument: Instrument, moment: datetime) -> bool:
    """Whether ``moment`` falls in the instrument's session: a trading day from its first, within its hours (JST)."""
    local = timezone.localtime(moment)
    return (local.date() >= instrument.opens_on and trading_day(local.date())
            and instrument.session_opens_at <= local.time() < instrument.session_closes_at)
