"""Participants join or apply and GXA decides; instruments and their trading parameters with their history."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import Organisation
from accounts.roles import Role
from conftest import fresh_code
from gxregistry.errors import ErrorCode, RegistryError
from market.models import InstrumentParameters, Participant
from market.services import participants as market

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def gxa(make_user, make_organisation):
    return make_user(Role.MARKET_OPERATOR, make_organisation(Organisation.Kind.MARKET_OPERATOR, name="GX推進機構"))


def join(make_user, make_organisation, kind=Organisation.Kind.REGULATED_ENTITY):
    organisation = make_organisation(kind)
    return market.participant_join(organisation=organisation, rules_version=market.RULES_VERSION,
                                   acting_user=make_user(Role.AUTHORISED_REPRESENTATIVE, organisation))


def test_a_regulated_entity_takes_part_once_it_accepts_the_rules(make_user, make_organisation):
    participant = join(make_user, make_organisation)
    assert participant.status == Participant.Status.ACTIVE and participant.rules_version == market.RULES_VERSION
    with pytest.raises(RegistryError) as again:
        market.participant_join(organisation=participant.organisation, rules_version=market.RULES_VERSION,
                                acting_user=participant.rules_accepted_by)
    assert again.value.code == ErrorCode.INVALID_STATE


def test_old_rules_and_a_verification_body_are_refused(make_user, make_organisation):
    entity = make_organisation()
    with pytest.raises(RegistryError) as old:
        market.participant_join(organisation=entity, rules_version="2026-0",
                                acting_user=make_user(Role.AUTHORISED_REPRESENTATIVE, entity))
    assert old.value.field == "rules_version"
    body = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    with pytest.raises(RegistryError) as refused:
        market.participant_join(organisation=body, rules_version=market.RULES_VERSION,
                                acting_user=make_user(Role.AUTHORISED_REPRESENTATIVE, body))
    assert refused.value.code == ErrorCode.NOT_PERMITTED and not Participant.objects.exists()


def test_gxa_approves_a_trading_operator_and_suspends_it_with_a_reason(gxa, make_user, make_organisation):
    applicant = join(make_user, make_organisation, Organisation.Kind.TRADING_OPERATOR)
    assert applicant.status == Participant.Status.APPLIED
    approved = market.participant_decide(participant=applicant, decision="approve", acting_user=gxa,
                                         otp_token=fresh_code(gxa))
    assert approved.status == Participant.Status.ACTIVE and approved.decided_by == gxa
    with pytest.raises(RegistryError) as no_reason:
        market.participant_decide(participant=approved, decision="suspend", reason=" ", acting_user=gxa,
                                  otp_token=fresh_code(gxa))
    assert no_reason.value.field == "reason"
    suspended = market.participant_decide(participant=approved, decision="suspend", reason="Unpaid fees",
                                          acting_user=gxa, otp_token=fresh_code(gxa))
    assert (suspended.status, suspended.reason) == (Participant.Status.SUSPENDED, "Unpaid fees")
    with pytest.raises(RegistryError) as wrong_state:  # a suspended participant is not approved again
        market.participant_decide(participant=suspended, decision="approve", acting_user=gxa, otp_token=fresh_code(gxa))
    assert wrong_state.value.code == ErrorCode.INVALID_STATE
    with pytest.raises(DatabaseError), transaction.atomic():  # nor by an UPDATE around the service
        Participant.objects.filter(pk=suspended.pk).update(status=Participant.Status.APPLIED)


def test_a_registry_administrator_does_not_run_the_market(gxa, make_user, make_organisation):
    applicant = join(make_user, make_organisation, Organisation.Kind.TRADING_OPERATOR)
    admin = make_user(Role.REGISTRY_ADMINISTRATOR)
    with pytest.raises(RegistryError) as refused:
        market.participant_decide(participant=applicant, decision="approve", acting_user=admin,
                                  otp_token=fresh_code(admin))
    assert refused.value.code == ErrorCode.NOT_PERMITTED


def test_parameters_have_a_history_that_is_never_rewritten(gxa):
    instrument = market.instrument_create(vintage=2027, opens_on=date(2027, 10, 1), acting_user=gxa)
    now = timezone.now()
    first = market.parameters_set(instrument=instrument, effective_from=now, reference_price_yen="3000",
                                  band_percent="10", halt_minutes="15", reason="Opening", acting_user=gxa)
    later = market.parameters_set(instrument=instrument, effective_from=now + timedelta(days=1),
                                  reference_price_yen=3200, band_percent=Decimal("7.5"), halt_minutes=10,
                                  reason="Thin trading", acting_user=gxa)
    assert market.parameters_at(instrument, now + timedelta(hours=1)) == first
    assert market.parameters_at(instrument, now + timedelta(days=2)) == later
    assert first.band() == (2700, 3300) and later.band() == (2960, 3440)
    with pytest.raises(RegistryError) as past:
        market.parameters_set(instrument=instrument, effective_from=now - timedelta(days=1), reference_price_yen=1,
                              band_percent=1, halt_minutes=1, reason="x", acting_user=gxa)
    assert past.value.field == "effective_from"
    for field, value in (("reference_price_yen", "abc"), ("band_percent", "60"), ("halt_minutes", "1.5")):
        values = {"reference_price_yen": 3000, "band_percent": 10, "halt_minutes": 15, field: value}
        with pytest.raises(RegistryError) as bad:
            market.parameters_set(instrument=instrument, effective_from=now + timedelta(days=3), reason="x",
                                  acting_user=gxa, **values)
        assert bad.value.field == field
    with pytest.raises(DatabaseError), transaction.atomic():
        InstrumentParameters.objects.filter(pk=first.pk).update(band_percent=20)


def test_sessions_follow_tokyo_working_days_and_hours(gxa):
    instrument = market.instrument_create(vintage=2027, opens_on=date(2027, 10, 1), acting_user=gxa,
                                          session_opens_at=time(9), session_closes_at=time(15))

    def at(day, hour):
        return datetime(*day, hour, 0, tzinfo=TOKYO)

    assert market.in_session(instrument, at((2027, 10, 1), 9))  # Friday, first day
    assert not market.in_session(instrument, at((2027, 9, 30), 10))  # before the first day
    assert not market.in_session(instrument, at((2027, 10, 1), 15))  # closed at 15:00
    assert not market.in_session(instrument, at((2027, 10, 2), 10))  # Saturday
    assert not market.in_session(instrument, at((2027, 10, 11), 10))  # Sports Day (a national holiday)
    assert not market.in_session(instrument, at((2027, 12, 31), 10))  # year-end closure
