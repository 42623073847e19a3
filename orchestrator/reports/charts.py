"""Charts drawn on the server: inline SVG for the console, reportlab drawings for the bulletin.

No script and no CDN: the console pages work offline and the bulletin's chart is vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

PALETTE = ("#2f6db5", "#e08a2c", "#3c9a5f", "#b5443c", "#7a5bb5")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]


def nice_ceiling(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def axis(peak_value: float) -> tuple[float, float]:
    """(maximum, step) for a count axis: whole steps, about five of them."""
    step = max(1.0, nice_ceiling(peak_value / 5))
    return max(step, math.ceil(peak_value / step) * step), step


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def bar_svg(
    title: str,
    categories: list[str],
    series: list[Series],
    *,
    width: int = 480,
    height: int = 240,
    unit: str = "",
) -> str:
    """A grouped vertical bar chart as an <svg> element (text escaped, accessible title)."""
    left, right, top, bottom = 44, 12, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak, step = axis(max((v for s in series for v in s.values), default=0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(round(peak / step) + 1):
        value = step * i
        y = top + plot_h - plot_h * value / peak
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{_number(value)}{escape(unit)}</text>"
        )
    parts += _bars(categories, series, left, top, plot_w, plot_h, peak)
    parts += _legend(series, width - right, top - 16)
    parts.append("</svg>")
    return "".join(parts)


def _bars(
    categories: list[str],
    series: list[Series],
    left: float,
    top: float,
    plot_w: float,
    plot_h: float,
    peak: float,
) -> list[str]:
    if not categories or not series:
        return [
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" font-size="13" '
            f'text-anchor="middle" fill="#888">本期无数据</text>'
        ]
    slot = plot_w / len(categories)
    bar = slot * 0.8 / len(series)
    parts = []
    for c, category in enumerate(categories):
        x0 = left + slot * c + slot * 0.1
        for s, one in enumerate(series):
            value = one.values[c]
            h = plot_h * value / peak
            x, y = x0 + bar * s, top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(category)} '
                f"{escape(one.name)}：{_number(value)}</title></rect>"
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="10" '
                f'text-anchor="middle">{_number(value)}</text>'
            )
        parts.append(
            f'<text x="{left + slot * (c + 0.5):.1f}" y="{top + plot_h + 16}" font-size="11" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    return parts


def _legend(series: list[Series], right: float, y: float) -> list[str]:
    parts, x = [], right
    for s, one in reversed(list(enumerate(series))):
        x -= 14 + 13 * len(one.name)
        parts.append(
            f'<rect x="{x:.0f}" y="{y - 9:.0f}" width="10" height="10" '
            f'fill="{PALETTE[s % len(PALETTE)]}"/>'
            f'<text x="{x + 14:.0f}" y="{y:.0f}" font-size="11">{escape(one.name)}</text>'
        )
    return parts


def bar_drawing(
    title: str,
    categories: list[str],
    series: list[Series],
    *,
    font: str,
    width: float = 460,
    height: float = 220,
) -> Any:
    """The same chart as a reportlab Drawing (reportlab.graphics), text in `font`."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    drawing = Drawing(width, height, initialFontName=font)
    drawing.add(String(0, height - 14, title, fontName=font, fontSize=11))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 36, 36, width - 60, height - 80
    chart.data = [list(s.values) for s in series] or [[0]]
    chart.categoryAxis.categoryNames = categories or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    peak, step = axis(max((v for s in series for v in s.values), default=0))
    chart.valueAxis.valueMax, chart.valueAxis.valueStep = peak, step
    chart.valueAxis.labelTextFormat = "%d"
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    for i in range(len(series)):
        chart.bars[i].fillColor = colors.HexColor(PALETTE[i % len(PALETTE)])
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 130, height - 8
    legend.fontName, legend.fontSize = font, 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [
        (colors.HexColor(PALETTE[i % len(PALETTE)]), s.name) for i, s in enumerate(series)
    ]
    drawing.add(legend)
    return drawing
