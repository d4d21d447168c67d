"""The verification pages as people use them: the public list, a body applying, METI deciding, an entity
reporting and appointing, the team verifying, the reviewer signing, and the entity surrendering."""

import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from django.urls import reverse

from accounts import ledger
from accounts.models import CompliancePeriod, HoldingAccount, Organisation, SurrenderRecord, VerifiedEmissions
from accounts.roles import Role
from accounts.services import system_actor
from conftest import fresh_code
from verification.models import EmissionsReport, Engagement, RegistrationApplication, VerificationBody
from verification.services import bodies, engagements
from verification.tests.builders import (
    complete_application,
    engagement_in_progress,
    entity_with_facility,
    pdf,
    registered_body,
    submitted_report,
)


@pytest.fixture
def body_world(make_user, make_organisation):
    return registered_body(make_user, make_organisation)


@pytest.fixture
def entity(make_user, make_organisation):
    return entity_with_facility(make_user, make_organisation)


def test_the_public_list_and_its_csv_need_no_login(body_world, client):
    Organisation.objects.filter(pk=body_world.organisation.pk).update(name="日本検証機構", name_en="Japan Verification")
    page = client.get(reverse("verification_body_list"))
    assert page.status_code == 200 and body_world.body.registration_number in page.text
    assert "Japan Verification" in page.text  # English pages use the English name
    csv = client.get(reverse("verification_body_list") + "?export=csv")
    text = csv.content.decode("utf-8-sig")
    assert csv["Content-Type"].startswith("text/csv") and body_world.body.registration_number in text
    assert "Registered" in text and body_world.body.valid_until.isoformat() in text
    client.cookies["django_language"] = "ja"
    assert "登録済み" in client.get(reverse("verification_body_list")).text  # a state, not 登録 ("to register")


def test_an_applying_body_is_not_on_the_public_list(make_organisation, client):
    organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY, name="申請中機関")
    VerificationBody.objects.create(organisation=organisation)
    assert "申請中機関" not in client.get(reverse("verification_body_list")).text


