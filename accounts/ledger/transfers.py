"""Transfers between holding accounts, as in the EU Union Registry (issue 3).

One authorised representative initiates with a fresh second-factor code; a different
representative of the same organisation approves with theirs. Transfers to an account on the
trusted list execute at once; others at 12:00 JST on the next Japanese working day and can be
cancelled until then. A trusted-list addition, confirmed by a second representative, takes
effect at 12:00 JST on the 4th working day; removal is immediate. Every delay is a setting
(``settings.LEDGER_DELAYS``). ``now`` is a parameter everywhere so the clock can be fixed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jpholiday
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import ledger
from accounts.ledger import routes
from accounts.models import Balance, HoldingAccount, Membership, TransferRequest, TrustedAccount
from accounts.roles import ACT, APPROVE, Role
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.notifications import notify, people

TOKYO = ZoneInfo("Asia/Tokyo")
DEFAULT_DELAYS = {
    "execution_hour": 12,  # 12:00 JST
    "transfer_working_days": 1,  # not-trusted transfers: next working day
    "trusted_account_working_days": 4,  # trusted-list additions: 4th working day
    "year_end_closure": True,  # 31 Dec - 3 Jan are not working days (banks and registries close)
}


def delays() -> dict:
    return {**DEFAULT_DELAYS, **getattr(settings, "LEDGER_DELAYS", {})}


def _refuse(code, message, field):
    raise RegistryError(code, message, field)


# --- the Japanese working-day calendar --------------------------------------------------------------

def jst_label(moment: datetime) -> str:
    """A moment as people in the scheme read it: 2026-11-24 12:00 JST."""
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST")


def is_working_day(day: date) -> bool:
    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return False
    return not (delays()["year_end_closure"] and ((day.month == 12 and day.day == 31) or
                                                 (day.month == 1 and day.day <= 3)))


def working_day_noon(after: datetime, working_days: int) -> datetime:
    """12:00 JST (the execution hour) on the ``working_days``-th working day after ``after``."""
    day = after.astimezone(TOKYO).date()
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return datetime.combine(day, time(delays()["execution_hour"]), tzinfo=TOKYO)


# --- transfers -------------------------------------------------------------------------------------

def is_trusted(source: HoldingAccount, destination: HoldingAccount, now: datetime) -> bool:
    return TrustedAccount.objects.filter(account=source, trusted=destination, removed_at__isnull=True,
                                         active_from__lte=now).exists()


# --- transfers -------------------------------------------------------------------------------------

def _lock_account(account: HoldingAccount) -> HoldingAccount:
    """The account's row, locked: a block, closure or trusted-only change waits for this act, and it for them."""
    return HoldingAccount.objects.select_for_update(of=("self",), no_key=True).select_related("organisation").get(pk=account.pk)


def check_destination(source: HoldingAccount, destination: HoldingAccount, now: datetime, field="destination"):
    """Refuse a destination a transfer out of ``source`` can never reach: the same account, a closed one, a
    government account (accounts.ledger.routes), or one not trusted while the source sends to trusted accounts only."""
    if source.pk == destination.pk:
        _refuse(ErrorCode.INVALID_INPUT, _("The source and destination accounts are the same."), field)
    if not routes.allowed("transfer", source.kind, destination.kind):
        raise ledger.route_not_allowed(kind="transfer", source_kind=source.kind, destination_kind=destination.kind,
                                       field=field)
    if destination.state == HoldingAccount.State.CLOSED:
        raise ledger.account_closed(destination.number, field=field)
    if source.trusted_only and not is_trusted(source, destination, now):
        _refuse(ErrorCode.ACCOUNT_NOT_USABLE,
                _("Account %(number)s sends only to accounts on its trusted list; %(destination)s is not on it.")
                % {"number": source.number, "destination": destination.number}, field)


