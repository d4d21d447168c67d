"""Surrender, upper-limit payments and each entity's compliance for a FY (domain.md: Compliance and prices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import ledger
from accounts.ledger.transfers import TOKYO
from accounts.models import (
    CompliancePeriod,
    CreditBatch,
    HoldingAccount,
    LedgerEntry,
    LedgerTransaction,
    Organisation,
    PenaltyAssessment,
    SurrenderRecord,
    UnitType,
    UpperLimitPayment,
    VerifiedEmissions,
)
from accounts.roles import ACT, VERIFY
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.fiscal import fiscal_year_of


def _refuse(message, field, code=ErrorCode.COMPLIANCE):
    raise RegistryError(code, message, field)


def compliance_year() -> int:
    """The FY whose obligation is current: the latest with a compliance period that has begun (a period opened
    ahead, for applications, is not current yet), else the first period, else today's FY."""
    today = timezone.localdate()
    current = fiscal_year_of(today)
    years = CompliancePeriod.objects.order_by("fiscal_year").values_list("fiscal_year", flat=True)
    begun = [fy for fy in years if fy <= current]
    if begun:
        return begun[-1]
    return years[0] if years else current


def period(fiscal_year: int) -> CompliancePeriod:
    found = CompliancePeriod.objects.filter(fiscal_year=fiscal_year).first()
    if found is None:
        _refuse(_("FY%(fy)s has no compliance period set yet.") % {"fy": fiscal_year}, "fiscal_year")
    return found


def credit_cap(verified_t: int, share: Decimal) -> int:
    """Credits may cover at most ``share`` of the FY's verified emissions (before credits); whole units."""
    return int((Decimal(verified_t) * share).to_integral_value(rounding=ROUND_FLOOR))


class Attestation(Protocol):
    """What the verification app hands compliance with a verified figure (a signed opinion)."""

    body_organisation: Organisation  # the registered verification body that verified it
    reference: str

    def attests(self, organisation: Organisation, fiscal_year: int, emissions_t: int) -> bool: ...


@state_change
def verified_emissions_record(*, organisation, fiscal_year: int, emissions_t, acting_user,
                              attestation: Attestation | None = None, reason: str = "") -> VerifiedEmissions:
    """Record an entity's verified emissions for a FY: the one way they are written, which compliance reads.

    With ``attestation`` (a signed verification opinion), its independent reviewer records the figure
    it attests; without, a registry administrator records one, with a ``reason`` (a correction, or a
    figure from before the registry). A changed figure reopens the FY's compliance: the entity's people
    and the administrators are told by e-mail."""
    emissions_t = 0 if emissions_t in (0, "0") else ledger.clean_quantity(emissions_t, "emissions_t")
    with transaction.atomic(), audit_context(acting_user, action="verified_emissions_record"):
        Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        if attestation is None:
            authorize(acting_user, "accounts.add_verifiedemissions")
            body, reference = None, str(reason).strip()[:100]
        else:
            authorize(acting_user, VERIFY, attestation.body_organisation)
            if not attestation.attests(organisation, fiscal_year, emissions_t):
                _refuse(_("The opinion does not attest this figure for this entity and FY."), "emissions_t",
                        ErrorCode.INVALID_STATE)
            body, reference = attestation.body_organisation, attestation.reference
        if organisation.kind != Organisation.Kind.REGULATED_ENTITY:
            _refuse(_("Only a regulated entity has verified emissions."), "organisation", ErrorCode.INVALID_INPUT)
        previous = VerifiedEmissions.objects.filter(organisation=organisation, fiscal_year=fiscal_year).first()
        record, _created = VerifiedEmissions.objects.update_or_create(
            organisation=organisation, fiscal_year=fiscal_year,
            defaults={"emissions_t": emissions_t, "entered_by": acting_user, "entered_at": timezone.now(),
                      "verification_body": body, "reference": reference})
        if previous is not None and previous.emissions_t != emissions_t:
            transaction.on_commit(lambda: _tell_compliance_reopened(record, previous.emissions_t))
    return record


