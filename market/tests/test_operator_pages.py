"""GXA's pages for instruments and parameters, reverse auctions and surveillance, and the auction pages that
participants and the public read: acts through the pages, refusals naming the field and writing nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from conftest import fresh_code
from market.models import Alert, AuctionOffer, InsiderListMember, InstrumentParameters, ReverseAuction
from market.services import surveillance

pytestmark = pytest.mark.django_db


def test_gxa_sets_parameters_and_a_wrong_band_is_refused_naming_the_field(mkt, client, signed_in):
    signed_in(mkt.gxa)
    url = "/market/operator/instruments/"
    page = client.get(url)
    assert page.status_code == 200 and "JPA-2027" in page.content.decode()
    assert "1 yen; 1 allowance<" in page.content.decode()  # one allowance, not "1 allowances"
    moment = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    values = {"form": "parameters", "parameters-instrument": mkt.instrument.pk, "parameters-effective_from": moment,
              "parameters-reference_price_yen": "3200", "parameters-halt_minutes": "15",
              "parameters-reason": "Autumn review"}
    before = InstrumentParameters.objects.count()
    refused = client.post(url, values | {"parameters-band_percent": "60"})
    assert refused.status_code == 400 and "50" in refused.content.decode()
    assert InstrumentParameters.objects.count() == before
    assert client.post(url, values | {"parameters-band_percent": "10"}).status_code == 302
    assert InstrumentParameters.objects.filter(reference_price_yen=3200, band_percent=10).exists()


def _low_days(market):
    """Three trading days before today at 1,700 yen (the lower limit is 1,750)."""
    seller, buyer = market.participant(allowances=1_000), market.participant(yen=10_000_000)
    for days_ago in (3, 2, 1):
        now = timezone.now() - timedelta(days=days_ago)
        market.order(seller, "sell", 1700, 10, now=now)
        market.order(buyer, "buy", 1700, 10, now=now)
    return seller, buyer


def test_gxa_opens_a_reverse_auction_from_its_page_with_a_fresh_code(open_market, client, signed_in):
    _low_days(open_market)
    signed_in(open_market.gxa)
    url = "/market/operator/auctions/"
    assert "1,700" in client.get(url).content.decode()  # the low closes shown
    now = timezone.localtime()
    values = {"form": "open", "open-instrument": open_market.instrument.pk, "open-budget_kind": "volume",
              "open-budget": "500", "open-pricing": "uniform", "open-offers_from": now.strftime("%Y-%m-%dT%H:%M"),
              "open-offers_until": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
              "open-reason": "Three closes at the floor"}
    assert client.post(url, values | {"open-otp_token": "000000"}).status_code == 400
    assert not ReverseAuction.objects.exists()
    for devices in (open_market.gxa.totpdevice_set, open_market.gxa.staticdevice_set):  # the wrong code's wait
        devices.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    opened = client.post(url, values | {"open-otp_token": fresh_code(open_market.gxa)})
    assert opened.status_code == 302
    assert ReverseAuction.objects.get().max_price_yen == 1750


def test_a_participant_offers_through_the_auction_page_and_the_public_sees_no_bidder(open_market, client,
                                                                                      signed_in):
    seller, _ = _low_days(open_market)
    now = timezone.now()
    auction = ReverseAuction.objects.create(
        instrument=open_market.instrument, budget_kind="volume", budget=100, pricing="uniform", max_price_yen=1750,
        offers_from=now - timedelta(minutes=5), offers_until=now + timedelta(hours=1), reason="Floor",
        opened_by=open_market.gxa, opened_at=now)
    url = f"/market/auctions/{auction.pk}/"
    signed_in(seller.rep)
    refused = client.post(url, {"form": "offer", "price_yen": "1800", "quantity": "10"})
    assert refused.status_code == 400 and "1,750" in refused.content.decode() and not AuctionOffer.objects.exists()
    assert client.post(url, {"form": "offer", "price_yen": "1600", "quantity": "10"}).status_code == 302
    assert AuctionOffer.objects.get().reserved_units == 10
    client.logout()
    public = client.get(url).content.decode() + client.get("/market/auctions/").content.decode()
    assert "1,600" not in public and str(seller.organisation) not in public  # sealed, and no one named


def test_gxa_decides_an_alert_and_keeps_insider_lists_from_its_page(mkt, client, signed_in):
    participant = mkt.participant(allowances=10)
    alert = Alert.objects.create(kind="volume_share", instrument=mkt.instrument, participant=participant,
                                 trading_day=timezone.localdate(), summary="Half the day's volume", key="t-1",
                                 raised_at=timezone.now())
    signed_in(mkt.gxa)
    url = "/market/operator/surveillance/"
    assert "Half the day" in client.get(url).content.decode()
    no_note = client.post(url, {"form": "decide", "decide-alert": alert.pk, "decide-decision": "dismiss",
                                "decide-note": ""})
    assert no_note.status_code == 400 and Alert.objects.get().status == "open"
    assert client.post(url, {"form": "decide", "decide-alert": alert.pk, "decide-decision": "refer",
                             "decide-note": "Ask for the orders' rationale"}).status_code == 302
    assert Alert.objects.get().status == "referred"
    insiders = surveillance.insider_list_create(name="Auction results", information="Results before publication",
                                                acting_user=mkt.gxa)
    unknown = client.post(url, {"form": "insider_add", "insider_add-insider_list": insiders.pk,
                                "insider_add-email": "nobody@example.jp", "insider_add-reason": "Staff"})
    assert unknown.status_code == 400 and not InsiderListMember.objects.exists()
    assert client.post(url, {"form": "insider_add", "insider_add-insider_list": insiders.pk,
                             "insider_add-email": participant.rep.email, "insider_add-reason": "Staff"}).status_code == 302
    assert InsiderListMember.objects.get().user == participant.rep


def test_the_new_gxa_pages_are_gxas_alone(mkt, client, signed_in, make_user):
    signed_in(make_user(Role.REGISTRY_ADMINISTRATOR))
    for url in ("/market/operator/instruments/", "/market/operator/auctions/", "/market/operator/surveillance/"):
        assert client.get(url).status_code == 403


def test_gxas_participant_list_names_each_participant_in_the_readers_language(mkt, client, signed_in):
    participant = mkt.participant(yen=1_000)
    type(participant.organisation).objects.filter(pk=participant.organisation.pk).update(name_en="Reader Trading Co.")
    signed_in(mkt.gxa)
    english = client.get("/market/operator/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reader Trading Co." in english and participant.organisation.name not in english
