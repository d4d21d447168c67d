"""One way to refuse: ``RegistryError(code, message, field)``, with every code in one enum.

A service raises it and writes nothing; the API returns the code (and the message, and the field);
a page shows the message at the field it names and answers 403 for a refusal of who may act, 400
for anything else. A service checking several fields of one request checks them all
(``FieldChecks``) and refuses once with every field that is wrong, so a form shows them together.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ErrorCode(models.TextChoices):
    # Who may act (answered with 403, but for the code)
    NOT_PERMITTED = "not_permitted", _("You may not do this.")
    SUSPENDED = "suspended", _("Your access has been suspended.")
    WRONG_SECOND_FACTOR = "wrong_second_factor", _("The second-factor code is wrong or was already used.")
    SAME_PERSON = "same_person", _("A second person must do this.")
    # What is asked (answered with 400)
    INVALID_INPUT = "invalid_input", _("Correct the value.")
    INVALID_QUANTITY = "invalid_quantity", _("Enter a whole number of units.")
    INVALID_STATE = "invalid_state", _("This can no longer be done.")
    DUPLICATE = "duplicate", _("This already exists.")
    # The ledger
    INSUFFICIENT_UNITS = "insufficient_units", _("The account holds too few units.")
    ACCOUNT_NOT_USABLE = "account_not_usable", _("The account cannot be used for this.")
    ROUTE_NOT_ALLOWED = "route_not_allowed", _("Units cannot move between these kinds of account.")
    IDEMPOTENCY_CONFLICT = "idempotency_conflict", _("This request key was already used for a different booking.")
    ALREADY_REVERSED = "already_reversed", _("This transaction has already been reversed.")
    PENDING_EXISTS = "pending_exists", _("A request for the same thing is already awaiting approval.")
    # Compliance
    COMPLIANCE = "compliance", _("This does not meet the compliance rules.")
    CREDIT_CAP = "credit_cap", _("Credits may cover only part of the verified emissions.")
    # Verification
    BODY_NOT_REGISTERED = "body_not_registered", _("The verification body is not registered for these dates.")
    CONFLICT_OF_INTEREST = "conflict_of_interest", _("The verification body has declared a conflict of interest.")
    NOT_INDEPENDENT = "not_independent", _("The independent reviewer must not be on the verification team.")


# Refusals of the person rather than of what they asked: a page answers 403 for these. A wrong
# second-factor code is a wrong value in a field (400), shown at that field.
FORBIDDEN_CODES = frozenset({ErrorCode.NOT_PERMITTED, ErrorCode.SUSPENDED, ErrorCode.SAME_PERSON})


class RegistryError(Exception):
    """A refusal with a code from ``ErrorCode``, a translatable message for the user and the field it is about."""

    def __init__(self, code: ErrorCode, message=None, field: str | None = None, others: tuple = ()):
        self.code = ErrorCode(code)
        self.message = message if message is not None else self.code.label
        self.field = field
        self.others = tuple(others)  # the refusals of the request's other fields, found with this one
        super().__init__(str(self.message))

    def __reduce__(self):
        # Crosses process boundaries (django-q2 workers, multiprocessing) as code, text and field.
        return (type(self), (self.code.value, str(self.message), self.field, self.others))

    @property
    def http_status(self) -> int:
        return 403 if self.code in FORBIDDEN_CODES else 400

    def refusals(self) -> tuple[RegistryError, ...]:
        """This refusal and those of the request's other fields."""
        return (self, *self.others)

    def __repr__(self):
        return f"RegistryError({self.code.value!r}, {str(self.message)!r}, field={self.field!r})"


class FieldChecks:
    """Checks of one request's fields that all run before it is refused, so the person sees at once every
    field that is wrong, not one at a time:

        check = FieldChecks()
        upper = check(parse_price, upper_value, "upper_limit_price_yen")   # None if refused
        lower = check(parse_price, lower_value, "lower_limit_price_yen")
        check.done()   # raises the first refusal, with the others in its ``others``
    """

    def __init__(self):
        self.refused: list[RegistryError] = []

    def __call__(self, check, *args, **kwargs):
        """``check(*args, **kwargs)``'s answer, or None when it refused (kept for ``done``)."""
        try:
            return check(*args, **kwargs)
        except RegistryError as refusal:
            self.refused.append(refusal)
            return None

    def failed(self, *fields: str) -> bool:
        """Whether any of these fields was refused (a check across fields waits for them to be right)."""
        return any(refusal.field in fields for refusal in self.refused)

    def done(self) -> None:
        if self.refused:
            first, *others = self.refused
            raise RegistryError(first.code, first.message, first.field, tuple(others))
