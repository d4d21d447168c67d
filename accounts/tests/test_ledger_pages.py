"""The ledger through the pages a company uses: transfers and approvals, bad input, the trusted list,
the compliance card with surrender, the statement PDF."""

import io
import re
import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pgtrigger
import pypdf
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from accounts import compliance, ledger
from accounts.models import HoldingAccount, LedgerTransaction, TransferRequest, TrustedAccount
from accounts.roles import Role
from accounts.services import system_actor
from accounts.tests.ledger_fixtures import funded, held, key
from accounts.tests.test_compliance import entity  # noqa: F401 - fixture
from accounts.tests.test_transfer_workflow import otp

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(make_user, make_organisation, signed_in):
    organisation = make_organisation(name="東京製鉄所株式会社")
    initiator = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=organisation)
    approver = make_user(Role.APPROVING_REPRESENTATIVE, organisation=organisation)
    account = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING, organisation=organisation)
    ledger.issue_allowances(vintage=2026, quantity=1000, idempotency_key=key())
    ledger.allocation_transfer(account=account, vintage=2026, quantity=1000, idempotency_key=key())
    return {"account": account, "initiator": initiator, "approver": approver,
            "initiator_client": signed_in(initiator, Client()), "approver_client": signed_in(approver, Client()),
            "destination": funded(1)}


def initiate(c, quantity="40", destination=None, unit="allowance:2026:", token=None):
    return c["initiator_client"].post(reverse("transfer_list", args=[c["account"].pk]), {
        "form": "initiate", "destination": destination or c["destination"].number, "unit": unit,
        "quantity": quantity, "stage": "confirm", "otp_token": token or otp(c["initiator"])})


def test_a_transfer_is_initiated_by_one_representative_and_approved_by_another(company):
    response = initiate(company)
    assert response.status_code == 302
    request = TransferRequest.objects.get()
    assert request.status == TransferRequest.Status.AWAITING_APPROVAL and held(company["account"]) == 1000
    own_page = company["initiator_client"].get(reverse("transfer_list", args=[company["account"].pk])).text
    assert "A different representative must approve." in own_page
    assert reverse("transfer_decision", args=[request.pk, "approve"]) not in own_page
    page = company["approver_client"].get(reverse("transfer_list", args=[company["account"].pk])).text
    approve_url = reverse("transfer_decision", args=[request.pk, "approve"])
    assert approve_url in page

    wrong = company["approver_client"].post(approve_url, {"stage": "confirm", "otp_token": "000000"}, follow=True)
    assert "second-factor code is wrong" in wrong.text
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.AWAITING_APPROVAL

    done = company["approver_client"].post(approve_url, {"stage": "confirm", "otp_token": otp(company["approver"])}, follow=True)
    assert "it executes at" in done.text
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.SCHEDULED and request.decided_by == company["approver"]

    cancel = company["initiator_client"].post(reverse("transfer_decision", args=[request.pk, "cancel"]), follow=True)
    assert "Cancelled." in cancel.text
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.CANCELLED and held(company["account"]) == 1000


def test_the_initiator_approving_through_the_page_is_refused(company, make_user):
    initiate(company)
    request = TransferRequest.objects.get()
    response = company["initiator_client"].post(reverse("transfer_decision", args=[request.pk, "approve"]),
                                                {"stage": "confirm", "otp_token": otp(company["initiator"])}, follow=True)
    assert "cannot approve or reject it" in response.text
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.AWAITING_APPROVAL


@pytest.mark.parametrize(("quantity", "message"), [
    ("0", "The quantity must be at least 1."),
    ("-5", "The quantity must be at least 1."),
    ("1.5", "Enter a whole number of units."),
    ("100000000000000000000", "The quantity is larger than any holding can be."),
    ("ten", "Enter a whole number of units."),
    ("", "This field is required."),
    ("1001", "holds 1,000"),
])
def test_bad_quantities_through_the_page_name_the_field_and_change_nothing(company, quantity, message):
    before = LedgerTransaction.objects.count()
    response = initiate(company, quantity=quantity)
    assert response.status_code == 400
    assert "Quantity: " in response.text and message in response.text
    assert not TransferRequest.objects.exists() and LedgerTransaction.objects.count() == before


