"""Administrators' pages (four-eyes issuance and cancellation, search, suspensions and blocks), the public
registry report and API tokens for machines."""

import csv
import io
from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import compliance, ledger
from accounts.ledger import administration
from accounts.models import BookingRequest, CompliancePeriod, HoldingAccount, LedgerTransaction, TransferRequest
from accounts.roles import Role
from accounts.services import system_actor
from accounts.tests.ledger_fixtures import funded, held, holding_account, key
from accounts.tests.test_transfer_workflow import otp
from gxregistry.errors import RegistryError

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrators(make_user, signed_in):
    first, second = make_user(Role.REGISTRY_ADMINISTRATOR), make_user(Role.REGISTRY_ADMINISTRATOR)
    return {"first": first, "second": second, "first_client": signed_in(first, Client()),
            "second_client": signed_in(second, Client())}


def reserve_balance(vintage=2030):
    reserve = ledger.government_accounts()[HoldingAccount.Kind.ALLOCATION_RESERVE]
    return held(reserve, vintage)


def test_issuance_is_booked_only_when_a_second_administrator_approves(administrators):
    queue = reverse("booking_request_new")
    asked = administrators["first_client"].post(queue, {
        "form": "request", "kind": "issuance", "vintage": 2030, "quantity": "5000", "reason": "FY2030 allocation"},
        follow=True)
    assert "a second administrator must approve it" in asked.text
    request = BookingRequest.objects.get()
    assert reserve_balance() == 0 and request.status == BookingRequest.Status.AWAITING_APPROVAL
    approve = reverse("booking_request_decision", args=[request.pk, "approve"])
    assert approve not in asked.text and "A second administrator must decide." in asked.text

    own = administrators["first_client"].post(approve, {"stage": "confirm", "otp_token": otp(administrators["first"])}, follow=True)
    assert "a second administrator must" in own.text and reserve_balance() == 0
    bad_code = administrators["second_client"].post(approve, {"stage": "confirm", "otp_token": "999999"}, follow=True)
    assert "second-factor code is wrong" in bad_code.text and reserve_balance() == 0

    done = administrators["second_client"].post(approve, {"stage": "confirm", "otp_token": otp(administrators["second"])}, follow=True)
    assert "Approved and booked as transaction" in done.text
    request.refresh_from_db()
    assert request.status == BookingRequest.Status.EXECUTED and request.ledger_transaction.kind == "issuance"
    assert reserve_balance() == 5000
    again = administrators["second_client"].post(approve, {"stage": "confirm", "otp_token": otp(administrators["second"])}, follow=True)
    assert "no longer awaiting approval" in again.text and reserve_balance() == 5000
    assert ledger.reconcile().clean


def test_the_database_refuses_self_approval_of_a_request(administrators):
    request = administration.booking_request_create(kind="issuance", vintage=2030, quantity=1, reason="r",
                                                    acting_user=administrators["first"])
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingRequest.objects.filter(pk=request.pk).update(decided_by=administrators["first"])


def test_cancellation_request_and_rejection(administrators):
    account = funded(300)
    queue = reverse("booking_request_new")
    administrators["first_client"].post(queue, {"form": "request", "kind": "cancellation", "vintage": 2026,
                                                "quantity": "100", "account": account.number, "reason": "Court order"})
    request = BookingRequest.objects.get()
    administrators["second_client"].post(reverse("booking_request_decision", args=[request.pk, "approve"]),
                                         {"stage": "confirm", "otp_token": otp(administrators["second"])})
    assert held(account) == 200
    administrators["first_client"].post(queue, {"form": "request", "kind": "cancellation", "vintage": 2026,
                                                "quantity": "5", "account": account.number, "reason": "Typo"})
    second = BookingRequest.objects.filter(status="awaiting_approval").get()
    administrators["second_client"].post(reverse("booking_request_decision", args=[second.pk, "reject"]))
    second.refresh_from_db()
    assert second.status == BookingRequest.Status.REJECTED and held(account) == 200


