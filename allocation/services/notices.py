"""Allocation notices (割当通知書): made once by the workers when an application is issued, verified by anyone.

The notice's content is a canonical JSON document; its SHA-256 is printed on the PDF with a QR code to the
public verify page, which answers whether a notice with that number and hash was issued and whether it
has been superseded. The PDF is stored with the notice and never made again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

import qrcode
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import HoldingAccount
from allocation.labels import line_label
from allocation.models import AllocationApplication, AllocationNotice
from allocation.services.cycle import RUN
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.pdf import render_pdf


def notice_number(application: AllocationApplication) -> str:
    return f"GX-AN-{application.fiscal_year}-{application.organisation.corporate_number}-{application.version:02d}"


def content_hash(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def notice_content(application: AllocationApplication, issued_on, supersedes: AllocationNotice | None) -> dict:
    """What the notice states, in the order the PDF prints it (text and whole numbers only)."""
    organisation = application.organisation
    account = organisation.holding_accounts.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING).first()
    previous_total = application.supersedes.computed_total if application.supersedes_id else None
    return {
        "number": notice_number(application),
        "issued_on": issued_on.isoformat(),
        "fiscal_year": application.fiscal_year,
        "addressee": {"name": organisation.name, "name_en": organisation.name_en,
                      "corporate_number": organisation.corporate_number, "address": organisation.address},
        "lines": application.computed_lines,
        "adjustment_t": application.adjustment_t,
        "adjustment_reason": application.adjustment_reason,
        "carried_forward_t": application.carried_forward_t,
        "total": application.computed_total,
        "previous_total": previous_total,
        "booked": application.issued_quantity,
        "account": account.number if account else None,
        "ledger_transaction": application.ledger_transaction_id,
        "supersedes": supersedes.number if supersedes else None,
        "correction_reason": application.correction_reason,
    }


def verify_url(number: str, sha256: str) -> str:
    return settings.REGISTRY_PUBLIC_URL.rstrip("/") + reverse("notice_verify") + "?" + urlencode(
        {"number": number, "sha256": sha256})


def _qr_data_uri(url: str) -> str:
    """The QR code as a PNG (Pillow comes with WeasyPrint): an SVG of the same code took WeasyPrint ~30 ms more.
    One fixed mask pattern (any of the eight is a valid code): searching for the best one took ~15 ms."""
    code = qrcode.QRCode(box_size=4, border=2, mask_pattern=2)
    code.add_data(url)
    image = code.make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@state_change
def notice_create(*, application: AllocationApplication, acting_user) -> AllocationNotice:
    """Make and store the notice of an issued application (once: a second call returns the stored notice)."""
    with transaction.atomic(), audit_context(acting_user, action="notice_create"):
        application = (AllocationApplication.objects.select_for_update(of=("self",), no_key=True).select_related("organisation", "supersedes")
                       .get(pk=application.pk))
        authorize(acting_user, RUN)
        existing = AllocationNotice.objects.filter(application=application).first()
        if existing is not None:
            return existing
        if application.status not in (AllocationApplication.Status.ISSUED, AllocationApplication.Status.SUPERSEDED):
            raise RegistryError(ErrorCode.INVALID_STATE, _("A notice is made once the allocation is issued."), "status")
        supersedes = AllocationNotice.objects.filter(application=application.supersedes_id).first() \
            if application.supersedes_id else None
        content = notice_content(application, timezone.localdate(), supersedes)
        sha256 = content_hash(content)
        kinds = {line["kind"] for line in content["lines"]}
        labels = {kind: (str(line_label(kind)), _english(line_label(kind))) for kind in kinds}
        lines = [{**line, "label": labels.get(line["kind"], (line["kind"], line["kind"]))} for line in content["lines"]]
        adjustment = (content["adjustment_t"], content["adjustment_reason"]) if content["adjustment_t"] else None
        url = verify_url(content["number"], sha256)
        pdf = render_pdf("allocation/notice_pdf.html", {
            "notice": content, "sha256": sha256, "qr": _qr_data_uri(url), "verify_url": url,
            "kinds": sorted(labels.items()), "grid": notice_grid(lines, adjustment)})
        return AllocationNotice.objects.create(application=application, number=content["number"],
                                               issued_on=timezone.localdate(), supersedes=supersedes,
                                               content=content, sha256=sha256, pdf=pdf)


# The engine lines are printed as one line of text each, on a grid of columns: WeasyPrint lays out a table cell in
# about the time it lays out a whole line, and a notice of 75 lines spent two thirds of its time in a six-column
# table (benchmarks/README.md). The grid font's glyphs are one column (ASCII) or two (the rest) wide.
# Fixed columns first (amount, baseline, factor, §), then the line's kind and facility, which may wrap: the
# template indents wrapped text to GRID_INDENT.
GRID = (("amount", 16, ">"), ("baseline", 22, ">"), ("factor", 11, ">"), ("section", 10, "<"))
GRID_GAP = 2
GRID_INDENT = sum(width for _, width, _ in GRID) + GRID_GAP * (len(GRID) - 1)
GRID_HEAD = ({"amount": "割当量 t-CO2", "baseline": "基準量", "factor": "係数", "section": "条項", "where": "区分・施設・工程"},
             {"amount": "Amount t-CO2", "baseline": "Baseline", "factor": "Factor", "section": "§",
              "where": "Line, facility, process"})


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(character) in "WFA" else 1 for character in text)


def _grid_row(cells: dict) -> str:
    fixed = []
    for name, width, align in GRID:
        text = cells[name]
        pad = " " * max(width - _columns(text), 0)
        fixed.append(pad + text if align == ">" else text + pad)
    return (" " * GRID_GAP).join(fixed) + cells["where"]


def _figure(value, places: int) -> str:
    """As the pages print it: grouped, rounded half up to ``places`` (Django's floatformat)."""
    if value in (None, ""):
        return "—"
    return f"{Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP):,.{places}f}"


def notice_grid(lines: list[dict], adjustment: tuple | None = None) -> dict:
    """The lines table of a notice as text on the grid: two heading rows (Japanese, English) and one row a line;
    ``lines`` carry their ``label`` (Japanese, English); ``adjustment`` is (quantity, reason) or None."""
    rows = []
    for line in lines:
        where = line.get("facility") or "—"
        if line.get("process"):
            where += f" / {line['process']}"
        baseline = _figure(line.get("baseline"), 3)
        if line.get("baseline") not in (None, "") and line.get("baseline_unit"):
            baseline += f" {line['baseline_unit']}"
        rows.append(_grid_row({"amount": _figure(line["amount"], 3), "baseline": baseline,
                               "factor": _figure(line.get("factor"), 6), "section": line.get("section") or "",
                               "where": f"{line['label'][0]}　{where}"}))
    if adjustment is not None:
        quantity, reason = adjustment
        rows.append(_grid_row({"amount": f"{quantity:,}", "baseline": "—", "factor": "—", "section": "§5-1(2)",
                               "where": f"調整 Administrator's adjustment　{reason}"}))
    return {"head": [_grid_row(cells) for cells in GRID_HEAD], "rows": rows, "indent": GRID_INDENT}


def _english(label) -> str:
    from django.utils import translation

    with translation.override("en"):
        return str(label)


@dataclass(frozen=True)
class Verification:
    number: str
    found: bool  # a notice with this number was issued
    matches: bool  # ... and this is its hash
    notice: AllocationNotice | None
    superseded_by: AllocationNotice | None


def notice_verification(*, number: str, sha256: str) -> Verification:
    """The public verify page's answer (no login): issued? this content? superseded?"""
    number, sha256 = (number or "").strip()[:40], (sha256 or "").strip().lower()[:64]
    notice = AllocationNotice.objects.filter(number=number).select_related("application").first()
    if notice is None:
        return Verification(number, False, False, None, None)
    matches = notice.sha256 == sha256
    successor = AllocationNotice.objects.filter(supersedes=notice).first()
    return Verification(number, True, matches, notice, successor)