def test_unknown_closed_and_wrong_unit_are_refused_by_field(company):
    closed = funded(1)
    HoldingAccount.objects.filter(pk=closed.pk).update(state=HoldingAccount.State.CLOSED)
    before = LedgerTransaction.objects.count()
    unknown = initiate(company, destination="JP-OHA-0000000000000")
    assert unknown.status_code == 400 and "To account: No account has number JP-OHA-0000000000000." in unknown.text
    refused = initiate(company, destination=closed.number)
    assert refused.status_code == 400 and f"To account: Account {closed.number} is closed" in refused.text
    wrong_unit = initiate(company, unit="j_credit:2026:")
    assert wrong_unit.status_code == 400 and "Units: Select a valid choice." in wrong_unit.text
    itself = initiate(company, destination=company["account"].number)
    assert itself.status_code == 400 and "The source and destination accounts are the same." in itself.text
    no_code = initiate(company, token="123")
    assert no_code.status_code == 400 and "Second-factor code: The second-factor code is wrong" in no_code.text
    assert not TransferRequest.objects.exists() and LedgerTransaction.objects.count() == before


def test_a_viewer_sees_transfers_but_no_forms_and_cannot_act(company, make_user, signed_in):
    viewer = make_user(Role.VIEWER, organisation=company["account"].organisation)
    client = signed_in(viewer, Client())
    page = client.get(reverse("transfer_list", args=[company["account"].pk])).text
    assert 'id="initiate"' not in page
    response = client.post(reverse("transfer_list", args=[company["account"].pk]), {
        "form": "initiate", "destination": company["destination"].number, "unit": "allowance:2026:",
        "quantity": "1", "stage": "confirm", "otp_token": otp(viewer)})
    assert response.status_code == 403 and "You may not do this" in response.text
    assert not TransferRequest.objects.exists()


def test_trusted_list_needs_two_representatives(company, make_user, signed_in):
    second = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=company["account"].organisation)
    url = reverse("trusted_account_list", args=[company["account"].pk])
    proposed = company["initiator_client"].post(url, {"form": "propose", "trusted": company["destination"].number},
                                                follow=True)
    assert "a second representative must confirm it" in proposed.text
    entry = TrustedAccount.objects.get()
    confirm_url = reverse("trusted_account_decision", args=[entry.pk, "confirm"])
    assert confirm_url not in proposed.text  # the proposer is not offered confirmation
    refused = company["initiator_client"].post(confirm_url, follow=True)
    assert "A second representative must confirm" in refused.text
    client = signed_in(second, Client())
    assert "second-factor code is wrong" in client.post(confirm_url, {"stage": "confirm", "otp_token": "000000"}).text
    confirmed = client.post(confirm_url, {"stage": "confirm", "otp_token": otp(second)}, follow=True)
    assert "execute at once from" in confirmed.text
    entry.refresh_from_db()
    assert entry.confirmed_by == second and entry.active_from is not None
    client.post(reverse("trusted_account_decision", args=[entry.pk, "remove"]))
    entry.refresh_from_db()
    assert entry.removed_at is not None


def test_compliance_page_surrenders_once_and_states_the_credit_cap(entity, signed_in):  # noqa: F811
    client = signed_in(entity["rep"])
    url = reverse("compliance", args=[entity["organisation"].pk, 2026])
    page = client.get(url)
    assert page.status_code == 200 and "at most 100 t" in page.text and "Open" in page.text
    assert '<option value="2026" selected>' in page.text  # the FY's own vintage is offered first
    over_cap = client.post(url, {"form": "surrender", "credit_batch": entity["good"].pk, "credits": "101",
                                 "stage": "confirm", "otp_token": otp(entity["rep"]), "request_key": "k1"})
    assert over_cap.status_code == 400 and "100 more still fit" in over_cap.text
    form = {"form": "surrender", "allowance_vintage": 2026, "allowances": "900", "credit_batch": entity["good"].pk,
            "credits": "100", "request_key": "k2"}
    assert client.post(url, {**form, "stage": "confirm", "otp_token": otp(entity["rep"])}).status_code == 302
    assert client.post(url, {**form, "stage": "confirm", "otp_token": otp(entity["rep"])}).status_code == 302  # a double submit
    assert held(entity["account"]) == 0
    card = compliance.compliance_card(organisation=entity["organisation"], fiscal_year=2026)
    assert (card.surrendered_allowances, card.surrendered_credits, card.status) == (900, 100, "compliant")
    assert "Compliant" in client.get(url).text