def test_cancellation_of_more_than_is_held_fails_and_books_nothing(administrators):
    account = funded(10)
    request = administration.booking_request_create(kind="cancellation", vintage=2026, quantity=11, reason="r",
                                                    account=account, acting_user=administrators["first"])
    before = LedgerTransaction.objects.count()
    page = administrators["second_client"].post(reverse("booking_request_decision", args=[request.pk, "approve"]),
                                                {"stage": "confirm", "otp_token": otp(administrators["second"])}, follow=True)
    assert "the ledger refused it" in page.text and "holds 10" in page.text
    request.refresh_from_db()
    assert request.status == BookingRequest.Status.FAILED and LedgerTransaction.objects.count() == before


@pytest.mark.parametrize(("fields", "message"), [
    ({"quantity": "0"}, "Quantity: The quantity must be at least 1."),
    ({"quantity": "1.5"}, "Quantity: Enter a whole number of units."),
    ({"quantity": "1e20"}, "Quantity: Enter a whole number of units."),
    ({"quantity": "100000000000000000000"}, "Quantity: The quantity is larger than any holding can be."),
    ({"vintage": "abc"}, "Vintage: Enter a whole number."),
    ({"kind": "cancellation"}, "Account (cancellation only): Choose the account whose units are cancelled."),
    ({"kind": "cancellation", "account": "JP-OHA-0000000000000"}, "No account has number JP-OHA-0000000000000."),
    ({"reason": ""}, "Reason: This field is required."),
])
def test_bad_requests_name_the_field(administrators, fields, message):
    form = {"form": "request", "kind": "issuance", "vintage": "2030", "quantity": "10", "reason": "r", **fields}
    response = administrators["first_client"].post(reverse("booking_request_new"), form)
    assert response.status_code == 400 and message in response.text
    assert not BookingRequest.objects.exists()


def test_only_administrators_may_ask_for_issuance(make_user):
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE)
    with pytest.raises(RegistryError):
        administration.booking_request_create(kind="issuance", vintage=2030, quantity=1, reason="r",
                                              acting_user=representative)


def test_block_and_suspension_are_shown_to_those_affected(administrators, make_user, signed_in):
    account = funded(50)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=account.organisation)
    admin = administrators["first_client"]
    no_reason = admin.post(reverse("holding_account_state", args=[account.pk, "block"]), {"reason": ""}, follow=True)
    assert "Give the reason" in no_reason.text
    admin.post(reverse("holding_account_state", args=[account.pk, "block"]), {"reason": "Suspected fraud"})
    account.refresh_from_db()
    assert account.state == HoldingAccount.State.BLOCKED
    membership = representative.memberships.get()
    admin.post(reverse("membership_state", args=[membership.pk, "suspend"]), {"reason": "Left the company"})
    restrictions = admin.get(reverse("restriction_list")).text
    assert "Suspected fraud" in restrictions and "Left the company" in restrictions
    blocked = account.history.filter(pgh_label="update").latest("pgh_id")  # audited, with who and why
    assert blocked.state == "blocked" and blocked.state_reason == "Suspected fraud"
    assert blocked.pgh_context.metadata["user"] == administrators["first"].pk
    assert blocked.pgh_context.metadata["action"] == "account_block"
    suspended = membership.history.filter(pgh_label="update").latest("pgh_id")
    assert suspended.suspension_reason == "Left the company"
    assert suspended.pgh_context.metadata["action"] == "membership_suspend"

    client = signed_in(representative, Client())
    assert "Suspected fraud" in client.get(reverse("holding_account_detail", args=[account.pk])).text
    dashboard = client.get(reverse("dashboard")).text
    assert "is suspended: Left the company" in dashboard
    refused = client.post(reverse("transfer_list", args=[account.pk]), {
        "form": "initiate", "destination": funded(1).number, "unit": "allowance:2026:", "quantity": "1",
        "stage": "confirm", "otp_token": otp(representative)})
    assert refused.status_code == 403 and "Left the company" in refused.text
    assert not TransferRequest.objects.exists() and held(account) == 50

    admin.post(reverse("holding_account_state", args=[account.pk, "unblock"]))
    admin.post(reverse("membership_state", args=[membership.pk, "reinstate"]))
    account.refresh_from_db()
    membership.refresh_from_db()
    assert account.state == HoldingAccount.State.OPEN and membership.suspended_at is None


