"""Every state-changing service, refused for the wrong person, a suspended one and a wrong second-factor code.

The list of services comes from the code: every function in the apps that takes ``acting_user`` must be a
``@state_change`` service (``gxregistry.authorization.SERVICES``), and every service must have a rule
here, so a new service without one fails ``test_every_service_has_a_rule``. For each, the right person
succeeds (so the rule is not one that refuses everybody), and each refusal changes nothing in the
database (every table but the second-factor devices, whose failure counts are meant to grow).
"""

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from accounts import compliance, ledger, services
from accounts.ledger import administration, transfers
from accounts.models import (
    BookingRequest,
    CompliancePeriod,
    HoldingAccount,
    LedgerTransaction,
    Membership,
    Organisation,
    TransferRequest,
    TrustedAccount,
    UpperLimitPayment,
    User,
    VerifiedEmissions,
)
from accounts.roles import Role
from allocation import services as allocation_services
from allocation.models import Facility, SectorBenchmark
from allocation.services import cycle, notices, plans
from conftest import current_code, enrol_totp
from gxregistry.authorization import SERVICES
from gxregistry.errors import ErrorCode, RegistryError
from market.services import auctions, orders, surveillance
from market.services import participants as market
from verification.models import EmissionsLine, EmissionsReport, Engagement, RegistrationApplication, VerificationBody
from verification.services import bodies, engagements, reports
from verification.tests.builders import complete_application, pdf

APPS = ("accounts", "allocation", "verification", "market", "gxregistry")
# Devices, sessions and the cache (public pages kept for reading) are not what an act changes.
UNCHECKED_TABLES = ("otp_totp_totpdevice", "otp_static_staticdevice", "otp_static_statictoken", "django_session",
                    "gx_cache")


def project_functions_taking_acting_user():
    """Every public function of the apps with a keyword-only ``acting_user``: the mark of a service."""
    found = {}
    for app in APPS:
        package = importlib.import_module(app)
        for module_info in pkgutil.walk_packages(package.__path__, f"{app}."):
            name = module_info.name
            if ".migrations" in name or ".tests" in name or ".management" in name:
                continue
            module = importlib.import_module(name)
            for attribute, value in vars(module).items():
                if inspect.isfunction(value) and value.__module__ == name and not attribute.startswith("_"):
                    parameter = inspect.signature(inspect.unwrap(value)).parameters.get("acting_user")
                    if parameter is not None and parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                        found[f"{name}.{attribute}"] = value
    return found


# --- the world every rule acts in ---------------------------------------------------------------------

@dataclass
class World:
    entity: Organisation
    account: HoldingAccount
    other_account: HoldingAccount
    rep: object
    rep2: object
    approver: object
    viewer: object
    admin: object
    admin2: object
    body: VerificationBody
    body_rep: object
    verifier: object
    reviewer: object
    facility: Facility
    gxa: object  # a market operator of GXA

    def code(self, user):
        device = user.totpdevice_set.filter(confirmed=True).first() or enrol_totp(user)
        return current_code(device)


@pytest.fixture
def world(make_user, make_organisation):
    entity = make_organisation()
    rep = make_user(Role.AUTHORISED_REPRESENTATIVE, entity)
    rep2 = make_user(Role.AUTHORISED_REPRESENTATIVE, entity)
    approver = make_user(Role.APPROVING_REPRESENTATIVE, entity)
    viewer = make_user(Role.VIEWER, entity)
    admin = make_user(Role.REGISTRY_ADMINISTRATOR)
    admin2 = make_user(Role.REGISTRY_ADMINISTRATOR, admin.memberships.get().organisation)
    system = services.system_actor()
    account = ledger.holding_account_open(kind="operator_holding", organisation=entity, acting_user=system)
    other = make_organisation(Organisation.Kind.TRADING_OPERATOR)
    other_account = ledger.holding_account_open(kind="trading", organisation=other, acting_user=system)
    ledger.issue_allowances(vintage=2026, quantity=10_000, idempotency_key="world-issue")
    ledger.allocation_transfer(account=account, vintage=2026, quantity=5_000, idempotency_key="world-allocation")
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=Decimal(4300), lower_limit_price_yen=Decimal(1700))
    body_organisation = make_organisation(Organisation.Kind.VERIFICATION_BODY)
    body_rep = make_user(Role.AUTHORISED_REPRESENTATIVE, body_organisation)
    verifier = make_user(Role.VERIFIER, body_organisation)
    reviewer = make_user(Role.VERIFIER, body_organisation)
    body = VerificationBody.objects.create(
        organisation=body_organisation, status="registered", registration_number="GX-VB-TEST",
        registered_on=date(2026, 4, 1), valid_from=date(2026, 4, 1), valid_until=date(2031, 3, 31))
    facility = Facility.objects.create(organisation=entity, code="F1", name="Works", prefecture=13,
                                       energy_use_kl=Decimal(10))
    gxa = make_user(Role.MARKET_OPERATOR, make_organisation(Organisation.Kind.MARKET_OPERATOR))
    for user in (rep, rep2, approver, admin, admin2, reviewer, gxa):
        enrol_totp(user)
    return World(entity, account, other_account, rep, rep2, approver, viewer, admin, admin2, body, body_rep, verifier,
                 reviewer, facility, gxa)


