"""Surrender with the credit cap, upper-limit payments, the compliance card and the penalty."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts import compliance, ledger
from accounts.models import CompliancePeriod, CreditBatch, HoldingAccount
from accounts.roles import Role
from accounts.services import system_actor
from accounts.tests.ledger_fixtures import held, key
from accounts.tests.test_transfer_workflow import otp
from gxregistry.errors import RegistryError

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def entity(make_user, make_organisation):
    organisation = make_organisation()
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE, organisation=organisation)
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    account = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING, organisation=organisation)
    ledger.issue_allowances(vintage=2026, quantity=900, idempotency_key=key())
    ledger.allocation_transfer(account=account, vintage=2026, quantity=900, idempotency_key=key())
    good = CreditBatch.objects.create(unit_type="j_credit", serial_start=1, serial_end=500, vintage=2024, origin="P1")
    old = CreditBatch.objects.create(unit_type="jcm_credit", serial_start=1, serial_end=100, vintage=2018,
                                     origin="P2", eligible=False)
    for batch in (good, old):
        unit = ledger.Unit(batch.unit_type, batch.vintage, batch.pk)
        ledger.book(kind="issuance", idempotency_key=key(), moves=[ledger.Move(
            ledger.government_account("issuance"), account, unit, batch.size)])
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=4300, lower_limit_price_yen=1700)
    compliance.verified_emissions_record(organisation=organisation, fiscal_year=2026, emissions_t=1000,
                                         acting_user=administrator)
    return {"organisation": organisation, "rep": representative, "admin": administrator, "account": account,
            "good": good, "old": old}


def surrender(e, allowances=None, credits=None):
    return compliance.surrender(account=e["account"], fiscal_year=2026, allowances=allowances, credits=credits,
                                acting_user=e["rep"], otp_token=otp(e["rep"]), idempotency_key=key())


def test_credits_over_10_percent_are_refused_saying_how_many_still_fit(entity):
    surrender(entity, credits={entity["good"].pk: 60})
    with pytest.raises(RegistryError, match="40 more still fit"):
        surrender(entity, credits={entity["good"].pk: 41})
    surrender(entity, credits={entity["good"].pk: 40})
    assert compliance.compliance_card(organisation=entity["organisation"], fiscal_year=2026).surrendered_credits == 100


def test_ineligible_credits_and_future_vintages_are_refused(entity):
    with pytest.raises(RegistryError, match="not eligible"):
        surrender(entity, credits={entity["old"].pk: 1})
    with pytest.raises(RegistryError, match="FY2027"):
        surrender(entity, allowances={2027: 1})


def test_surrender_moves_units_to_the_retirement_account_and_the_card_follows(entity):
    surrender(entity, allowances={2026: 850}, credits={entity["good"].pk: 100})
    assert held(entity["account"]) == 50
    card = compliance.compliance_card(organisation=entity["organisation"], fiscal_year=2026,
                                      now=datetime(2027, 12, 1, tzinfo=TOKYO))
    assert (card.surrendered_allowances, card.surrendered_credits, card.shortfall_t, card.status) == (
        850, 100, 50, "in_deficit")
    assert card.penalty_yen == Decimal("1.1") * 4300 * 50
    assessed = compliance.penalty_assess(organisation=entity["organisation"], fiscal_year=2026,
                                         acting_user=entity["admin"], now=datetime(2027, 12, 1, tzinfo=TOKYO))
    assert assessed.penalty_yen == 236500
    assert compliance.compliance_card(organisation=entity["organisation"], fiscal_year=2026).status == \
        "penalty_assessed"
    assert ledger.reconcile().clean


def test_before_the_deadline_a_shortfall_is_still_open(entity):
    card = compliance.compliance_card(organisation=entity["organisation"], fiscal_year=2026,
                                      now=datetime(2027, 11, 30, 23, tzinfo=TOKYO))
    assert card.status == "open" and card.shortfall_t == 1000
    with pytest.raises(RegistryError, match="after the deadline"):
        compliance.penalty_assess(organisation=entity["organisation"], fiscal_year=2026, acting_user=entity["admin"],
                                  now=datetime(2027, 11, 30, 23, tzinfo=TOKYO))


def test_upper_limit_payment_counts_once_another_person_confirms_it(entity, make_user):
    with pytest.raises(RegistryError, match="4,300 yen x 100 = 430,000 yen"):
        compliance.upper_limit_payment_record(organisation=entity["organisation"], fiscal_year=2026, quantity=100,
                                              amount_yen=400000, payment_reference="R-1", acting_user=entity["rep"])
    payment = compliance.upper_limit_payment_record(organisation=entity["organisation"], fiscal_year=2026,
                                                    quantity=100, amount_yen=430000, payment_reference="R-1",
                                                    acting_user=entity["rep"])
    surrender(entity, allowances={2026: 900})
    assert compliance.compliance_card(organisation=entity["organisation"], fiscal_year=2026).shortfall_t == 100
    with pytest.raises(RegistryError, match="registry administrator"):
        compliance.upper_limit_payment_confirm(payment=payment, acting_user=make_user(Role.VIEWER))
    compliance.upper_limit_payment_confirm(payment=payment, acting_user=entity["admin"])
    card = compliance.compliance_card(organisation=entity["organisation"], fiscal_year=2026)
    assert (card.paid_t, card.shortfall_t, card.status) == (100, 0, "compliant")


def test_a_viewer_cannot_surrender(entity, make_user):
    viewer = make_user(Role.VIEWER, organisation=entity["organisation"])
    with pytest.raises(RegistryError):
        compliance.surrender(account=entity["account"], fiscal_year=2026, allowances={2026: 1}, acting_user=viewer,
                             otp_token=otp(viewer), idempotency_key=key())
    assert held(entity["account"]) == 900