def _transfer_refusals(source: HoldingAccount, destination: HoldingAccount, unit: ledger.Unit, quantity: int,
                       now: datetime) -> int:
    """Refuse a transfer that cannot happen; otherwise the quantity the source holds of ``unit``."""
    if source.state != HoldingAccount.State.OPEN:
        _refuse(ErrorCode.ACCOUNT_NOT_USABLE, _("Account %(number)s is %(state)s and cannot send units.")
                % {"number": source.number, "state": source.get_state_display()}, "source")
    check_destination(source, destination, now)
    # Checked again, under lock, when the transfer executes; here so nobody approves what cannot happen.
    return ledger.held_at_least(source, unit, quantity)


@state_change
def transfer_check(*, source: HoldingAccount, destination: HoldingAccount, unit: ledger.Unit, quantity,
                   acting_user, now: datetime | None = None) -> dict:
    """What ``transfer_initiate`` would do, refused as it would be, changing nothing and asking no code: for the
    page where the representative checks the other side before confirming. Returns the quantity held, the
    quantity, and whether the destination is trusted (the transfer then executes on approval)."""
    now = now or timezone.now()
    quantity = ledger.clean_quantity(quantity)
    authorize(acting_user, ACT, source.organisation)
    held = _transfer_refusals(source, destination, unit, quantity, now)
    return {"held": held, "quantity": quantity, "trusted": is_trusted(source, destination, now)}


@state_change
def transfer_initiate(*, source: HoldingAccount, destination: HoldingAccount, unit: ledger.Unit, quantity,
                      acting_user, otp_token: str, now: datetime | None = None) -> TransferRequest:
    now = now or timezone.now()
    quantity = ledger.clean_quantity(quantity)
    with transaction.atomic(), audit_context(acting_user, action="transfer_initiate"):
        source = _lock_account(source)
        authorize(acting_user, ACT, source.organisation, fresh_code=otp_token)
        _transfer_refusals(source, destination, unit, quantity, now)
        request = TransferRequest.objects.create(
            source=source, destination=destination, unit_type=unit.unit_type, vintage=unit.vintage,
            credit_batch_id=unit.credit_batch_id, quantity=quantity, initiated_by=acting_user, initiated_at=now)
        notify(people(organisation=source.organisation, roles=[Role.APPROVING_REPRESENTATIVE]),
               subject=_("Approve: transfer of %(quantity)s t from %(account)s"),
               body=_("%(person)s initiated a transfer of %(quantity)s t from %(account)s to %(destination)s. "
                      "Another representative must approve it."),
               params={"quantity": f"{quantity:,}", "account": source.number, "destination": destination.number,
                       "person": acting_user.full_name},
               path=reverse("transfer_list", args=[source.pk]))
        return request


def _locked(request: TransferRequest) -> TransferRequest:
    return (TransferRequest.objects.select_for_update(of=("self",), no_key=True)
            .select_related("source__organisation", "destination").get(pk=request.pk))


def _decide(request: TransferRequest, acting_user, otp_token: str | None) -> TransferRequest:
    """Lock a transfer awaiting approval and authorize a second representative of its source to decide it."""
    request = _locked(request)
    _decision_refusals(request, acting_user, otp_token)
    return request


def _decision_refusals(request: TransferRequest, acting_user, otp_token: str | None) -> None:
    if acting_user is not None and request.initiated_by_id == acting_user.pk:
        _refuse(ErrorCode.SAME_PERSON, _("The person who initiated a transfer cannot approve or reject it."), "user")
    authorize(acting_user, APPROVE, request.source.organisation, fresh_code=otp_token)
    if request.status != TransferRequest.Status.AWAITING_APPROVAL:
        _refuse(ErrorCode.INVALID_STATE, _("This transfer is no longer awaiting approval."), "status")


@state_change
def transfer_approval_check(*, request: TransferRequest, acting_user, now: datetime | None = None) -> datetime:
    """Whether ``acting_user`` may approve ``request`` (refused as ``transfer_approve`` would refuse, changing
    nothing and asking no code), and when it would then execute."""
    now = now or timezone.now()
    _decision_refusals(request, acting_user, None)
    if is_trusted(request.source, request.destination, now):
        return now
    return working_day_noon(now, delays()["transfer_working_days"])


