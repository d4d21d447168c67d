"""Registry administrators' acts on the ledger under four eyes: issuance of allowances, credits brought in
from the J-Credit and JCM registries, and cancellation.

One administrator asks (``booking_request_create``); a different administrator approves with a
fresh second-factor code, and only then is the ledger booked, with the request as its
idempotency key so a double click books once. The database refuses self-approval as well.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import ledger
from accounts.audit import audit_context
from accounts.models import CREDIT_TYPES, BookingRequest, CreditBatch, HoldingAccount, UnitType


class AdministrationRefused(ledger.LedgerError):
    code = "administration_refused"


def require_administrator(user, permission: str, token: str | None = None):
    """Refuse unless ``user`` holds the global ``permission`` (registry administrators do) and, when
    ``token`` is given, that fresh second-factor code is right."""
    if user is None or not user.is_authenticated or not user.has_perm(permission):
        raise AdministrationRefused(_("Only a registry administrator may do this."), field="user")
    if token is not None:
        ledger.require_fresh_code(user, token, AdministrationRefused)


def _clean_vintage(vintage) -> int:
    try:
        vintage = int(vintage)
    except (TypeError, ValueError):
        raise AdministrationRefused(_("Enter the vintage as a fiscal year, e.g. 2026."), field="vintage") from None
    if not 2000 <= vintage <= 2100:
        raise AdministrationRefused(_("Enter the vintage as a fiscal year, e.g. 2026."), field="vintage")
    return vintage


def _clean_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise AdministrationRefused(_("Give the reason; the approving administrator reads it."), field="reason")
    return reason.strip()


def booking_request_create(*, kind: str, quantity, vintage, reason: str, acting_user, account: HoldingAccount | None = None,
                           unit_type: str = UnitType.ALLOWANCE, credit_batch: CreditBatch | None = None,
                           now: datetime | None = None) -> BookingRequest:
    """Ask for issuance of allowances into the allocation reserve, or cancellation of any units."""
    require_administrator(acting_user, "accounts.add_bookingrequest")
    if kind not in BookingRequest.Kind.values:
        raise AdministrationRefused(_("Choose issuance or cancellation."), field="kind")
    quantity = ledger.clean_quantity(quantity)
    if kind == BookingRequest.Kind.ISSUANCE:
        if unit_type != UnitType.ALLOWANCE:
            raise AdministrationRefused(_("Credits are not issued here: bring a batch in from the J-Credit or JCM "
                                          "registry with its serial numbers."), field="unit_type")
        account = ledger.government_accounts()[HoldingAccount.Kind.ALLOCATION_RESERVE]
        credit_batch = None
    else:
        if account is None:
            raise AdministrationRefused(_("Choose the account whose units are cancelled."), field="account")
        if unit_type != UnitType.ALLOWANCE and credit_batch is None:
            raise AdministrationRefused(_("Give the first serial number of the credit batch."), field="credit_batch")
        if credit_batch is not None:
            unit_type, vintage = credit_batch.unit_type, credit_batch.vintage
    vintage = _clean_vintage(vintage)
    reason = _clean_reason(reason)
    ledger.Unit(unit_type, vintage, credit_batch.pk if credit_batch else None)  # validates the unit
    with transaction.atomic(), audit_context(acting_user, action="booking_request_create"):
        return BookingRequest.objects.create(
            kind=kind, account=account, unit_type=unit_type, vintage=vintage, credit_batch=credit_batch,
            quantity=quantity, reason=reason, requested_by=acting_user, requested_at=now or timezone.now())


CREDIT_HOLDER_KINDS = (HoldingAccount.Kind.OPERATOR_HOLDING, HoldingAccount.Kind.TRADING)


def _clean_serial(value, field: str) -> int:
    text = "" if isinstance(value, bool) else str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise AdministrationRefused(_("Enter a serial number (a whole number, 0 or more)."), field=field)
    return int(text)


def overlapping_credits(*, unit_type: str, serial_start: int, serial_end: int) -> str | None:
    """What already holds any of these serials (a batch in the registry or one awaiting approval), or None."""
    batch = CreditBatch.objects.filter(unit_type=unit_type, serial_start__lte=serial_end,
                                       serial_end__gte=serial_start).first()
    if batch is not None:
        return _("batch %(start)s-%(end)s already in the registry") % {
            "start": batch.serial_start, "end": batch.serial_end}
    pending = BookingRequest.objects.filter(
        kind=BookingRequest.Kind.ISSUANCE, unit_type=unit_type, status=BookingRequest.Status.AWAITING_APPROVAL,
        serial_start__lte=serial_end, serial_end__gte=serial_start).first()
    if pending is not None:
        return _("serials %(start)s-%(end)s awaiting approval") % {
            "start": pending.serial_start, "end": pending.serial_end}
    return None


def credit_issuance_request_create(*, unit_type: str, serial_start, serial_end, vintage, origin: str,
                                   eligible: bool, account: HoldingAccount | None, reason: str, acting_user,
                                   now: datetime | None = None) -> BookingRequest:
    """Ask to bring a batch of J-Credits or JCM credits in from its registry, whole, into a holder's account.

    The batch and its units exist only once a second administrator approves (``booking_request_approve``).
    """
    require_administrator(acting_user, "accounts.add_bookingrequest")
    if unit_type not in CREDIT_TYPES:
        raise AdministrationRefused(_("Choose J-Credits or JCM credits."), field="unit_type")
    serial_start = _clean_serial(serial_start, "serial_start")
    serial_end = _clean_serial(serial_end, "serial_end")
    if serial_end < serial_start:
        raise AdministrationRefused(_("The last serial number is below the first."), field="serial_end")
    quantity = ledger.clean_quantity(serial_end - serial_start + 1, field="serial_end")
    vintage = _clean_vintage(vintage)
    origin = (origin or "").strip()
    if not origin:
        raise AdministrationRefused(_("Name the project the credits come from."), field="origin")
    if not isinstance(eligible, bool):
        raise AdministrationRefused(_("Say whether the credits are eligible for surrender."), field="eligible")
    if account is None or account.kind not in CREDIT_HOLDER_KINDS:
        raise AdministrationRefused(_("Credits go to an operator holding account or a trading account."),
                                    field="account")
    if account.state == HoldingAccount.State.CLOSED:
        raise ledger.account_closed(account.number, field="account")
    reason = _clean_reason(reason)
    with transaction.atomic(), audit_context(acting_user, action="credit_issuance_request_create"):
        # Serialise requests for one credit type, so two cannot claim the same serials at once.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"credit-serials-{unit_type}"])
        taken = overlapping_credits(unit_type=unit_type, serial_start=serial_start, serial_end=serial_end)
        if taken:
            raise AdministrationRefused(_("These serial numbers overlap %(taken)s.") % {"taken": taken},
                                        field="serial_start")
        return BookingRequest.objects.create(
            kind=BookingRequest.Kind.ISSUANCE, account=account, unit_type=unit_type, vintage=vintage,
            quantity=quantity, serial_start=serial_start, serial_end=serial_end, origin=origin,
            credit_eligible=eligible, reason=reason, requested_by=acting_user, requested_at=now or timezone.now())


def _pending(request: BookingRequest) -> BookingRequest:
    locked = BookingRequest.objects.select_for_update().select_related("account").get(pk=request.pk)
    if locked.status != BookingRequest.Status.AWAITING_APPROVAL:
        raise AdministrationRefused(_("This request is no longer awaiting approval."), field="status")
    return locked


def booking_request_approve(*, request: BookingRequest, acting_user, otp_token: str,
                            now: datetime | None = None) -> BookingRequest:
    """The second administrator approves: the ledger is booked now, or the refusal is recorded."""
    if request.requested_by_id == acting_user.pk:
        raise AdministrationRefused(_("The administrator who asked cannot approve or reject it; a second administrator must."),
                                    field="user")
    require_administrator(acting_user, "accounts.change_bookingrequest", otp_token)
    with transaction.atomic(), audit_context(acting_user, action="booking_request_approve"):
        request = _pending(request)
        request.decided_by, request.decided_at = acting_user, now or timezone.now()
        key = f"booking-request-{request.pk}"
        try:
            with transaction.atomic():
                if request.is_credit_issuance:
                    request.credit_batch = _credit_batch_create(request)
                    booked = ledger.issue_credits(batch=request.credit_batch, account=request.account,
                                                  idempotency_key=key, acting_user=acting_user)
                elif request.kind == BookingRequest.Kind.ISSUANCE:
                    booked = ledger.issue_allowances(vintage=request.vintage, quantity=request.quantity,
                                                     idempotency_key=key, acting_user=acting_user)
                else:
                    unit = ledger.Unit(request.unit_type, request.vintage, request.credit_batch_id)
                    booked = ledger.cancel_units(account=request.account, unit=unit, quantity=request.quantity,
                                                 idempotency_key=key, acting_user=acting_user)
        except ledger.LedgerError as refusal:
            request.status, request.failure = BookingRequest.Status.FAILED, str(refusal.message)[:300]
            if request.is_credit_issuance:
                request.credit_batch = None  # rolled back with the booking
        else:
            request.status, request.ledger_transaction = BookingRequest.Status.EXECUTED, booked
        request.save()
    return request


def _credit_batch_create(request: BookingRequest) -> CreditBatch:
    try:
        with transaction.atomic():
            return CreditBatch.objects.create(
                unit_type=request.unit_type, serial_start=request.serial_start, serial_end=request.serial_end,
                vintage=request.vintage, origin=request.origin, eligible=request.credit_eligible)
    except IntegrityError:  # the exclusion constraint: another batch took some of these serials meanwhile
        raise AdministrationRefused(_("These serial numbers overlap a batch already in the registry."),
                                    field="serial_start") from None


def booking_request_reject(*, request: BookingRequest, acting_user, now: datetime | None = None) -> BookingRequest:
    if request.requested_by_id == acting_user.pk:
        raise AdministrationRefused(_("The administrator who asked cannot approve or reject it; a second administrator must."),
                                    field="user")
    require_administrator(acting_user, "accounts.change_bookingrequest")
    with transaction.atomic(), audit_context(acting_user, action="booking_request_reject"):
        request = _pending(request)
        request.status, request.decided_by, request.decided_at = (
            BookingRequest.Status.REJECTED, acting_user, now or timezone.now())
        request.save()
    return request