def test_compliance_page_bad_input_names_the_field(entity, signed_in):  # noqa: F811
    client = signed_in(entity["rep"])
    url = reverse("compliance", args=[entity["organisation"].pk, 2026])
    before = LedgerTransaction.objects.count()
    for allowances, message in (("0", "The quantity must be at least 1."), ("x", "Enter a whole number of units."),
                                ("2.5", "Enter a whole number of units.")):
        response = client.post(url, {"form": "surrender", "allowance_vintage": 2026, "allowances": allowances,
                                     "stage": "confirm", "otp_token": otp(entity["rep"]), "request_key": key()})
        assert response.status_code == 400 and f"Allowances to surrender: {message}" in response.text
    nothing = client.post(url, {"form": "surrender", "stage": "confirm", "otp_token": otp(entity["rep"]), "request_key": key()})
    assert "Enter how many allowances or credits to surrender." in nothing.text
    payment = client.post(url, {"form": "payment", "quantity": "10", "amount_yen": "1000", "payment_reference": "R"})
    assert payment.status_code == 400 and "Amount paid (yen): The amount must be the upper-limit price" in payment.text
    assert LedgerTransaction.objects.count() == before and held(entity["account"]) == 900


def pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams (object streams included) inflated, to search in."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end():]))
        except zlib.error:
            continue
    return b"".join(parts)


