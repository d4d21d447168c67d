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
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import ledger
from accounts.access import has_organisation_permission
from accounts.administration import require_administrator
from accounts.audit import audit_context
from accounts.models import Balance, HoldingAccount, Membership, TransferRequest, TrustedAccount
from accounts.roles import ACT, APPROVE

TOKYO = ZoneInfo("Asia/Tokyo")
DEFAULT_DELAYS = {
    "execution_hour": 12,  # 12:00 JST
    "transfer_working_days": 1,  # not-trusted transfers: next working day
    "trusted_account_working_days": 4,  # trusted-list additions: 4th working day
    "year_end_closure": True,  # 31 Dec - 3 Jan are not working days (banks and registries close)
}


def delays() -> dict:
    return {**DEFAULT_DELAYS, **getattr(settings, "LEDGER_DELAYS", {})}


class TransferRefused(ledger.LedgerError):
    code = "transfer_refused"


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


# --- who may act -----------------------------------------------------------------------------------

def require_representative(user, account: HoldingAccount, permission: str, token: str | None):
    """Refuse unless ``user`` holds ``permission`` on the account's organisation, is not suspended and,
    when ``token`` is given, that fresh second-factor code is right. Used by every ledger act."""
    organisation = account.organisation
    if organisation is None or not has_organisation_permission(user, organisation, permission):
        raise TransferRefused(_("You may not do this for account %(number)s.") % {"number": account.number},
                              field="source")
    membership = Membership.objects.filter(user=user, organisation=organisation, ended_at__isnull=True).first()
    if membership and membership.suspended_at:
        raise TransferRefused(_("Your access has been suspended: %(reason)s")
                              % {"reason": membership.suspension_reason}, field="user")
    if token is not None:
        ledger.require_fresh_code(user, token, TransferRefused)


def is_trusted(source: HoldingAccount, destination: HoldingAccount, now: datetime) -> bool:
    return TrustedAccount.objects.filter(account=source, trusted=destination, removed_at__isnull=True,
                                         active_from__lte=now).exists()


# --- transfers -------------------------------------------------------------------------------------

def transfer_initiate(*, source: HoldingAccount, destination: HoldingAccount, unit: ledger.Unit, quantity,
                      acting_user, otp_token: str, now: datetime | None = None) -> TransferRequest:
    now = now or timezone.now()
    quantity = ledger.clean_quantity(quantity)
    if source.pk == destination.pk:
        raise TransferRefused(_("The source and destination accounts are the same."), field="destination")
    if destination.state == HoldingAccount.State.CLOSED:
        raise ledger.account_closed(destination.number)
    if source.state != HoldingAccount.State.OPEN:
        raise TransferRefused(_("Account %(number)s is %(state)s and cannot send units.")
                              % {"number": source.number, "state": source.get_state_display()}, field="source")
    require_representative(acting_user, source, ACT, otp_token)
    # Checked again, under lock, when the transfer executes; here so nobody approves what cannot happen.
    held = Balance.objects.filter(account=source, unit_type=unit.unit_type, vintage=unit.vintage,
                                  credit_batch_id=unit.credit_batch_id).values_list("quantity", flat=True).first() or 0
    if held < quantity:
        raise ledger.insufficient_units(number=source.number, held=held, asked=quantity, unit=unit)
    with transaction.atomic(), audit_context(acting_user, action="transfer_initiate"):
        return TransferRequest.objects.create(
            source=source, destination=destination, unit_type=unit.unit_type, vintage=unit.vintage,
            credit_batch_id=unit.credit_batch_id, quantity=quantity, initiated_by=acting_user, initiated_at=now)


def _locked(request: TransferRequest) -> TransferRequest:
    return TransferRequest.objects.select_for_update().select_related("source", "destination").get(pk=request.pk)


