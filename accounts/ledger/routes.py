"""Which kinds of account may send units to which, per kind of ledger transaction: the one table.

The booking function enforces it too, through ``gx_ledger_route_allowed``, which a migration generates
from this table (``route_function_sql``; ``accounts/tests/test_routes.py`` proves the two agree, so a
change here without a migration that reloads it fails the suite). No caller, job or raw call can route
units otherwise. A reversal moves units back along the route of the transaction it reverses.

Holders never send units into a government account by transfer: units reach the retirement account
only by surrender (which records them for compliance), the cancellation account only by a
cancellation under four eyes, the issuance account only by reversal, and the allocation reserve by reversal
or when a correction lowers an issued allocation (an allocation transaction back from the entity's account).
"""

HOLDER_KINDS = ("operator_holding", "trading")

ROUTES: dict[str, frozenset[tuple[str, str]]] = {
    # Allowances into the allocation reserve; credits brought in from the J-Credit/JCM registries, to holders.
    "issuance": frozenset({("issuance", "allocation_reserve"), ("issuance", "operator_holding"),
                           ("issuance", "trading")}),
    "allocation": frozenset({("allocation_reserve", "operator_holding"), ("operator_holding", "allocation_reserve")}),
    "transfer": frozenset((source, destination) for source in HOLDER_KINDS for destination in HOLDER_KINDS),
    "surrender": frozenset({("operator_holding", "retirement")}),
    "cancellation": frozenset({("operator_holding", "cancellation"), ("trading", "cancellation"),
                               ("allocation_reserve", "cancellation")}),
    # The market (issue 14). Yen enter a participant's cash account from the mirror of GXA's bank account when
    # GXA confirms a bank transfer, and leave the same way; a trade delivers units between holders and pays yen
    # between cash accounts. The balance guard keeps yen in cash accounts and units out of them, so the routes
    # between holder kinds never carry yen.
    "cash_deposit": frozenset({("market_bank", "market_cash")}),
    "cash_withdrawal": frozenset({("market_cash", "market_bank")}),
    "trade": frozenset({(source, destination) for source in HOLDER_KINDS for destination in HOLDER_KINDS}
                       | {("market_cash", "market_cash")}),
    # GXA's reverse auction (§1): a holder's accepted allowances go to GXA's auction account and GXA pays the
    # seller's cash account from its bank (the mirror goes further below zero by what GXA paid in).
    "reverse_auction": frozenset({(source, "gxa_auction") for source in HOLDER_KINDS}
                                 | {("market_bank", "market_cash")}),
}


def allowed(kind: str, source_kind: str, destination_kind: str) -> bool:
    return (source_kind, destination_kind) in ROUTES.get(kind, ())


def route_rows() -> list[tuple[str, str, str]]:
    return sorted((kind, source, destination) for kind, pairs in ROUTES.items() for source, destination in pairs)


def route_function_sql() -> str:
    """The SQL function the booking function asks; one array element per route. One expression without a subquery,
    so PostgreSQL inlines it into the booking's query instead of parsing and planning it at every call."""
    rows = ",\n    ".join(f"'{kind}/{source}/{destination}'" for kind, source, destination in route_rows())
    return f"""
CREATE OR REPLACE FUNCTION gx_ledger_route_allowed(p_kind text, p_source text, p_destination text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_kind || '/' || p_source || '/' || p_destination = ANY (ARRAY[
    {rows}])
$$;
"""
