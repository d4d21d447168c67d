"""Credits brought in from the J-Credit and JCM registries under four eyes, and cancelled from the page."""

from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts import compliance, ledger
from accounts.ledger import administration
from accounts.models import BookingRequest, CompliancePeriod, CreditBatch, LedgerTransaction
from accounts.roles import Role
from accounts.tests.ledger_fixtures import holding_account
from accounts.tests.test_administration_pages import administrators  # noqa: F401 - fixture
from accounts.tests.test_transfer_workflow import otp
from gxregistry.errors import RegistryError

pytestmark = pytest.mark.django_db


def credits_held(account, batch) -> int:
    balance = account.balances.filter(credit_batch=batch).first()
    return balance.quantity if balance else 0


def credits_form(credited, **fields):
    return {"form": "credits", "unit_type": "j_credit", "serial_start": "1001", "serial_end": "1500",
            "vintage": "2024", "origin": "JCR-0042 Biomass boiler, Hokkaido", "eligible": "yes",
            "account": credited.number, "reason": "Transfer in from the J-Credit registry", **fields}


def approve(administrators, request):  # noqa: F811 - the fixture's value
    return administrators["second_client"].post(reverse("booking_request_decision", args=[request.pk, "approve"]),
                                                {"stage": "confirm", "otp_token": otp(administrators["second"])}, follow=True)


def test_a_credit_batch_enters_whole_only_when_a_second_administrator_approves(administrators):  # noqa: F811
    account = holding_account()
    asked = administrators["first_client"].post(reverse("booking_request_new"), credits_form(account), follow=True)
    assert "a second administrator must approve it" in asked.text
    request = BookingRequest.objects.get()
    assert request.quantity == 500 and "serials 1001–1500" in asked.text and "Credits brought in" in asked.text
    assert not CreditBatch.objects.exists(), "no batch before approval"

    done = approve(administrators, request)
    assert "Approved and booked as transaction" in done.text
    batch = CreditBatch.objects.get()
    assert (batch.unit_type, batch.serial_start, batch.serial_end, batch.vintage, batch.eligible) == (
        "j_credit", 1001, 1500, 2024, True)
    assert batch.origin == "JCR-0042 Biomass boiler, Hokkaido"
    assert credits_held(account, batch) == 500
    request.refresh_from_db()
    assert request.credit_batch == batch and request.ledger_transaction.kind == LedgerTransaction.Kind.ISSUANCE
    assert ledger.reconcile().clean


def test_serials_already_in_the_registry_or_awaiting_approval_are_refused(administrators):  # noqa: F811
    account = holding_account()
    client = administrators["first_client"]
    client.post(reverse("booking_request_new"), credits_form(account))
    pending = client.post(reverse("booking_request_new"), credits_form(account, serial_start="1500", serial_end="1600"))
    assert pending.status_code == 400
    assert "First serial number: These serial numbers overlap serials 1001-1500 awaiting approval." in pending.text
    approve(administrators, BookingRequest.objects.get())
    taken = client.post(reverse("booking_request_new"), credits_form(account, serial_start="900", serial_end="1001"))
    assert "overlap batch 1001-1500 already in the registry" in taken.text
    # The same serials of the other credit type are a different credit.
    other = client.post(reverse("booking_request_new"), credits_form(account, unit_type="jcm_credit"), follow=True)
    assert other.status_code == 200 and BookingRequest.objects.filter(unit_type="jcm_credit").count() == 1


def test_the_database_refuses_overlapping_batches():
    CreditBatch.objects.create(unit_type="j_credit", serial_start=1, serial_end=100, vintage=2024, origin="P")
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditBatch.objects.create(unit_type="j_credit", serial_start=50, serial_end=60, vintage=2024, origin="Q")
    CreditBatch.objects.create(unit_type="j_credit", serial_start=101, serial_end=200, vintage=2024, origin="R")
    CreditBatch.objects.create(unit_type="jcm_credit", serial_start=1, serial_end=100, vintage=2024, origin="S")


def test_a_request_overtaken_by_another_batch_fails_and_books_nothing(administrators):  # noqa: F811
    """Two requests that slipped past the check (made directly here) cannot both become batches."""
    account = holding_account()
    common = {"kind": "issuance", "unit_type": "j_credit", "vintage": 2024, "origin": "P", "credit_eligible": True,
              "account": account, "reason": "r", "requested_by": administrators["first"]}
    first = BookingRequest.objects.create(serial_start=1, serial_end=10, quantity=10, **common)
    second = BookingRequest.objects.create(serial_start=5, serial_end=14, quantity=10, **common)
    approve(administrators, first)
    before = LedgerTransaction.objects.count()
    page = approve(administrators, second)
    assert "the ledger refused it: These serial numbers overlap a batch already in the registry." in page.text
    second.refresh_from_db()
    assert second.status == BookingRequest.Status.FAILED and second.credit_batch is None
    assert CreditBatch.objects.count() == 1 and LedgerTransaction.objects.count() == before
    assert ledger.reconcile().clean


def test_the_database_refuses_a_credit_issuance_whose_quantity_is_not_its_serial_range(administrators):  # noqa: F811
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingRequest.objects.create(kind="issuance", unit_type="j_credit", vintage=2024, origin="P",
                                      credit_eligible=True, serial_start=1, serial_end=10, quantity=11,
                                      account=holding_account(), reason="r", requested_by=administrators["first"])