def transfer_approve(*, request: TransferRequest, acting_user, otp_token: str,
                     now: datetime | None = None) -> TransferRequest:
    """A second representative approves: trusted destinations execute now, others next working day."""
    now = now or timezone.now()
    if request.initiated_by_id == acting_user.pk:
        raise TransferRefused(_("The person who initiated a transfer cannot approve it."), field="user")
    require_representative(acting_user, request.source, APPROVE, otp_token)
    with transaction.atomic(), audit_context(acting_user, action="transfer_approve"):
        request = _locked(request)
        if request.status != TransferRequest.Status.AWAITING_APPROVAL:
            raise TransferRefused(_("This transfer is no longer awaiting approval."), field="status")
        request.decided_by, request.decided_at = acting_user, now
        trusted = is_trusted(request.source, request.destination, now)
        request.execute_after = now if trusted else working_day_noon(now, delays()["transfer_working_days"])
        request.status = TransferRequest.Status.SCHEDULED
        request.save()
    if trusted:
        return transfer_execute(request=request, now=now)
    return request


def transfer_reject(*, request: TransferRequest, acting_user, now: datetime | None = None) -> TransferRequest:
    now = now or timezone.now()
    if request.initiated_by_id == acting_user.pk:
        raise TransferRefused(_("The person who initiated a transfer cannot approve it."), field="user")
    require_representative(acting_user, request.source, APPROVE, None)
    with transaction.atomic(), audit_context(acting_user, action="transfer_reject"):
        request = _locked(request)
        if request.status != TransferRequest.Status.AWAITING_APPROVAL:
            raise TransferRefused(_("This transfer is no longer awaiting approval."), field="status")
        request.status, request.decided_by, request.decided_at = TransferRequest.Status.REJECTED, acting_user, now
        request.save()
    return request


def transfer_cancel(*, request: TransferRequest, acting_user, now: datetime | None = None) -> TransferRequest:
    """Any representative of the source may cancel until the transfer executes."""
    now = now or timezone.now()
    require_representative(acting_user, request.source, ACT, None)
    with transaction.atomic(), audit_context(acting_user, action="transfer_cancel"):
        request = _locked(request)
        if request.status not in TransferRequest.PENDING:
            raise TransferRefused(_("This transfer can no longer be cancelled."), field="status")
        request.status, request.failure = TransferRequest.Status.CANCELLED, f"cancelled by {acting_user.email}"
        request.save()
    return request


