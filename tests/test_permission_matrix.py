"""Every view and API endpoint, for every role, on own and foreign objects.

The list of URLs comes from the URLconf, so a new view without a rule here
fails ``test_every_view_has_a_rule``.
"""

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Organisation
from accounts.roles import Role
from accounts.services import system_actor
from allocation.models import Facility

# Not ours to rule: Django's admin (staff-only, tested in test_admin) and i18n.
EXCLUDED_NAMESPACES = {"admin"}
EXCLUDED_NAMES = {"set_language", "api-root"}


@dataclass(frozen=True)
class Public:
    """Anyone, signed in or not."""


@dataclass(frozen=True)
class PublicObject:
    """Anyone, signed in or not, about one object (a registered verification body's certificate)."""

    target: str
    extra_args: tuple = ()


@dataclass(frozen=True)
class Logout:
    """POST only; signs out whoever asks and goes home."""

    method: str = "post"


@dataclass(frozen=True)
class SignedIn:
    """Any signed-in user; the page shows only what the user may see."""

    method: str = "get"
    extra_args: tuple = ()  # URL arguments (a market instrument's code)


@dataclass(frozen=True)
class Scoped:
    """An object of one organisation. ``own`` maps role -> status on the user's own object."""

    target: str  # "organisation" or "facility"
    own: dict
    foreign: int = 404
    administrator_foreign: int = 200
    api: bool = False
    extra_args: tuple = ()  # URL arguments after the object's pk


@dataclass(frozen=True)
class ScopedAction(Scoped):
    """A POST act on an object of one organisation: done, the page redirects (302) with its message; a role
    that may not do it gets 403 from the service; another organisation's object is 404 before anything
    happens (administrators see it, but hold no company's right to act: 403)."""

    method: str = "post"
    administrator_foreign: int = 403


@dataclass(frozen=True)
class AdministratorOnly:
    """One role only (registry administrators, or ``role``); every other role gets 403. ``data``: what a POST
    sends."""

    target: str | None = None
    extra_args: tuple = ()
    method: str = "get"
    data: tuple = ()
    allowed: int | None = None  # what an administrator gets, when not 200 (GET) or 302 (POST): e.g. 400, the
    # service's refusal of a POST without its second-factor code, which shows the view let them through
    role: str = Role.REGISTRY_ADMINISTRATOR


EVERY_ROLE_200 = {role: 200 for role in Role}
ACT_ONLY = {role: 403 for role in Role} | {Role.AUTHORISED_REPRESENTATIVE: 200}
ACT_ONLY_302 = {role: 403 for role in Role} | {Role.AUTHORISED_REPRESENTATIVE: 302}
# Pages about a regulated entity: another kind of organisation has none (404).
BODY_MEMBERS_200 = {role: 404 for role in Role} | {Role.VERIFIER: 200}
REGULATED_ENTITY_MEMBERS_200 = {role: 404 for role in Role} | {
    role: 200 for role in (Role.AUTHORISED_REPRESENTATIVE, Role.APPROVING_REPRESENTATIVE, Role.VIEWER)
}

