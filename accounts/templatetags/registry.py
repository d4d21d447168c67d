from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from accounts.models import EmissionsSource

register = template.Library()


@register.filter
def fiscal_year(year) -> str:
    """FY2026 in English, 2026年度 in Japanese; never digit-grouped like a quantity. Nothing for vintage 0, yen's
    (a unit without a fiscal year), so a cash account's lines read "Yen", not "Yen FY0"."""
    if year == 0:
        return ""
    return _("FY%(year)s") % {"year": str(year)}


def _coordinates(*values):
    return [f"{value:.1f}" for value in values]


@register.simple_tag
def bar_chart(series, unit="t-CO2"):
    """A small server-rendered SVG bar chart of [(fiscal year, value)] or [(fiscal year, value, source)]: no
    script, CSP-safe. A source (EmissionsSource) classes its bar and names itself in the bar's tooltip; where the
    sources differ, a legend tells the verified figures from the others."""
    if not series:
        return ""
    width, height, pad, top = 480, 200, 40, 34  # the unit above the tallest bar's figure
    peak = max((Decimal(v or 0) for _label, v, *_source in series), default=Decimal(0)) or Decimal(1)
    slot = (width - pad) / len(series)
    bars, sources = [], {source for _label, _v, *source in series for source in source}
    for index, (label, value, *source) in enumerate(series):
        value = Decimal(value or 0)
        bar_height = float(value / peak) * (height - pad - top)
        x = pad + index * slot + slot * 0.15
        y = height - pad - bar_height
        shown = number_format(value, 0, force_grouping=True)
        named = f" — {EmissionsSource(source[0]).label}" if source else ""
        # Coordinates are formatted here: format_html escapes its arguments to
        # strings, so a "{:.1f}" in its template would fail.
        bars.append(
            (f"{fiscal_year(label)}: {shown} {unit}{named}", " ".join(["bar", *source]),
             *_coordinates(x, y, slot * 0.7, bar_height),
             *_coordinates(x + slot * 0.35, height - pad + 16), fiscal_year(label),
             *_coordinates(x + slot * 0.35, y - 4), shown)
        )
    body = format_html_join(
        "",
        '<g><title>{}</title><rect class="{}" x="{}" y="{}" width="{}" height="{}"></rect>'
        '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>'
        '<text class="value" x="{}" y="{}" text-anchor="middle">{}</text></g>',
        bars,
    )
    legend = ""
    if len(sources) > 1:
        legend = format_html_join("", '<rect class="bar {}" x="{}" y="{}" width="10" height="10"></rect>'
                                      '<text class="axis" x="{}" y="{}">{}</text>',
                                  [(source, 60 + index * 190, height - 14, 74 + index * 190, height - 5,
                                    EmissionsSource(source).label)
                                   for index, source in enumerate((EmissionsSource.VERIFIED,
                                                                   EmissionsSource.APPLICATION))])
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<text class="axis" x="0" y="{}">{}</text>'
        '<line class="baseline" x1="{}" y1="{}" x2="{}" y2="{}"></line>{}{}</svg>',
        width, height, unit, 12, unit, pad, height - pad, width, height - pad, body, legend,
    )


@register.filter
def emissions_source(source) -> str:
    """Where a FY's emissions figure comes from, in the reader's language."""
    return EmissionsSource(source).label if source in EmissionsSource.values else ""


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key)


@register.simple_tag
def step_chart(series, unit="t"):
    """An SVG step line of [(date, value)] — a balance over time; no script, CSP-safe."""
    if not series:
        return ""
    width, height, pad, top = 480, 200, 40, 20
    values = [Decimal(v) for _, v in series]
    peak = max(max(values), Decimal(1))
    step = (width - pad) / max(len(series) - 1, 1)
    points = []
    for index, value in enumerate(values):
        x = pad + index * step
        y = height - pad - float(value / peak) * (height - pad - top)
        if points:
            points.append(f"{x:.1f},{points[-1].split(',')[1]}")
        points.append(f"{x:.1f},{y:.1f}")
    if len(points) == 1:  # one day of history: the balance held since, a level line (one point draws nothing)
        points.append(f"{width:.1f},{points[0].split(',')[1]}")
    first, last = series[0][0], series[-1][0]
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<line class="baseline" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
        '<polyline class="line" points="{}"></polyline>'
        '<text class="axis" x="{}" y="{}">{}</text><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="value" x="{}" y="{}" text-anchor="end">{} {}</text></svg>',
        width, height, unit, pad, height - pad, width, height - pad, " ".join(points),
        pad, height - pad + 16, first, width - 4, height - pad + 16, last,
        width - 4, top - 4, number_format(values[-1], 0, force_grouping=True), unit,  # inside the frame
    )


@register.filter
def in_reader_language(organisation) -> str:
    """An organisation's (or a facility's) name as the reader reads it: the English name on English pages
    where there is one, the Japanese name otherwise."""
    if not organisation:
        return ""
    name_en = getattr(organisation, "name_en", "")
    return name_en if reads_english() and name_en else organisation.name


def reads_english() -> bool:
    """Whether the reader reads English (else Japanese, the registry's own language)."""
    from django.utils.translation import get_language

    return (get_language() or "").startswith("en")


@register.filter
def sector_label(value) -> str:
    """A sector's name in the reader's language from its stored value."""
    from accounts.models import Sector

    return Sector(value).label if value in Sector.values else ""


@register.filter
def account_and_holder(account) -> str:
    """An account as the other side of an act is named: its number and its holder (the government's accounts
    by their kind), so nobody confirms a transfer to a number alone."""
    if not account:
        return ""
    holder = in_reader_language(account.organisation) if account.organisation_id else account.get_kind_display()
    return f"{account.number} — {holder}"


@register.filter
def unit_type_label(unit_type: str) -> str:
    """A unit type's name in the reader's language, from its code."""
    from accounts.models import UnitType

    return UnitType(unit_type).label if unit_type in UnitType.values else unit_type
