"""A plan's emissions per FY as an SVG made on the server: readable without JavaScript, printable, and with the
same figures as the table beside it (each bar carries its value in ``data-t`` and in its tooltip title)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.templatetags.registry import fiscal_year as fiscal_year_label

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 12, 16, 56


@dataclass(frozen=True)
class ChartYear:
    fiscal_year: int
    actual_direct_t: int | None = None
    actual_indirect_t: int | None = None
    projected_total_t: int | None = None


def _nice_ceiling(value: int) -> int:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return 10 * magnitude


def emissions_chart(years: list[ChartYear], *, chart_id: str, title: str) -> SafeString:
    """Actual emissions as stacked bars (direct, indirect) and projections as outlined bars, per FY."""
    years = sorted(years, key=lambda y: y.fiscal_year)
    highest = max([(y.actual_direct_t or 0) + (y.actual_indirect_t or 0) for y in years]
                  + [y.projected_total_t or 0 for y in years] + [0])
    top = _nice_ceiling(highest)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(years), 1)
    bar_w = min(slot * 0.6, 56)

    def y_of(value):
        return TOP + plot_h - plot_h * value / top

    parts = [f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>']
    for tick in range(5):  # gridlines and the axis in t-CO2
        value = top * tick // 4
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,}</text>')
    parts.append(f'<text class="axis" x="4" y="{TOP - 4}">t-CO2</text>')
    for index, year in enumerate(years):
        centre = LEFT + slot * index + slot / 2
        label = escape(fiscal_year_label(year.fiscal_year))
        parts.append(f'<text class="axis" x="{centre:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{label}'
                     '</text>')
        if year.actual_direct_t is not None:
            base = 0
            for value, css, name in ((year.actual_direct_t, "direct", _("Direct emissions")),
                                     (year.actual_indirect_t, "indirect", _("Indirect emissions"))):
                if value is None:
                    continue
                y0, y1 = y_of(base + value), y_of(base)
                parts.append(f'<rect class="bar {css}" x="{centre - bar_w / 2:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                             f'height="{max(y1 - y0, 0):.1f}" data-fiscal-year="{year.fiscal_year}" '
                             f'data-series="{css}" data-t="{value}"><title>{label} {escape(name)}: {value:,} t-CO2'
                             '</title></rect>')
                base += value
        if year.projected_total_t is not None:
            value = year.projected_total_t
            y0 = y_of(value)
            parts.append(f'<rect class="bar projected" x="{centre - bar_w / 2:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                         f'height="{y_of(0) - y0:.1f}" data-fiscal-year="{year.fiscal_year}" data-series="projected" '
                         f'data-t="{value}"><title>{label} {escape(_("Projected total"))}: {value:,} t-CO2</title>'
                         '</rect>')
    legend_y = HEIGHT - 16
    for offset, (css, name) in enumerate((("direct", _("Actual: direct")), ("indirect", _("Actual: indirect")),
                                          ("projected", _("Projected total")))):
        x = LEFT + offset * 170
        parts.append(f'<rect class="bar {css}" x="{x}" y="{legend_y - 10}" width="12" height="12"/>'
                     f'<text class="legend" x="{x + 18}" y="{legend_y}">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped or a number we formatted)
