"""The REST API for companies' own systems: holdings, transactions, initiating a transfer."""

import pytest

from accounts import ledger
from accounts.models import HoldingAccount, TransferRequest
from accounts.roles import Role
from accounts.services import system_actor
from accounts.tests.ledger_fixtures import funded, held, key
from accounts.tests.test_transfer_workflow import otp

pytestmark = pytest.mark.django_db


@pytest.fixture
def representative(make_user, signed_in):
    user = make_user(Role.AUTHORISED_REPRESENTATIVE)
    account = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING,
                                          organisation=user.memberships.get().organisation)
    ledger.issue_allowances(vintage=2026, quantity=100, idempotency_key=key())
    ledger.allocation_transfer(account=account, vintage=2026, quantity=100, idempotency_key=key())
    signed_in(user)
    return user, account


def test_holdings_and_transactions(representative, client):
    _user, account = representative
    data = client.get(f"/api/v1/holding-accounts/{account.pk}/").json()
    assert data["balances"] == [{"unit_type": "allowance", "vintage": 2026, "credit_batch": None, "quantity": 100}]
    entries = client.get(f"/api/v1/holding-accounts/{account.pk}/transactions/?kind=allocation").json()
    assert entries["count"] == 1 and entries["results"][0]["quantity"] == 100
    bad = client.get(f"/api/v1/holding-accounts/{account.pk}/transactions/?vintage=abc")
    assert bad.status_code == 400 and "vintage" in bad.json()


def post(client, **body):
    return client.post("/api/v1/transfers/", body, content_type="application/json")


def test_initiating_a_transfer_waits_for_a_second_person(representative, client):
    user, account = representative
    destination = funded(1)
    response = post(client, source=account.pk, destination=destination.number, unit_type="allowance", vintage=2026,
                    quantity="40", otp_token=otp(user))
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "awaiting_approval"
    assert held(account) == 100  # nothing moves until another representative approves


@pytest.mark.parametrize(("quantity", "field"), [("0", "quantity"), ("-3", "quantity"), ("1.5", "quantity"),
                                                 ("100000000000000000000", "quantity"), ("ten", "quantity")])
def test_bad_quantities_name_the_field_and_change_nothing(representative, client, quantity, field):
    user, account = representative
    response = post(client, source=account.pk, destination=funded(1).number, unit_type="allowance", vintage=2026,
                    quantity=quantity, otp_token=otp(user))
    assert response.status_code == 400 and response.json()["field"] == field
    assert not TransferRequest.objects.exists()


def test_unknown_destination_wrong_unit_and_foreign_source(representative, client):
    user, account = representative
    unknown = post(client, source=account.pk, destination="JP-OHA-0000000000000", unit_type="allowance",
                   vintage=2026, quantity="1", otp_token=otp(user))
    assert unknown.status_code == 400 and unknown.json()["field"] == "destination"
    wrong_unit = post(client, source=account.pk, destination=funded(1).number, unit_type="bitcoin", vintage=2026,
                      quantity="1", otp_token=otp(user))
    assert wrong_unit.status_code == 400 and wrong_unit.json()["field"] == "unit_type"
    foreign = funded(50)
    response = post(client, source=foreign.pk, destination=account.number, unit_type="allowance", vintage=2026,
                    quantity="1", otp_token=otp(user))
    assert response.status_code == 404
    assert not TransferRequest.objects.exists()


def test_a_closed_destination_is_refused_by_field(representative, client):
    user, account = representative
    closed = funded(1)
    HoldingAccount.objects.filter(pk=closed.pk).update(state=HoldingAccount.State.CLOSED)
    response = post(client, source=account.pk, destination=closed.number, unit_type="allowance", vintage=2026,
                    quantity="1", otp_token=otp(user))
    body = response.json()
    assert response.status_code == 400 and body["field"] == "destination" and "is closed" in body["detail"]
    assert body["code"] == "account_not_usable"
    assert not TransferRequest.objects.exists() and held(account) == 100
