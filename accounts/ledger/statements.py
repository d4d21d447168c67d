"""Account statements as PDF, with the Japanese font embedded so they print anywhere (gxregistry.pdf).

A statement covers a period (the history filter's dates; without them, from the first booking to now) and
states, per unit, the balance at its opening and its close, every transaction with the other side named,
and who issued it."""

from collections import defaultdict

from django.db.models import Sum
from django.utils import timezone

from accounts.ledger import holdings
from accounts.models import Balance, CreditBatch, LedgerEntry
from gxregistry.pdf import render_pdf

MAX_STATEMENT_ROWS = 5000  # a statement is for reading; larger selections go to the CSV/XLSX export


def opening_and_closing(*, account, booked_from=None, booked_to=None) -> list[dict]:
    """Per unit (type, vintage, batch): the balance at the start of ``booked_from`` and at the end of
    ``booked_to`` (JST days; open ends mean the first booking and now), from today's balance walked back."""
    def sums(**period):
        rows = (LedgerEntry.objects.filter(account=account, **period)
                .values("unit_type", "vintage", "credit_batch").annotate(total=Sum("quantity")))
        return {(row["unit_type"], row["vintage"], row["credit_batch"]): row["total"] for row in rows}

    now = {(b.unit_type, b.vintage, b.credit_batch_id): b.quantity for b in Balance.objects.filter(account=account)}
    after = sums(transaction__booked_at__date__gt=booked_to) if booked_to else {}
    within = {}
    if booked_from or booked_to:
        period = {}
        if booked_from:
            period["transaction__booked_at__date__gte"] = booked_from
        if booked_to:
            period["transaction__booked_at__date__lte"] = booked_to
        within = sums(**period)
    lines = defaultdict(dict)
    for key in set(now) | set(after) | set(within):
        closing = now.get(key, 0) - after.get(key, 0)
        opening = closing - within.get(key, 0) if (booked_from or booked_to) else 0
        if opening or closing:
            lines[key] = {"opening": opening, "closing": closing}
    batches = CreditBatch.objects.in_bulk([key[2] for key in lines if key[2]])
    return [{"unit_type": key[0], "vintage": key[1], "credit_batch": batches.get(key[2]), **figures}
            for key, figures in sorted(lines.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0))]


def account_statement_pdf(*, account, history, requested_by) -> bytes:
    entries = list(history.qs[:MAX_STATEMENT_ROWS + 1])
    chosen = history.form.cleaned_data if history.is_bound else {}
    booked_from, booked_to = chosen.get("booked_from"), chosen.get("booked_to")
    if not (booked_from or booked_to):  # the whole history: it opens empty at the account's first booking
        first = LedgerEntry.objects.filter(account=account).order_by("transaction_id").select_related(
            "transaction").first()
        booked_from = timezone.localtime(first.transaction.booked_at).date() if first else None
    return render_pdf("accounts/statement_pdf.html", {
        "account": account, "truncated": len(entries) > MAX_STATEMENT_ROWS, "max_rows": MAX_STATEMENT_ROWS,
        "entries": holdings.with_counterparties(entries[:MAX_STATEMENT_ROWS], account=account),
        "period_from": booked_from, "period_to": booked_to or timezone.localdate(),
        "balances": opening_and_closing(account=account, booked_from=chosen.get("booked_from"), booked_to=booked_to),
        "filters": {field.label: value for field in history.form if field.name not in ("booked_from", "booked_to")
                    and (value := chosen.get(field.name))},
        "generated_at": timezone.localtime(), "requested_by": requested_by,
    })
