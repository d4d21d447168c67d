"""Account statements as PDF (WeasyPrint), with a Japanese font embedded so they print anywhere."""

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML

from accounts import holdings

MAX_STATEMENT_ROWS = 5000  # a statement is for reading; larger selections go to the CSV/XLSX export


def statement_font() -> Path:
    return Path(getattr(settings, "STATEMENT_FONT_PATH", "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"))


def account_statement_pdf(*, account, history, requested_by) -> bytes:
    entries = list(history.qs[:MAX_STATEMENT_ROWS + 1])
    html = render_to_string("accounts/statement_pdf.html", {
        "account": account, "entries": entries[:MAX_STATEMENT_ROWS], "truncated": len(entries) > MAX_STATEMENT_ROWS,
        "max_rows": MAX_STATEMENT_ROWS, "balances": holdings.balances(account=account),
        "filters": {field.label: value for field in history.form if (value := history.form.cleaned_data.get(field.name))}
        if history.is_bound else {},
        "generated_at": timezone.localtime(), "requested_by": requested_by, "font_url": statement_font().as_uri(),
    })
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
