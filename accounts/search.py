"""The administrators' search over every account and transaction (issue 3: Administrator pages)."""

from dataclasses import dataclass

from django.db.models import Q

from accounts.models import HoldingAccount, LedgerTransaction

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
    match = Q(idempotency_key=query) | Q(note__icontains=query) | Q(entries__account__number__iexact=query)
    if number.isdigit() and len(number) < 19:
        match |= Q(pk=int(number))
    transaction_ids = (LedgerTransaction.objects.filter(match).order_by("-booked_at", "-pk")
                       .values_list("pk", flat=True).distinct()[:RESULT_LIMIT])
    transactions = list(LedgerTransaction.objects.filter(pk__in=list(transaction_ids))
                        .prefetch_related("entries__account").order_by("-booked_at", "-pk"))
    return SearchResults(accounts, transactions)
