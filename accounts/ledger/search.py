"""The administrators' search over every account and transaction (issue 3: Administrator pages)."""

from dataclasses import dataclass

from django.db.models import Q

from accounts.models import HoldingAccount, LedgerEntry, LedgerTransaction

RESULT_LIMIT = 50


@dataclass(frozen=True)
class SearchResults:
    accounts: list
    transactions: list


def registry_search(query: str) -> SearchResults:
    """Accounts by number, name, holder or corporate number; transactions by number (#123), request key,
    note or an account number they touch. At most RESULT_LIMIT of each, newest transactions first."""
    query = query.strip()
    number = query.lstrip("#")
    accounts = list(HoldingAccount.objects.filter(
        Q(number__icontains=query) | Q(name__icontains=query) | Q(organisation__name__icontains=query)
        | Q(organisation__name_en__icontains=query) | Q(organisation__corporate_number=query.replace("-", "")))
        .select_related("organisation").order_by("number")[:RESULT_LIMIT])
    # Separate indexed lookups, newest first, rather than one OR over a join (which scans everything).
    ids = set(LedgerTransaction.objects.filter(idempotency_key=query).values_list("pk", flat=True))
    if number.isdigit() and len(number) < 19:
        ids |= set(LedgerTransaction.objects.filter(pk=int(number)).values_list("pk", flat=True))
    account = HoldingAccount.objects.filter(number__iexact=query).first()
    if account is not None:
        ids |= set(LedgerEntry.objects.filter(account=account).order_by("-transaction_id")
                   .values_list("transaction_id", flat=True)[:RESULT_LIMIT])
    # A note search reads every note (no trigram index): only for words that named nothing exactly.
    if not ids and not accounts and len(query) >= 3:
        ids |= set(LedgerTransaction.objects.filter(note__icontains=query).order_by("-pk")
                   .values_list("pk", flat=True)[:RESULT_LIMIT])
    transactions = list(LedgerTransaction.objects.filter(pk__in=ids).prefetch_related("entries__account")
                        .order_by("-booked_at", "-pk")[:RESULT_LIMIT])
    return SearchResults(accounts, transactions)
