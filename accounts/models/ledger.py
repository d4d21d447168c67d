"""The allowance ledger's tables: holding accounts, credit batches, transactions, entries, balances,
trusted lists, transfer and four-eyes requests (docs/ledger.md)."""


import pgtrigger
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.identity import Organisation, User, audited
from gxregistry.querysets import RestrictedQuerySet

# --- holding accounts and the allowance ledger ----------------------------------------------------

class UnitType(models.TextChoices):
    ALLOWANCE = "allowance", _("Allowance")
    J_CREDIT = "j_credit", _("J-Credit")
    JCM_CREDIT = "jcm_credit", _("JCM credit")
    # The market's money (issue 14): a participant's yen at GXA, for delivery versus payment. Vintage 0.
    YEN = "yen", _("Yen")


CREDIT_TYPES = (UnitType.J_CREDIT, UnitType.JCM_CREDIT)  # held in batches with serial numbers
# What holders hold, transfer and surrender: everything but the market's yen, which stays in cash accounts.
HELD_UNIT_CHOICES = [(t.value, t.label) for t in UnitType if t != UnitType.YEN]
YEN_VINTAGE = 0


# The government's accounts: no holder, and no company transfers into them (accounts/ledger/routes.py).
GOVERNMENT_KINDS = ("issuance", "allocation_reserve", "cancellation", "retirement", "gxa_auction", "market_bank")
# Yen is held in these accounts and nowhere else; they hold nothing but yen (the balance guard refuses it).
CASH_KINDS = ("market_cash", "market_bank")
# Accounts whose balance goes below zero: what they sent into the registry. The issuance account's allowances
# and credits; the mirror of GXA's bank account, whose yen are what participants paid in.
SOURCE_KINDS = ("issuance", "market_bank")


@audited()
class HoldingAccount(models.Model):
    """An account in the allowance account register (排出枠口座簿)."""

    class Kind(models.TextChoices):
        ISSUANCE = "issuance", _("Government issuance account")
        ALLOCATION_RESERVE = "allocation_reserve", _("Allocation reserve")
        CANCELLATION = "cancellation", _("Cancellation account")
        RETIREMENT = "retirement", _("Surrender (retirement) account")
        GXA_AUCTION = "gxa_auction", _("GXA reverse-auction holdings")
        MARKET_BANK = "market_bank", _("GXA settlement bank (participants' yen)")
        OPERATOR_HOLDING = "operator_holding", _("Corporate holding account")
        TRADING = "trading", _("Trading account")
        MARKET_CASH = "market_cash", _("Cash account at GXA")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        BLOCKED = "blocked", _("Blocked")
        CLOSED = "closed", _("Closed")

    GOVERNMENT_KINDS = tuple(map(Kind, GOVERNMENT_KINDS))

    number = models.CharField(_("account number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="holding_accounts",
                                     null=True, blank=True, verbose_name=_("holder"))
    name = models.CharField(_("name"), max_length=200)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    state_reason = models.CharField(_("reason for the state"), max_length=300, blank=True)
    trusted_only = models.BooleanField(
        _("sends only to trusted accounts"), default=False,
        help_text=_("When set, transfers out of this account may go only to accounts on its trusted list."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("holding account")
        verbose_name_plural = _("holding accounts")
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=list(GOVERNMENT_KINDS)) & Q(organisation__isnull=True))
                | (Q(kind__in=["operator_holding", "trading", "market_cash"]) & Q(organisation__isnull=False)),
                name="holding_account_holder_matches_kind",
            ),
            models.UniqueConstraint(fields=["organisation"], condition=Q(kind="operator_holding"),
                                    name="one_operator_holding_account_per_organisation"),
            models.UniqueConstraint(fields=["organisation"], condition=Q(kind="market_cash"),
                                    name="one_cash_account_per_organisation"),
            models.UniqueConstraint(fields=["kind"], condition=Q(organisation__isnull=True),
                                    name="one_government_account_per_kind"),
        ]

    def __str__(self):
        return f"{self.number} {self.name}"

    @property
    def is_government(self):
        return self.kind in self.GOVERNMENT_KINDS

    @property
    def is_cash(self):
        return self.kind in CASH_KINDS