@state_change
def transfer_approve(*, request: TransferRequest, acting_user, otp_token: str,
                     now: datetime | None = None) -> TransferRequest:
    """A second representative approves: trusted destinations execute now, others next working day."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="transfer_approve"):
        request = _decide(request, acting_user, otp_token)
        request.decided_by, request.decided_at = acting_user, now
        trusted = is_trusted(request.source, request.destination, now)
        request.execute_after = now if trusted else working_day_noon(now, delays()["transfer_working_days"])
        request.status = TransferRequest.Status.SCHEDULED
        request.save()
    if trusted:
        return transfer_execute(request=request, now=now)
    return request


@state_change
def transfer_reject(*, request: TransferRequest, acting_user, now: datetime | None = None) -> TransferRequest:
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="transfer_reject"):
        request = _decide(request, acting_user, None)
        request.status, request.decided_by, request.decided_at = TransferRequest.Status.REJECTED, acting_user, now
        request.save()
    return request


@state_change
def transfer_cancel(*, request: TransferRequest, acting_user) -> TransferRequest:
    """Any representative of the source may cancel until the transfer executes."""
    with transaction.atomic(), audit_context(acting_user, action="transfer_cancel"):
        request = _locked(request)
        authorize(acting_user, ACT, request.source.organisation)
        if request.status not in TransferRequest.PENDING:
            _refuse(ErrorCode.INVALID_STATE, _("This transfer can no longer be cancelled."), "status")
        # Who cancelled is in the audit history; the status says what happened, in the reader's language.
        request.status = TransferRequest.Status.CANCELLED
        request.save(update_fields=["status"])
    return request


def transfer_execute(*, request: TransferRequest, now: datetime | None = None) -> TransferRequest:
    """Book a scheduled transfer whose time has come; a refusal is recorded, not raised.

    The job's step, not a person's act: it carries out what two representatives authorized (the
    approver is recorded as booker), and the booking function re-checks states, routes and holdings.
    """
    now = now or timezone.now()
    with transaction.atomic():
        request = _locked(request)
        if request.status != TransferRequest.Status.SCHEDULED or request.execute_after > now:
            return request
        try:
            booked = ledger.transfer_units(
                source=request.source, destination=request.destination,
                unit=ledger.Unit(request.unit_type, request.vintage, request.credit_batch_id),
                quantity=request.quantity, idempotency_key=f"transfer-request-{request.pk}",
                booked_by=request.decided_by)
        except RegistryError as refusal:
            request.status, request.failure = TransferRequest.Status.FAILED, str(refusal.message)[:300]
        else:
            request.status, request.ledger_transaction = TransferRequest.Status.EXECUTED, booked
        request.save()
    return request


def transfers_execute_due(now: datetime | None = None) -> int:
    """The scheduled job: execute every transfer whose time has come."""
    now = now or timezone.now()
    due = TransferRequest.objects.filter(status=TransferRequest.Status.SCHEDULED, execute_after__lte=now)
    executed = 0
    for request in due.order_by("execute_after", "pk"):
        executed += transfer_execute(request=request, now=now).status == TransferRequest.Status.EXECUTED
    return executed


# --- the trusted-account list ------------------------------------------------------------------------

@state_change
def trusted_account_propose(*, account: HoldingAccount, trusted: HoldingAccount, acting_user,
                            now: datetime | None = None) -> TrustedAccount:
    with transaction.atomic(), audit_context(acting_user, action="trusted_account_propose"):
        account = _lock_account(account)
        authorize(acting_user, ACT, account.organisation)
        if account.pk == trusted.pk:
            _refuse(ErrorCode.INVALID_INPUT, _("An account cannot trust itself."), "trusted")
        if not routes.allowed("transfer", account.kind, trusted.kind):
            raise ledger.route_not_allowed(kind="transfer", source_kind=account.kind, destination_kind=trusted.kind,
                                           field="trusted")
        if account.trusted_list.filter(trusted=trusted, removed_at__isnull=True).exists():
            _refuse(ErrorCode.DUPLICATE, _("%(number)s is already on the trusted list.") % {"number": trusted.number},
                    "trusted")
        return TrustedAccount.objects.create(account=account, trusted=trusted, proposed_by=acting_user)


def _locked_entry(entry: TrustedAccount) -> TrustedAccount:
    return (TrustedAccount.objects.select_for_update(of=("self",), no_key=True)
            .select_related("account__organisation", "trusted").get(pk=entry.pk))


def _confirmation_refusals(entry: TrustedAccount, acting_user, otp_token: str | None) -> None:
    if acting_user is not None and entry.proposed_by_id == acting_user.pk:
        _refuse(ErrorCode.SAME_PERSON, _("A second representative must confirm a trusted account."), "user")
    authorize(acting_user, ACT, entry.account.organisation, fresh_code=otp_token)
    if entry.removed_at is not None or entry.confirmed_by_id is not None:
        _refuse(ErrorCode.INVALID_STATE, _("Only a proposed entry that is still on the list can be confirmed."),
                "status")


@state_change
def trusted_account_confirm_check(*, entry: TrustedAccount, acting_user, now: datetime | None = None) -> datetime:
    """Whether ``acting_user`` may confirm ``entry`` (refused as the confirmation would be, nothing changed, no
    code asked), and from when it would be active."""
    _confirmation_refusals(entry, acting_user, None)
    return working_day_noon(now or timezone.now(), delays()["trusted_account_working_days"])


@state_change
def trusted_account_confirm(*, entry: TrustedAccount, acting_user, otp_token: str,
                            now: datetime | None = None) -> TrustedAccount:
    """A second representative confirms with a fresh code (trusted transfers skip the delay); the entry is
    active from noon on the 4th working day."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="trusted_account_confirm"):
        entry = _locked_entry(entry)
        _confirmation_refusals(entry, acting_user, otp_token)
        entry.confirmed_by = acting_user
        entry.active_from = working_day_noon(now, delays()["trusted_account_working_days"])
        entry.save(update_fields=["confirmed_by", "active_from"])
    return entry