RULES = {
    "home": Public(),
    "login": Public(),
    "logout": Logout(),
    "otp_enrol": SignedIn(),
    "otp_verify": SignedIn(),
    "dashboard": SignedIn(),
    "facility_list": SignedIn(),
    "api-schema": SignedIn(),
    "api-facility-list": SignedIn(),
    "organisation_detail": Scoped("organisation", own=EVERY_ROLE_200),
    "facility_detail": Scoped("facility", own=EVERY_ROLE_200),
    "api-facility-detail": Scoped("facility", own=EVERY_ROLE_200, api=True),
    # Importing facility data is an act for the company: its authorised
    # representatives only; administrators load data through the back office.
    "facility_import": Scoped("organisation", own=ACT_ONLY, administrator_foreign=403),
    "entity_allocation": Scoped("organisation", own=REGULATED_ENTITY_MEMBERS_200, extra_args=(2026,)),
    "holding_account_detail": Scoped("holding_account", own=EVERY_ROLE_200),
    "holding_account_history": Scoped("holding_account", own=EVERY_ROLE_200),
    "api-holding-account-list": SignedIn(),
    "api-holding-account-detail": Scoped("holding_account", own=EVERY_ROLE_200, api=True),
    "api-holding-account-transactions": Scoped("holding_account", own=EVERY_ROLE_200, api=True),
    "api-transfer-list": SignedIn(),
    "api-transfer-detail": Scoped("transfer_request", own=EVERY_ROLE_200, api=True),
    "api_token_list": SignedIn(),
    "registry_report": Public(),
    "compliance": Scoped("organisation", own=REGULATED_ENTITY_MEMBERS_200, extra_args=(2026,)),
    "holding_account_statement": Scoped("holding_account", own=EVERY_ROLE_200),
    "transfer_list": Scoped("holding_account", own=EVERY_ROLE_200),
    "trusted_account_list": Scoped("holding_account", own=EVERY_ROLE_200),
    # Which role may act is the services' rule (tested in accounts/tests); here: nobody reaches another's.
    "transfer_decision": ScopedAction("transfer_request", own=ACT_ONLY_302, extra_args=("cancel",)),
    "trusted_account_decision": ScopedAction("trusted_account", own=ACT_ONLY_302, extra_args=("remove",)),
    "registry_search": AdministratorOnly(),
    "four_eyes_queue": AdministratorOnly(),
    "booking_request_new": AdministratorOnly(),
    "restriction_list": AdministratorOnly(),
    "booking_request_decision": AdministratorOnly("booking_request", ("reject",), "post"),
    "upper_limit_payment_decision": AdministratorOnly("upper_limit_payment", ("confirm",), "post"),
    "holding_account_state": AdministratorOnly("holding_account", ("block",), "post", (("reason", "test"),)),
    "membership_state": AdministratorOnly("membership", ("suspend",), "post", (("reason", "test"),)),
    "verification_body_list": Public(),
    "verification_body_certificate": PublicObject("verification_body"),
    "body_registration": Scoped("organisation", own=BODY_MEMBERS_200, administrator_foreign=404),
    "evidence_download": Scoped("evidence", own=EVERY_ROLE_200),
    "body_application_queue": AdministratorOnly(),
    "body_application_review": AdministratorOnly("registration_application"),
    "verification_body_state": AdministratorOnly("verification_body", ("suspend",), "post", (("reason", "test"),),
                                                 allowed=200),  # the check page, before the code
    "verification_oversight": AdministratorOnly(),
    "coverage": AdministratorOnly(extra_args=(2026,)),
    "allocation_application": Scoped("organisation", own=REGULATED_ENTITY_MEMBERS_200, extra_args=(2026,)),
    "compliance_period_list": AdministratorOnly(),
    "compliance_period_edit": AdministratorOnly(extra_args=(2026,)),
    "allocation_fiscal_year": AdministratorOnly(extra_args=(2026,)),
    # The entity's people (any role they hold in it) and administrators; nobody else learns it exists.
    "notice_download": Scoped("notice", own=EVERY_ROLE_200),
    "notice_verify": Public(),
    "emission_factors": AdministratorOnly(extra_args=(2026,)),
    "emissions_report": Scoped("organisation", own=REGULATED_ENTITY_MEMBERS_200, extra_args=(2026,)),
    "engagement_list": SignedIn(),
    "market_instruments": Public(),
    "market_operator": AdministratorOnly(role=Role.MARKET_OPERATOR),
    "market_operator_instruments": AdministratorOnly(role=Role.MARKET_OPERATOR),
    "market_operator_auctions": AdministratorOnly(role=Role.MARKET_OPERATOR),
    "market_surveillance": AdministratorOnly(role=Role.MARKET_OPERATOR),
    # GXA's reverse auctions and their results are public; a participant's sealed offers show only to it.
    "market_auctions": Public(),
    "market_auction": PublicObject("auction"),
    "market_instrument": SignedIn(extra_args=("JPA-2026",)),
    "market_book": SignedIn(extra_args=("JPA-2026",)),
    "market_prices": PublicObject("instrument"),
    "api-market-order-list": SignedIn(),
    "api-market-order-detail": Scoped("order", own=EVERY_ROLE_200, api=True),
    "api-market-order-cancel": ScopedAction("order", own=ACT_ONLY, api=True),
    "api-market-book": SignedIn(extra_args=("JPA-2026",)),
    "engagement_detail": Scoped("engagement", own=EVERY_ROLE_200),
    "transition_plan": Scoped("organisation", own=REGULATED_ENTITY_MEMBERS_200, extra_args=(2026,)),
    "plan_review_queue": AdministratorOnly(),
    "public_plan_list": Public(),
    "public_plan": PublicObject("accepted_plan", extra_args=(2026,)),
    "plan_document": PublicObject("public_document"),
    "registry_report_entity": PublicObject("organisation"),
    "api-public-plan-list": Public(),
    # Operations (gxregistry/operations.py): answers for machines, nothing secret in them; /metrics only for the
    # monitoring's addresses (the test client's 127.0.0.1 is one: tests/test_operations.py tries another).
    "health_live": Public(),
    "health_ready": Public(),
    "metrics": Public(),
    "api-public-plan-detail": PublicObject("accepted_plan", extra_args=(2026,)),
}