# --- rules: who may, and the call ----------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """``who``: act | approve | admin | manage_members | self | body_act | verify | operate; ``right`` names the world's user who may (by
    default the one for ``who``). ``setup(world)`` makes what the act needs, before the database is
    compared (it must find what an earlier refused call left); ``call(world, actor, code, target)`` calls
    the service. ``code``: the service takes a fresh second-factor code."""

    who: str
    call: object
    setup: object = None
    code: bool = False
    right: str | None = None
    done: ErrorCode | None = None  # the right person meets this refusal of the world's data instead (past authorize)


def _transfer(w):
    return (TransferRequest.objects.filter(status="awaiting_approval").first()
            or TransferRequest.objects.create(source=w.account, destination=w.other_account, unit_type="allowance",
                                              vintage=2026, quantity=10, initiated_by=w.rep,
                                              initiated_at=timezone.now()))


def _trusted(w, confirmed=False):
    return TrustedAccount.objects.filter(removed_at__isnull=True).first() or TrustedAccount.objects.create(
        account=w.account, trusted=w.other_account, proposed_by=w.rep, confirmed_by=w.rep2 if confirmed else None)


def _booking_request(w):
    return (BookingRequest.objects.filter(status="awaiting_approval").first()
            or administration.booking_request_create(kind="issuance", vintage=2030, quantity=5, reason="test",
                                                     acting_user=w.admin))


def _payment(w):
    return UpperLimitPayment.objects.get_or_create(
        payment_reference="PAY-1", defaults={"organisation": w.entity, "fiscal_year": 2026, "quantity": 1,
                                             "amount_yen": Decimal(4300), "recorded_by": w.rep2})[0]


def _verified(w, emissions=100):
    return VerifiedEmissions.objects.get_or_create(organisation=w.entity, fiscal_year=2026,
                                                   defaults={"emissions_t": emissions, "entered_by": w.admin})[0]


def _benchmark(w):
    return SectorBenchmark.objects.get_or_create(key="test.bm", defaults={"name": "Test", "kind": "product"})[0]


def _suspended_viewer(w):
    Membership.objects.filter(user=w.viewer).update(suspended_at=timezone.now(), suspension_reason="x")
    return w.viewer.memberships.get()


def _blocked(w):
    HoldingAccount.objects.filter(pk=w.account.pk).update(state="blocked")
    return w.account


def _new_user(w):
    return User.objects.filter(email="x@example.jp").first() or services.user_create(
        email="x@example.jp", full_name="X", password=None, acting_user=services.system_actor())


def _token(w):
    from knox.models import AuthToken

    return AuthToken.objects.filter(user=w.rep).first() or services.api_token_create(user=w.rep, acting_user=w.rep)[0]


def _open_application(w, complete=False):
    application = RegistrationApplication.objects.filter(status__in=RegistrationApplication.OPEN).first()
    if application is None:
        application = bodies.body_application_start(organisation=w.body.organisation, acting_user=w.body_rep)
    if complete and not application.evidence.exists():
        complete_application(application, w.body_rep)
    return application


def _submitted_application(w):
    application = _open_application(w, complete=True)
    if application.status == "draft":
        application = bodies.body_application_submit(application=application, acting_user=w.body_rep)
    return application


def _report(w, status="draft"):
    report = EmissionsReport.objects.filter(organisation=w.entity).first() or EmissionsReport.objects.create(
        organisation=w.entity, fiscal_year=2026, created_by=w.rep, status=status,
        total_t=None if status == "draft" else 100)
    if not report.lines.exists():
        EmissionsLine.objects.create(report=report, facility=w.facility, kind="energy", source="oil",
                                     method="model", model_emissions_t=Decimal(100), emissions_t=Decimal(100))
    return report


def _engagement(w, status="appointed", report_status="submitted"):
    engagement = Engagement.objects.filter(status=status).first()
    if engagement is None:
        engagement = Engagement.objects.create(
            body=w.body, report=_report(w, report_status), purpose="actual", status=status,
            assurance_level="limited", assurance_reason="test", due_on=date(2027, 7, 31), appointed_by=w.rep,
            independent_reviewer=w.reviewer)
        engagement.team.set([w.verifier])
    return engagement


def _baseline_opinion(w):
    """A signed baseline opinion of the world's body (with no process lines: it attests an empty set)."""
    from verification.models import Opinion

    opinion = Opinion.objects.filter(engagement__purpose="baseline").first()
    if opinion is None:
        engagement = _engagement(w, "opinion_issued", "verified")
        Engagement.objects.filter(pk=engagement.pk).update(purpose="baseline")
        opinion = Opinion.objects.create(engagement=Engagement.objects.get(pk=engagement.pk), kind="unmodified",
                                         standard="iso_14064_3", assurance_level="limited", reported_t=100,
                                         verified_t=100, misstatement_t=0, materiality_ratio=0, statement="fair",
                                         signed_by=w.reviewer)
    return opinion


def _allocation_application(w, status="draft", total=None):
    """The world entity's FY2026 application in ``status`` (made directly: the cycle's own tests walk the states)."""
    from allocation.models import AllocationApplication

    application = AllocationApplication.objects.filter(organisation=w.entity, fiscal_year=2026).first()
    if application is None:
        computed = status not in ("draft", "submitted", "under_review", "returned")
        application = AllocationApplication.objects.create(
            organisation=w.entity, fiscal_year=2026, status=status, created_by=w.rep,
            reviewer=w.admin if status != "draft" and status != "submitted" else None,
            computed_total=(total if total is not None else 10) if computed else None,
            issued_quantity=0 if status in ("issued", "superseded") else None)
    return application


def _plan(w, status="draft", complete=False):
    """The world entity's FY2026 transition plan in ``status`` (made directly: tests/test_plans.py walks the states)."""
    from allocation.models import PlanDocument, PlanEmissions, PlanInvestment, TransitionPlan

    plan = TransitionPlan.objects.filter(organisation=w.entity, fiscal_year=2026).first()
    if plan is None:
        plan = TransitionPlan.objects.create(
            organisation=w.entity, fiscal_year=2026, status=status, created_by=w.rep,
            filed_by=w.rep if status != "draft" else None,
            decided_at=timezone.now() if status in ("accepted", "returned") else None)
        if complete:
            PlanEmissions.objects.bulk_create(
                [PlanEmissions(plan=plan, kind="projected", fiscal_year=fy, direct_t=100, indirect_t=10)
                 for fy in range(2026, 2031)] + [PlanEmissions(plan=plan, kind="actual", fiscal_year=2025,
                                                               direct_t=120, indirect_t=12)])
            PlanInvestment.objects.create(plan=plan, measure="Electric furnace", facilities="F1", timing="FY2028",
                                          effect_t_per_year=50)
            PlanDocument.objects.create(plan=plan, title="Medium-term plan", url="https://example.jp/plan.pdf")
    return plan