@state_change
def trusted_account_remove(*, entry: TrustedAccount, acting_user, now: datetime | None = None) -> TrustedAccount:
    with transaction.atomic(), audit_context(acting_user, action="trusted_account_remove"):
        entry = _locked_entry(entry)
        authorize(acting_user, ACT, entry.account.organisation)
        if entry.removed_at is not None:
            _refuse(ErrorCode.INVALID_STATE, _("This entry was already removed."), "status")
        entry.removed_at = now or timezone.now()
        entry.save(update_fields=["removed_at"])
    return entry


@state_change
def account_trusted_only_set(*, account: HoldingAccount, trusted_only: bool, acting_user) -> HoldingAccount:
    """The holder's representative sets whether transfers out of the account may go to trusted accounts only."""
    if not isinstance(trusted_only, bool):
        _refuse(ErrorCode.INVALID_INPUT, _("Choose yes or no."), "trusted_only")
    with transaction.atomic(), audit_context(acting_user, action="account_trusted_only_set"):
        account = _lock_account(account)
        authorize(acting_user, ACT, account.organisation)
        if account.state == HoldingAccount.State.CLOSED:
            raise ledger.account_closed(account.number, field="trusted_only")
        account.trusted_only = trusted_only
        account.save(update_fields=["trusted_only"])
    return account


# --- administrators: suspensions and blocks -----------------------------------------------------------

def clean_reason(reason: str, shown_to) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 300:
        _refuse(ErrorCode.INVALID_INPUT, _("Give the reason in at most 300 characters; it is shown to %(whom)s.")
                % {"whom": shown_to}, "reason")
    return reason


def _locked_membership(membership: Membership) -> Membership:
    return Membership.objects.select_for_update(of=("self",), no_key=True).select_related("user").get(pk=membership.pk)