@audited()
class CreditBatch(models.Model):
    """J-Credits or JCM credits held as one batch with its serial range."""

    unit_type = models.CharField(_("unit type"), max_length=16,
                                 choices=[(t.value, t.label) for t in CREDIT_TYPES])
    serial_start = models.BigIntegerField(_("first serial number"))
    serial_end = models.BigIntegerField(_("last serial number"))
    vintage = models.PositiveSmallIntegerField(_("vintage"))
    origin = models.CharField(_("origin (project)"), max_length=200)
    eligible = models.BooleanField(
        _("eligible for surrender"), default=True,
        help_text=_("JCM credits from activities before 2020 are ineligible unless the SHK issuance-date rules are met."),
    )

    class Meta:
        verbose_name = _("credit batch")
        verbose_name_plural = _("credit batches")
        constraints = [
            models.CheckConstraint(condition=Q(serial_end__gte=models.F("serial_start")) & Q(serial_start__gte=0),
                                   name="credit_batch_serial_range"),
            models.UniqueConstraint(fields=["unit_type", "serial_start"], name="credit_batch_unique_start"),
            # A serial number is one tonne: no two batches of a credit type may share one.
            ExclusionConstraint(
                name="credit_batch_serials_do_not_overlap",
                expressions=[("unit_type", RangeOperators.EQUAL),
                             (Func(F("serial_start"), F("serial_end"), Value("[]"), function="int8range"),
                              RangeOperators.OVERLAPS)]),
        ]

    def __str__(self):
        return f"{self.get_unit_type_display()} {self.serial_start}-{self.serial_end}"

    @property
    def size(self):
        return self.serial_end - self.serial_start + 1


