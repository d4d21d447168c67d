"""Irreversible acts go through a "check your answers" page: it names the other side by holder and account
number, says what cannot be undone, asks for the second-factor code, and nothing happens before it is confirmed."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import ledger
from accounts.models import BookingRequest, LedgerTransaction, SurrenderRecord, TransferRequest
from accounts.roles import Role
from accounts.tests.ledger_fixtures import held
from accounts.tests.test_administration_pages import administrators  # noqa: F401 - fixture
from accounts.tests.test_compliance import entity  # noqa: F401 - fixture
from accounts.tests.test_ledger_pages import company  # noqa: F401 - fixture
from accounts.tests.test_transfer_workflow import otp

pytestmark = pytest.mark.django_db


def test_a_transfer_is_checked_before_the_code_is_asked_for(company, make_organisation):  # noqa: F811
    url = reverse("transfer_list", args=[company["account"].pk])
    client = company["initiator_client"]
    form_page = client.get(url).text
    assert 'name="otp_token"' not in form_page  # asked for on the check page, once the answers are seen
    answers = {"form": "initiate", "destination": company["destination"].number, "unit": "allowance:2026:",
               "quantity": "40"}
    check = client.post(url, answers)
    assert check.status_code == 200 and not TransferRequest.objects.exists()
    destination = company["destination"]
    text = check.text
    assert "Check the transfer" in text and f"{destination.number} — {destination.organisation.name}" in text
    assert f"{company['account'].number} — 東京製鉄所株式会社" in text and "40 t-CO2" in text
    assert "960 t-CO2" in text  # what is left
    assert 'name="otp_token"' in text and 'name="stage" value="confirm"' in text

    changed = client.post(url, {**answers, "stage": "change"})  # "Change": the form again, filled in
    assert changed.status_code == 200 and 'value="40"' in changed.text and not TransferRequest.objects.exists()

    wrong = client.post(url, {**answers, "stage": "confirm", "otp_token": "000000"})
    assert wrong.status_code == 400 and "Check the transfer" in wrong.text  # the answers kept, the code refused
    assert "The second-factor code is wrong" in wrong.text and not TransferRequest.objects.exists()

    done = client.post(url, {**answers, "stage": "confirm", "otp_token": otp(company["initiator"])})
    assert done.status_code == 302 and TransferRequest.objects.get().quantity == 40


def test_a_transfer_that_cannot_happen_is_refused_at_the_check_not_after_the_code(company):  # noqa: F811
    url = reverse("transfer_list", args=[company["account"].pk])
    refused = company["initiator_client"].post(url, {
        "form": "initiate", "destination": company["destination"].number, "unit": "allowance:2026:",
        "quantity": "1001"})
    assert refused.status_code == 400 and "holds 1,000" in refused.text and "Check the transfer" not in refused.text


def test_an_approval_is_checked_with_both_holders_before_the_code(company, make_user, signed_in):  # noqa: F811
    company["initiator_client"].post(reverse("transfer_list", args=[company["account"].pk]), {
        "form": "initiate", "destination": company["destination"].number, "unit": "allowance:2026:",
        "quantity": "40", "stage": "confirm", "otp_token": otp(company["initiator"])})
    transfer = TransferRequest.objects.get()
    approve = reverse("transfer_decision", args=[transfer.pk, "approve"])
    check = company["approver_client"].get(approve)
    assert check.status_code == 200 and company["destination"].number in check.text
    assert company["destination"].organisation.name in check.text and "12:00 JST" in check.text
    transfer.refresh_from_db()
    assert transfer.status == TransferRequest.Status.AWAITING_APPROVAL
    own = company["initiator_client"].get(approve)  # the initiator is refused at the check, before any code
    assert own.status_code == 403 and "cannot approve or reject it" in own.text
    viewer = make_user(Role.VIEWER, organisation=company["account"].organisation)
    assert Client().get(approve).status_code == 302  # sign in first
    assert signed_in(viewer, Client()).get(approve).status_code == 403


def test_a_surrender_is_checked_with_what_is_left_to_cover(entity, signed_in):  # noqa: F811
    client = signed_in(entity["rep"])
    url = reverse("compliance", args=[entity["organisation"].pk, 2026])
    answers = {"form": "surrender", "allowance_vintage": 2026, "allowances": "600", "request_key": "k"}
    check = client.post(url, answers)
    assert check.status_code == 200 and "Check the surrender" in check.text
    assert "600 t-CO2 (of 900 held)" in check.text and "400 t-CO2" in check.text  # 1,000 verified - 600
    assert "cannot be taken back" in check.text and not SurrenderRecord.objects.exists()
    assert held(entity["account"]) == 900
    done = client.post(url, {**answers, "stage": "confirm", "otp_token": otp(entity["rep"])})
    assert done.status_code == 302 and SurrenderRecord.objects.get().allowances == 600


def test_an_administrator_checks_an_issuance_before_approving_it(administrators):  # noqa: F811
    administrators["first_client"].post(reverse("booking_request_new"), {
        "form": "request", "kind": "issuance", "vintage": 2030, "quantity": "5000", "reason": "FY2030 allocation"})
    request = BookingRequest.objects.get()
    queue = administrators["second_client"].get(reverse("four_eyes_queue")).text
    assert 'name="otp_token"' not in queue and 'id="booking-request"' not in queue  # the queue, not the forms
    check = administrators["second_client"].get(reverse("booking_request_decision", args=[request.pk, "approve"]))
    assert check.status_code == 200 and "5,000 t-CO2" in check.text and "FY2030 allocation" in check.text
    assert "created in the account at once" in check.text and 'name="otp_token"' in check.text
    assert not LedgerTransaction.objects.filter(kind="issuance").exists()
    assert ledger.reconcile().clean


def test_every_kind_of_booking_request_has_a_check_page_naming_the_account(administrators):  # noqa: F811
    from accounts.tests.ledger_fixtures import funded
    from accounts.tests.test_credit_issuance import credits_form

    account = funded(100)
    sent = ledger.transfer_units(source=account, destination=funded(1), unit=ledger.allowance(2026), quantity=10,
                                 idempotency_key="check-reversal")
    first = administrators["first_client"]
    new = reverse("booking_request_new")
    first.post(new, {"form": "request", "kind": "cancellation", "vintage": 2026, "quantity": "5",
                     "account": account.number, "reason": "Invalidated"})
    first.post(new, credits_form(account))
    first.post(new, {"form": "reversal", "transaction": sent.pk, "reason": "Wrong account"})
    requests = BookingRequest.objects.order_by("pk")
    assert requests.count() == 3
    for request in requests:
        check = administrators["second_client"].get(reverse("booking_request_decision", args=[request.pk, "approve"]))
        assert check.status_code == 200, request.kind
        assert request.account.number in check.text and 'name="otp_token"' in check.text
        assert request.status == BookingRequest.Status.AWAITING_APPROVAL
    assert "for good" in administrators["second_client"].get(
        reverse("booking_request_decision", args=[requests[0].pk, "approve"])).text
    assert f"#{sent.pk}" in administrators["second_client"].get(
        reverse("booking_request_decision", args=[requests[2].pk, "approve"])).text


def test_a_wrong_code_after_the_act_became_impossible_says_why_on_the_form(company):  # noqa: F811
    from accounts.models import HoldingAccount

    url = reverse("transfer_list", args=[company["account"].pk])
    answers = {"form": "initiate", "destination": company["destination"].number, "unit": "allowance:2026:",
               "quantity": "40"}
    assert company["initiator_client"].post(url, answers).status_code == 200  # the check page
    HoldingAccount.objects.filter(pk=company["destination"].pk).update(state=HoldingAccount.State.CLOSED)
    wrong = company["initiator_client"].post(url, {**answers, "stage": "confirm", "otp_token": "000000"})
    # The form again, saying what is wrong now (the destination closed meanwhile), not the check page or a 500.
    assert wrong.status_code == 400 and "Check the transfer" not in wrong.text
    assert f"To account: Account {company['destination'].number} is closed" in wrong.text
    assert not TransferRequest.objects.exists()
