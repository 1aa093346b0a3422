"""Line charts as inline SVG, for run reports: no plotting library to install or import.

A plotting library would be a dependency of the report only, yet it would cost every run:
torchmetrics imports matplotlib whenever it is installed, about 0.3 s at each process start
(training, every DDP rank, every test that starts a process). The report's curves need little:
lines over one axis pair, ticks, a legend. ``line_chart`` draws that as an SVG element the
HTML report embeds, and any browser shows.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

# Colours of successive runs (matplotlib's "tab10" palette, as hex).
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
WIDTH, HEIGHT = 440, 270
LEGEND_ROW = 15
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 14, 30, 40
# Series with fewer points than this get a marker at each point.
MARKERS_BELOW = 30
DASHES = {"solid": "", "dashed": "6 4", "dotted": "2 3"}


@dataclass(frozen=True)
class Line:
    """One series: its legend label, its ``(x, y)`` points, colour and dash style."""

    label: str
    points: Sequence[tuple[float, float]]
    color: str = PALETTE[0]
    dash: str = "solid"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return about ``count`` round tick values covering ``[low, high]``.

    Steps are 1, 2, 2.5 or 5 times a power of ten, as people label axes.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks and ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def line_chart(title: str, lines: Sequence[Line], *, x_label: str = "step") -> str:
    """Return an SVG element drawing ``lines`` on shared axes, with ticks, a grid, a legend."""
    drawn = [line for line in lines if line.points]
    xs = [x for line in drawn for x, _ in line.points]
    ys = [y for line in drawn for _, y in line.points]
    total = HEIGHT + LEGEND_ROW * len(drawn)  # the legend goes below the axes
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{total}" '
        f'viewBox="0 0 {WIDTH} {total}" role="img" aria-label="{_text(title)}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{total}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13" '
        f'font-weight="bold">{_text(title)}</text>',
    ]
    if not drawn:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data</text>')
        return "".join(parts) + "</svg>"
    x_ticks = nice_ticks(min(xs), max(xs))
    y_ticks = nice_ticks(min(ys), max(ys))
    x0, x1 = x_ticks[0], x_ticks[-1]
    y0, y1 = y_ticks[0], y_ticks[-1]
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM

    def px(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1.0) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y0) / ((y1 - y0) or 1.0) * (bottom - top)

    for tick in x_ticks:
        parts.append(_gridline(px(tick), top, px(tick), bottom))
        parts.append(
            f'<text x="{px(tick):.1f}" y="{bottom + 14}" text-anchor="middle">'
            f"{_number(tick)}</text>"
        )
    for tick in y_ticks:
        parts.append(_gridline(left, py(tick), right, py(tick)))
        parts.append(
            f'<text x="{left - 5}" y="{py(tick) + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    parts.append(
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="none" stroke="#444"/>'
    )
    parts.append(
        f'<text x="{(left + right) / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
        f"{_text(x_label)}</text>"
    )
    for line in drawn:
        coordinates = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line.points)
        dash = DASHES.get(line.dash, "")
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline class="series" data-label="{_text(line.label)}" points="{coordinates}" '
            f'fill="none" stroke="{line.color}" stroke-width="1.6"{dashes}/>'
        )
        if len(line.points) < MARKERS_BELOW:
            parts.extend(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.2" fill="{line.color}"/>'
                for x, y in line.points
            )
    parts.append(_legend(drawn))
    return "".join(parts) + "</svg>"


def _legend(lines: Sequence[Line]) -> str:
    rows = []
    for index, line in enumerate(lines):
        y = HEIGHT + LEGEND_ROW * index + 4
        dash = DASHES.get(line.dash, "")
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        rows.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y - 4}" x2="{MARGIN_LEFT + 24}" y2="{y - 4}" '
            f'stroke="{line.color}" stroke-width="1.6"{dashes}/>'
            f'<text x="{MARGIN_LEFT + 30}" y="{y}">{_text(line.label)}</text>'
        )
    return "".join(rows)


def _gridline(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#e5e5e5"/>'


def _number(value: float) -> str:
    return f"{value:.4g}"


def _text(value: str) -> str:
    return html.escape(str(value), quote=True)