class LedgerTransaction(models.Model):
    """One booking: two or more entries that sum to zero per unit. Never updated or deleted."""

    class Kind(models.TextChoices):
        ISSUANCE = "issuance", _("Issuance")
        ALLOCATION = "allocation", _("Allocation")
        TRANSFER = "transfer", _("Transfer")
        SURRENDER = "surrender", _("Surrender")
        CANCELLATION = "cancellation", _("Cancellation")
        REVERSAL = "reversal", _("Reversal")
        # The market (issue 14): GXA confirms a participant's bank transfer in or out; a trade delivers units
        # against yen in one transaction.
        CASH_DEPOSIT = "cash_deposit", _("Cash deposit")
        CASH_WITHDRAWAL = "cash_withdrawal", _("Cash withdrawal")
        TRADE = "trade", _("Trade")
        # GXA's reverse auction (§1): accepted allowances to GXA's account, yen from GXA's bank to the seller.
        REVERSE_AUCTION = "reverse_auction", _("Reverse auction")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    request_hash = models.CharField(_("request hash"), max_length=64)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reversed_by", verbose_name=_("reverses"))
    booked_at = models.DateTimeField(_("booked at"), default=timezone.now, db_index=True)
    booked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("booked by"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        ordering = ["-booked_at", "-id"]
        triggers = [pgtrigger.Protect(name="ledger_transaction_append_only",
                                      operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class LedgerEntry(models.Model):
    """One leg of a transaction: a signed quantity of one unit in one account."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries",
                                    verbose_name=_("transaction"))
    # Indexes are what every booking pays for: the account is covered by the history index below,
    # the credit batch by a partial index (allowance entries have none).
    account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="entries",
                                verbose_name=_("account"), db_index=False)
    unit_type = models.CharField(_("unit type"), max_length=16, choices=UnitType.choices)
    vintage = models.PositiveSmallIntegerField(_("vintage"))
    credit_batch = models.ForeignKey(CreditBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("credit batch"), db_index=False)
    quantity = models.BigIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        # Matches the history's order exactly (newest first), so a busy account's page reads 50 index
        # entries instead of the planner walking every entry by transaction and filtering by account.
        indexes = [models.Index(fields=["account", "transaction", "id"], name="ledger_entry_account_tx_id"),
                   models.Index(fields=["credit_batch"], condition=Q(credit_batch__isnull=False),
                                name="ledger_entry_credit_batch")]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="ledger_entry_quantity_not_zero"),
            models.CheckConstraint(
                condition=(Q(unit_type__in=["allowance", "yen"]) & Q(credit_batch__isnull=True))
                | (~Q(unit_type__in=["allowance", "yen"]) & Q(credit_batch__isnull=False)),
                name="ledger_entry_batch_only_for_credits",
            ),
        ]
        triggers = [pgtrigger.Protect(name="ledger_entry_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self):
        return f"#{self.transaction_id} {self.account_id} {self.unit_type} {self.vintage}: {self.quantity:+}"


class Balance(models.Model):
    """What an account holds of one unit. Written only by the database, from ledger entries.

    A trigger on LedgerEntry adds each entry to its balance in the same transaction; another
    refuses any other change. The CHECK keeps every balance but the issuance account's (and the market bank's) at
    or above zero. ``reserved`` is what open market orders hold back (market.services.orders): the one column
    written otherwise, and never above the quantity, so a booking cannot move reserved units or yen.
    """

    account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="balances",
                                verbose_name=_("account"))
    unit_type = models.CharField(_("unit type"), max_length=16, choices=UnitType.choices)
    vintage = models.PositiveSmallIntegerField(_("vintage"))
    credit_batch = models.ForeignKey(CreditBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("credit batch"))
    quantity = models.BigIntegerField(_("quantity"), default=0)
    # Set by the guard trigger from the account's kind: only the SOURCE_KINDS' balances go below zero.
    is_issuance = models.BooleanField(default=False)
    reserved = models.BigIntegerField(_("reserved for orders"), db_default=0)  # the SQL inserts leave it out

    class Meta:
        verbose_name = _("balance")
        verbose_name_plural = _("balances")
        ordering = ["account_id", "unit_type", "vintage", "credit_batch_id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "unit_type", "vintage", "credit_batch"], nulls_distinct=False,
                                    name="balance_one_row_per_unit"),
            models.CheckConstraint(condition=Q(quantity__gte=0) | Q(is_issuance=True),
                                   name="balance_not_negative_outside_issuance"),
            models.CheckConstraint(condition=Q(reserved=0) | (Q(reserved__gt=0) & Q(reserved__lte=F("quantity"))),
                                   name="balance_reserved_within_quantity"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.unit_type} {self.vintage}: {self.quantity}"


class DailyBalanceChange(models.Model):
    """The net change of one balance on one day (JST): a rollup the entry trigger keeps, so the balance
    chart reads one row per day instead of every entry. Reconciliation checks it against the balances."""

    balance = models.ForeignKey(Balance, on_delete=models.PROTECT, related_name="daily_changes")
    day = models.DateField()
    change = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["balance", "day"], name="daily_balance_change_once")]

    def __str__(self):
        return f"{self.balance_id} {self.day}: {self.change:+}"


@audited()
class TrustedAccount(models.Model):
    """An account on another account's trusted list: transfers to it execute at once."""

    account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="trusted_list",
                                verbose_name=_("account"))
    trusted = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("trusted account"))
    proposed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by"))
    confirmed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                     verbose_name=_("confirmed by"))
    active_from = models.DateTimeField(_("active from"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "account__organisation"

    class Meta:
        verbose_name = _("trusted account")
        verbose_name_plural = _("trusted accounts")
        constraints = [
            models.UniqueConstraint(fields=["account", "trusted"], condition=Q(removed_at__isnull=True),
                                    name="trusted_account_once"),
            models.CheckConstraint(condition=~Q(account=models.F("trusted")), name="trusted_account_not_itself"),
            models.CheckConstraint(condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=models.F("proposed_by")),
                                   name="trusted_account_two_people"),
        ]

    def __str__(self):
        return f"{self.account_id} trusts {self.trusted_id}"


@audited()
class TransferRequest(models.Model):
    """A transfer between holding accounts: one representative initiates, a different one approves."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        SCHEDULED = "scheduled", _("Scheduled")
        EXECUTED = "executed", _("Executed")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    PENDING = (Status.AWAITING_APPROVAL, Status.SCHEDULED)  # may still execute

    source = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="outgoing_requests",
                               verbose_name=_("from account"))
    destination = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="incoming_requests",
                                    verbose_name=_("to account"))
    unit_type = models.CharField(_("unit type"), max_length=16, choices=UnitType.choices)
    vintage = models.PositiveSmallIntegerField(_("vintage"))
    credit_batch = models.ForeignKey(CreditBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.BigIntegerField(_("quantity"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.AWAITING_APPROVAL)
    initiated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("initiated by"))
    initiated_at = models.DateTimeField(_("initiated at"))
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                   verbose_name=_("approved or rejected by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    execute_after = models.DateTimeField(_("executes at"), null=True, blank=True, db_index=True)
    ledger_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                              related_name="transfer_request")
    failure = models.CharField(_("reason"), max_length=300, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "source__organisation"

    class Meta:
        verbose_name = _("transfer request")
        verbose_name_plural = _("transfer requests")
        ordering = ["-initiated_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_request_quantity_positive"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("initiated_by")),
                                   name="transfer_request_four_eyes"),
            models.CheckConstraint(condition=~Q(source=models.F("destination")),
                                   name="transfer_request_distinct_accounts"),
        ]

    def __str__(self):
        return f"{self.source_id} -> {self.destination_id}: {self.quantity} ({self.status})"


@audited()
class BookingRequest(models.Model):
    """Issuance or cancellation asked for by one registry administrator and booked only when a
    second administrator approves it (four eyes; the database refuses self-approval too)."""

    class Kind(models.TextChoices):
        ISSUANCE = "issuance", _("Issuance")
        CANCELLATION = "cancellation", _("Cancellation")
        REVERSAL = "reversal", _("Reversal")

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        EXECUTED = "executed", _("Executed")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="booking_requests",
                                verbose_name=_("account"),
                                help_text=_("Issuance of allowances: the allocation reserve. Credits brought in: "
                                            "the holder's account. Cancellation: the account whose units are "
                                            "cancelled."))
    unit_type = models.CharField(_("unit type"), max_length=16, choices=UnitType.choices)
    vintage = models.PositiveSmallIntegerField(_("vintage"))
    credit_batch = models.ForeignKey(CreditBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("credit batch"))
    quantity = models.BigIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.AWAITING_APPROVAL)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                   verbose_name=_("approved or rejected by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    ledger_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                              related_name="booking_request")
    failure = models.CharField(_("reason for failure"), max_length=300, blank=True)
    # Credits brought in from the J-Credit or JCM registry: the batch is created when approved.
    serial_start = models.BigIntegerField(_("first serial number"), null=True, blank=True)
    serial_end = models.BigIntegerField(_("last serial number"), null=True, blank=True)
    origin = models.CharField(_("origin (project)"), max_length=200, blank=True)
    credit_eligible = models.BooleanField(_("eligible for surrender"), null=True, blank=True)
    # Reversal: the transaction whose every unit moves back.
    reverses = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="reversal_requests", verbose_name=_("transaction to reverse"))

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "account__organisation"

    class Meta:
        verbose_name = _("issuance or cancellation request")
        verbose_name_plural = _("issuance and cancellation requests")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="booking_request_quantity_positive"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                                   name="booking_request_four_eyes"),
            # Credits enter only as a whole batch: its serial range is the quantity.
            models.CheckConstraint(
                condition=~Q(kind="issuance", unit_type__in=CREDIT_TYPES)
                | (Q(serial_start__isnull=False, serial_end__isnull=False, credit_eligible__isnull=False)
                   & Q(serial_start__gte=0) & Q(quantity=F("serial_end") - F("serial_start") + 1)),
                name="booking_request_credit_issuance_is_a_batch"),
            models.CheckConstraint(condition=(Q(kind="reversal") & Q(reverses__isnull=False))
                                   | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                                   name="booking_request_reversal_names_its_transaction"),
            # One issuance of a vintage's allowances, and one reversal of a transaction, waiting at a time.
            models.UniqueConstraint(fields=["vintage"], condition=Q(kind="issuance", unit_type="allowance",
                                                                    status="awaiting_approval"),
                                    name="booking_request_one_pending_issuance_per_vintage"),
            models.UniqueConstraint(fields=["reverses"], condition=Q(status="awaiting_approval"),
                                    name="booking_request_one_pending_reversal"),
        ]

    @property
    def is_credit_issuance(self) -> bool:
        return self.kind == self.Kind.ISSUANCE and self.unit_type != UnitType.ALLOWANCE

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity} ({self.get_status_display()})"
