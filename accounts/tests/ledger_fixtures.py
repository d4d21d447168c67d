"""Accounts with allowances in them, built with the ledger's own services."""

import itertools

from accounts import ledger
from accounts.models import HoldingAccount, Organisation
from accounts.services import organisation_create, system_actor

_keys = itertools.count(1)
_numbers = itertools.count(8000)


def key(prefix="t"):
    return f"{prefix}-{next(_keys)}"


def holding_account(name="Entity") -> HoldingAccount:
    from accounts.validators import synthetic_corporate_number

    organisation = organisation_create(acting_user=system_actor(), kind=Organisation.Kind.REGULATED_ENTITY, name=name, sector="steel",
                                       corporate_number=synthetic_corporate_number(next(_numbers), 8))
    return ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING, organisation=organisation)


def funded(quantity, vintage=2026, name="Entity") -> HoldingAccount:
    account = holding_account(name)
    ledger.issue_allowances(vintage=vintage, quantity=quantity, idempotency_key=key("issue"))
    ledger.allocation_transfer(account=account, vintage=vintage, quantity=quantity, idempotency_key=key("alloc"))
    return account


def held(account, vintage=2026) -> int:
    balance = account.balances.filter(unit_type="allowance", vintage=vintage).first()
    return balance.quantity if balance else 0
