"""Account statements as PDF, with the Japanese font embedded so they print anywhere (gxregistry.pdf)."""

from django.utils import timezone

from accounts.ledger import holdings
from gxregistry.pdf import render_pdf

MAX_STATEMENT_ROWS = 5000  # a statement is for reading; larger selections go to the CSV/XLSX export


def account_statement_pdf(*, account, history, requested_by) -> bytes:
    entries = list(history.qs[:MAX_STATEMENT_ROWS + 1])
    return render_pdf("accounts/statement_pdf.html", {
        "account": account, "entries": entries[:MAX_STATEMENT_ROWS], "truncated": len(entries) > MAX_STATEMENT_ROWS,
        "max_rows": MAX_STATEMENT_ROWS, "balances": holdings.balances(account=account),
        "filters": {field.label: value for field in history.form if (value := history.form.cleaned_data.get(field.name))}
        if history.is_bound else {},
        "generated_at": timezone.localtime(), "requested_by": requested_by,
    })