def _tell_compliance_reopened(record: VerifiedEmissions, before: int) -> None:
    from django.core.mail import send_mail

    from accounts.models import Membership
    from accounts.roles import Role

    recipients = sorted(set(Membership.objects.filter(
        Q(organisation=record.organisation) | Q(role=Role.REGISTRY_ADMINISTRATOR), ended_at__isnull=True,
        user__is_active=True).values_list("user__email", flat=True)))
    send_mail(
        subject=f"[GX-ETS] FY{record.fiscal_year} verified emissions corrected: {record.organisation.name}",
        message=(f"The verified emissions of {record.organisation.name} for FY{record.fiscal_year} changed from "
                 f"{before:,} t to {record.emissions_t:,} t ({record.reference or 'administrator'}).\n"
                 "The FY's compliance figures are recomputed from the new figure: check the compliance page.\n\n"
                 f"FY{record.fiscal_year}の検証済み排出量が {before:,} t から {record.emissions_t:,} t に訂正されました。"
                 "遵守状況のページをご確認ください。"),
        from_email=None, recipient_list=recipients, fail_silently=False)


def _surrender_units(account: HoldingAccount, fiscal_year: int, allowances: dict, credits: dict) -> list:
    """The (unit, quantity) pairs asked for, refused before anything is locked or written."""
    if account.kind != HoldingAccount.Kind.OPERATOR_HOLDING or account.organisation is None:
        _refuse(_("Surrender is made from the entity's corporate holding account."), "source")
    units = []
    for vintage, quantity in sorted(allowances.items()):
        if vintage > fiscal_year:
            _refuse(_("Allowances of FY%(vintage)s cannot cover FY%(fy)s emissions.")
                    % {"vintage": vintage, "fy": fiscal_year}, "vintage")
        units.append((ledger.allowance(vintage), ledger.clean_quantity(quantity, f"allowances[{vintage}]")))
    batches = CreditBatch.objects.in_bulk(list(credits))
    for batch_id, quantity in sorted(credits.items()):
        batch = batches.get(batch_id)
        if batch is None:
            _refuse(_("Unknown credit batch %(id)s.") % {"id": batch_id}, "credits", ErrorCode.INVALID_INPUT)
        if not batch.eligible:
            _refuse(_("Credit batch %(batch)s is not eligible for surrender.") % {"batch": batch}, "credits")
        units.append((ledger.Unit(batch.unit_type, batch.vintage, batch.pk),
                      ledger.clean_quantity(quantity, f"credits[{batch_id}]")))
    if not units:
        _refuse(_("Choose what to surrender."), "quantity", ErrorCode.INVALID_QUANTITY)
    return units


def _surrender_fits(organisation, fiscal_year: int, credit_total: int, replay: bool = False) -> VerifiedEmissions:
    """Refuse a surrender before verified emissions exist or beyond the credit cap; the verified record."""
    terms = period(fiscal_year)
    verified = VerifiedEmissions.objects.filter(organisation=organisation, fiscal_year=fiscal_year).first()
    if verified is None:
        _refuse(_("FY%(fy)s has no verified emissions yet; surrender after they are recorded.")
                % {"fy": fiscal_year}, "fiscal_year")
    already = SurrenderRecord.objects.standing().filter(
        organisation=organisation, fiscal_year=fiscal_year).aggregate(total=Sum("credits"))["total"] or 0
    cap = credit_cap(verified.emissions_t, terms.credit_cap_share)
    if not replay and already + credit_total > cap:
        _refuse(_("Credits may cover at most %(cap)s t for FY%(fy)s (%(share)s %% of verified emissions); "
                  "%(fit)s more still fit.")
                % {"cap": f"{cap:,}", "fy": fiscal_year, "share": f"{terms.credit_cap_share * 100:g}",
                   "fit": f"{max(cap - already, 0):,}"}, "credits", ErrorCode.CREDIT_CAP)
    return verified


