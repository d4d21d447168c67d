"""PDF documents (statements, notices, certificates): one way to render them, with WeasyPrint.

Templates declare the Japanese font with ``@font-face { src: url("{{ font_url }}") }``, so a subset of
IPAex Gothic (``fonts-ipaexfont-gothic``, installed by ``make setup``; ``PDF_FONT_PATH`` overrides it)
is embedded and Japanese prints on any machine. Long listings (a notice's lines) are set on a grid of columns in
IPA Gothic (``fonts-ipafont-gothic``; ``PDF_GRID_FONT_PATH``), declared from ``{{ grid_font_url }}``: its glyphs are
exactly one column wide (ASCII) or two (everything else), so plain text lines up as a table would.
"""

import gc
import threading
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

DEFAULT_FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
DEFAULT_GRID_FONT = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"


def pdf_font() -> Path:
    return Path(getattr(settings, "PDF_FONT_PATH", None) or getattr(settings, "STATEMENT_FONT_PATH", DEFAULT_FONT))


def pdf_grid_font() -> Path:
    return Path(getattr(settings, "PDF_GRID_FONT_PATH", None) or DEFAULT_GRID_FONT)


_fonts = threading.local()


def _font_configuration() -> FontConfiguration:
    """One per thread, kept: it loads the @font-face font once rather than for every document (a sixth of a
    notice's time); not shared between threads, as fontconfig's state is not made for that."""
    if not hasattr(_fonts, "configuration"):
        _fonts.configuration = FontConfiguration()
    return _fonts.configuration


def render_pdf(template: str, context: dict) -> bytes:
    html = render_to_string(template, {**context, "font_url": pdf_font().as_uri(),
                                           "grid_font_url": pdf_grid_font().as_uri()})
    # A render allocates hundreds of thousands of short-lived objects; the cyclic collector scanning a
    # worker's whole heap again and again during it cost a third of a notice's time (benchmarks/README.md).
    # Paused for the render; what it leaves is collected as usual afterwards.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=_font_configuration())
    finally:
        if was_enabled:
            gc.enable()