def test_the_certificate_is_bilingual_with_the_japanese_text_extractable(body_world, client):
    response = client.get(reverse("verification_body_certificate", args=[body_world.body.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "登録確認機関" in text and "Certificate of Registration" in text
    assert body_world.body.registration_number in text


def test_a_body_applies_in_the_browser_and_meti_registers_it(make_user, make_organisation, signed_in, client,
                                                               django_user_model):
    organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)
    signed_in(representative)
    url = reverse("body_registration", args=[organisation.pk])
    client.post(url, {"form": "start"})
    application = RegistrationApplication.objects.get(body__organisation=organisation)
    incomplete = client.post(url, {"form": "submit"})
    assert incomplete.status_code == 400 and "incomplete" in incomplete.text
    complete_application(application, representative)
    response = client.post(url, {"form": "evidence", "requirement": "basic", "file": pdf("extra.pdf")})
    assert response.status_code == 302
    assert client.post(url, {"form": "submit"}).status_code == 302
    assert RegistrationApplication.objects.get(pk=application.pk).status == "submitted"

    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    client.logout()
    signed_in(administrator)
    queue = client.get(reverse("body_application_queue"))
    assert organisation.name in queue.text
    review_url = reverse("body_application_review", args=[application.pk])
    assert "extra.pdf" in client.get(review_url).text
    answers = {"form": "decision", "decision": "register", "registration_number": "GX-1",
               "registered_on": "2026-04-01"}
    check = client.post(review_url, answers)  # METI sees the number and the period before the code
    assert check.status_code == 200 and "Check the decision" in check.text and "2031-03-31" in check.text
    assert "GX-1" in check.text and VerificationBody.objects.get(organisation=organisation).status == "applying"
    wrong = client.post(review_url, {**answers, "stage": "confirm", "otp_token": "000000"})
    assert wrong.status_code == 400 and VerificationBody.objects.get(organisation=organisation).status == "applying"
    from django_otp.plugins.otp_static.models import StaticDevice

    StaticDevice.objects.filter(user=administrator).update(throttling_failure_count=0,
                                                           throttling_failure_timestamp=None)
    done = client.post(review_url, {**answers, "stage": "confirm", "otp_token": fresh_code(administrator)})
    assert done.status_code == 302
    body = VerificationBody.objects.get(organisation=organisation)
    assert body.registration_number == "GX-1" and body.valid_until == date(2031, 3, 31)


def test_evidence_is_downloadable_by_the_body_and_administrators_only(body_world, make_user, signed_in, client):
    evidence = body_world.body.applications.get().evidence.first()
    url = reverse("evidence_download", args=[evidence.pk])
    signed_in(body_world.representative)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    client.logout()
    signed_in(make_user(Role.AUTHORISED_REPRESENTATIVE))  # a company
    assert client.get(url).status_code == 404
    client.logout()
    signed_in(make_user(Role.VERIFIER))  # another body
    assert client.get(url).status_code == 404
    client.logout()
    signed_in(body_world.administrator)
    assert client.get(url).status_code == 200


def test_from_report_to_surrender_in_the_browser(body_world, entity, signed_in, client):
    system = system_actor()
    account = ledger.holding_account_open(kind="operator_holding", organisation=entity.organisation,
                                          acting_user=system)
    ledger.issue_allowances(vintage=2026, quantity=10_000, idempotency_key="view-issue")
    ledger.allocation_transfer(account=account, vintage=2026, quantity=5_000, idempotency_key="view-allocation")
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=Decimal(4300), lower_limit_price_yen=Decimal(1700))
    report_url = reverse("emissions_report", args=[entity.organisation.pk, 2026])

    signed_in(entity.representative)
    client.post(report_url, {"form": "create"})
    line = {"form": "line", "facility": entity.facility.pk, "kind": "energy", "source": "A重油", "method":
            "activity_factor", "activity": "1000", "activity_unit": "kL", "emission_factor": "2.71",
            "accuracy_class": "liquid_fuel", "instrument": "Flow meter", "instrument_tolerance_pct": "4"}
    assert client.post(report_url, line).status_code == 302
    page = client.get(report_url)
    assert "2,710.000" in page.text and "Less accurate than §3 asks for this activity (±3.5 %)" in page.text
    missing = client.post(report_url, {**line, "method": "mass_balance"})
    assert missing.status_code == 400
    assert "Carbon in raw materials (t-C): required for this method" in missing.text  # the field named once
    assert client.post(report_url, {"form": "submit"}).status_code == 302
    assert client.post(report_url, {"form": "appoint", "body": body_world.body.pk, "purpose": "actual"}).status_code == 302
    engagement = Engagement.objects.get()
    client.logout()

    engagement_url = reverse("engagement_detail", args=[engagement.pk])
    signed_in(body_world.lead)
    # Both sides read the required level with its reason.
    assert "limited assurance for every entity until FY2028 (§4)" in client.get(engagement_url).text
    assert client.post(engagement_url, {"form": "team", "team": [body_world.lead.pk],
                                        "independent_reviewer": body_world.reviewer.pk}).status_code == 302
    assert client.post(engagement_url, {"form": "start"}).status_code == 302
    assert client.post(engagement_url, {"form": "work", "kind": "site_visit", "occurred_on": "2027-05-10",
                                        "facility": entity.facility.pk, "description": "Meter checked"}).status_code == 302
    client.logout()

    signed_in(body_world.reviewer)
    assert client.post(engagement_url, {"form": "opinion", "kind": "unmodified", "standard": "iso_14064_3",
                                        "statement": "Fairly stated.", "otp_token": fresh_code(body_world.reviewer)}
                       ).status_code == 302
    assert EmissionsReport.objects.get().status == "verified"
    client.logout()
    signed_in(body_world.administrator)
    oversight = client.get(reverse("verification_oversight")).text
    assert "unmodified" not in oversight  # counts, not the kinds' codes
    row = oversight.split(body_world.organisation.name)[1].split("</tr>")[0]
    assert [cell.split(">")[-1] for cell in row.split("</td>")[1:8]] == ["Registered", "1", "0", "0", "1", "0", "0"]
    assert VerifiedEmissions.objects.get(organisation=entity.organisation).emissions_t == 2710
    client.logout()

    signed_in(entity.representative)
    compliance_url = reverse("compliance", args=[entity.organisation.pk, 2026])
    assert "2,710 t" in client.get(compliance_url).text
    answers = {"form": "surrender", "allowance_vintage": 2026, "allowances": "2710", "request_key": "k1"}
    assert "Check the surrender" in client.post(compliance_url, answers).text
    response = client.post(compliance_url, {**answers, "stage": "confirm",
                                            "otp_token": fresh_code(entity.representative)})
    assert response.status_code == 302
    assert SurrenderRecord.objects.get(organisation=entity.organisation).allowances == 2710
    assert HoldingAccount.objects.get(pk=account.pk).balances.get(vintage=2026).quantity == 5_000 - 2710


def test_a_verifier_sees_only_its_own_bodys_engagements(body_world, entity, make_user, make_organisation, signed_in,
                                                       client):
    engagement = engagement_in_progress(body_world, entity, submitted_report(entity))
    other = registered_body(make_user, make_organisation, administrator=body_world.administrator)
    signed_in(other.lead)
    assert entity.organisation.name not in client.get(reverse("engagement_list")).text
    assert client.get(reverse("engagement_detail", args=[engagement.pk])).status_code == 404
    client.logout()
    signed_in(body_world.lead)
    assert entity.organisation.name in client.get(reverse("engagement_list")).text


def test_a_verifiers_engagements_list_the_open_work_first(body_world, entity, make_user, make_organisation,
                                                          signed_in, client):
    still_working = engagement_in_progress(body_world, entity, submitted_report(entity))
    other = entity_with_facility(make_user, make_organisation)
    ended = engagements.engagement_withdraw(  # appointed after the first, and ended
        engagement=engagements.engagement_appoint(report=submitted_report(other), body=body_world.body,
                                                  purpose="actual", acting_user=other.representative),
        acting_user=other.representative)
    signed_in(body_world.lead)
    listed = list(client.get(reverse("engagement_list")).context["object_list"])
    assert listed == [still_working, ended]


def test_meti_suspends_a_body_from_the_queue_with_a_reason_and_a_code(body_world, signed_in, client):
    signed_in(body_world.administrator)
    url = reverse("verification_body_state", args=[body_world.body.pk, "suspend"])
    check = client.post(url, {"reason": "Late reports"})  # from the queue: the check page, the reason kept
    assert check.status_code == 200 and "Check before suspending the body" in check.text
    assert body_world.body.registration_number in check.text and "Late reports" in check.text
    assert VerificationBody.objects.get(pk=body_world.body.pk).status == "registered"
    refused = client.post(url, {"reason": "", "stage": "confirm", "otp_token": fresh_code(body_world.administrator)})
    assert refused.status_code == 400 and "Give the reason" in refused.text
    done = client.post(url, {"reason": "Late reports", "stage": "confirm",
                             "otp_token": fresh_code(body_world.administrator)})
    assert done.status_code == 302
    assert VerificationBody.objects.get(pk=body_world.body.pk).status == "suspended"


def test_coverage_page_shows_the_figures_and_confirms(make_user, make_organisation, signed_in, client):
    from allocation.models import Facility, Process, ProcessYear

    entity = make_organisation(name="閾値ちょうど")
    process = Process.objects.create(facility=Facility.objects.create(organisation=entity, code="F1", name="F",
                                                                      prefecture=1, energy_use_kl=1),
                                     code="P1", name="P", method="grandfathering", emission_type="energy")
    for fy, t in ((2023, 90_000), (2024, 100_000), (2025, 110_000)):
        ProcessYear.objects.create(process=process, fiscal_year=fy, activity=1, emissions_t=Decimal(t))
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    signed_in(administrator)
    url = reverse("coverage", args=[2026])
    assert "閾値ちょうど" in client.get(url).text
    assert client.post(url, {"form": "confirm", "otp_token": fresh_code(administrator)}).status_code == 302
    decision = entity.coverage_decisions.get(fiscal_year=2026)
    assert decision.covered and decision.average_t == Decimal(100_000)


def test_an_activity_report_and_a_conflict_from_the_body_page(body_world, entity, signed_in, client):
    signed_in(body_world.representative)
    url = reverse("body_registration", args=[body_world.organisation.pk])
    assert client.post(url, {"form": "conflict", "organisation": entity.organisation.pk,
                             "description": "Consulting"}).status_code == 302
    assert client.post(url, {"form": "activity", "fiscal_year": 2026, "summary": "12 engagements",
                             "staff_count": 9}).status_code == 302
    twice = client.post(url, {"form": "activity", "fiscal_year": 2026, "summary": "again", "staff_count": 9})
    assert twice.status_code == 400 and "already been submitted" in twice.text
    assert body_world.body.conflicts.filter(organisation=entity.organisation).exists()
    bodies.expiry_reminders_send(today=date(2026, 1, 1))  # nothing due: no error