def _url_names(patterns=None, namespace=None):
    names = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in EXCLUDED_NAMESPACES:
                continue
            names |= _url_names(pattern.url_patterns, pattern.namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names - EXCLUDED_NAMES


def test_every_view_has_a_rule():
    assert _url_names() - set(RULES) == set(), "add a rule for each new view to RULES"
    assert set(RULES) - _url_names() == set(), "RULES names a view that no longer exists"


def _organisation_kind(role):
    return {
        Role.REGISTRY_ADMINISTRATOR: Organisation.Kind.REGISTRY_ADMINISTRATION,
        Role.MARKET_OPERATOR: Organisation.Kind.MARKET_OPERATOR,
        Role.VERIFIER: Organisation.Kind.VERIFICATION_BODY,
    }.get(role, Organisation.Kind.REGULATED_ENTITY)


def _facility(organisation):
    return Facility.objects.create(organisation=organisation, code="F1", name="Works", prefecture=13,
                                   energy_use_kl=5000)


def _holding_account(organisation):
    from accounts import ledger

    return ledger.holding_account_open(acting_user=system_actor(), kind="operator_holding", organisation=organisation)


def _transfer_request(organisation):
    from django.utils import timezone

    from accounts.models import TransferRequest, User
    from accounts.validators import synthetic_corporate_number

    source = _holding_account(organisation)
    other = Organisation.objects.create(kind="regulated_entity", name="Other", sector="steel",
                                        corporate_number=synthetic_corporate_number(900000 + organisation.pk, 5))
    initiator = User.objects.create_user(email=f"initiator{organisation.pk}@example.jp", full_name="I")
    return TransferRequest.objects.create(source=source, destination=_holding_account(other), unit_type="allowance",
                                          vintage=2026, quantity=1, initiated_by=initiator,
                                          initiated_at=timezone.now())


def _someone(organisation):
    from accounts.models import User

    return User.objects.create_user(email=f"someone{organisation.pk}@example.jp", full_name="S")


def _trusted_account(organisation):
    from accounts.models import TrustedAccount

    request = _transfer_request(organisation)
    return TrustedAccount.objects.create(account=request.source, trusted=request.destination,
                                         proposed_by=request.initiated_by)


def _booking_request(organisation):
    from accounts import ledger
    from accounts.models import BookingRequest

    reserve = ledger.government_accounts()["allocation_reserve"]
    return BookingRequest.objects.create(kind="issuance", account=reserve, unit_type="allowance", vintage=2026,
                                         quantity=1, reason="r", requested_by=_someone(organisation))


def _upper_limit_payment(organisation):
    from accounts.models import UpperLimitPayment

    return UpperLimitPayment.objects.create(organisation=organisation, fiscal_year=2026, quantity=1, amount_yen=1,
                                            payment_reference=f"P{organisation.pk}",
                                            recorded_by=_someone(organisation))


def _membership(organisation):
    from accounts import services

    return services.membership_create(acting_user=system_actor(), user=_someone(organisation), organisation=organisation, role=Role.VIEWER)


def _verification_body(organisation):
    """A registered body; for an entity's own objects, a body record on the organisation itself."""
    from datetime import date

    from verification.models import VerificationBody

    return VerificationBody.objects.get_or_create(organisation=organisation, defaults={
        "status": "registered", "registration_number": f"GX-VB-{organisation.pk}", "registered_on": date(2026, 4, 1),
        "valid_from": date(2026, 4, 1), "valid_until": date(2031, 3, 31)})[0]


def _registration_application(organisation):
    from verification.models import RegistrationApplication

    return RegistrationApplication.objects.create(body=_verification_body(organisation), status="submitted")


def _evidence(organisation):
    from django.core.files.base import ContentFile

    from verification.models import RequirementEvidence

    evidence = RequirementEvidence(application=_registration_application(organisation), requirement="basic",
                                   original_name="e.pdf", content_type="application/pdf", size=8, sha256="0" * 64,
                                   uploaded_by=_someone(organisation))
    evidence.file.save("e.pdf", ContentFile(b"%PDF-1.4"), save=True)
    return evidence


def _engagement(organisation):
    from datetime import date

    from verification.models import EmissionsReport, Engagement, VerificationBody

    body_organisation = Organisation.objects.create(kind="verification_body", name=f"Body {organisation.pk}")
    body = VerificationBody.objects.create(
        organisation=body_organisation, status="registered", registration_number=f"GX-VB-E{organisation.pk}",
        registered_on=date(2026, 4, 1), valid_from=date(2026, 4, 1), valid_until=date(2031, 3, 31))
    someone = _someone(organisation)
    report = EmissionsReport.objects.create(organisation=organisation, fiscal_year=2026, status="submitted",
                                            total_t=10, created_by=someone)
    return Engagement.objects.create(body=body, report=report, purpose="actual", assurance_level="limited",
                                     assurance_reason="test", due_on=date(2027, 7, 31), appointed_by=someone)


def _notice(organisation):
    from allocation.models import AllocationApplication, AllocationNotice

    someone = _someone(organisation)
    application = AllocationApplication.objects.create(
        organisation=organisation, fiscal_year=2026, status="issued", created_by=someone, computed_total=1,
        issued_quantity=1)
    return AllocationNotice.objects.create(application=application, number=f"GX-AN-TEST-{organisation.pk}",
                                           issued_on="2026-06-30", content={}, sha256=f"{organisation.pk:064x}",
                                           pdf=b"%PDF-1.4")


def _accepted_plan(organisation):
    """The organisation, with an accepted FY2026 transition plan (its public page's URL is the entity's)."""
    _public_document(organisation)
    return organisation


def _public_document(organisation):
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from allocation.models import PlanDocument, TransitionPlan

    plan = TransitionPlan.objects.create(organisation=organisation, fiscal_year=2026, status="accepted",
                                         created_by=_someone(organisation), decided_at=timezone.now())
    document = PlanDocument(plan=plan, title="Strategy")
    document.file.save("s.pdf", ContentFile(b"%PDF-1.4"), save=True)
    return document


@pytest.fixture(autouse=True)
def fiscal_year_2026(db):
    """FY2026's compliance period: the pages about an FY answer 404 for one without."""
    from datetime import date

    from accounts.models import CompliancePeriod

    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=4300, lower_limit_price_yen=1700)