@state_change
def surrender_check(*, account: HoldingAccount, fiscal_year: int, allowances: dict[int, int] | None = None,
                    credits: dict[int, int] | None = None, acting_user) -> list:
    """What ``surrender`` would do, refused as it would be (holdings included), changing nothing and asking no
    code: the (unit, quantity, held) lines for the page where the representative checks before confirming."""
    allowances, credits = allowances or {}, credits or {}
    units = _surrender_units(account, fiscal_year, allowances, credits)
    authorize(acting_user, ACT, account.organisation)
    _surrender_fits(account.organisation, fiscal_year, sum(credits.values()))
    lines = []
    for unit, quantity in units:
        lines.append((unit, quantity, ledger.held_at_least(account, unit, quantity)))
    return lines


@state_change
def surrender(*, account: HoldingAccount, fiscal_year: int, allowances: dict[int, int] | None = None,
              credits: dict[int, int] | None = None, acting_user, otp_token: str, idempotency_key: str,
              now: datetime | None = None) -> SurrenderRecord:
    """Surrender allowances ({vintage: quantity}) and credits ({batch id: quantity}) for ``fiscal_year``."""
    allowances, credits = allowances or {}, credits or {}
    organisation = account.organisation
    units = _surrender_units(account, fiscal_year, allowances, credits)
    with transaction.atomic():
        # Serialise surrenders of one entity so two cannot both fit under the credit cap.
        Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        authorize(acting_user, ACT, organisation, fresh_code=otp_token)
        retirement = ledger.government_account(HoldingAccount.Kind.RETIREMENT)
        moves = [ledger.Move(account, retirement, unit, quantity) for unit, quantity in units]
        # A replay of a booked request (same key) is answered by the ledger's idempotency, not re-capped.
        replay = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).exists()
        _surrender_fits(organisation, fiscal_year, sum(credits.values()), replay)
        with audit_context(acting_user, action="surrender"):
            booked = ledger.book(kind="surrender", moves=moves, idempotency_key=idempotency_key,
                                 booked_by=acting_user, note=f"surrender for FY{fiscal_year}")
            record, _created = SurrenderRecord.objects.get_or_create(
                ledger_transaction=booked,
                defaults={"organisation": organisation, "fiscal_year": fiscal_year,
                          "allowances": sum(allowances.values()), "credits": sum(credits.values())})
    return record


def _clean_amount(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite():
        _refuse(_("Enter the amount in yen."), "amount_yen", ErrorCode.INVALID_INPUT)
    return amount


@state_change
def upper_limit_payment_record(*, organisation, fiscal_year: int, quantity, amount_yen, payment_reference: str,
                               acting_user) -> UpperLimitPayment:
    quantity = ledger.clean_quantity(quantity)
    amount = _clean_amount(amount_yen)
    payment_reference = payment_reference.strip() if isinstance(payment_reference, str) else ""
    if not payment_reference or len(payment_reference) > 100:
        _refuse(_("Enter the payment reference (at most 100 characters)."), "payment_reference",
                ErrorCode.INVALID_INPUT)
    with transaction.atomic(), audit_context(acting_user, action="upper_limit_payment_record"):
        authorize(acting_user, ACT, organisation)
        terms = period(fiscal_year)
        expected = terms.upper_limit_price_yen * quantity
        if amount != expected:
            _refuse(_("The amount must be the upper-limit price x quantity: %(price)s yen x %(quantity)s = "
                      "%(expected)s yen.") % {"price": f"{terms.upper_limit_price_yen:,}", "quantity": f"{quantity:,}",
                                              "expected": f"{expected:,}"}, "amount_yen")
        if not organisation.holding_accounts.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING).exists():
            _refuse(_("The entity has no corporate holding account."), "organisation")
        if UpperLimitPayment.objects.filter(payment_reference=payment_reference).exists():
            _refuse(_("A payment with this reference is already recorded."), "payment_reference",
                    ErrorCode.DUPLICATE)
        return UpperLimitPayment.objects.create(
            organisation=organisation, fiscal_year=fiscal_year, quantity=quantity, amount_yen=amount,
            payment_reference=payment_reference, recorded_by=acting_user)


