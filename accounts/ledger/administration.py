"""Registry administrators' acts on the ledger under four eyes: issuance of allowances, credits brought in
from the J-Credit and JCM registries, cancellation, and reversal of a transaction booked by mistake.

One administrator asks (``booking_request_create``, ``credit_issuance_request_create``,
``reversal_request_create``); a different administrator approves with a fresh second-factor code,
and only then is the ledger booked, with the request as its idempotency key so a double click books
once. The database refuses self-approval, and a second pending issuance of a vintage, as well.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import ledger
from accounts.ledger import routes
from accounts.models import (
    CREDIT_TYPES,
    BookingRequest,
    CreditBatch,
    HoldingAccount,
    LedgerTransaction,
    UnitType,
)
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError

ASK = "accounts.add_bookingrequest"
DECIDE = "accounts.change_bookingrequest"


def _refuse(message, field, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


def _clean_vintage(vintage) -> int:
    text = str(vintage).strip() if isinstance(vintage, int | str) and not isinstance(vintage, bool) else ""
    if not (text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100):
        _refuse(_("Enter the vintage as a fiscal year, e.g. 2026."), "vintage")
    return int(text)


def _clean_reason(reason: str) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 300:
        _refuse(_("Give the reason in at most 300 characters; the approving administrator reads it."), "reason")
    return reason


def _pending_exists(error: IntegrityError) -> bool:
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") or ""
    return name.startswith("booking_request_one_pending")


@state_change
def booking_request_create(*, kind: str, quantity, vintage, reason: str, acting_user, account: HoldingAccount | None = None,
                           unit_type: str = UnitType.ALLOWANCE, credit_batch: CreditBatch | None = None,
                           now: datetime | None = None) -> BookingRequest:
    """Ask for issuance of allowances into the allocation reserve, or cancellation of any units."""
    if kind not in (BookingRequest.Kind.ISSUANCE, BookingRequest.Kind.CANCELLATION):
        _refuse(_("Choose issuance or cancellation."), "kind")
    quantity = ledger.clean_quantity(quantity)
    if kind == BookingRequest.Kind.ISSUANCE:
        if unit_type != UnitType.ALLOWANCE:
            _refuse(_("Credits are not issued here: bring a batch in from the J-Credit or JCM registry with its "
                      "serial numbers."), "unit_type")
        account = None  # the allocation reserve, opened (if new) only once the asker is authorized
        credit_batch = None
    else:
        if account is None:
            _refuse(_("Choose the account whose units are cancelled."), "account")
        if unit_type != UnitType.ALLOWANCE and credit_batch is None:
            _refuse(_("Give the first serial number of the credit batch."), "credit_batch")
        if credit_batch is not None:
            unit_type, vintage = credit_batch.unit_type, credit_batch.vintage
    vintage = _clean_vintage(vintage)
    reason = _clean_reason(reason)
    ledger.Unit(unit_type, vintage, credit_batch.pk if credit_batch else None)  # validates the unit
    try:
        with transaction.atomic(), audit_context(acting_user, action="booking_request_create"):
            authorize(acting_user, ASK)
            account = account or ledger.government_account(HoldingAccount.Kind.ALLOCATION_RESERVE)
            if kind == BookingRequest.Kind.CANCELLATION and not routes.allowed(
                    "cancellation", account.kind, HoldingAccount.Kind.CANCELLATION):
                raise ledger.route_not_allowed(kind="cancellation", source_kind=account.kind,
                                               destination_kind=HoldingAccount.Kind.CANCELLATION, field="account")
            return BookingRequest.objects.create(
                kind=kind, account=account, unit_type=unit_type, vintage=vintage, credit_batch=credit_batch,
                quantity=quantity, reason=reason, requested_by=acting_user, requested_at=now or timezone.now())
    except IntegrityError as error:
        if not _pending_exists(error):
            raise
        _refuse(_("An issuance of FY%(vintage)s allowances is already awaiting approval: approve or reject it "
                  "first.") % {"vintage": vintage}, "vintage", ErrorCode.PENDING_EXISTS)


CREDIT_HOLDER_KINDS = (HoldingAccount.Kind.OPERATOR_HOLDING, HoldingAccount.Kind.TRADING)


def _clean_serial(value, field: str) -> int:
    text = "" if isinstance(value, bool) else str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Enter a serial number (a whole number, 0 or more)."), field=field)
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


@state_change
def credit_issuance_request_create(*, unit_type: str, serial_start, serial_end, vintage, origin: str,
                                   eligible: bool, account: HoldingAccount | None, reason: str, acting_user,
                                   now: datetime | None = None) -> BookingRequest:
    """Ask to bring a batch of J-Credits or JCM credits in from its registry, whole, into a holder's account.

    The batch and its units exist only once a second administrator approves (``booking_request_approve``).
    """
    if unit_type not in CREDIT_TYPES:
        _refuse(_("Choose J-Credits or JCM credits."), "unit_type")
    serial_start = _clean_serial(serial_start, "serial_start")
    serial_end = _clean_serial(serial_end, "serial_end")
    if serial_end < serial_start:
        raise RegistryError(ErrorCode.INVALID_INPUT, _("The last serial number is below the first."), field="serial_end")
    quantity = ledger.clean_quantity(serial_end - serial_start + 1, field="serial_end")
    vintage = _clean_vintage(vintage)
    origin = (origin or "").strip()
    if not origin:
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Name the project the credits come from."), field="origin")
    if not isinstance(eligible, bool):
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Say whether the credits are eligible for surrender."), field="eligible")
    if account is None or account.kind not in CREDIT_HOLDER_KINDS:
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Credits go to an operator holding account or a trading account."),
                                    field="account")
    if account.state == HoldingAccount.State.CLOSED:
        raise ledger.account_closed(account.number, field="account")
    reason = _clean_reason(reason)
    with transaction.atomic(), audit_context(acting_user, action="credit_issuance_request_create"):
        authorize(acting_user, ASK)
        # Serialise requests for one credit type, so two cannot claim the same serials at once.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"credit-serials-{unit_type}"])
        taken = overlapping_credits(unit_type=unit_type, serial_start=serial_start, serial_end=serial_end)
        if taken:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("These serial numbers overlap %(taken)s.") % {"taken": taken},
                                        field="serial_start")
        return BookingRequest.objects.create(
            kind=BookingRequest.Kind.ISSUANCE, account=account, unit_type=unit_type, vintage=vintage,
            quantity=quantity, serial_start=serial_start, serial_end=serial_end, origin=origin,
            credit_eligible=eligible, reason=reason, requested_by=acting_user, requested_at=now or timezone.now())


@state_change
def reversal_request_create(*, original: LedgerTransaction, reason: str, acting_user,
                            now: datetime | None = None) -> BookingRequest:
    """Ask to reverse a transaction booked by mistake (a wrong allocation, a wrong surrender): every unit it
    moved goes back. A second administrator approves with a fresh code; a transaction is reversed once."""
    reason = _clean_reason(reason)
    try:
        with transaction.atomic(), audit_context(acting_user, action="reversal_request_create"):
            authorize(acting_user, ASK)
            original = LedgerTransaction.objects.select_for_update(no_key=True).get(pk=original.pk)
            if original.kind == LedgerTransaction.Kind.REVERSAL:
                _refuse(_("A reversal is not reversed; book the correction it needs instead."), "reverses",
                        ErrorCode.INVALID_STATE)
            if LedgerTransaction.objects.filter(reverses=original).exists():
                _refuse(_("Transaction %(id)s has already been reversed.") % {"id": original.pk}, "reverses",
                        ErrorCode.ALREADY_REVERSED)
            entries = list(original.entries.select_related("account").order_by("id"))
            gives_back = next(e for e in entries if e.quantity > 0)  # the account the units go back from
            return BookingRequest.objects.create(
                kind=BookingRequest.Kind.REVERSAL, reverses=original, account=gives_back.account,
                unit_type=gives_back.unit_type, vintage=gives_back.vintage, credit_batch_id=gives_back.credit_batch_id,
                quantity=sum(e.quantity for e in entries if e.quantity > 0), reason=reason,
                requested_by=acting_user, requested_at=now or timezone.now())
    except IntegrityError as error:
        if not _pending_exists(error):
            raise
        _refuse(_("A reversal of transaction %(id)s is already awaiting approval.") % {"id": original.pk},
                "reverses", ErrorCode.PENDING_EXISTS)


def _decide(request: BookingRequest, acting_user, otp_token: str | None) -> BookingRequest:
    """Lock a request awaiting approval and authorize a second administrator to decide it."""
    request = BookingRequest.objects.select_for_update(of=("self",), no_key=True).select_related("account").get(pk=request.pk)
    booking_request_decision_check(request=request, acting_user=acting_user, otp_token=otp_token)
    return request


@state_change
def booking_request_decision_check(*, request: BookingRequest, acting_user, otp_token: str | None = None) -> None:
    """Refuse unless ``acting_user``, a second administrator, may decide ``request`` now; without a code, the
    check a page makes before asking for one (nothing changes)."""
    if acting_user is not None and request.requested_by_id == acting_user.pk:
        _refuse(_("The administrator who asked cannot approve or reject it; a second administrator must."), "user",
                ErrorCode.SAME_PERSON)
    authorize(acting_user, DECIDE, fresh_code=otp_token)
    if request.status != BookingRequest.Status.AWAITING_APPROVAL:
        _refuse(_("This request is no longer awaiting approval."), "status", ErrorCode.INVALID_STATE)


@state_change
def booking_request_approve(*, request: BookingRequest, acting_user, otp_token: str,
                            now: datetime | None = None) -> BookingRequest:
    """The second administrator approves: the ledger is booked now, or the refusal is recorded."""
    with transaction.atomic(), audit_context(acting_user, action="booking_request_approve"):
        request = _decide(request, acting_user, otp_token)
        request.decided_by, request.decided_at = acting_user, now or timezone.now()
        key = f"booking-request-{request.pk}"
        try:
            with transaction.atomic():
                if request.is_credit_issuance:
                    request.credit_batch = _credit_batch_create(request)
                    booked = ledger.issue_credits(batch=request.credit_batch, account=request.account,
                                                  idempotency_key=key, booked_by=acting_user)
                elif request.kind == BookingRequest.Kind.ISSUANCE:
                    booked = ledger.issue_allowances(vintage=request.vintage, quantity=request.quantity,
                                                     idempotency_key=key, booked_by=acting_user)
                elif request.kind == BookingRequest.Kind.REVERSAL:
                    booked = ledger.reverse_transaction(original=request.reverses, idempotency_key=key,
                                                        booked_by=acting_user,
                                                        note=f"reversal of #{request.reverses_id}: {request.reason}"[:300])
                else:
                    unit = ledger.Unit(request.unit_type, request.vintage, request.credit_batch_id)
                    booked = ledger.cancel_units(account=request.account, unit=unit, quantity=request.quantity,
                                                 idempotency_key=key, booked_by=acting_user)
        except RegistryError as refusal:
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
        raise RegistryError(ErrorCode.DUPLICATE, _("These serial numbers overlap a batch already in the registry."),
                            "serial_start") from None


@state_change
def booking_request_reject(*, request: BookingRequest, acting_user, now: datetime | None = None) -> BookingRequest:
    with transaction.atomic(), audit_context(acting_user, action="booking_request_reject"):
        request = _decide(request, acting_user, None)
        request.status, request.decided_by, request.decided_at = (
            BookingRequest.Status.REJECTED, acting_user, now or timezone.now())
        request.save()
    return request
