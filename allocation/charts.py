"""A plan's emissions per FY as an SVG made on the server: readable without JavaScript, printable, and with the
same figures as the table beside it (each bar carries its value in ``data-t`` and in its tooltip title)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.templatetags.registry import fiscal_year as fiscal_year_label

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 12, 30, 56


@dataclass(frozen=True)
class ChartYear:
    fiscal_year: int
    actual_direct_t: int | None = None
    actual_indirect_t: int | None = None
    projected_total_t: int | None = None


def nice_ceiling(value: float) -> int:
    """An axis's top or step: 1, 2, 2.5 or 5 times a power of ten, at least ``value`` (the market's chart too)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return 10 * magnitude


def _bar(css, x, top, width, bottom, fiscal_year, value, title) -> str:
    return (f'<rect class="bar {css}" x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" height="{max(bottom - top, 0):.1f}" '
            f'data-fiscal-year="{fiscal_year}" data-series="{css}" data-t="{value}"><title>{escape(title)}: '
            f'{value:,} t-CO2</title></rect>')


def emissions_chart(years: list[ChartYear], *, chart_id: str, title: str) -> SafeString:
    """Actual emissions as stacked bars (direct, indirect) and projections as outlined bars, per FY."""
    years = sorted(years, key=lambda y: y.fiscal_year)
    highest = max([(y.actual_direct_t or 0) + (y.actual_indirect_t or 0) for y in years]
                  + [y.projected_total_t or 0 for y in years] + [0])
    top = nice_ceiling(highest)
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
    parts.append('<text class="axis" x="4" y="14">t-CO2</text>')
    for index, year in enumerate(years):
        centre = LEFT + slot * index + slot / 2
        raw_label = fiscal_year_label(year.fiscal_year)
        label = escape(raw_label)
        parts.append(f'<text class="axis" x="{centre:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{label}'
                     '</text>')
        both = year.actual_direct_t is not None and year.projected_total_t is not None
        width = bar_w / 2 if both else bar_w  # a year with both: actual on the left, projected on the right
        actual_x = centre - width if both else centre - width / 2
        projected_x = centre if both else centre - width / 2
        if year.actual_direct_t is not None:
            base = 0
            for value, css, name in ((year.actual_direct_t, "direct", _("Direct emissions")),
                                     (year.actual_indirect_t, "indirect", _("Indirect emissions"))):
                if value is None:
                    continue
                parts.append(_bar(css, actual_x, y_of(base + value), width, y_of(base), year.fiscal_year, value,
                                  f"{raw_label} {name}"))
                base += value
        if year.projected_total_t is not None:
            parts.append(_bar("projected", projected_x, y_of(year.projected_total_t), width, y_of(0),
                              year.fiscal_year, year.projected_total_t, f"{raw_label} {_('Projected total')}"))
    legend_y = HEIGHT - 16
    for offset, (css, name) in enumerate((("direct", _("Actual: direct")), ("indirect", _("Actual: indirect")),
                                          ("projected", _("Projected total")))):
        x = LEFT + offset * 170
        parts.append(f'<rect class="bar {css}" x="{x}" y="{legend_y - 10}" width="12" height="12"/>'
                     f'<text class="legend" x="{x + 18}" y="{legend_y}">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped or a number we formatted)
