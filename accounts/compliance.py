"""Surrender, upper-limit payments and each entity's compliance for a FY (domain.md: Compliance and prices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import ledger
from accounts.audit import audit_context
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
from accounts.roles import ACT
from accounts.transfers import TOKYO, TransferRefused, require_representative


class ComplianceError(ledger.LedgerError):
    code = "compliance_error"


def compliance_year() -> int:
    """The FY whose obligation is current: the latest with a compliance period, else the latest FY ended."""
    latest = CompliancePeriod.objects.order_by("-fiscal_year").values_list("fiscal_year", flat=True).first()
    if latest:
        return latest
    today = timezone.localdate()
    return today.year - 1 if today.month < 4 else today.year


def period(fiscal_year: int) -> CompliancePeriod:
    found = CompliancePeriod.objects.filter(fiscal_year=fiscal_year).first()
    if found is None:
        raise ComplianceError(_("FY%(fy)s has no compliance period set yet.") % {"fy": fiscal_year},
                              field="fiscal_year")
    return found


def credit_cap(verified_t: int, share: Decimal) -> int:
    """Credits may cover at most ``share`` of the FY's verified emissions (before credits); whole units."""
    return int((Decimal(verified_t) * share).to_integral_value(rounding=ROUND_FLOOR))


def verified_emissions_record(*, organisation, fiscal_year: int, emissions_t: int, acting_user) -> VerifiedEmissions:
    emissions_t = ledger.clean_quantity(emissions_t, "emissions_t") if emissions_t else 0
    with transaction.atomic(), audit_context(acting_user, action="verified_emissions_record"):
        record, _created = VerifiedEmissions.objects.update_or_create(
            organisation=organisation, fiscal_year=fiscal_year,
            defaults={"emissions_t": emissions_t, "entered_by": acting_user, "entered_at": timezone.now()})
    return record


def surrender(*, account: HoldingAccount, fiscal_year: int, allowances: dict[int, int] | None = None,
              credits: dict[int, int] | None = None, acting_user, otp_token: str, idempotency_key: str,
              now: datetime | None = None) -> SurrenderRecord:
    """Surrender allowances ({vintage: quantity}) and credits ({batch id: quantity}) for ``fiscal_year``."""
    now = now or timezone.now()
    allowances, credits = allowances or {}, credits or {}
    organisation = account.organisation
    if account.kind != HoldingAccount.Kind.OPERATOR_HOLDING or organisation is None:
        raise ComplianceError(_("Surrender is made from the entity's corporate holding account."), field="source")
    require_representative(acting_user, account, ACT, otp_token)
    terms = period(fiscal_year)
    verified = VerifiedEmissions.objects.filter(organisation=organisation, fiscal_year=fiscal_year).first()
    if verified is None:
        raise ComplianceError(_("FY%(fy)s has no verified emissions yet; surrender after they are recorded.")
                              % {"fy": fiscal_year}, field="fiscal_year")
    moves = []
    retirement = ledger.government_account(HoldingAccount.Kind.RETIREMENT)
    for vintage, quantity in sorted(allowances.items()):
        if vintage > fiscal_year:
            raise ComplianceError(_("Allowances of FY%(vintage)s cannot cover FY%(fy)s emissions.")
                                  % {"vintage": vintage, "fy": fiscal_year}, field="vintage")
        moves.append(ledger.Move(account, retirement, ledger.allowance(vintage),
                                 ledger.clean_quantity(quantity, f"allowances[{vintage}]")))
    batches = CreditBatch.objects.in_bulk(list(credits))
    for batch_id, quantity in sorted(credits.items()):
        batch = batches.get(batch_id)
        if batch is None:
            raise ComplianceError(_("Unknown credit batch %(id)s.") % {"id": batch_id}, field="credits")
        if not batch.eligible:
            raise ComplianceError(_("Credit batch %(batch)s is not eligible for surrender.") % {"batch": batch},
                                  field="credits")
        moves.append(ledger.Move(account, retirement, ledger.Unit(batch.unit_type, batch.vintage, batch.pk),
                                 ledger.clean_quantity(quantity, f"credits[{batch_id}]")))
    if not moves:
        raise ComplianceError(_("Choose what to surrender."), field="quantity")
    credit_total = sum(credits.values())
    with transaction.atomic():
        # Serialise surrenders of one entity so two cannot both fit under the credit cap.
        Organisation.objects.select_for_update().get(pk=organisation.pk)
        already = SurrenderRecord.objects.filter(organisation=organisation, fiscal_year=fiscal_year).aggregate(
            total=Sum("credits"))["total"] or 0
        cap = credit_cap(verified.emissions_t, terms.credit_cap_share)
        # A replay of a booked request (same key) is answered by the ledger's idempotency, not re-capped.
        replay = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).exists()
        if not replay and already + credit_total > cap:
            raise ComplianceError(
                _("Credits may cover at most %(cap)s t for FY%(fy)s (%(share)s %% of verified emissions); "
                  "%(fit)s more still fit.")
                % {"cap": f"{cap:,}", "fy": fiscal_year, "share": f"{terms.credit_cap_share * 100:g}",
                   "fit": f"{max(cap - already, 0):,}"}, field="credits")
        with audit_context(acting_user, action="surrender"):
            booked = ledger.book(kind="surrender", moves=moves, idempotency_key=idempotency_key,
                                 acting_user=acting_user, note=f"surrender for FY{fiscal_year}")
            record, _created = SurrenderRecord.objects.get_or_create(
                ledger_transaction=booked,
                defaults={"organisation": organisation, "fiscal_year": fiscal_year,
                          "allowances": sum(allowances.values()), "credits": credit_total})
    return record