def transfer_execute(*, request: TransferRequest, now: datetime | None = None) -> TransferRequest:
    """Book a scheduled transfer whose time has come; a refusal is recorded, not raised."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _locked(request)
        if request.status != TransferRequest.Status.SCHEDULED or request.execute_after > now:
            return request
        try:
            with transaction.atomic():
                booked = ledger.book(
                    kind="transfer", idempotency_key=f"transfer-request-{request.pk}",
                    acting_user=request.decided_by,
                    moves=[ledger.Move(request.source, request.destination,
                                       ledger.Unit(request.unit_type, request.vintage, request.credit_batch_id),
                                       request.quantity)])
        except ledger.LedgerError as refusal:
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

def trusted_account_propose(*, account: HoldingAccount, trusted: HoldingAccount, acting_user,
                            now: datetime | None = None) -> TrustedAccount:
    require_representative(acting_user, account, ACT, None)
    if account.pk == trusted.pk:
        raise TransferRefused(_("An account cannot trust itself."), field="trusted")
    with transaction.atomic(), audit_context(acting_user, action="trusted_account_propose"):
        return TrustedAccount.objects.create(account=account, trusted=trusted, proposed_by=acting_user)


def trusted_account_confirm(*, entry: TrustedAccount, acting_user, now: datetime | None = None) -> TrustedAccount:
    """A second representative confirms; the entry is active from noon on the 4th working day."""
    now = now or timezone.now()
    if entry.proposed_by_id == acting_user.pk:
        raise TransferRefused(_("A second representative must confirm a trusted account."), field="user")
    require_representative(acting_user, entry.account, ACT, None)
    with transaction.atomic(), audit_context(acting_user, action="trusted_account_confirm"):
        entry.confirmed_by = acting_user
        entry.active_from = working_day_noon(now, delays()["trusted_account_working_days"])
        entry.save(update_fields=["confirmed_by", "active_from"])
    return entry


def trusted_account_remove(*, entry: TrustedAccount, acting_user, now: datetime | None = None) -> TrustedAccount:
    now = now or timezone.now()
    require_representative(acting_user, entry.account, ACT, None)
    with transaction.atomic(), audit_context(acting_user, action="trusted_account_remove"):
        entry.removed_at = now
        entry.save(update_fields=["removed_at"])
    return entry


# --- administrators: suspensions and blocks -----------------------------------------------------------

def clean_reason(reason: str, shown_to) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 300:
        raise TransferRefused(_("Give the reason in at most 300 characters; it is shown to %(whom)s.")
                              % {"whom": shown_to}, field="reason")
    return reason


def membership_suspend(*, membership: Membership, reason: str, acting_user, now: datetime | None = None):
    require_administrator(acting_user, "accounts.change_membership")
    reason = clean_reason(reason, _("the person suspended"))
    with transaction.atomic(), audit_context(acting_user, action="membership_suspend"):
        membership.suspended_at, membership.suspension_reason = now or timezone.now(), reason
        membership.save(update_fields=["suspended_at", "suspension_reason"])
    return membership


def account_block(*, account: HoldingAccount, reason: str, acting_user) -> HoldingAccount:
    require_administrator(acting_user, "accounts.change_holdingaccount")
    reason = clean_reason(reason, _("the account holder"))
    with transaction.atomic(), audit_context(acting_user, action="account_block"):
        account.state, account.state_reason = HoldingAccount.State.BLOCKED, reason
        account.save(update_fields=["state", "state_reason"])
    return account


def account_close(*, account: HoldingAccount, reason: str, acting_user) -> HoldingAccount:
    """Close an account for good: it then neither sends nor receives. As in the EU Union Registry, only
    an account that holds nothing and has no transfer pending out of it can be closed."""
    require_administrator(acting_user, "accounts.change_holdingaccount")
    if account.is_government:
        raise TransferRefused(_("The government's accounts are never closed."), field="state")
    reason = clean_reason(reason, _("the account holder"))
    with transaction.atomic(), audit_context(acting_user, action="account_close"):
        # The row lock waits for bookings in flight (they share-lock the account), so none lands after the check.
        account = HoldingAccount.objects.select_for_update().get(pk=account.pk)
        if account.state == HoldingAccount.State.CLOSED:
            raise TransferRefused(_("Account %(number)s is already closed.") % {"number": account.number},
                                  field="state")
        if Balance.objects.filter(account=account).exclude(quantity=0).exists():
            raise TransferRefused(_("Account %(number)s still holds units: transfer or cancel them first.")
                                  % {"number": account.number}, field="state")
        if account.outgoing_requests.filter(status__in=TransferRequest.PENDING).exists():
            raise TransferRefused(_("Transfers out of account %(number)s are still pending: reject or cancel them "
                                    "first.") % {"number": account.number}, field="state")
        account.state, account.state_reason = HoldingAccount.State.CLOSED, reason
        account.save(update_fields=["state", "state_reason"])
    return account


def membership_reinstate(*, membership: Membership, acting_user) -> Membership:
    require_administrator(acting_user, "accounts.change_membership")
    with transaction.atomic(), audit_context(acting_user, action="membership_reinstate"):
        membership.suspended_at, membership.suspension_reason = None, ""
        membership.save(update_fields=["suspended_at", "suspension_reason"])
    return membership


def account_unblock(*, account: HoldingAccount, acting_user) -> HoldingAccount:
    require_administrator(acting_user, "accounts.change_holdingaccount")
    if account.state != HoldingAccount.State.BLOCKED:
        raise TransferRefused(_("Only a blocked account can be unblocked."), field="state")
    with transaction.atomic(), audit_context(acting_user, action="account_unblock"):
        account.state, account.state_reason = HoldingAccount.State.OPEN, ""
        account.save(update_fields=["state", "state_reason"])
    return account
