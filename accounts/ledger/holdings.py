"""Reads of holdings and ledger history, always through the user's restriction (selectors)."""

from collections import defaultdict
from itertools import accumulate, islice
from zoneinfo import ZoneInfo

import django_filters
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from accounts.models import Balance, DailyBalanceChange, HoldingAccount, LedgerEntry, LedgerTransaction, UnitType


def holding_account_list(*, fetched_by, organisation=None):
    qs = HoldingAccount.objects.restrict(fetched_by).select_related("organisation")
    return qs.filter(organisation=organisation) if organisation is not None else qs


def balances(*, account):
    return Balance.objects.filter(account=account).exclude(quantity=0).select_related("credit_batch")


def balance_over_time(*, account, unit_type=UnitType.ALLOWANCE):
    """[(date, balance at the end of that day)] for one unit type, from the daily rollup the entry
    trigger keeps (one query, one row per day however many entries)."""
    rows = (DailyBalanceChange.objects.filter(balance__account=account, balance__unit_type=unit_type)
            .values("day").annotate(change=Sum("change")).order_by("day"))
    days = [row["day"] for row in rows]
    return list(zip(days, accumulate(row["change"] for row in rows), strict=True))


class EntryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(field_name="transaction__kind", label=_("Kind"),
                                       choices=LedgerTransaction.Kind.choices)
    unit_type = django_filters.ChoiceFilter(label=_("Unit type"), choices=UnitType.choices)
    vintage = django_filters.NumberFilter(label=_("Vintage"))
    booked_from = django_filters.DateFilter(field_name="transaction__booked_at", lookup_expr="date__gte",
                                            label=_("Booked from"))
    booked_to = django_filters.DateFilter(field_name="transaction__booked_at", lookup_expr="date__lte",
                                          label=_("Booked to"))

    class Meta:
        model = LedgerEntry
        fields = ["kind", "unit_type", "vintage", "booked_from", "booked_to"]

    @property
    def qs(self):
        # A filter the user got wrong selects nothing (and exports nothing), never everything.
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return super().qs


def account_history(*, account, params=None):
    """The account's entries, newest first, filtered by ``params`` (a FilterSet bound to them)."""
    # Transaction ids follow booking order; ordering by them walks the (account, transaction) index
    # backwards instead of sorting every entry of a busy account by date.
    entries = (LedgerEntry.objects.filter(account=account)
               .select_related("transaction").order_by("-transaction_id", "-id"))
    return EntryFilter(params or None, queryset=entries)


TOKYO = ZoneInfo("Asia/Tokyo")


def with_counterparties(entries, *, account) -> list:
    """The entries of ``account``, each with ``counterparties``: the accounts on the other side of its move
    (where units of the same kind came from, or went to), named by number and holder on the page. One query per
    batch. Only the same unit counts: a trade's booking also moves yen, and one booking settles all the fills of an
    incoming order, so a seller sees its buyer, never another seller of the same order."""
    entries = list(entries)
    others = defaultdict(list)
    for other in (LedgerEntry.objects.filter(transaction_id__in={entry.transaction_id for entry in entries})
                  .exclude(account=account).select_related("account__organisation")):
        others[other.transaction_id].append(other)
    for entry in entries:
        entry.counterparties = sorted(
            {other.account for other in others[entry.transaction_id]
             if (other.quantity > 0) != (entry.quantity > 0)
             and (other.unit_type, other.vintage, other.credit_batch_id)
             == (entry.unit_type, entry.vintage, entry.credit_batch_id)},
            key=lambda found: found.number)
    return entries


EXPORT_HEADERS = ("transaction", "booked_at_jst", "kind", "direction", "counterparty_account", "counterparty_holder",
                  "unit_type", "vintage", "quantity", "note")


def history_rows(entries, *, account):
    """Export rows: times in JST with the offset written (+09:00), the other side named, the direction in words."""
    iterator = entries.iterator(chunk_size=2000)
    while chunk := list(islice(iterator, 2000)):
        for entry in with_counterparties(chunk, account=account):
            yield (entry.transaction_id, entry.transaction.booked_at.astimezone(TOKYO).isoformat(timespec="seconds"),
                   entry.transaction.kind, "received" if entry.quantity > 0 else "sent",
                   " ".join(other.number for other in entry.counterparties),
                   " ".join(other.organisation.name if other.organisation_id else other.get_kind_display()
                            for other in entry.counterparties),
                   entry.unit_type, entry.vintage, entry.quantity, entry.transaction.note)
