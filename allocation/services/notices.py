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
from dataclasses import dataclass
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
    """The QR code as a PNG (Pillow comes with WeasyPrint): an SVG of the same code took WeasyPrint ~30 ms more."""
    image = qrcode.make(url, box_size=4, border=2)
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
        pdf = render_pdf("allocation/notice_pdf.html", {
            "notice": content, "sha256": sha256, "qr": _qr_data_uri(verify_url(content["number"], sha256)),
            "verify_url": verify_url(content["number"], sha256), "kinds": sorted(labels.items()),
            "lines": [{**line, "label": labels.get(line["kind"], (line["kind"], line["kind"]))}
                      for line in content["lines"]]})
        return AllocationNotice.objects.create(application=application, number=content["number"],
                                               issued_on=timezone.localdate(), supersedes=supersedes,
                                               content=content, sha256=sha256, pdf=pdf)


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