def _instrument(organisation):
    """An instrument, named in its URLs by its code (the "pk" the URL takes)."""
    from datetime import date
    from types import SimpleNamespace

    from accounts.models import User
    from market.models import Instrument

    gxa = User.objects.filter(email="gxa-matrix@example.jp").first() or User.objects.create_user(
        email="gxa-matrix@example.jp", full_name="GXA")
    instrument = Instrument.objects.get_or_create(vintage=2026, defaults={
        "code": "JPA-2026", "opens_on": date(2026, 10, 1), "created_by": gxa})[0]
    return SimpleNamespace(pk=instrument.code)


def _order(organisation):
    """An open sell order of the organisation (taking part in the market) on JPA-2026."""
    from django.utils import timezone

    from accounts.models import User
    from market.models import Instrument, Order, Participant

    _instrument(organisation)
    someone = User.objects.create_user(email=f"trader{organisation.pk}@example.jp", full_name="T")
    participant = Participant.objects.create(organisation=organisation, status="active", rules_version="2027-1",
                                             rules_accepted_by=someone, rules_accepted_at=timezone.now())
    account = _holding_account(organisation)
    return Order.objects.create(
        instrument=Instrument.objects.get(code="JPA-2026"), participant=participant, side="sell", price_yen=3000,
        quantity=5, remaining=5, reserved_units=5, time_in_force="gtc", sequence=organisation.pk * 10,
        owner=f"organisation:{organisation.pk}", unit_account=account, cash_account=account,
        trading_day=timezone.localdate(), idempotency_key="matrix", entered_by=someone, entered_at=timezone.now())