def upper_limit_payment_record(*, organisation, fiscal_year: int, quantity, amount_yen, payment_reference: str,
                               acting_user) -> UpperLimitPayment:
    terms = period(fiscal_year)
    quantity = ledger.clean_quantity(quantity)
    amount = Decimal(str(amount_yen))
    expected = terms.upper_limit_price_yen * quantity
    if amount != expected:
        raise ComplianceError(
            _("The amount must be the upper-limit price x quantity: %(price)s yen x %(quantity)s = %(expected)s yen.")
            % {"price": f"{terms.upper_limit_price_yen:,}", "quantity": f"{quantity:,}", "expected": f"{expected:,}"},
            field="amount_yen")
    if not payment_reference.strip():
        raise ComplianceError(_("Enter the payment reference."), field="payment_reference")
    account = organisation.holding_accounts.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING).first()
    if account is None:
        raise ComplianceError(_("The entity has no corporate holding account."), field="organisation")
    require_representative(acting_user, account, ACT, None)
    with transaction.atomic(), audit_context(acting_user, action="upper_limit_payment_record"):
        return UpperLimitPayment.objects.create(
            organisation=organisation, fiscal_year=fiscal_year, quantity=quantity, amount_yen=amount,
            payment_reference=payment_reference.strip(), recorded_by=acting_user)


def upper_limit_payment_confirm(*, payment: UpperLimitPayment, acting_user,
                                now: datetime | None = None) -> UpperLimitPayment:
    if payment.recorded_by_id == acting_user.pk:
        raise TransferRefused(_("Another person must confirm the payment."), field="user")
    if not acting_user.has_perm("accounts.change_upperlimitpayment"):
        raise TransferRefused(_("Only a registry administrator confirms payments."), field="user")
    with transaction.atomic(), audit_context(acting_user, action="upper_limit_payment_confirm"):
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
        penalty.quantize(Decimal(1)) if penalty is not None else None, status)


def compliance_card(*, organisation, fiscal_year: int, now: datetime | None = None) -> ComplianceCard:
    verified = VerifiedEmissions.objects.filter(organisation=organisation, fiscal_year=fiscal_year).first()
    surrendered = SurrenderRecord.objects.filter(organisation=organisation, fiscal_year=fiscal_year).aggregate(
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


def registry_report(*, fiscal_year: int, now: datetime | None = None) -> list[RegistryReportRow]:
    """The public report (like the EU Transaction Log): per regulated entity, for one FY, the free
    allocation of that vintage, verified emissions, what was surrendered and the status. Six queries,
    whatever the number of entities."""
    now = now or timezone.now()
    allocation = Q(transaction__kind=LedgerTransaction.Kind.ALLOCATION) | Q(
        transaction__kind=LedgerTransaction.Kind.REVERSAL,
        transaction__reverses__kind=LedgerTransaction.Kind.ALLOCATION)
    allocated = dict(LedgerEntry.objects.filter(
        allocation, account__kind=HoldingAccount.Kind.OPERATOR_HOLDING, unit_type=UnitType.ALLOWANCE,
        vintage=fiscal_year).values_list("account__organisation").annotate(total=Sum("quantity")).order_by())
    verified = dict(VerifiedEmissions.objects.filter(fiscal_year=fiscal_year)
                    .values_list("organisation", "emissions_t"))
    surrendered = {row["organisation"]: row for row in SurrenderRecord.objects.filter(fiscal_year=fiscal_year)
                   .values("organisation").annotate(allowances=Sum("allowances"), credits=Sum("credits"))
                   .order_by()}
    paid = dict(UpperLimitPayment.objects.filter(fiscal_year=fiscal_year, confirmed_at__isnull=False)
                .values_list("organisation").annotate(total=Sum("quantity")).order_by())
    assessed = set(PenaltyAssessment.objects.filter(fiscal_year=fiscal_year).values_list("organisation", flat=True))
    terms = CompliancePeriod.objects.filter(fiscal_year=fiscal_year).first()
    rows = []
    for account in (HoldingAccount.objects.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING)
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


def penalty_assess(*, organisation, fiscal_year: int, acting_user, now: datetime | None = None) -> PenaltyAssessment:
    card = compliance_card(organisation=organisation, fiscal_year=fiscal_year, now=now)
    if card.status != "in_deficit":
        raise ComplianceError(_("A penalty is assessed only after the deadline, on a shortfall."), field="status")
    with transaction.atomic(), audit_context(acting_user, action="penalty_assess"):
        return PenaltyAssessment.objects.create(organisation=organisation, fiscal_year=fiscal_year,
                                                shortfall_t=card.shortfall_t, penalty_yen=card.penalty_yen,
                                                assessed_by=acting_user)