def _plan_document(w):
    from allocation.models import PlanDocument

    return PlanDocument.objects.filter(plan=_plan(w)).first() or PlanDocument.objects.create(
        plan=_plan(w), title="Report", url="https://example.jp/report")


LINES_CSV = ",".join(reports.IMPORT_COLUMNS) + "\n" + ",".join(
    {"facility_code": "F1", "kind": "energy", "source": "oil", "method": "model", "model_emissions_t": "9"}.get(name, "")
    for name in reports.IMPORT_COLUMNS) + "\n"
FACILITY_CSV = "entity_corporate_number,code,name,prefecture,opened_on\n{number},F1,Plant,13,2001-04-01\n"

def _applicant(w):
    from market.models import Participant

    return Participant.objects.get_or_create(
        organisation=w.other_account.organisation, defaults={
            "status": "applied", "rules_version": market.RULES_VERSION, "rules_accepted_by": w.rep,
            "rules_accepted_at": timezone.now()})[0]


def _instrument(w):
    from market.models import Instrument

    return Instrument.objects.get_or_create(vintage=2030, defaults={
        "code": "JPA-2030", "opens_on": date(2030, 10, 1), "created_by": w.gxa})[0]


SESSION = datetime(2026, 10, 6, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Tuesday, in the session


def _participant(w):
    from market.models import Participant

    return Participant.objects.get_or_create(organisation=w.entity, defaults={
        "status": "active", "rules_version": market.RULES_VERSION, "rules_accepted_by": w.rep,
        "rules_accepted_at": timezone.now()})[0]


def _instrument_2026(w):
    from market.models import Instrument

    return Instrument.objects.get_or_create(vintage=2026, defaults={
        "code": "JPA-2026", "opens_on": date(2026, 10, 1), "created_by": w.gxa})[0]


def _open_order(w):
    from market.models import Order

    return Order.objects.filter(status="open").first() or orders.order_enter(
        participant=_participant(w), instrument=_instrument_2026(w), side="sell", price_yen=3000, quantity=10,
        idempotency_key=f"setup-{Order.objects.count()}", acting_user=w.rep, now=SESSION).order


def _auction(w, *, window_open=True):
    """A reverse auction of JPA-2026 whose window is open now, or has ended."""
    from market.models import ReverseAuction

    now = timezone.now()
    until = now + timedelta(hours=1) if window_open else now - timedelta(minutes=1)
    return ReverseAuction.objects.filter(status="open").first() or ReverseAuction.objects.create(
        instrument=_instrument_2026(w), budget_kind="volume", budget=100, pricing="uniform", max_price_yen=1700,
        offers_from=until - timedelta(hours=2), offers_until=until, reason="Floor", opened_by=w.gxa, opened_at=now)


def _auction_offer(w):
    from market.models import AuctionOffer

    return AuctionOffer.objects.filter(status="submitted").first() or auctions.offer_submit(
        auction=_auction(w), participant=_participant(w), price_yen=1600, quantity=10, acting_user=w.rep)


def _alert(w):
    from market.models import Alert

    return Alert.objects.filter(status="open").first() or Alert.objects.create(
        kind="volume_share", instrument=_instrument_2026(w), participant=_participant(w), trading_day=SESSION.date(),
        summary="Half the volume", key="rule-alert", raised_at=timezone.now())


def _insider_list(w):
    from market.models import InsiderList

    return InsiderList.objects.get_or_create(name="Allocation figures", defaults={
        "information": "FY totals", "created_by": w.gxa})[0]


def _insider(w):
    from market.models import InsiderListMember

    return InsiderListMember.objects.filter(removed_at__isnull=True).first() or InsiderListMember.objects.create(
        insider_list=_insider_list(w), user=w.rep, reason="Saw them", added_by=w.gxa,
        added_at=timezone.now() - timedelta(hours=1))


RULES = {
    "market.services.surveillance.surveillance_parameters_set": Rule(
        "operate", lambda w, a, c, t: surveillance.surveillance_parameters_set(
            effective_from=timezone.now() + timedelta(hours=1), reason="Review", acting_user=a,
            concentration_percent=40, layering_seconds=60, layering_ticks=5, layering_orders=5, close_minutes=10,
            close_move_percent=3)),
    "market.services.surveillance.surveillance_scan": Rule("operate", lambda w, a, c, t: surveillance.surveillance_scan(
        instrument=t, day=SESSION.date(), acting_user=a), setup=_instrument_2026),
    "market.services.surveillance.alert_decide": Rule("operate", lambda w, a, c, t: surveillance.alert_decide(
        alert=t, decision="dismiss", note="Checked", acting_user=a), setup=_alert),
    "market.services.surveillance.insider_list_create": Rule(
        "operate", lambda w, a, c, t: surveillance.insider_list_create(name="Auction figures",
                                                                       information="Results", acting_user=a)),
    "market.services.surveillance.insider_add": Rule("operate", lambda w, a, c, t: surveillance.insider_add(
        insider_list=t, email=w.rep2.email, reason="Saw them", acting_user=a), setup=_insider_list),
    "market.services.surveillance.insider_remove": Rule("operate", lambda w, a, c, t: surveillance.insider_remove(
        member=t, acting_user=a), setup=_insider),
    "market.services.auctions.auction_open": Rule("operate", lambda w, a, c, t: auctions.auction_open(
        instrument=t, budget_kind="volume", budget=100, pricing="uniform", offers_from=timezone.now(),
        offers_until=timezone.now() + timedelta(hours=1), reason="Floor", acting_user=a, otp_token=c),
        setup=_instrument_2026, code=True, done=ErrorCode.INVALID_STATE),  # no three days at the floor
    "market.services.auctions.offer_submit": Rule("act", lambda w, a, c, t: auctions.offer_submit(
        auction=t[0], participant=t[1], price_yen=1600, quantity=10, acting_user=a),
        setup=lambda w: (_auction(w), _participant(w))),
    "market.services.auctions.offer_withdraw": Rule("act", lambda w, a, c, t: auctions.offer_withdraw(
        offer=t, acting_user=a), setup=_auction_offer),
    "market.services.auctions.auction_clear": Rule("operate", lambda w, a, c, t: auctions.auction_clear(
        auction=t, acting_user=a, otp_token=c), setup=lambda w: _auction(w, window_open=False), code=True),
    "market.services.orders.cash_deposit": Rule("operate", lambda w, a, c, t: orders.cash_deposit(
        participant=t, amount_yen=1_000_000, bank_reference="IN-1", acting_user=a, otp_token=c),
        setup=_participant, code=True),
    "market.services.orders.cash_withdrawal": Rule("operate", lambda w, a, c, t: orders.cash_withdrawal(
        participant=t, amount_yen=1, bank_reference="OUT-1", acting_user=a, otp_token=c),
        setup=_participant, code=True, done=ErrorCode.INSUFFICIENT_UNITS),
    "market.services.orders.order_enter": Rule("act", lambda w, a, c, t: orders.order_enter(
        participant=t[0], instrument=t[1], side="sell", price_yen=3000, quantity=10, idempotency_key="o-1",
        acting_user=a, now=SESSION), setup=lambda w: (_participant(w), _instrument_2026(w))),
    "market.services.orders.order_cancel": Rule("act", lambda w, a, c, t: orders.order_cancel(
        order=t, acting_user=a), setup=_open_order),
    "market.services.orders.order_amend": Rule("act", lambda w, a, c, t: orders.order_amend(
        order=t, quantity=5, acting_user=a, now=SESSION), setup=_open_order),
    "market.services.orders.orders_expire": Rule("operate", lambda w, a, c, t: orders.orders_expire(
        instrument=t, acting_user=a, now=SESSION), setup=_instrument_2026),
    "market.services.participants.participant_join": Rule("act", lambda w, a, c, t: market.participant_join(
        organisation=w.entity, rules_version=market.RULES_VERSION, acting_user=a)),
    "market.services.participants.participant_decide": Rule("operate", lambda w, a, c, t: market.participant_decide(
        participant=t, decision="approve", acting_user=a, otp_token=c), setup=_applicant, code=True),
    "market.services.participants.instrument_create": Rule("operate", lambda w, a, c, t: market.instrument_create(
        vintage=2027, opens_on=date(2027, 10, 1), acting_user=a)),
    "market.services.participants.parameters_set": Rule("operate", lambda w, a, c, t: market.parameters_set(
        instrument=t, effective_from=timezone.now() + timedelta(hours=1), reference_price_yen=3000, band_percent=10,
        halt_minutes=15, reason="Opening", acting_user=a), setup=_instrument),
    "accounts.services.user_language_set": Rule("self", lambda w, a, c, t: services.user_language_set(
        user=w.rep, language="en", acting_user=a)),
    "accounts.services.user_create": Rule("admin", lambda w, a, c, t: services.user_create(
        email="new@example.jp", full_name="New", password="long-enough-pass-1", acting_user=a)),
    "accounts.services.organisation_create": Rule("admin", lambda w, a, c, t: services.organisation_create(
        kind="trading_operator", name="New Co.", acting_user=a)),
    "accounts.services.membership_create": Rule("manage_members", lambda w, a, c, t: services.membership_create(
        user=t, organisation=w.entity, role=Role.VIEWER, acting_user=a), setup=_new_user),
    "accounts.services.membership_end": Rule("manage_members", lambda w, a, c, t: services.membership_end(
        membership=w.viewer.memberships.get(), acting_user=a)),
    "accounts.services.api_token_create": Rule("self", lambda w, a, c, t: services.api_token_create(
        user=w.rep, acting_user=a)),
    "accounts.services.api_token_revoke": Rule("self", lambda w, a, c, t: services.api_token_revoke(
        user=w.rep, token_key=t.token_key, acting_user=a), setup=_token),
    "accounts.ledger.booking.holding_account_open": Rule("admin", lambda w, a, c, t: ledger.holding_account_open(
        kind="trading", organisation=w.entity, acting_user=a)),
    "accounts.ledger.transfers.transfer_initiate": Rule("act", lambda w, a, c, t: transfers.transfer_initiate(
        source=w.account, destination=w.other_account, unit=ledger.allowance(2026), quantity=10, acting_user=a,
        otp_token=c), code=True),
    "accounts.ledger.transfers.transfer_check": Rule("act", lambda w, a, c, t: transfers.transfer_check(
        source=w.account, destination=w.other_account, unit=ledger.allowance(2026), quantity=10, acting_user=a)),
    "accounts.ledger.transfers.transfer_approval_check": Rule("approve", lambda w, a, c, t: (
        transfers.transfer_approval_check(request=t, acting_user=a)), setup=_transfer),
    "accounts.ledger.transfers.trusted_account_confirm_check": Rule("act", lambda w, a, c, t: (
        transfers.trusted_account_confirm_check(entry=t, acting_user=a)), setup=_trusted, right="rep2"),
    "accounts.ledger.transfers.account_close_check": Rule("admin", lambda w, a, c, t: transfers.account_close_check(
        account=w.other_account, acting_user=a)),
    "accounts.ledger.administration.booking_request_decision_check": Rule(
        "admin", lambda w, a, c, t: administration.booking_request_decision_check(request=t, acting_user=a),
        setup=_booking_request, right="admin2"),
    "accounts.compliance.services.surrender_check": Rule("act", lambda w, a, c, t: compliance.surrender_check(
        account=w.account, fiscal_year=2026, allowances={2026: 100}, acting_user=a), setup=_verified),
    "accounts.ledger.transfers.transfer_approve": Rule("approve", lambda w, a, c, t: transfers.transfer_approve(
        request=t, acting_user=a, otp_token=c), setup=_transfer, code=True),
    "accounts.ledger.transfers.transfer_reject": Rule("approve", lambda w, a, c, t: transfers.transfer_reject(
        request=t, acting_user=a), setup=_transfer),
    "accounts.ledger.transfers.transfer_cancel": Rule("act", lambda w, a, c, t: transfers.transfer_cancel(
        request=t, acting_user=a), setup=_transfer),
    "accounts.ledger.transfers.trusted_account_propose": Rule("act", lambda w, a, c, t: transfers.trusted_account_propose(
        account=w.account, trusted=w.other_account, acting_user=a)),
    "accounts.ledger.transfers.trusted_account_confirm": Rule("act", lambda w, a, c, t: transfers.trusted_account_confirm(
        entry=t, acting_user=a, otp_token=c), setup=_trusted, code=True, right="rep2"),
    "accounts.ledger.transfers.trusted_account_remove": Rule("act", lambda w, a, c, t: transfers.trusted_account_remove(
        entry=t, acting_user=a), setup=lambda w: _trusted(w, confirmed=True)),
    "accounts.ledger.transfers.account_trusted_only_set": Rule("act", lambda w, a, c, t: transfers.account_trusted_only_set(
        account=w.account, trusted_only=True, acting_user=a)),
    "accounts.ledger.transfers.membership_suspend": Rule("admin", lambda w, a, c, t: transfers.membership_suspend(
        membership=w.viewer.memberships.get(), reason="test", acting_user=a)),
    "accounts.ledger.transfers.membership_reinstate": Rule("admin", lambda w, a, c, t: transfers.membership_reinstate(
        membership=t, acting_user=a), setup=_suspended_viewer),
    "accounts.ledger.transfers.account_block": Rule("admin", lambda w, a, c, t: transfers.account_block(
        account=w.account, reason="test", acting_user=a)),
    "accounts.ledger.transfers.account_unblock": Rule("admin", lambda w, a, c, t: transfers.account_unblock(
        account=t, acting_user=a), setup=_blocked),
    "accounts.ledger.transfers.account_close": Rule("admin", lambda w, a, c, t: transfers.account_close(
        account=w.other_account, reason="test", acting_user=a)),
    "accounts.ledger.administration.booking_request_create": Rule(
        "admin", lambda w, a, c, t: administration.booking_request_create(
            kind="issuance", vintage=2030, quantity=5, reason="test", acting_user=a)),
    "accounts.ledger.administration.credit_issuance_request_create": Rule(
        "admin", lambda w, a, c, t: administration.credit_issuance_request_create(
            unit_type="j_credit", serial_start=1, serial_end=10, vintage=2024, origin="test", eligible=True,
            account=w.other_account, reason="test", acting_user=a)),
    "accounts.ledger.administration.reversal_request_create": Rule(
        "admin", lambda w, a, c, t: administration.reversal_request_create(
            original=LedgerTransaction.objects.get(idempotency_key="world-allocation"), reason="test", acting_user=a)),
    "accounts.ledger.administration.booking_request_approve": Rule(
        "admin", lambda w, a, c, t: administration.booking_request_approve(request=t, acting_user=a, otp_token=c),
        setup=_booking_request, code=True, right="admin2"),
    "accounts.ledger.administration.booking_request_reject": Rule(
        "admin", lambda w, a, c, t: administration.booking_request_reject(request=t, acting_user=a),
        setup=_booking_request, right="admin2"),
    "accounts.compliance.services.verified_emissions_record": Rule("admin", lambda w, a, c, t: compliance.verified_emissions_record(
        organisation=w.entity, fiscal_year=2026, emissions_t=100, acting_user=a)),
    "accounts.compliance.services.surrender": Rule("act", lambda w, a, c, t: compliance.surrender(
        account=w.account, fiscal_year=2026, allowances={2026: 100}, acting_user=a, otp_token=c,
        idempotency_key="surrender-test"), setup=_verified, code=True),
    "accounts.compliance.services.upper_limit_payment_record": Rule("act", lambda w, a, c, t: compliance.upper_limit_payment_record(
        organisation=w.entity, fiscal_year=2026, quantity=1, amount_yen=4300, payment_reference="P-9", acting_user=a)),
    "accounts.compliance.services.upper_limit_payment_confirm": Rule("admin", lambda w, a, c, t: compliance.upper_limit_payment_confirm(
        payment=t, acting_user=a), setup=_payment),
    "accounts.compliance.services.penalty_assess": Rule("admin", lambda w, a, c, t: compliance.penalty_assess(
        organisation=w.entity, fiscal_year=2026, acting_user=a, now=timezone.now().replace(year=2028)),
        setup=lambda w: _verified(w, 1_000_000)),
    "allocation.services.facility_data_import": Rule("act", lambda w, a, c, t: allocation_services.facility_data_import(
        acting_user=a, organisation=w.entity, kind="facilities",
        data=FACILITY_CSV.format(number=w.entity.corporate_number).encode(), extension="csv", dry_run=False)),
    "allocation.services.baseline_verified_record": Rule(
        "verify", lambda w, a, c, t: allocation_services.baseline_verified_record(
            organisation=w.entity, fiscal_year=2026, process_emissions={}, attestation=t, acting_user=a),
        setup=lambda w: _baseline_opinion(w), right="reviewer"),
    "allocation.services.sector_benchmark_levels_compute": Rule(
        "admin", lambda w, a, c, t: allocation_services.sector_benchmark_levels_compute(benchmark=t, acting_user=a),
        setup=_benchmark, done=ErrorCode.INVALID_INPUT),  # the world has no sector data to compute from
    "allocation.services.sector_benchmark_official_value_set": Rule(
        "admin", lambda w, a, c, t: allocation_services.sector_benchmark_official_value_set(
            benchmark=t, fiscal_year=2027, value=Decimal("1.5"), reason="test", acting_user=a), setup=_benchmark),
    "allocation.services.cycle.compliance_period_save": Rule("admin", lambda w, a, c, t: cycle.compliance_period_save(
        fiscal_year=2027, surrender_deadline=date(2029, 1, 31), upper_limit_price_yen=4500, lower_limit_price_yen=1800,
        credit_cap_share="0.1", parameters={"gf_process_rate": "0.01"}, acting_user=a)),
    "allocation.services.cycle.application_create": Rule("act", lambda w, a, c, t: cycle.application_create(
        organisation=w.entity, fiscal_year=2026, acting_user=a)),
    "allocation.services.cycle.application_update": Rule("act", lambda w, a, c, t: cycle.application_update(
        application=t, gx_patents="特願2025-1 Y02E", acting_user=a), setup=_allocation_application),
    "allocation.services.cycle.application_financials_save": Rule(
        "act", lambda w, a, c, t: cycle.application_financials_save(
            application=t, operating_profit_yen="-5,000,000", sales_yen="900000000", acting_user=a),
        setup=_allocation_application),
    "allocation.services.cycle.application_submit": Rule("act", lambda w, a, c, t: cycle.application_submit(
        application=t, acting_user=a), setup=_allocation_application),
    "allocation.services.cycle.application_review_start": Rule("admin", lambda w, a, c, t: cycle.application_review_start(
        application=t, acting_user=a), setup=lambda w: _allocation_application(w, "submitted")),
    "allocation.services.cycle.application_return": Rule("admin", lambda w, a, c, t: cycle.application_return(
        application=t, message="add evidence", acting_user=a), setup=lambda w: _allocation_application(w, "under_review")),
    "allocation.services.cycle.application_compute": Rule("admin", lambda w, a, c, t: cycle.application_compute(
        application=t, acting_user=a), setup=lambda w: _allocation_application(w, "under_review")),
    "allocation.services.cycle.application_approve": Rule("admin", lambda w, a, c, t: cycle.application_approve(
        application=t, acting_user=a, otp_token=c), setup=lambda w: _allocation_application(w, "computed"),
        code=True, right="admin2"),
    "allocation.services.cycle.application_correct": Rule("admin", lambda w, a, c, t: cycle.application_correct(
        application=t, reason="verified emissions corrected", acting_user=a),
        setup=lambda w: _allocation_application(w, "issued")),
    "allocation.services.cycle.allocation_run_start": Rule("admin", lambda w, a, c, t: cycle.allocation_run_start(
        fiscal_year=2026, acting_user=a, otp_token=c), setup=lambda w: _allocation_application(w, "approved"),
        code=True),
    "allocation.services.cycle.application_issue": Rule("admin", lambda w, a, c, t: cycle.application_issue(
        application=t, acting_user=a), setup=lambda w: _allocation_application(w, "approved")),
    "allocation.services.notices.notice_create": Rule("admin", lambda w, a, c, t: notices.notice_create(
        application=t, acting_user=a), setup=lambda w: _allocation_application(w, "issued")),
    "allocation.services.plans.plan_create": Rule("act", lambda w, a, c, t: plans.plan_create(
        organisation=w.entity, fiscal_year=2026, acting_user=a)),
    "allocation.services.plans.plan_update": Rule("act", lambda w, a, c, t: plans.plan_update(
        plan=t, other_initiatives="Hydrogen", acting_user=a), setup=_plan),
    "allocation.services.plans.plan_emissions_save": Rule("act", lambda w, a, c, t: plans.plan_emissions_save(
        plan=t, rows=[{"kind": "projected", "fiscal_year": 2030, "direct_t": "90", "indirect_t": "9"}],
        acting_user=a), setup=_plan),
    "allocation.services.plans.plan_emissions_import": Rule("act", lambda w, a, c, t: plans.plan_emissions_import(
        plan=t, data="区分,年度,直接排出量,間接排出量\n予測,2030,90,9\n".encode("cp932"), filename="plan.csv",
        acting_user=a), setup=_plan),
    "allocation.services.plans.plan_investments_save": Rule("act", lambda w, a, c, t: plans.plan_investments_save(
        plan=t, rows=[{"stage": "planned", "measure": "Heat pumps", "facilities": "F1", "timing": "FY2027",
                       "effect_t_per_year": "1,000"}], acting_user=a), setup=_plan),
    "allocation.services.plans.plan_research_save": Rule("act", lambda w, a, c, t: plans.plan_research_save(
        plan=t, rows=[{"kind": "patent", "reference": "特願2025-000001", "technology_category": "Y02P"}],
        acting_user=a), setup=_plan),
    "allocation.services.plans.plan_document_add": Rule("act", lambda w, a, c, t: plans.plan_document_add(
        plan=t, title="Integrated report", url="https://example.jp/ir", acting_user=a), setup=_plan),
    "allocation.services.plans.plan_document_remove": Rule("act", lambda w, a, c, t: plans.plan_document_remove(
        document=t, acting_user=a), setup=_plan_document),
    "allocation.services.plans.plan_file": Rule("act", lambda w, a, c, t: plans.plan_file(
        plan=t, acting_user=a), setup=lambda w: _plan(w, complete=True)),
    "allocation.services.plans.plan_confirm": Rule("approve", lambda w, a, c, t: plans.plan_confirm(
        plan=t, acting_user=a), setup=lambda w: _plan(w, "filed", complete=True)),
    "allocation.services.plans.plan_send_back": Rule("approve", lambda w, a, c, t: plans.plan_send_back(
        plan=t, message="Add the FY2025 figures", acting_user=a), setup=lambda w: _plan(w, "filed")),
    "allocation.services.plans.plan_accept": Rule("admin", lambda w, a, c, t: plans.plan_accept(
        plan=t, acting_user=a), setup=lambda w: _plan(w, "submitted", complete=True)),
    "allocation.services.plans.plan_return": Rule("admin", lambda w, a, c, t: plans.plan_return(
        plan=t, message="Item 3 is vague", acting_user=a), setup=lambda w: _plan(w, "submitted")),
    "verification.services.bodies.body_application_start": Rule("body_act", lambda w, a, c, t: bodies.body_application_start(
        organisation=w.body.organisation, acting_user=a)),
    "verification.services.bodies.body_application_update": Rule("body_act", lambda w, a, c, t: bodies.body_application_update(
        application=t, scope="鉄鋼", acting_user=a), setup=_open_application),
    "verification.services.bodies.evidence_upload": Rule("body_act", lambda w, a, c, t: bodies.evidence_upload(
        application=t, requirement="basic", upload=pdf(), acting_user=a), setup=_open_application),
    "verification.services.bodies.body_application_submit": Rule("body_act", lambda w, a, c, t: bodies.body_application_submit(
        application=t, acting_user=a), setup=lambda w: _open_application(w, complete=True)),
    "verification.services.bodies.body_application_request_information": Rule(
        "admin", lambda w, a, c, t: bodies.body_application_request_information(
            application=t, message="more", acting_user=a, otp_token=c), setup=_submitted_application, code=True),
    "verification.services.bodies.body_application_refuse": Rule(
        "admin", lambda w, a, c, t: bodies.body_application_refuse(application=t, reason="no", acting_user=a,
                                                                   otp_token=c), setup=_submitted_application, code=True),
    "verification.services.bodies.body_decision_check": Rule(
        "admin", lambda w, a, c, t: bodies.body_decision_check(application=t, decision="register",
                                                               registered_on=timezone.localdate(), acting_user=a),
        setup=_submitted_application),
    "verification.services.bodies.body_state_check": Rule("admin", lambda w, a, c, t: bodies.body_state_check(
        body=w.body, act="suspend", acting_user=a)),
    "verification.services.bodies.body_register": Rule(
        "admin", lambda w, a, c, t: bodies.body_register(application=t, registered_on=timezone.localdate(),
                                                         acting_user=a, otp_token=c),
        setup=_submitted_application, code=True),
    "verification.services.bodies.body_suspend": Rule("admin", lambda w, a, c, t: bodies.body_suspend(
        body=w.body, reason="audit", acting_user=a, otp_token=c), code=True),
    "verification.services.bodies.body_reinstate": Rule("admin", lambda w, a, c, t: bodies.body_reinstate(
        body=t, acting_user=a, otp_token=c), code=True,
        setup=lambda w: VerificationBody.objects.filter(pk=w.body.pk).update(status="suspended") and w.body),
    "verification.services.bodies.body_revoke": Rule("admin", lambda w, a, c, t: bodies.body_revoke(
        body=w.body, reason="fraud", acting_user=a, otp_token=c), code=True),
    "verification.services.bodies.conflict_declare": Rule("body_act", lambda w, a, c, t: bodies.conflict_declare(
        body=w.body, organisation=w.entity, description="consulting", acting_user=a)),
    "verification.services.bodies.activity_report_submit": Rule("body_act", lambda w, a, c, t: bodies.activity_report_submit(
        body=w.body, fiscal_year=2026, summary="work", staff_count=3, acting_user=a)),
    "verification.services.reports.emission_factor_set": Rule("admin", lambda w, a, c, t: reports.emission_factor_set(
        fiscal_year=2026, code="a-heavy-oil", name="A重油", name_en="A heavy oil", unit="kL", factor="2.71",
        accuracy_class="liquid_fuel", acting_user=a)),
    "verification.services.reports.coverage_confirm": Rule("admin", lambda w, a, c, t: reports.coverage_confirm(
        fiscal_year=2026, acting_user=a, otp_token=c), code=True),
    "verification.services.reports.emissions_report_create": Rule("act", lambda w, a, c, t: reports.emissions_report_create(
        organisation=w.entity, fiscal_year=2027, acting_user=a)),
    "verification.services.reports.emissions_line_save": Rule("act", lambda w, a, c, t: reports.emissions_line_save(
        report=t, facility=w.facility, kind="energy", source="coal", method="activity_factor", activity=Decimal(10),
        emission_factor=Decimal(2), acting_user=a), setup=_report),
    "verification.services.reports.emissions_line_delete": Rule("act", lambda w, a, c, t: reports.emissions_line_delete(
        line=t.lines.first(), acting_user=a), setup=_report),
    "verification.services.reports.emissions_lines_import": Rule("act", lambda w, a, c, t: reports.emissions_lines_import(
        report=t, data=LINES_CSV.encode(), extension="csv", dry_run=False, acting_user=a), setup=_report),
    "verification.services.reports.emissions_report_submit": Rule("act", lambda w, a, c, t: reports.emissions_report_submit(
        report=t, acting_user=a), setup=_report),
    "verification.services.reports.emissions_report_withdraw": Rule("act", lambda w, a, c, t: reports.emissions_report_withdraw(
        report=t, acting_user=a), setup=lambda w: _report(w, "submitted")),
    "verification.services.reports.emissions_report_correct": Rule("act", lambda w, a, c, t: reports.emissions_report_correct(
        report=t, reason="meter", acting_user=a), setup=lambda w: _report(w, "verified")),
    "verification.services.engagements.engagement_appoint": Rule("act", lambda w, a, c, t: engagements.engagement_appoint(
        report=t, body=w.body, purpose="actual", acting_user=a), setup=lambda w: _report(w, "submitted")),
    "verification.services.engagements.engagement_team_set": Rule("verify", lambda w, a, c, t: engagements.engagement_team_set(
        engagement=t, team=[w.verifier], independent_reviewer=w.reviewer, acting_user=a), setup=_engagement),
    "verification.services.engagements.engagement_start": Rule("verify", lambda w, a, c, t: engagements.engagement_start(
        engagement=t, acting_user=a), setup=_engagement),
    "verification.services.engagements.work_log_add": Rule("verify", lambda w, a, c, t: engagements.work_log_add(
        engagement=t, kind="site_visit", occurred_on=date(2027, 5, 1), description="visit", acting_user=a),
        setup=lambda w: _engagement(w, "in_progress", "under_verification")),
    "verification.services.engagements.misstatement_record": Rule("verify", lambda w, a, c, t: engagements.misstatement_record(
        engagement=t, amount_t=1, description="x", acting_user=a),
        setup=lambda w: _engagement(w, "in_progress", "under_verification")),
    "verification.services.engagements.opinion_sign": Rule("verify", lambda w, a, c, t: engagements.opinion_sign(
        engagement=t, kind="unmodified", standard="iso_14064_3", statement="fair", acting_user=a, otp_token=c),
        setup=lambda w: _engagement(w, "in_progress", "under_verification"), code=True, right="reviewer"),
    "verification.services.engagements.engagement_withdraw": Rule("act", lambda w, a, c, t: engagements.engagement_withdraw(
        engagement=t, acting_user=a), setup=_engagement),
}

RIGHT = {"act": "rep", "approve": "approver", "admin": "admin", "manage_members": "admin", "self": "rep",
         "body_act": "body_rep", "verify": "verifier", "operate": "gxa"}
WRONG = {"act": "viewer", "approve": "rep2", "admin": "rep", "manage_members": "rep", "self": "viewer",
         "body_act": "verifier", "verify": "rep", "operate": "admin"}  # METI's administrators do not run the market


def snapshot() -> dict:
    """A digest of every row of every table but the second-factor devices' and sessions'."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        tables = [t for (t,) in cursor.fetchall() if t not in UNCHECKED_TABLES]
        digests = {}
        for table in tables:
            cursor.execute(f'SELECT md5(COALESCE(string_agg(t::text, \',\' ORDER BY t::text), \'\')) FROM "{table}" t')  # noqa: S608 - table names from the catalogue
            digests[table] = cursor.fetchone()[0]
    return digests


def changed(before: dict) -> list[str]:
    after = snapshot()
    return [table for table in after if after[table] != before.get(table)]


def refused(call, code: ErrorCode):
    """``call`` is refused with ``code`` and nothing in the database changes."""
    before = snapshot()
    with pytest.raises(RegistryError) as raised:
        call()
    assert raised.value.code == code, raised.value
    assert changed(before) == [], f"a refused call wrote to {changed(before)}"


def test_every_service_is_registered_and_has_a_rule():
    functions = project_functions_taking_acting_user()
    unregistered = sorted(name for name in functions if name not in SERVICES)
    assert unregistered == [], f"functions taking acting_user that are not @state_change services: {unregistered}"
    assert sorted(set(SERVICES) - set(RULES)) == [], "a service without a rule in tests/test_service_access.py"


@pytest.mark.parametrize("name", sorted(RULES))
def test_service_refuses_the_wrong_person_a_suspended_one_and_a_wrong_code(name, world):
    rule = RULES[name]
    right = getattr(world, rule.right or RIGHT[rule.who])
    wrong = getattr(world, WRONG[rule.who])

    def attempt(actor, code):
        target = rule.setup(world) if rule.setup else None  # made before the database is compared
        return lambda: rule.call(world, actor, code, target)

    # The wrong person (a valid code of their own makes no difference).
    refused(attempt(wrong, world.code(wrong) if rule.code else None), ErrorCode.NOT_PERMITTED)

    # The right person, suspended: their membership, or for acts on oneself, the person.
    if rule.who == "self":
        type(right).objects.filter(pk=right.pk).update(is_active=False)
        right.refresh_from_db()
    else:
        Membership.objects.filter(user=right, ended_at__isnull=True).update(suspended_at=timezone.now(),
                                                                            suspension_reason="test")
    refused(attempt(right, world.code(right) if rule.code else None), ErrorCode.SUSPENDED)
    Membership.objects.filter(user=right).update(suspended_at=None, suspension_reason="")
    type(right).objects.filter(pk=right.pk).update(is_active=True)
    right.refresh_from_db()

    # The right person with a wrong code.
    if rule.code:
        refused(attempt(right, "000000"), ErrorCode.WRONG_SECOND_FACTOR)
        right.totpdevice_set.update(throttling_failure_count=0, throttling_failure_timestamp=None)

    # The right person with a right code: done.
    if rule.done is None:
        attempt(right, world.code(right) if rule.code else None)()
    else:
        refused(attempt(right, world.code(right) if rule.code else None), rule.done)


def test_a_wrong_code_counts_towards_throttling_although_the_act_rolls_back(world):
    from django_otp.plugins.otp_static.models import StaticDevice

    def initiate(code):
        return transfers.transfer_initiate(source=world.account, destination=world.other_account,
                                           unit=ledger.allowance(2026), quantity=1, acting_user=world.rep,
                                           otp_token=code)

    device = world.rep.totpdevice_set.get()
    backup = StaticDevice.objects.create(user=world.rep, name="Backup codes", confirmed=True)
    backup.token_set.create(token="backup01")
    with pytest.raises(RegistryError) as wrong:
        initiate("000000")
    assert wrong.value.code == ErrorCode.WRONG_SECOND_FACTOR and "wrong" in str(wrong.value.message)
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # counted, although the act's transaction rolled back
    # Now throttled: even the right code is refused, and the message says how long to wait.
    with pytest.raises(RegistryError) as throttled:
        initiate(world.code(world.rep))
    assert "wait 1 second," in str(throttled.value.message) and "backup code" in str(throttled.value.message)
    assert not TransferRequest.objects.exists()
    # A backup code works at once, as the message says: the app's wrong code counted against the app only.
    backup.refresh_from_db()
    assert backup.throttling_failure_count == 0
    assert initiate("backup01").status == TransferRequest.Status.AWAITING_APPROVAL


def test_a_wrong_backup_code_counts_against_the_backup_codes_only(world):
    from django_otp.plugins.otp_static.models import StaticDevice

    backup = StaticDevice.objects.create(user=world.rep, name="Backup codes", confirmed=True)
    backup.token_set.create(token="backup01")
    with pytest.raises(RegistryError) as wrong:
        transfers.transfer_initiate(source=world.account, destination=world.other_account,
                                    unit=ledger.allowance(2026), quantity=1, acting_user=world.rep,
                                    otp_token="backup99")
    assert wrong.value.code == ErrorCode.WRONG_SECOND_FACTOR
    backup.refresh_from_db()
    assert backup.throttling_failure_count == 1
    assert world.rep.totpdevice_set.get().throttling_failure_count == 0
    # The app's code still confirms the next act without a wait.
    assert transfers.transfer_initiate(
        source=world.account, destination=world.other_account, unit=ledger.allowance(2026), quantity=1,
        acting_user=world.rep, otp_token=world.code(world.rep)).status == TransferRequest.Status.AWAITING_APPROVAL


def test_a_suspended_administrator_cannot_approve_issuance(world):
    request = _booking_request(world)
    Membership.objects.filter(user=world.admin2).update(suspended_at=timezone.now(), suspension_reason="audit")
    with pytest.raises(RegistryError) as raised:
        administration.booking_request_approve(request=request, acting_user=world.admin2,
                                               otp_token=world.code(world.admin2))
    assert raised.value.code == ErrorCode.SUSPENDED
    assert BookingRequest.objects.get(pk=request.pk).status == BookingRequest.Status.AWAITING_APPROVAL