def _auction(organisation):
    """A reverse auction of JPA-2026 taking offers."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from market.models import Instrument, ReverseAuction

    _instrument(organisation)
    now = timezone.now()
    return ReverseAuction.objects.create(
        instrument=Instrument.objects.get(code="JPA-2026"), budget_kind="volume", budget=100, pricing="uniform",
        max_price_yen=1700, offers_from=now, offers_until=now + timedelta(hours=2), reason="Floor",
        opened_by=User.objects.get(email="gxa-matrix@example.jp"), opened_at=now)


def _target(rule, organisation):
    makers = {"organisation": lambda o: o, "facility": _facility, "holding_account": _holding_account,
              "transfer_request": _transfer_request, "trusted_account": _trusted_account,
              "booking_request": _booking_request, "upper_limit_payment": _upper_limit_payment,
              "membership": _membership, "verification_body": _verification_body,
              "registration_application": _registration_application, "evidence": _evidence,
              "engagement": _engagement, "notice": _notice, "accepted_plan": _accepted_plan,
              "public_document": _public_document, "instrument": _instrument, "order": _order,
              "auction": _auction}
    return makers[rule.target](organisation)


def _get(client, name, rule, obj):
    url = reverse(name, args=[*([obj.pk] if obj is not None else []), *getattr(rule, "extra_args", ())])
    if getattr(rule, "method", "get") == "post":
        return client.post(url, dict(getattr(rule, "data", ())))
    return client.get(url, HTTP_ACCEPT="application/json") if getattr(rule, "api", False) else client.get(url)


SCOPED = sorted(name for name, rule in RULES.items() if isinstance(rule, Scoped))
# Only regulated entities hold facilities and holding accounts, so other roles have none of their own to open.
OWN_CASES = [
    (name, role) for name in SCOPED for role in Role
    if RULES[name].target == "organisation" or _organisation_kind(role) == Organisation.Kind.REGULATED_ENTITY
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), OWN_CASES)
def test_scoped_view_on_own_object(name, role, make_organisation, make_user, signed_in, client):
    rule = RULES[name]
    own_organisation = make_organisation(_organisation_kind(role))
    user = make_user(role, organisation=own_organisation)
    signed_in(user)
    response = _get(client, name, rule, _target(rule, own_organisation))
    assert response.status_code == rule.own[role]


@pytest.mark.django_db
@pytest.mark.parametrize("name", SCOPED)
@pytest.mark.parametrize("role", list(Role))
def test_scoped_view_on_foreign_object(name, role, make_organisation, make_user, signed_in, client):
    rule = RULES[name]
    user = make_user(role)
    signed_in(user)
    foreign = _target(rule, make_organisation(Organisation.Kind.REGULATED_ENTITY))
    expected = rule.administrator_foreign if role == Role.REGISTRY_ADMINISTRATOR else rule.foreign
    assert _get(client, name, rule, foreign).status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(RULES))
def test_anonymous_reaches_only_public_pages(name, client, make_organisation):
    rule = RULES[name]
    args = [_target(rule, make_organisation()).pk] if getattr(rule, "target", None) else []
    args += list(getattr(rule, "extra_args", ()))
    url = reverse(name, args=args)
    response = client.post(url) if getattr(rule, "method", "get") == "post" else client.get(url)
    if isinstance(rule, Public | PublicObject):
        assert response.status_code == 200
    elif isinstance(rule, Logout):
        assert response.status_code == 302
        assert response.url == reverse("home")
        assert client.get(url).status_code == 405  # never by a GET a link could trigger
    elif name.startswith("api-"):
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    else:
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


ADMINISTRATOR_ONLY = sorted(name for name, rule in RULES.items() if isinstance(rule, AdministratorOnly))


@pytest.mark.django_db
@pytest.mark.parametrize("name", ADMINISTRATOR_ONLY)
@pytest.mark.parametrize("role", list(Role))
def test_administrator_pages(name, role, make_organisation, make_user, signed_in, client):
    rule = RULES[name]
    signed_in(make_user(role))
    target = _target(rule, make_organisation(Organisation.Kind.REGULATED_ENTITY)) if rule.target else None
    allowed = rule.allowed or (302 if rule.method == "post" else 200)
    expected = allowed if role == rule.role else 403
    assert _get(client, name, rule, target).status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_lists_show_only_own_organisations_facilities(role, make_organisation, make_user, signed_in, client):
    own_organisation = make_organisation(_organisation_kind(role))
    user = make_user(role, organisation=own_organisation)
    foreign = _facility(make_organisation())
    own = _facility(own_organisation) if own_organisation.kind == Organisation.Kind.REGULATED_ENTITY else None
    signed_in(user)
    page = client.get(reverse("facility_list")).content.decode()
    api = {row["id"] for row in client.get(reverse("api-facility-list")).json()["results"]}
    sees_all = role == Role.REGISTRY_ADMINISTRATOR
    assert (foreign.get_absolute_url() in page) is sees_all
    assert (foreign.pk in api) is sees_all
    if own is not None:
        assert own.get_absolute_url() in page
        assert own.pk in api
