"""The allowance ledger (排出枠口座簿): its booking primitive and reconciliation (``booking``), the routes
between account kinds (``routes``), transfers and the trusted list (``transfers``), administrators' acts
under four eyes (``administration``), holdings, statements and search, and their pages and API.

``from accounts import ledger`` gives the booking module's public API, the ledger's core.
"""

from accounts.ledger.booking import (  # noqa: F401 - the package's public API
    MAX_QUANTITY,
    RETRY_ATTEMPTS,
    RETRYABLE_SQLSTATES,
    Move,
    Reconciliation,
    Unit,
    account_closed,
    allocation_return,
    allocation_transfer,
    allowance,
    ascii_digits,
    book,
    call_prepared,
    cancel_units,
    cash_account_open,
    clean_quantity,
    free_and_reserved,
    government_account,
    government_accounts,
    held_at_least,
    holding_account_open,
    insufficient_units,
    issue_allowances,
    issue_credits,
    log_booked,
    reconcile,
    reverse_transaction,
    route_not_allowed,
    transfer_units,
)