def test_an_account_is_closed_only_when_empty_and_then_neither_sends_nor_receives(administrators, make_user,
                                                                                  signed_in):
    account, other = funded(50), funded(10)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=account.organisation)
    close = reverse("holding_account_state", args=[account.pk, "close"])
    admin = administrators["first_client"]
    holds = admin.post(close, {"reason": "Company dissolved"}, follow=True)
    assert f"Account {account.number} still holds units: transfer or cancel them first." in holds.text
    pending = TransferRequest.objects.create(source=account, destination=other, unit_type="allowance", vintage=2026,
                                             quantity=50, initiated_by=representative, initiated_at=timezone.now())
    ledger.transfer_units(source=account, destination=other, unit=ledger.allowance(2026), quantity=50,
                          idempotency_key=key())
    waiting = admin.post(close, {"reason": "Company dissolved"}, follow=True)
    assert "are still pending: reject or cancel them first" in waiting.text
    TransferRequest.objects.filter(pk=pending.pk).update(status=TransferRequest.Status.CANCELLED)
    assert "Give the reason" in admin.post(close, {"reason": " ", "stage": "confirm"}, follow=True).text
    check = admin.post(close, {"reason": "Company dissolved"})  # the check page first: what will happen, to whom
    assert check.status_code == 200 and "Check before closing the account" in check.text
    assert f"{account.number} — {account.organisation.name}" in check.text and "cannot be reopened" in check.text
    account.refresh_from_db()
    assert account.state == HoldingAccount.State.OPEN

    closed = admin.post(close, {"reason": "Company dissolved", "stage": "confirm"}, follow=True)
    assert "is closed: it can neither send nor receive units" in closed.text
    account.refresh_from_db()
    assert (account.state, account.state_reason) == (HoldingAccount.State.CLOSED, "Company dissolved")
    assert account.history.latest("pgh_id").pgh_context.metadata["action"] == "account_close"
    with pytest.raises(RegistryError, match="closed and cannot receive"):
        ledger.transfer_units(source=other, destination=account, unit=ledger.allowance(2026), quantity=1,
                              idempotency_key=key())
    page = signed_in(representative, Client()).get(reverse("holding_account_detail", args=[account.pk])).text
    assert "This account is closed: it can neither send nor receive units." in page and "Company dissolved" in page
    assert "already closed" in admin.post(close, {"reason": "again", "stage": "confirm"}, follow=True).text
    assert (held(account), held(other)) == (0, 60) and ledger.reconcile().clean


def test_government_accounts_are_never_closed_and_only_administrators_close(administrators, make_user, signed_in):
    reserve = ledger.government_accounts()[HoldingAccount.Kind.ALLOCATION_RESERVE]
    refused = administrators["first_client"].post(reverse("holding_account_state", args=[reserve.pk, "close"]),
                                                  {"reason": "r"}, follow=True)
    assert refused.status_code == 400 and "never closed" in refused.text
    account = holding_account()
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=account.organisation)
    response = signed_in(representative, Client()).post(
        reverse("holding_account_state", args=[account.pk, "close"]), {"reason": "r"})
    assert response.status_code == 403
    reserve.refresh_from_db()
    account.refresh_from_db()
    assert reserve.state == account.state == HoldingAccount.State.OPEN


def test_administrators_see_the_governments_accounts_and_companies_do_not(administrators, make_user, signed_in):
    funded(25)  # issued into the allocation reserve, then allocated
    reserve = ledger.government_accounts()[HoldingAccount.Kind.ALLOCATION_RESERVE]
    found = administrators["first_client"].get(reverse("registry_search"), {"q": reserve.number}).text
    assert reverse("holding_account_detail", args=[reserve.pk]) in found
    page = administrators["first_client"].get(reverse("holding_account_detail", args=[reserve.pk]))
    assert page.status_code == 200 and reserve.name in page.text
    history = administrators["first_client"].get(reverse("holding_account_history", args=[reserve.pk]))
    assert history.status_code == 200 and "Allocation" in history.text
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE)
    company = signed_in(representative, Client())
    assert company.get(reverse("holding_account_detail", args=[reserve.pk])).status_code == 404
    # Seeing is not acting: administrators hold no right to move the government's units from the page.
    ledger.issue_allowances(vintage=2026, quantity=100, idempotency_key=key())
    destination = funded(1)
    moved = administrators["first_client"].post(reverse("transfer_list", args=[reserve.pk]), {
        "form": "initiate", "destination": destination.number, "unit": "allowance:2026:", "quantity": "1",
        "stage": "confirm", "otp_token": otp(administrators["first"])})
    assert moved.status_code == 403 and "You may not do this." in moved.text
    assert not TransferRequest.objects.exists() and held(reserve) == 100


