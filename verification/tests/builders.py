"""The verification half built with its own services: a registered body with its staff, an entity with a
facility and a submitted report. Tests read as "given a registered body ... when ... then"."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Organisation
from accounts.roles import Role
from allocation.models import Facility
from conftest import fresh_code
from verification.models import RequirementEvidence
from verification.services import bodies, engagements, reports

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="evidence.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def complete_application(application, user):
    bodies.body_application_update(
        application=application, acting_user=user, basic_qualification="iso_14065",
        accreditation="JAB GHG-0001, ISO 14065:2020 to ISO 14064-1", personnel="12 verifiers, 4 lead verifiers",
        responsible_verifier="Sato Hanako", responsible_verifier_experience="10 years of GHG verification",
        financial_footing="Capital 100 million yen; audited accounts", quality_assurance="Independent review of every opinion",
        independence="No consulting for verified clients", scope="鉄鋼、化学", scope_en="Steel, chemicals")
    for requirement in RequirementEvidence.Requirement.values:
        bodies.evidence_upload(application=application, requirement=requirement, upload=pdf(f"{requirement}.pdf"),
                               acting_user=user)
    application.refresh_from_db()
    return application


@dataclass
class BodyWorld:
    organisation: Organisation
    body: object
    representative: object  # the body's authorised representative: applications, conflicts, activity reports
    lead: object  # a verifier on the team
    reviewer: object  # a verifier of the same body, not on the team
    administrator: object


def registered_body(make_user, make_organisation, *, registered_on=None, administrator=None) -> BodyWorld:
    organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)
    lead = make_user(Role.VERIFIER, organisation)
    reviewer = make_user(Role.VERIFIER, organisation)
    administrator = administrator or make_user(Role.REGISTRY_ADMINISTRATOR)
    application = bodies.body_application_start(organisation=organisation, acting_user=representative)
    complete_application(application, representative)
    bodies.body_application_submit(application=application, acting_user=representative)
    body = bodies.body_register(application=application, registration_number=f"GX-VB-{organisation.pk:04d}",
                                registered_on=registered_on or timezone.localdate() - timedelta(days=30),
                                acting_user=administrator, otp_token=fresh_code(administrator))
    return BodyWorld(organisation, body, representative, lead, reviewer, administrator)


@dataclass
class EntityWorld:
    organisation: Organisation
    representative: object
    facility: Facility


def entity_with_facility(make_user, make_organisation) -> EntityWorld:
    organisation = make_organisation()
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation)
    facility = Facility.objects.create(organisation=organisation, code="F1", name="製鉄所", prefecture=23,
                                       energy_use_kl=Decimal(5000), opened_on=date(2001, 4, 1))
    return EntityWorld(organisation, representative, facility)


def submitted_report(entity: EntityWorld, fiscal_year=2026, activity=Decimal(1000), factor=Decimal("2.5")):
    report = reports.emissions_report_create(organisation=entity.organisation, fiscal_year=fiscal_year,
                                             acting_user=entity.representative)
    reports.emissions_line_save(report=report, acting_user=entity.representative, facility=entity.facility,
                                kind="energy", source="A heavy oil", method="activity_factor", activity=activity,
                                activity_unit="kL", emission_factor=factor)
    return reports.emissions_report_submit(report=report, acting_user=entity.representative)


def engagement_in_progress(body_world: BodyWorld, entity: EntityWorld, report, purpose="actual"):
    engagement = engagements.engagement_appoint(report=report, body=body_world.body, purpose=purpose,
                                                acting_user=entity.representative)
    engagements.engagement_team_set(engagement=engagement, team=[body_world.lead],
                                    independent_reviewer=body_world.reviewer, acting_user=body_world.lead)
    return engagements.engagement_start(engagement=engagement, acting_user=body_world.lead)
