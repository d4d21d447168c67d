"""GXA's page: only its market operators open it; decisions and bank transfers with a fresh code."""

import pytest

from accounts.models import Balance, LedgerTransaction, Organisation
from accounts.roles import Role
from conftest import fresh_code
from market.models import Participant
from market.services import participants

pytestmark = pytest.mark.django_db
URL = "/market/operator/"


def test_only_gxas_market_operators_open_the_page(mkt, client, signed_in, make_user):
    assert client.get(URL).status_code == 302  # to the sign-in
    signed_in(make_user(Role.AUTHORISED_REPRESENTATIVE))
    assert client.get(URL).status_code == 403
    client.logout()
    signed_in(make_user(Role.REGISTRY_ADMINISTRATOR))
    assert client.get(URL).status_code == 403  # METI supervises; GXA operates
    client.logout()
    signed_in(mkt.gxa)
    assert client.get(URL).status_code == 200


def test_gxa_approves_an_application_and_books_a_bank_transfer_once(mkt, client, signed_in, make_user,
                                                                     make_organisation):
    operator = make_organisation(Organisation.Kind.TRADING_OPERATOR)
    applicant = participants.participant_join(organisation=operator, rules_version=participants.RULES_VERSION,
                                              acting_user=make_user(Role.AUTHORISED_REPRESENTATIVE, operator))
    signed_in(mkt.gxa)
    wrong = client.post(URL, {"form": "decide", "participant": applicant.pk, "decision": "approve",
                              "otp_token": "000000"})
    assert wrong.status_code == 400 and Participant.objects.get(pk=applicant.pk).status == "applied"
    done = client.post(URL, {"form": "decide", "participant": applicant.pk, "decision": "approve",
                             "otp_token": fresh_code(mkt.gxa)})
    assert done.status_code == 302 and Participant.objects.get(pk=applicant.pk).status == "active"
    for _ in range(2):
        client.post(URL, {"form": "cash", "participant": applicant.pk, "direction": "deposit",
                          "amount_yen": "１，０００，０００", "bank_reference": "MIZUHO-0001",
                          "otp_token": fresh_code(mkt.gxa)})
    assert Balance.objects.get(account__organisation=operator, unit_type="yen").quantity == 1_000_000
    assert LedgerTransaction.objects.filter(kind="cash_deposit").count() == 1
    refused = client.post(URL, {"form": "cash", "participant": applicant.pk, "direction": "withdrawal",
                                "amount_yen": "2000000", "bank_reference": "MIZUHO-0002",
                                "otp_token": fresh_code(mkt.gxa)})
    assert refused.status_code == 400 and "1,000,000" in refused.content.decode()
