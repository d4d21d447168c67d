"""Registry administrators' acts on the ledger: issuance and cancellation under four eyes.

One administrator asks (``booking_request_create``); a different administrator approves with a
fresh second-factor code, and only then is the ledger booked, with the request as its
idempotency key so a double click books once. The database refuses self-approval as well.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import ledger
from accounts.audit import audit_context
from accounts.models import BookingRequest, CreditBatch, HoldingAccount, UnitType


class AdministrationRefused(ledger.LedgerError):
    code = "administration_refused"


def require_administrator(user, permission: str, token: str | None = None):
    """Refuse unless ``user`` holds the global ``permission`` (registry administrators do) and, when
    ``token`` is given, that fresh second-factor code is right."""
    if user is None or not user.is_authenticated or not user.has_perm(permission):
        raise AdministrationRefused(_("Only a registry administrator may do this."), field="user")
    if token is not None:
        ledger.require_fresh_code(user, token, AdministrationRefused)


def booking_request_create(*, kind: str, quantity, vintage, reason: str, acting_user, account: HoldingAccount | None = None,
                           unit_type: str = UnitType.ALLOWANCE, credit_batch: CreditBatch | None = None,
                           now: datetime | None = None) -> BookingRequest:
    require_administrator(acting_user, "accounts.add_bookingrequest")
    if kind not in BookingRequest.Kind.values:
        raise AdministrationRefused(_("Choose issuance or cancellation."), field="kind")
    quantity = ledger.clean_quantity(quantity)
    try:
        vintage = int(vintage)
    except (TypeError, ValueError):
        raise AdministrationRefused(_("Enter the vintage as a fiscal year, e.g. 2026."), field="vintage") from None
    if not 2000 <= vintage <= 2100:
        raise AdministrationRefused(_("Enter the vintage as a fiscal year, e.g. 2026."), field="vintage")
    if not reason.strip():
        raise AdministrationRefused(_("Give the reason; the approving administrator reads it."), field="reason")
    if kind == BookingRequest.Kind.ISSUANCE:
        if unit_type != UnitType.ALLOWANCE:
            raise AdministrationRefused(_("Only allowances are issued in the registry; credits arrive in batches."),
                                        field="unit_type")
        account = ledger.government_accounts()[HoldingAccount.Kind.ALLOCATION_RESERVE]
        credit_batch = None
    else:
        if account is None:
            raise AdministrationRefused(_("Choose the account whose units are cancelled."), field="account")
        if credit_batch is not None:
            unit_type, vintage = credit_batch.unit_type, credit_batch.vintage
        ledger.Unit(unit_type, vintage, credit_batch.pk if credit_batch else None)  # validates the unit
    with transaction.atomic(), audit_context(acting_user, action="booking_request_create"):
        return BookingRequest.objects.create(
            kind=kind, account=account, unit_type=unit_type, vintage=vintage, credit_batch=credit_batch,
            quantity=quantity, reason=reason.strip(), requested_by=acting_user, requested_at=now or timezone.now())


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
        unit = ledger.Unit(request.unit_type, request.vintage, request.credit_batch_id)
        key = f"booking-request-{request.pk}"
        try:
            with transaction.atomic():
                if request.kind == BookingRequest.Kind.ISSUANCE:
                    booked = ledger.issue_allowances(vintage=request.vintage, quantity=request.quantity,
                                                     idempotency_key=key, acting_user=acting_user)
                else:
                    booked = ledger.cancel_units(account=request.account, unit=unit, quantity=request.quantity,
                                                 idempotency_key=key, acting_user=acting_user)
        except ledger.LedgerError as refusal:
            request.status, request.failure = BookingRequest.Status.FAILED, str(refusal.message)[:300]
        else:
            request.status, request.ledger_transaction = BookingRequest.Status.EXECUTED, booked
        request.save()
    return request


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
