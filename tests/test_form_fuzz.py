"""Random values for every field of every form page: never a 500, and nothing written when refused.

The form pages come from the URLconf (every view with a ``forms`` table, FormPageMixin); each needs an
entry in FORM_PAGES saying who posts it and on what, so a new form page without one fails the suite.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger, services
from accounts.models import CompliancePeriod, Organisation
from accounts.roles import Role
from allocation.models import Facility, TransitionPlan
from market.models import Instrument, Participant, ReverseAuction
from tests.test_service_access import changed, snapshot
from verification.models import EmissionsLine, EmissionsReport, Engagement, RegistrationApplication, VerificationBody

EXAMPLES = 8

# What people type, and what attackers try: numbers in every form, signs, exponents, superscripts, huge values.
VALUES = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-10**25, max_value=10**25).map(str),
    st.sampled_from(["", "0", "-1", "--5", "1e3", "²", "①", "１，０００", "9" * 40, "2026", "allowance:2026:",
                     "JP-OHA-0000000000000", "yes", "no", "<script>", "' OR 1=1 --", "\x00"]),
)

# url name -> (role of the person posting, what the page is about)
FORM_PAGES = {
    "transfer_list": (Role.AUTHORISED_REPRESENTATIVE, "account"),
    "trusted_account_list": (Role.AUTHORISED_REPRESENTATIVE, "account"),
    "compliance": (Role.AUTHORISED_REPRESENTATIVE, "compliance"),
    "booking_request_new": (Role.REGISTRY_ADMINISTRATOR, None),
    "body_registration": (Role.AUTHORISED_REPRESENTATIVE, "body"),
    "body_application_review": (Role.REGISTRY_ADMINISTRATOR, "application"),
    "coverage": (Role.REGISTRY_ADMINISTRATOR, "fiscal_year"),
    "emission_factors": (Role.REGISTRY_ADMINISTRATOR, "fiscal_year"),
    "emissions_report": (Role.AUTHORISED_REPRESENTATIVE, "emissions"),
    "engagement_detail": (Role.VERIFIER, "engagement"),
    # The entity's acts succeed; METI's acts on the same page are refused to it (403), never a 500.
    "allocation_application": (Role.AUTHORISED_REPRESENTATIVE, "compliance"),
    "allocation_fiscal_year": (Role.REGISTRY_ADMINISTRATOR, "fiscal_year"),
    "transition_plan": (Role.AUTHORISED_REPRESENTATIVE, "compliance"),
    "market_instrument": (Role.AUTHORISED_REPRESENTATIVE, "instrument"),
    "market_operator": (Role.MARKET_OPERATOR, None),
    "market_operator_instruments": (Role.MARKET_OPERATOR, None),
    "market_operator_auctions": (Role.MARKET_OPERATOR, None),
    "market_surveillance": (Role.MARKET_OPERATOR, None),
    "market_auction": (Role.AUTHORISED_REPRESENTATIVE, "auction"),
}


def form_pages():
    pages = {}
    for pattern in get_resolver().url_patterns:
        for inner in getattr(pattern, "url_patterns", [pattern]):
            if isinstance(inner, URLPattern) and inner.name:
                view = getattr(inner.callback, "view_class", None)
                if view is not None and isinstance(getattr(view, "forms", None), dict) and view.forms:
                    pages[inner.name] = view
    return pages


def test_every_form_page_has_a_rule():
    assert sorted(set(form_pages()) - set(FORM_PAGES)) == []


CASES = sorted((name, form) for name, view in form_pages().items() for form in view.forms)


@pytest.fixture
def place(make_organisation, make_user, signed_in, client):
    organisation = make_organisation()
    account = ledger.holding_account_open(kind="operator_holding", organisation=organisation,
                                          acting_user=services.system_actor())
    ledger.issue_allowances(vintage=2026, quantity=1_000, idempotency_key="fuzz-issue")
    ledger.allocation_transfer(account=account, vintage=2026, quantity=1_000, idempotency_key="fuzz-allocation")
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=Decimal(4300), lower_limit_price_yen=Decimal(1700))
    body_organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    body = VerificationBody.objects.create(
        organisation=body_organisation, status="registered", registration_number="GX-VB-FUZZ",
        registered_on=date(2026, 4, 1), valid_from=date(2026, 4, 1), valid_until=date(2031, 3, 31))
    application = RegistrationApplication.objects.create(body=body, kind="renewal", status="submitted")
    facility = Facility.objects.create(organisation=organisation, code="F1", name="Works", prefecture=13,
                                       energy_use_kl=Decimal(10))
    someone = make_user(Role.VIEWER, organisation=organisation)
    draft = EmissionsReport.objects.create(organisation=organisation, fiscal_year=2026, created_by=someone)
    EmissionsLine.objects.create(report=draft, facility=facility, kind="energy", source="oil", method="model",
                                 model_emissions_t=Decimal(100), emissions_t=Decimal(100))
    verified = EmissionsReport.objects.create(organisation=organisation, fiscal_year=2025, created_by=someone,
                                              status="under_verification", total_t=100)
    engagement = Engagement.objects.create(body=body, report=verified, purpose="actual", status="in_progress",
                                           assurance_level="limited", assurance_reason="test",
                                           due_on=date(2027, 7, 31), appointed_by=someone)
    TransitionPlan.objects.create(organisation=organisation, fiscal_year=2026, created_by=someone)  # a draft
    gxa = make_user(Role.MARKET_OPERATOR, make_organisation(Organisation.Kind.MARKET_OPERATOR))
    instrument = Instrument.objects.create(code="JPA-2026", vintage=2026, opens_on=date(2026, 10, 1), created_by=gxa)
    auction = ReverseAuction.objects.create(
        instrument=instrument, budget_kind="volume", budget=100, pricing="uniform", max_price_yen=1700,
        offers_from=timezone.now(), offers_until=timezone.now() + timedelta(hours=2), reason="Floor", opened_by=gxa,
        opened_at=timezone.now())
    Participant.objects.create(organisation=organisation, status="active", rules_version="2027-1",
                               rules_accepted_by=someone, rules_accepted_at=timezone.now())
    return {"organisation": organisation, "account": account, "make_user": make_user, "signed_in": signed_in,
            "client": client, "body": body, "application": application, "engagement": engagement,
            "gxa": gxa.memberships.get().organisation, "auction": auction}


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "form"), CASES)
def test_random_input_never_gives_a_500_and_a_refusal_writes_nothing(page, form, place):
    role, about = FORM_PAGES[page]
    organisation = {Role.REGISTRY_ADMINISTRATOR: None, Role.VERIFIER: place["body"].organisation,
                    Role.MARKET_OPERATOR: place["gxa"]}.get(
        role, place["body"].organisation if about == "body" else place["organisation"])
    user = place["make_user"](role, organisation=organisation)
    if about == "engagement":
        place["engagement"].team.set([user])
    client = place["signed_in"](user)
    args = {"account": [place["account"].pk], "compliance": [place["organisation"].pk, 2026], None: [],
            "body": [place["body"].organisation.pk], "application": [place["application"].pk],
            "fiscal_year": [2026], "emissions": [place["organisation"].pk, 2026],
            "engagement": [place["engagement"].pk], "instrument": ["JPA-2026"],
            "auction": [place["auction"].pk]}[about]
    url = reverse(page, args=args)
    view = form_pages()[page]
    prefix = f"{form}-" if getattr(view, "prefix_forms", False) else ""  # GXA's pages of several forms
    fields = [prefix + name for name in view.forms[form].base_fields]
    assert client.get(url).status_code == 200

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    # Every stage of a checked act too: the check page, "change", and the confirmation.
    @given(st.fixed_dictionaries({field: VALUES for field in fields}),
           st.sampled_from(["", "change", "confirm"]))
    def post(values, stage):
        before = snapshot()
        response = client.post(url, {"form": form, "stage": stage, **values})
        assert response.status_code in (200, 302, 400, 403), response.status_code
        if response.status_code >= 400:
            assert changed(before) == [], f"a refused post wrote to {changed(before)}"

    post()
    assert Organisation.objects.filter(pk=place["organisation"].pk).exists()