def test_search_finds_accounts_and_transactions(administrators):
    account = funded(7, name="北海道電力")
    booked = LedgerTransaction.objects.filter(entries__account=account).first()
    client = administrators["first_client"]
    by_name = client.get(reverse("registry_search"), {"q": "北海道"}).text
    assert account.number in by_name
    by_number = client.get(reverse("registry_search"), {"q": f"#{booked.pk}"}).text
    assert f"#{booked.pk}</td>" in by_number
    by_account = client.get(reverse("registry_search"), {"q": account.number}).text
    assert f"#{booked.pk}</td>" in by_account
    assert "No account matches." in client.get(reverse("registry_search"), {"q": "zzz-nothing"}).text


def test_registry_report_is_public_with_csv(make_user, client):
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    compliant, short = funded(120, name="Compliant Steel"), funded(50, name="Short Cement")
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=4300, lower_limit_price_yen=1700)
    for account, emissions in ((compliant, 100), (short, 80)):
        compliance.verified_emissions_record(organisation=account.organisation, fiscal_year=2026,
                                             emissions_t=emissions, acting_user=administrator)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=compliant.organisation)
    compliance.surrender(account=compliant, fiscal_year=2026, allowances={2026: 100}, acting_user=representative,
                         otp_token=otp(representative), idempotency_key=key())
    CompliancePeriod.objects.create(fiscal_year=2090, surrender_deadline=date(2091, 11, 30),  # opened ahead, empty
                                    upper_limit_price_yen=4300, lower_limit_price_yen=1700)
    page = client.get(reverse("registry_report"))
    assert page.status_code == 200 and "Compliant Steel" in page.text and "Short Cement" in page.text
    assert page.context["fiscal_year"] == 2026  # by default the FY whose obligation is current, not the empty one
    response = client.get(reverse("registry_report"), {"fiscal_year": 2026, "export": "csv"})
    rows = {row["entity"]: row for row in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))}
    assert rows["Compliant Steel"]["allocated_t"] == "120" and rows["Compliant Steel"]["status"] == "compliant"
    assert rows["Compliant Steel"]["surrendered_allowances_t"] == "100"
    assert rows["Short Cement"]["verified_emissions_t"] == "80" and rows["Short Cement"]["status"] == "open"


def test_an_api_token_authenticates_a_machine_and_can_be_revoked(make_user, signed_in):
    viewer = make_user(Role.VIEWER)
    account = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING,
                                          organisation=viewer.memberships.get().organisation)
    foreign = funded(5)
    browser = signed_in(viewer, Client())
    created = browser.post(reverse("api_token_list"), {"create": "1"})
    token = created.context["new_token"]
    assert token.startswith("gxr_") and token in created.text
    page = browser.get(reverse("api_token_list")).text
    assert token not in page  # shown once only
    assert '<a href="/api/v1/schema/?format=json"' in page  # the API's description, linked for developers
    schema = browser.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200 and "/api/v1/market/orders/" in schema.json()["paths"]

    machine = Client()
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    listed = machine.get("/api/v1/holding-accounts/", **auth).json()
    assert [row["number"] for row in listed["results"]] == [account.number]
    assert machine.get(f"/api/v1/holding-accounts/{foreign.pk}/", **auth).status_code == 404
    assert machine.get("/api/v1/holding-accounts/", HTTP_AUTHORIZATION="Token gxr_wrong").status_code == 401

    from knox.models import AuthToken

    browser.post(reverse("api_token_list"), {"revoke": AuthToken.objects.get(user=viewer).token_key})
    assert machine.get("/api/v1/holding-accounts/", **auth).status_code == 401
