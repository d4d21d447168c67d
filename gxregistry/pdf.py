"""PDF documents (statements, notices, certificates): one way to render them, with WeasyPrint.

Templates declare the Japanese font with ``@font-face { src: url("{{ font_url }}") }``, so a subset of
IPAex Gothic (``fonts-ipaexfont-gothic``, installed by ``make setup``; ``PDF_FONT_PATH`` overrides it)
is embedded and Japanese prints on any machine.
"""

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML

DEFAULT_FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"


def pdf_font() -> Path:
    return Path(getattr(settings, "PDF_FONT_PATH", None) or getattr(settings, "STATEMENT_FONT_PATH", DEFAULT_FONT))


def render_pdf(template: str, context: dict) -> bytes:
    html = render_to_string(template, {**context, "font_url": pdf_font().as_uri()})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