@state_change
def upper_limit_payment_confirm(*, payment: UpperLimitPayment, acting_user,
                                now: datetime | None = None) -> UpperLimitPayment:
    with transaction.atomic(), audit_context(acting_user, action="upper_limit_payment_confirm"):
        payment = UpperLimitPayment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        if acting_user is not None and payment.recorded_by_id == acting_user.pk:
            _refuse(_("Another person must confirm the payment."), "user", ErrorCode.SAME_PERSON)
        authorize(acting_user, "accounts.change_upperlimitpayment")
        if payment.confirmed_at is not None:
            _refuse(_("This payment is already confirmed."), "status", ErrorCode.INVALID_STATE)
        payment.confirmed_by, payment.confirmed_at = acting_user, now or timezone.now()
        payment.save(update_fields=["confirmed_by", "confirmed_at"])
    return payment


# --- status -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComplianceCard:
    fiscal_year: int
    verified_t: int | None
    surrendered_allowances: int
    surrendered_credits: int
    paid_t: int
    credit_cap: int | None
    deadline: object
    shortfall_t: int | None
    penalty_yen: Decimal | None
    status: str  # open | compliant | in_deficit | penalty_assessed
    penalty_factor: Decimal | None = None  # the FY's, for the sentence that explains the penalty

    STATUS_LABELS = {"open": _("Open"), "compliant": _("Compliant"), "in_deficit": _("In deficit"),
                     "penalty_assessed": _("Penalty assessed")}

    @property
    def status_label(self):
        return self.STATUS_LABELS[self.status]


def _card(*, fiscal_year, terms, verified_t, allowances, credits, paid, assessed, now) -> ComplianceCard:
    """The status rule, in one place for one entity's card and for the public report."""
    shortfall = max(verified_t - allowances - credits - paid, 0) if verified_t is not None else None
    penalty = terms.penalty_factor * terms.upper_limit_price_yen * shortfall if terms and shortfall else None
    past_deadline = terms is not None and now.astimezone(TOKYO).date() > terms.surrender_deadline
    if assessed:
        status = "penalty_assessed"
    elif verified_t is not None and shortfall == 0:
        status = "compliant"
    elif past_deadline and verified_t is not None:
        status = "in_deficit"
    else:
        status = "open"
    return ComplianceCard(
        fiscal_year, verified_t, allowances, credits, paid,
        credit_cap(verified_t, terms.credit_cap_share) if terms and verified_t is not None else None,
        terms.surrender_deadline if terms else None, shortfall,
        penalty.quantize(Decimal(1)) if penalty is not None else None, status,
        terms.penalty_factor if terms else None)


def compliance_card(*, organisation, fiscal_year: int, now: datetime | None = None) -> ComplianceCard:
    verified = VerifiedEmissions.objects.filter(organisation=organisation, fiscal_year=fiscal_year).first()
    surrendered = SurrenderRecord.objects.standing().filter(organisation=organisation, fiscal_year=fiscal_year).aggregate(
        allowances=Sum("allowances"), credits=Sum("credits"))
    paid = UpperLimitPayment.objects.filter(organisation=organisation, fiscal_year=fiscal_year,
                                            confirmed_at__isnull=False).aggregate(total=Sum("quantity"))["total"] or 0
    return _card(
        fiscal_year=fiscal_year, terms=CompliancePeriod.objects.filter(fiscal_year=fiscal_year).first(),
        verified_t=verified.emissions_t if verified else None, allowances=surrendered["allowances"] or 0,
        credits=surrendered["credits"] or 0, paid=paid,
        assessed=PenaltyAssessment.objects.filter(organisation=organisation, fiscal_year=fiscal_year).exists(),
        now=now or timezone.now())


@dataclass(frozen=True)
class RegistryReportRow:
    organisation: Organisation
    account_number: str
    allocated: int
    card: ComplianceCard


