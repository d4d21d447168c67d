"""The verification half of the compliance year, through its services: registration, reports, engagements."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice

from accounts import compliance
from accounts.models import CloseStakeholder, JointNotificationGroup, VerifiedEmissions
from conftest import fresh_code
from gxregistry.errors import ErrorCode, RegistryError
from verification.models import EmissionsReport, Engagement, Opinion, RegistrationApplication, VerificationBody
from verification.services import bodies, engagements, reports
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


def refused(code, call):
    with pytest.raises(RegistryError) as raised:
        call()
    assert raised.value.code == code, raised.value
    return raised.value


# --- registration ------------------------------------------------------------------------------------------

def test_registration_lasts_five_years_to_the_day_before_the_anniversary(body_world):
    body = body_world.body
    assert body.status == "registered" and body.registration_number.startswith("GX-VB-")
    assert body.valid_until == body.valid_from.replace(year=body.valid_from.year + 5) - timedelta(days=1)


@pytest.mark.parametrize(("start", "last_day"), [
    (date(2028, 2, 29), date(2033, 2, 28)),  # a leap day: the fifth anniversary has none
    (date(2027, 3, 1), date(2032, 2, 29)),  # ends on a leap day
    (date(2026, 4, 1), date(2031, 3, 31)),  # an FY boundary: five whole FYs
])
def test_registration_end_across_leap_years_and_fiscal_years(start, last_day):
    assert bodies.registration_end(start, 5) == last_day


def test_a_renewal_runs_on_from_the_old_last_day_without_gap_or_overlap(body_world):
    old_until = body_world.body.valid_until
    application = bodies.body_application_start(organisation=body_world.organisation,
                                                acting_user=body_world.representative)
    assert application.kind == "renewal" and application.accreditation  # carried from the registered one
    for requirement in ("basic", "personnel", "financial", "quality"):
        bodies.evidence_upload(application=application, requirement=requirement, upload=pdf(),
                               acting_user=body_world.representative)
    bodies.body_application_submit(application=application, acting_user=body_world.representative)
    body = bodies.body_register(application=application, registered_on=timezone.localdate(),
                                acting_user=body_world.administrator, otp_token=fresh_code(body_world.administrator))
    assert body.valid_from == old_until + timedelta(days=1)
    assert body.valid_until == bodies.registration_end(old_until + timedelta(days=1), 5)


def test_an_incomplete_application_is_refused_naming_what_is_missing(make_user, make_organisation):
    from accounts.models import Organisation
    from accounts.roles import Role

    organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)
    application = bodies.body_application_start(organisation=organisation, acting_user=representative)
    error = refused(ErrorCode.INVALID_INPUT, lambda: bodies.body_application_submit(
        application=application, acting_user=representative))
    assert error.field == "basic_qualification"
    assert RegistrationApplication.objects.get(pk=application.pk).status == "draft"


def test_prior_experience_qualifies_only_until_fy2028(make_user, make_organisation):
    from accounts.models import Organisation
    from accounts.roles import Role

    organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)
    application = complete_application(
        bodies.body_application_start(organisation=organisation, acting_user=representative), representative)
    application = bodies.body_application_update(application=application, acting_user=representative,
                                                 basic_qualification="listed_company_experience")
    assert bodies.missing_for_submission(application, date(2029, 3, 31)) == {}
    assert "basic_qualification" in bodies.missing_for_submission(application, date(2029, 4, 1))


@pytest.mark.parametrize(("name", "content"), [("x.pdf", b"MZ\x90\x00"), ("x.exe", b"%PDF-1.4"),
                                                ("x.docx", b"PK\x03\x04")])
def test_evidence_must_be_a_real_pdf_or_xlsx(make_user, make_organisation, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import Organisation
    from accounts.roles import Role

    organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)
    application = bodies.body_application_start(organisation=organisation, acting_user=representative)
    error = refused(ErrorCode.INVALID_INPUT, lambda: bodies.evidence_upload(
        application=application, requirement="basic", upload=SimpleUploadedFile(name, content),
        acting_user=representative))
    assert error.field == "file" and not application.evidence.exists()


def test_meti_can_ask_for_more_and_the_body_resubmits(make_user, make_organisation):
    from accounts.models import Organisation
    from accounts.roles import Role

    organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    application = complete_application(
        bodies.body_application_start(organisation=organisation, acting_user=representative), representative)
    bodies.body_application_submit(application=application, acting_user=representative)
    bodies.body_application_request_information(application=application, message="Send the audited accounts.",
                                                acting_user=administrator, otp_token=fresh_code(administrator))
    application.refresh_from_db()
    assert application.status == "information_requested" and "audited" in application.meti_message
    bodies.body_application_update(application=application, acting_user=representative,
                                   financial_footing="Audited accounts FY2025 attached")
    assert bodies.body_application_submit(application=application, acting_user=representative).status == "submitted"
    bodies.body_application_refuse(application=application, reason="Not independent", acting_user=administrator,
                                   otp_token=fresh_code(administrator))
    assert VerificationBody.objects.get(organisation=organisation).status == "refused"


def test_the_database_refuses_a_move_the_state_machine_does_not_allow(body_world):
    with pytest.raises(DatabaseError, match="Invalid transition"), transaction.atomic():
        VerificationBody.objects.filter(pk=body_world.body.pk).update(status="applying")


def test_suspension_needs_a_reason_and_a_second_factor(body_world):
    administrator = body_world.administrator
    refused(ErrorCode.INVALID_INPUT, lambda: bodies.body_suspend(body=body_world.body, reason=" ",
                                                                 acting_user=administrator, otp_token="x"))
    refused(ErrorCode.WRONG_SECOND_FACTOR, lambda: bodies.body_suspend(
        body=body_world.body, reason="audit", acting_user=administrator, otp_token="000000"))
    assert VerificationBody.objects.get(pk=body_world.body.pk).status == "registered"
    StaticDevice.objects.filter(user=administrator).update(throttling_failure_count=0,
                                                           throttling_failure_timestamp=None)  # a second later
    body = bodies.body_suspend(body=body_world.body, reason="audit findings", acting_user=administrator,
                               otp_token=fresh_code(administrator))
    assert body.status == "suspended" and body.status_reason == "audit findings"


def test_reminders_go_at_180_90_and_30_days_each_once(body_world):
    until = body_world.body.valid_until
    for days_left in (200, 180, 179, 120, 90, 89, 30, 29, 1):
        bodies.expiry_reminders_send(today=until - timedelta(days=days_left))
        bodies.expiry_reminders_send(today=until - timedelta(days=days_left))  # the job ran twice that night
    assert [m.subject for m in mail.outbox].count(mail.outbox[0].subject) == 3
    assert sorted(body_world.body.reminders.values_list("days_before", flat=True)) == [30, 90, 180]
    assert body_world.representative.email in mail.outbox[0].to


def test_a_submitted_renewal_stops_the_reminders(body_world):
    application = bodies.body_application_start(organisation=body_world.organisation,
                                                acting_user=body_world.representative)
    for requirement in ("basic", "personnel", "financial", "quality"):
        bodies.evidence_upload(application=application, requirement=requirement, upload=pdf(),
                               acting_user=body_world.representative)
    bodies.body_application_submit(application=application, acting_user=body_world.representative)
    assert bodies.expiry_reminders_send(today=body_world.body.valid_until - timedelta(days=100)) == 0


# --- reports and engagements -------------------------------------------------------------------------------

def test_a_report_line_is_computed_never_typed(entity):
    report = submitted_report(entity, activity=Decimal("1000.4"), factor=Decimal("2.5"))
    assert report.lines.get().emissions_t == Decimal("2501.000")
    assert report.total_t == 2501 and report.status == "submitted"


def test_a_verified_report_cannot_change_and_a_correction_supersedes_it(body_world, entity):
    report = submitted_report(entity)
    engagement = engagement_in_progress(body_world, entity, report)
    engagements.opinion_sign(engagement=engagement, kind="unmodified", standard="iso_14064_3", statement="Fair.",
                             acting_user=body_world.reviewer, otp_token=fresh_code(body_world.reviewer))
    refused(ErrorCode.INVALID_STATE, lambda: reports.emissions_line_save(
        report=report, acting_user=entity.representative, line=report.lines.get(), activity=Decimal(1)))
    correction = reports.emissions_report_correct(report=report, reason="Meter recalibrated",
                                                  acting_user=entity.representative)
    assert EmissionsReport.objects.get(pk=report.pk).status == "superseded"
    assert correction.version == 2 and correction.lines.count() == 1 and correction.status == "draft"
    # compliance keeps the verified figure until the correction is verified
    assert VerifiedEmissions.objects.get(organisation=entity.organisation, fiscal_year=2026).emissions_t == 2500


def test_the_whole_path_ends_in_a_surrender_measured_against_the_verified_figure(body_world, entity):
    report = submitted_report(entity)
    engagement = engagement_in_progress(body_world, entity, report)
    engagements.misstatement_record(engagement=engagement, amount_t=Decimal(100), description="double-counted",
                                    corrected=True, acting_user=body_world.lead)
    opinion = engagements.opinion_sign(engagement=engagement, kind="unmodified", standard="issa_5000",
                                       statement="Fairly stated.", acting_user=body_world.reviewer,
                                       otp_token=fresh_code(body_world.reviewer))
    assert opinion.verified_t == 2400 and opinion.reported_t == 2500
    verified = VerifiedEmissions.objects.get(organisation=entity.organisation, fiscal_year=2026)
    assert verified.emissions_t == 2400 and verified.verification_body == body_world.organisation
    assert EmissionsReport.objects.get(pk=report.pk).status == "verified"
    card = compliance.compliance_card(organisation=entity.organisation, fiscal_year=2026)
    assert card.verified_t == 2400


def test_materiality_at_exactly_five_percent_forbids_an_unmodified_opinion(body_world, entity):
    report = submitted_report(entity, activity=Decimal(400), factor=Decimal(5))  # 2,000 t
    engagement = engagement_in_progress(body_world, entity, report)
    engagements.misstatement_record(engagement=engagement, amount_t=Decimal(100), description="not corrected",
                                    acting_user=body_world.lead)  # 100 / 2,000 = 5 %
    error = refused(ErrorCode.INVALID_INPUT, lambda: engagements.opinion_sign(
        engagement=engagement, kind="unmodified", standard="iso_14064_3", statement="x",
        acting_user=body_world.reviewer, otp_token=fresh_code(body_world.reviewer)))
    assert error.field == "kind" and "5.00%" in str(error.message)
    assert not Opinion.objects.exists()
    opinion = engagements.opinion_sign(engagement=engagement, kind="qualified", standard="iso_14064_3",
                                       statement="Except for", acting_user=body_world.reviewer,
                                       otp_token=fresh_code(body_world.reviewer))
    assert opinion.materiality_ratio == Decimal("0.05")


def test_an_adverse_opinion_returns_the_report_and_records_no_figure(body_world, entity):
    report = submitted_report(entity)
    engagement = engagement_in_progress(body_world, entity, report)
    engagements.opinion_sign(engagement=engagement, kind="adverse", standard="iso_14064_3", statement="Not fair.",
                             acting_user=body_world.reviewer, otp_token=fresh_code(body_world.reviewer))
    assert EmissionsReport.objects.get(pk=report.pk).status == "draft"
    assert not VerifiedEmissions.objects.filter(organisation=entity.organisation).exists()


def test_only_the_independent_reviewer_signs(body_world, entity):
    engagement = engagement_in_progress(body_world, entity, submitted_report(entity))
    refused(ErrorCode.NOT_PERMITTED, lambda: engagements.opinion_sign(
        engagement=engagement, kind="unmodified", standard="iso_14064_3", statement="x",
        acting_user=body_world.lead, otp_token=fresh_code(body_world.lead)))
    refused(ErrorCode.NOT_INDEPENDENT, lambda: engagements.engagement_team_set(
        engagement=engagement, team=[body_world.lead, body_world.reviewer], independent_reviewer=body_world.reviewer,
        acting_user=body_world.lead))


def test_an_expired_suspended_or_conflicted_body_cannot_be_appointed(body_world, entity, make_user, make_organisation):
    report = submitted_report(entity)
    VerificationBody.objects.filter(pk=body_world.body.pk).update(valid_until=timezone.localdate() + timedelta(days=10))
    body_world.body.refresh_from_db()
    refused(ErrorCode.BODY_NOT_REGISTERED, lambda: engagements.engagement_appoint(
        report=report, body=body_world.body, purpose="actual", acting_user=entity.representative))  # due 31 July 2027

    other = registered_body(make_user, make_organisation, administrator=body_world.administrator)
    bodies.conflict_declare(body=other.body, organisation=entity.organisation, description="Consulting in FY2025",
                            acting_user=other.representative)
    refused(ErrorCode.CONFLICT_OF_INTEREST, lambda: engagements.engagement_appoint(
        report=report, body=other.body, purpose="actual", acting_user=entity.representative))

    third = registered_body(make_user, make_organisation, administrator=body_world.administrator)
    bodies.body_suspend(body=third.body, reason="audit", acting_user=third.administrator,
                        otp_token=fresh_code(third.administrator))
    refused(ErrorCode.BODY_NOT_REGISTERED, lambda: engagements.engagement_appoint(
        report=report, body=third.body, purpose="actual", acting_user=entity.representative))
    assert not Engagement.objects.exists()


def test_a_conflict_with_a_group_member_bars_the_whole_group(body_world, entity, make_organisation):
    sibling = make_organisation()
    group = JointNotificationGroup.objects.create(name="Group", notifying_entity=entity.organisation)
    CloseStakeholder.objects.create(group=group, entity=sibling, relationship="subsidiary")
    bodies.conflict_declare(body=body_world.body, organisation=sibling, description="Audits the subsidiary",
                            acting_user=body_world.representative)
    refused(ErrorCode.CONFLICT_OF_INTEREST, lambda: engagements.engagement_appoint(
        report=submitted_report(entity), body=body_world.body, purpose="actual", acting_user=entity.representative))


def test_a_body_suspended_mid_engagement_cannot_sign(body_world, entity):
    engagement = engagement_in_progress(body_world, entity, submitted_report(entity))
    bodies.body_suspend(body=body_world.body, reason="audit", acting_user=body_world.administrator,
                        otp_token=fresh_code(body_world.administrator))
    refused(ErrorCode.BODY_NOT_REGISTERED, lambda: engagements.opinion_sign(
        engagement=engagement, kind="unmodified", standard="iso_14064_3", statement="x",
        acting_user=body_world.reviewer, otp_token=fresh_code(body_world.reviewer)))


def test_a_corrected_verified_figure_tells_the_entity_and_administrators(body_world, entity,
                                                                        django_capture_on_commit_callbacks):
    report = submitted_report(entity)
    engagement = engagement_in_progress(body_world, entity, report)
    engagements.opinion_sign(engagement=engagement, kind="unmodified", standard="iso_14064_3", statement="Fair.",
                             acting_user=body_world.reviewer, otp_token=fresh_code(body_world.reviewer))
    correction = reports.emissions_report_correct(report=report, reason="Meter", acting_user=entity.representative)
    reports.emissions_line_save(report=correction, line=correction.lines.get(), activity=Decimal(1200),
                                acting_user=entity.representative)
    reports.emissions_report_submit(report=correction, acting_user=entity.representative)
    mail.outbox.clear()
    second = engagement_in_progress(body_world, entity, correction)
    with django_capture_on_commit_callbacks(execute=True):
        engagements.opinion_sign(engagement=second, kind="unmodified", standard="iso_14064_3", statement="Fair.",
                                 acting_user=body_world.reviewer, otp_token=fresh_code(body_world.reviewer))
    assert VerifiedEmissions.objects.get(organisation=entity.organisation, fiscal_year=2026).emissions_t == 3000
    assert len(mail.outbox) == 1 and "2,500 t to 3,000 t" in mail.outbox[0].body
    assert entity.representative.email in mail.outbox[0].to and body_world.administrator.email in mail.outbox[0].to


def test_the_assurance_level_from_fy2029_follows_the_facilitys_history(body_world, entity):
    from allocation.models import Process, ProcessYear

    process = Process.objects.create(facility=entity.facility, code="P1", name="BF", method="grandfathering",
                                     emission_type="energy")
    for fy in (2026, 2027):
        ProcessYear.objects.create(process=process, fiscal_year=fy, activity=1, emissions_t=Decimal(1_000_000))
    report = submitted_report(entity, fiscal_year=2029)
    requirement = engagements.required_assurance(report)
    assert requirement.level == "reasonable" and requirement.years == (2026, 2027)
    engagement = engagements.engagement_appoint(report=report, body=body_world.body, purpose="actual",
                                                acting_user=entity.representative)
    assert engagement.assurance_level == "reasonable" and "F1" in engagement.assurance_reason


def test_a_verified_baseline_replaces_the_processes_emissions_the_allocation_reads(body_world, entity):
    from allocation.models import Process, ProcessYear

    process = Process.objects.create(facility=entity.facility, code="P1", name="Kiln", method="grandfathering",
                                     emission_type="energy")
    ProcessYear.objects.create(process=process, fiscal_year=2024, activity=1, emissions_t=Decimal(5000))
    report = reports.emissions_report_create(organisation=entity.organisation, fiscal_year=2024,
                                             acting_user=entity.representative)
    reports.emissions_line_save(report=report, acting_user=entity.representative, facility=entity.facility,
                                process=process, kind="energy", source="coal", method="model",
                                model_emissions_t=Decimal("4800.5"))
    report = reports.emissions_report_submit(report=report, acting_user=entity.representative)
    engagement = engagement_in_progress(body_world, entity, report, purpose="baseline")
    engagements.opinion_sign(engagement=engagement, kind="unmodified", standard="iso_14064_3", statement="Fair.",
                             acting_user=body_world.reviewer, otp_token=fresh_code(body_world.reviewer))
    year = ProcessYear.objects.get(process=process, fiscal_year=2024)
    assert year.emissions_t == Decimal("4800.500") and year.verified_at is not None
    assert "opinion" in year.verified_reference
    assert not VerifiedEmissions.objects.filter(organisation=entity.organisation).exists()  # not a compliance year


def test_a_line_cannot_name_another_facilitys_process(entity, make_user, make_organisation):
    from allocation.models import Facility, Process

    other = Facility.objects.create(organisation=entity.organisation, code="F2", name="Other", prefecture=1,
                                    energy_use_kl=1)
    process = Process.objects.create(facility=other, code="P9", name="X", method="grandfathering",
                                     emission_type="energy")
    report = reports.emissions_report_create(organisation=entity.organisation, fiscal_year=2024,
                                             acting_user=entity.representative)
    error = refused(ErrorCode.INVALID_INPUT, lambda: reports.emissions_line_save(
        report=report, acting_user=entity.representative, facility=entity.facility, process=process, kind="energy",
        source="x", method="model", model_emissions_t=Decimal(1)))
    assert error.field == "process"