@pytest.mark.parametrize(("fields", "message"), [
    ({"serial_start": "abc"}, "First serial number: Enter a whole number."),
    ({"serial_start": "-1"}, "First serial number: Ensure this value is greater than or equal to 0."),
    ({"serial_end": "1000"}, "Last serial number: The last serial number is below the first."),
    ({"serial_end": "1000000000000000001"}, "Last serial number: The quantity is larger than any holding can be."),
    ({"vintage": "1999"}, "Vintage: Ensure this value is greater than or equal to 2000."),
    ({"origin": "  "}, "Origin (project): This field is required."),
    ({"eligible": ""}, "Eligible for surrender: This field is required."),
    ({"account": "JP-GOV-ALLOCATION-RE"}, "Credited to account: Credits go to an operator holding account or a "
                                          "trading account."),
    ({"account": "JP-OHA-0000000000000"}, "No account has number JP-OHA-0000000000000."),
    ({"unit_type": "allowance"}, "Credits: Select a valid choice."),
    ({"reason": ""}, "Reason: This field is required."),
])
def test_bad_credit_requests_name_the_field(administrators, fields, message):  # noqa: F811
    ledger.government_accounts()
    response = administrators["first_client"].post(reverse("booking_request_new"),
                                                   credits_form(holding_account(), **fields))
    assert response.status_code == 400 and message in response.text
    assert not BookingRequest.objects.exists()


def test_only_administrators_may_bring_credits_in(make_user):
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE)
    with pytest.raises(RegistryError):
        administration.credit_issuance_request_create(
            unit_type="j_credit", serial_start=1, serial_end=10, vintage=2024, origin="P", eligible=True,
            account=holding_account(), reason="r", acting_user=representative)


def test_credits_are_cancelled_from_the_page_by_their_batch(administrators):  # noqa: F811
    account = holding_account()
    administrators["first_client"].post(reverse("booking_request_new"), credits_form(account))
    approve(administrators, BookingRequest.objects.get())
    batch = CreditBatch.objects.get()
    queue = reverse("booking_request_new")
    unknown = administrators["first_client"].post(queue, {
        "form": "request", "kind": "cancellation", "unit_type": "j_credit", "credit_batch": "999",
        "quantity": "100", "account": account.number, "reason": "Invalidated by the J-Credit registry"})
    assert unknown.status_code == 400
    assert "Credit batch (first serial number): No batch of these credits starts at serial 999." in unknown.text
    missing = administrators["first_client"].post(queue, {
        "form": "request", "kind": "cancellation", "unit_type": "j_credit", "quantity": "100",
        "account": account.number, "reason": "r"})
    assert "Give the first serial number of the credit batch." in missing.text
    administrators["first_client"].post(queue, {
        "form": "request", "kind": "cancellation", "unit_type": "j_credit", "credit_batch": "1001",
        "quantity": "100", "account": account.number, "reason": "Invalidated by the J-Credit registry"})
    request = BookingRequest.objects.get(kind="cancellation")
    assert (request.credit_batch, request.vintage) == (batch, 2024)
    approve(administrators, request)
    assert credits_held(account, batch) == 400
    assert ledger.reconcile().units[ledger.Unit("j_credit", 2024, batch.pk).label()] == (500, 400, 0, 100)


def test_credits_brought_in_as_ineligible_are_marked_and_cannot_be_surrendered(administrators, make_user,  # noqa: F811
                                                                               signed_in):
    account = holding_account()
    administrators["first_client"].post(reverse("booking_request_new"), credits_form(
        account, unit_type="jcm_credit", vintage="2018", eligible="no"))
    approve(administrators, BookingRequest.objects.get())
    batch = CreditBatch.objects.get()
    assert batch.eligible is False
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=4300, lower_limit_price_yen=1700)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=account.organisation)
    compliance.verified_emissions_record(organisation=account.organisation, fiscal_year=2026, emissions_t=10_000,
                                         acting_user=administrators["first"])
    page = signed_in(representative, Client()).get(reverse("holding_account_detail", args=[account.pk])).text
    assert "JCM credit 1001-1500 <strong" in page and "not eligible for surrender" in page
    with pytest.raises(RegistryError, match="not eligible"):
        compliance.surrender(account=account, fiscal_year=2026, credits={batch.pk: 10}, acting_user=representative,
                             otp_token=otp(representative), idempotency_key="s-1")
    assert credits_held(account, batch) == 500


def test_credits_are_named_by_their_serials_where_holders_choose_and_are_refused_them(administrators, make_user,  # noqa: F811
                                                                                       signed_in):
    account, other = holding_account(), holding_account()
    administrators["first_client"].post(reverse("booking_request_new"), credits_form(account))
    approve(administrators, BookingRequest.objects.get())
    batch = CreditBatch.objects.get()
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=account.organisation)
    client = signed_in(representative, Client())
    page = client.get(reverse("transfer_list", args=[account.pk])).text
    assert "J-Credit FY2024, serials 1001-1500 — 500" in page
    refused = client.post(reverse("transfer_list", args=[account.pk]), {
        "form": "initiate", "destination": other.number, "unit": f"j_credit:2024:{batch.pk}", "quantity": "600",
        "stage": "confirm", "otp_token": otp(representative)})
    named = f"Account {account.number} holds 500 of J-Credit FY2024, serials 1001-1500; 600 were asked for."
    assert refused.status_code == 400 and named in refused.text
    with pytest.raises(RegistryError) as booked:  # the same words when the database refuses
        ledger.transfer_units(source=account, destination=other, unit=ledger.Unit("j_credit", 2024, batch.pk),
                              quantity=600, idempotency_key="too-many")
    assert str(booked.value.message) == named