def registry_report(*, fiscal_year: int, organisation=None, now: datetime | None = None) -> list[RegistryReportRow]:
    """The public report (like the EU Transaction Log): per regulated entity (or only ``organisation``), for one
    FY, the free allocation of that vintage, verified emissions, what was surrendered and the status. Six
    queries, whatever the number of entities."""
    now = now or timezone.now()
    scope = {"organisation": organisation} if organisation is not None else {}
    allocation = Q(transaction__kind=LedgerTransaction.Kind.ALLOCATION) | Q(
        transaction__kind=LedgerTransaction.Kind.REVERSAL,
        transaction__reverses__kind=LedgerTransaction.Kind.ALLOCATION)
    allocated = dict(LedgerEntry.objects.filter(
        allocation, account__kind=HoldingAccount.Kind.OPERATOR_HOLDING, unit_type=UnitType.ALLOWANCE,
        vintage=fiscal_year, **{f"account__{k}": v for k, v in scope.items()})
        .values_list("account__organisation").annotate(total=Sum("quantity")).order_by())
    verified = dict(VerifiedEmissions.objects.filter(fiscal_year=fiscal_year, **scope)
                    .values_list("organisation", "emissions_t"))
    surrendered = {row["organisation"]: row for row in SurrenderRecord.objects.standing()
                   .filter(fiscal_year=fiscal_year, **scope)
                   .values("organisation").annotate(allowances=Sum("allowances"), credits=Sum("credits"))
                   .order_by()}
    paid = dict(UpperLimitPayment.objects.filter(fiscal_year=fiscal_year, confirmed_at__isnull=False, **scope)
                .values_list("organisation").annotate(total=Sum("quantity")).order_by())
    assessed = set(PenaltyAssessment.objects.filter(fiscal_year=fiscal_year, **scope)
                   .values_list("organisation", flat=True))
    terms = CompliancePeriod.objects.filter(fiscal_year=fiscal_year).first()
    rows = []
    for account in (HoldingAccount.objects.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING, **scope)
                    .select_related("organisation").order_by("organisation__name")):
        pk = account.organisation_id
        given = surrendered.get(pk, {})
        rows.append(RegistryReportRow(account.organisation, account.number, allocated.get(pk, 0), _card(
            fiscal_year=fiscal_year, terms=terms, verified_t=verified.get(pk), allowances=given.get("allowances") or 0,
            credits=given.get("credits") or 0, paid=paid.get(pk, 0), assessed=pk in assessed, now=now)))
    return rows


REGISTRY_REPORT_HEADERS = ("corporate_number", "entity", "account", "fiscal_year", "allocated_t",
                           "verified_emissions_t", "surrendered_allowances_t", "surrendered_credits_t",
                           "upper_limit_payments_t", "status")


def registry_report_rows(rows: list[RegistryReportRow]):
    for row in rows:
        card = row.card
        yield (row.organisation.corporate_number, row.organisation.name, row.account_number, card.fiscal_year,
               row.allocated, card.verified_t if card.verified_t is not None else "", card.surrendered_allowances,
               card.surrendered_credits, card.paid_t, card.status)


@state_change
def penalty_assess(*, organisation, fiscal_year: int, acting_user, now: datetime | None = None) -> PenaltyAssessment:
    with transaction.atomic(), audit_context(acting_user, action="penalty_assess"):
        Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        authorize(acting_user, "accounts.add_penaltyassessment")
        card = compliance_card(organisation=organisation, fiscal_year=fiscal_year, now=now)
        if card.status != "in_deficit":
            _refuse(_("A penalty is assessed only after the deadline, on a shortfall."), "status",
                    ErrorCode.INVALID_STATE)
        return PenaltyAssessment.objects.create(organisation=organisation, fiscal_year=fiscal_year,
                                                shortfall_t=card.shortfall_t, penalty_yen=card.penalty_yen,
                                                assessed_by=acting_user)
