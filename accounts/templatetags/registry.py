from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def bar_chart(series, unit="t-CO2", label_prefix="FY"):
    """A small server-rendered SVG bar chart of [(label, value)]: no script, CSP-safe."""
    if not series:
        return ""
    width, height, pad, top = 480, 200, 40, 20
    peak = max((Decimal(v or 0) for _, v in series), default=Decimal(0)) or Decimal(1)
    slot = (width - pad) / len(series)
    bars = []
    for index, (label, value) in enumerate(series):
        value = Decimal(value or 0)
        bar_height = float(value / peak) * (height - pad - top)
        x = pad + index * slot + slot * 0.15
        y = height - pad - bar_height
        bars.append(
            (x, y, slot * 0.7, bar_height, f"{label_prefix}{label}: {number_format(value, 0, force_grouping=True)} {unit}",
             x + slot * 0.35, height - pad + 16, f"{label_prefix}{label}",
             x + slot * 0.35, y - 4, number_format(value, 0, force_grouping=True))
        )
    body = format_html_join(
        "",
        '<g><title>{}</title><rect class="bar" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"></rect>'
        '<text class="axis" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>'
        '<text class="value" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text></g>',
        ((b[4], b[0], b[1], b[2], b[3], b[5], b[6], b[7], b[8], b[9], b[10]) for b in bars),
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<line class="baseline" x1="{}" y1="{}" x2="{}" y2="{}"></line>{}</svg>',
        width, height, unit, pad, height - pad, width, height - pad, body,
    )


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key)