@state_change
def membership_suspend(*, membership: Membership, reason: str, acting_user, now: datetime | None = None):
    reason = clean_reason(reason, _("the person suspended"))
    with transaction.atomic(), audit_context(acting_user, action="membership_suspend"):
        membership = _locked_membership(membership)
        authorize(acting_user, "accounts.change_membership")
        if membership.ended_at is not None:
            _refuse(ErrorCode.INVALID_STATE, _("This membership has ended."), "status")
        if membership.user_id == acting_user.pk:
            _refuse(ErrorCode.SAME_PERSON, _("Another administrator must suspend you."), "user")
        membership.suspended_at, membership.suspension_reason = now or timezone.now(), reason
        membership.save(update_fields=["suspended_at", "suspension_reason"])
    return membership


@state_change
def membership_reinstate(*, membership: Membership, acting_user) -> Membership:
    with transaction.atomic(), audit_context(acting_user, action="membership_reinstate"):
        membership = _locked_membership(membership)
        authorize(acting_user, "accounts.change_membership")
        if membership.suspended_at is None or membership.ended_at is not None:
            _refuse(ErrorCode.INVALID_STATE, _("Only a suspended membership can be reinstated."), "status")
        membership.suspended_at, membership.suspension_reason = None, ""
        membership.save(update_fields=["suspended_at", "suspension_reason"])
    return membership


@state_change
def account_block(*, account: HoldingAccount, reason: str, acting_user) -> HoldingAccount:
    reason = clean_reason(reason, _("the account holder"))
    with transaction.atomic(), audit_context(acting_user, action="account_block"):
        account = _lock_account(account)
        authorize(acting_user, "accounts.change_holdingaccount")
        if account.state != HoldingAccount.State.OPEN:  # a closed account stays closed
            _refuse(ErrorCode.INVALID_STATE, _("Only an open account can be blocked; %(number)s is %(state)s.")
                    % {"number": account.number, "state": account.get_state_display()}, "state")
        account.state, account.state_reason = HoldingAccount.State.BLOCKED, reason
        account.save(update_fields=["state", "state_reason"])
    return account


@state_change
def account_unblock(*, account: HoldingAccount, acting_user) -> HoldingAccount:
    with transaction.atomic(), audit_context(acting_user, action="account_unblock"):
        account = _lock_account(account)
        authorize(acting_user, "accounts.change_holdingaccount")
        if account.state != HoldingAccount.State.BLOCKED:
            _refuse(ErrorCode.INVALID_STATE, _("Only a blocked account can be unblocked."), "state")
        account.state, account.state_reason = HoldingAccount.State.OPEN, ""
        account.save(update_fields=["state", "state_reason"])
    return account


@state_change
def account_close(*, account: HoldingAccount, reason: str, acting_user) -> HoldingAccount:
    """Close an account for good: it then neither sends nor receives. As in the EU Union Registry, only
    an account that holds nothing and has no transfer pending out of it can be closed."""
    reason = clean_reason(reason, _("the account holder"))
    with transaction.atomic(), audit_context(acting_user, action="account_close"):
        # The row lock waits for bookings in flight (they share-lock the account), so none lands after the check.
        account = _lock_account(account)
        account_close_check(account=account, acting_user=acting_user)
        account.state, account.state_reason = HoldingAccount.State.CLOSED, reason
        account.save(update_fields=["state", "state_reason"])
    return account


@state_change
def account_close_check(*, account: HoldingAccount, acting_user) -> None:
    """Refuse unless ``acting_user`` may close ``account`` now (the check its page makes first; nothing changes)."""
    authorize(acting_user, "accounts.change_holdingaccount")
    if account.is_government:
        _refuse(ErrorCode.INVALID_STATE, _("The government's accounts are never closed."), "state")
    if account.state == HoldingAccount.State.CLOSED:
        _refuse(ErrorCode.INVALID_STATE, _("Account %(number)s is already closed.") % {"number": account.number},
                "state")
    if Balance.objects.filter(account=account).exclude(quantity=0).exists():
        _refuse(ErrorCode.INVALID_STATE, _("Account %(number)s still holds units: transfer or cancel them first.")
                % {"number": account.number}, "state")
    if account.outgoing_requests.filter(status__in=TransferRequest.PENDING).exists():
        _refuse(ErrorCode.INVALID_STATE, _("Transfers out of account %(number)s are still pending: reject or "
                                           "cancel them first.") % {"number": account.number}, "state")