def test_statement_pdf_embeds_the_japanese_font(company):
    response = company["initiator_client"].get(reverse("holding_account_statement", args=[company["account"].pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    pdf = pdf_objects(response.content)
    # The font file itself is inside the PDF (FontFile2), not merely named: it prints on any machine.
    assert b"/FontFile2" in pdf and b"IPAexGothic" in pdf
    bad = company["initiator_client"].get(
        reverse("holding_account_statement", args=[company["account"].pk]) + "?booked_from=yesterday")
    assert bad.status_code == 302 and "booked_from=yesterday" in bad.url


def backdate(transaction_id, days):
    """Move a booking into the past (the ledger is append-only: only a test may)."""
    with pgtrigger.ignore("accounts.LedgerTransaction:ledger_transaction_append_only"):
        LedgerTransaction.objects.filter(pk=transaction_id).update(booked_at=timezone.now() - timedelta(days=days))


def test_statement_states_period_opening_and_closing_balances_counterparties_and_issuer(company):
    account, destination = company["account"], company["destination"]
    allocation = LedgerTransaction.objects.filter(entries__account=account).get()
    backdate(allocation.pk, 10)  # allocated 10 days ago; 40 sent 5 days ago; 60 sent today
    sent = ledger.transfer_units(source=account, destination=destination, unit=ledger.allowance(2026), quantity=40,
                                 idempotency_key=key())
    backdate(sent.pk, 5)
    ledger.transfer_units(source=account, destination=destination, unit=ledger.allowance(2026), quantity=60,
                          idempotency_key=key())
    day = timezone.localdate()
    period = f"?booked_from={day - timedelta(days=7)}&booked_to={day - timedelta(days=1)}"
    response = company["initiator_client"].get(reverse("holding_account_statement", args=[account.pk]) + period)
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    assert f"{day - timedelta(days=7)} – {day - timedelta(days=1)}" in text
    row = text.split("Allowance FY2026")[1].split("\n")[0]  # opening 1,000 (before the period), closing 960
    assert "1,000" in row and "960" in row, text
    assert f"{destination.number} — {destination.organisation.name}" in text and "Sent" in text
    assert "-40" in text and "-60" not in text  # only the period's transaction
    assert "Ministry of Economy, Trade and Industry" in text


def test_history_names_the_other_side_and_the_direction_and_the_csv_is_in_jst(company):
    account, destination = company["account"], company["destination"]
    ledger.transfer_units(source=account, destination=destination, unit=ledger.allowance(2026), quantity=40,
                          idempotency_key=key())
    url = reverse("holding_account_history", args=[account.pk])
    page = company["initiator_client"].get(url).text
    row = page.split("Transfer</td>")[1].split("</tr>")[0]
    assert "Sent" in row and f"{destination.number} — {destination.organisation.name}" in row and "-40" in row
    csv = company["initiator_client"].get(url + "?export=csv").content.decode("utf-8-sig").splitlines()
    assert csv[0].startswith("transaction,booked_at_jst,kind,direction,counterparty_account,counterparty_holder")
    transfer = next(line for line in csv if ",transfer," in line)
    assert "+09:00,transfer,sent," + destination.number in transfer


def test_the_receiving_holder_sees_incoming_transfers(company, make_user, signed_in):
    destination = company["destination"]
    receiver = make_user(Role.VIEWER, organisation=destination.organisation)
    initiate_and_approve = TransferRequest.objects.create(
        source=company["account"], destination=destination, unit_type="allowance", vintage=2026, quantity=40,
        initiated_by=company["initiator"], initiated_at=timezone.now())
    receiving = signed_in(receiver, Client()).get(reverse("transfer_list", args=[destination.pk])).text
    assert "東京製鉄所株式会社" not in receiving.split('id="incoming"')[1]  # not before the sender approves it
    TransferRequest.objects.filter(pk=initiate_and_approve.pk).update(status=TransferRequest.Status.SCHEDULED)
    receiving = signed_in(receiver, Client()).get(reverse("transfer_list", args=[destination.pk])).text
    incoming = receiving.split('id="incoming"')[1].split("</table>")[0]
    assert f"{company['account'].number} — 東京製鉄所株式会社" in incoming and "40" in incoming


def test_english_pages_write_dates_year_first_and_times_on_the_24_hour_clock(entity, signed_in):  # noqa: F811
    from django.utils import translation

    client = signed_in(entity["rep"])
    page = client.get(reverse("compliance", args=[entity["organisation"].pk, 2026])).text
    assert "2027-11-30" in page and "Nov. 30, 2027" not in page  # the surrender deadline
    with translation.override("en"):
        signed = datetime(2026, 12, 1, 16, 34, tzinfo=ZoneInfo("Asia/Tokyo"))
        assert formats.date_format(signed, "SHORT_DATETIME_FORMAT") == "2026-12-01 16:34"  # not 12/01/2026 4:34 p.m.
    with translation.override("ja"):
        assert formats.date_format(date(2027, 11, 30)) == "2027年11月30日"


def test_the_transfer_form_offers_each_unit_with_what_is_free_to_move(company):
    from accounts.models import Balance

    url = reverse("transfer_list", args=[company["account"].pk])
    assert "Allowance FY2026 — 1,000<" in company["initiator_client"].get(url).text
    Balance.objects.filter(account=company["account"]).update(reserved=300)  # as a market sell order reserves
    page = company["initiator_client"].get(url).text
    assert "Allowance FY2026 — 700 free (300 reserved by market orders)" in page
    refused = initiate(company, quantity="701")  # the form's figure is the one the ledger holds to
    assert refused.status_code == 400 and "has 700 of Allowance FY2026 free" in refused.text


def test_the_surrender_form_offers_each_vintage_with_what_is_free_to_surrender(entity, signed_in):  # noqa: F811
    from accounts.models import Balance

    Balance.objects.filter(account=entity["account"], unit_type="allowance").update(reserved=100)
    page = signed_in(entity["rep"]).get(reverse("compliance", args=[entity["organisation"].pk, 2026])).text
    assert "2026 — 800 free (100 reserved by market orders)" in page


def test_a_refusal_in_japanese_names_the_unit_without_stray_spaces():
    from django.utils import translation

    with translation.override("ja"):
        free = ledger.insufficient_units(number="JP-OHA-1", held=700, asked=701, unit=ledger.allowance(2026),
                                         reserved=300).message
        held = ledger.insufficient_units(number="JP-OHA-1", held=700, asked=701, unit=ledger.allowance(2026),
                                         reserved=0).message
    assert "で使える排出枠 2026年度は 700 です" in str(free)
    assert "の排出枠 2026年度の保有量は 700 です" in str(held)
