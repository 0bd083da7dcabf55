"""Charts of the indicator screens as inline SVG, drawn on the server: no JavaScript, no CDN, prints
as it shows, and a village PC draws 60 sparklines as fast as 60 table cells.

A missing value (no stored row, or a zero denominator) is a *gap* in the line — never a zero,
which would read as a collapse. Every point of the big chart carries a ``<title>`` (the browser
shows it on hover) with the period and the formatted value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Point:
    """One period of a chart: its label (x axis), its value (``None``: a gap) and the hover text."""

    label: str
    value: float | None
    title: str


def _scale(values: Sequence[float], extra: Sequence[float] = ()) -> tuple[float, float]:
    every = [*values, *extra]
    low, high = min(every), max(every)
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def _segments(xy: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive present points: one polyline each, so a gap stays a gap."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for point in xy:
        if point is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(point)
    if current:
        runs.append(current)
    return runs


def _polyline(run: Sequence[tuple[float, float]], css: str) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
    return f'<polyline class="{css}" points="{coords}" fill="none"/>'


def sparkline(values: Sequence[float | None], *, label: str = "", width: int = 120, height: int = 26) -> SafeString:
    """A small line of ``values`` (oldest first); the last present value is marked with a dot."""
    present = [v for v in values if v is not None]
    title = f"<title>{escape(label)}</title>" if label else ""
    head = (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"'
            f' aria-label="{escape(label)}">{title}')
    if not present:
        return mark_safe(head + f'<line class="spark-none" x1="2" y1="{height / 2}" x2="{width - 2}"'
                                f' y2="{height / 2}"/></svg>')
    low, high = _scale(present)
    step = (width - 6) / max(len(values) - 1, 1)

    def at(index: int, value: float) -> tuple[float, float]:
        return 3 + index * step, height - 3 - (value - low) / (high - low) * (height - 6)

    xy = [None if v is None else at(i, v) for i, v in enumerate(values)]
    parts = [head]
    for run in _segments(xy):
        if len(run) == 1:
            parts.append(f'<circle class="spark-line" cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="1.2"/>')
        else:
            parts.append(_polyline(run, "spark-line"))
    last = next(p for p in reversed(xy) if p is not None)
    parts.append(f'<circle class="spark-last" cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2"/></svg>')
    return mark_safe("".join(parts))


def trend_chart(points: Sequence[Point], *, fmt: Callable[[float], str], title: str, target: float | None = None,
                target_label: str = "", empty: str = "—", width: int = 1000, height: int = 260) -> SafeString:
    """The trend of one indicator: a line with a dot per period (hover: ``Point.title``), gaps where
    there is no value, a dashed target line, value gridlines and period labels; ``empty`` is said
    when no period has a value."""
    left, right, top, bottom = 58, 14, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg class="trend" viewBox="0 0 {width} {height}" width="100%" role="img"'
             f' aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>']
    present = [p.value for p in points if p.value is not None]
    if not present:
        parts.append(f'<text class="trend-empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
                     f'{escape(empty)}</text></svg>')
        return mark_safe("".join(parts))
    low, high = _scale(present, [target] if target is not None else [])
    step = plot_w / max(len(points) - 1, 1)

    def y_of(value: float) -> float:
        return top + plot_h - (value - low) / (high - low) * plot_h

    for i in range(4):  # gridlines with their values
        value = low + (high - low) * i / 3
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>')
    if target is not None:
        y = y_of(target)
        parts.append(f'<line class="target" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
                     f'<text class="target-label" x="{width - right}" y="{y - 4:.1f}" text-anchor="end">'
                     f'{escape(target_label)}</text>')
    xy = [None if p.value is None else (left + i * step, y_of(p.value)) for i, p in enumerate(points)]
    parts.extend(_polyline(run, "trend-line") for run in _segments(xy) if len(run) > 1)
    every = max(1, len(points) // 8)
    for i, (point, spot) in enumerate(zip(points, xy, strict=True)):
        x = left + i * step
        last = i == len(points) - 1
        if last or (i % every == 0 and len(points) - 1 - i >= every):  # no label crowding the last one
            anchor = "end" if last and i else "start" if i == 0 else "middle"
            parts.append(f'<text class="axis" x="{x:.1f}" y="{height - 10}" text-anchor="{anchor}">'
                         f'{escape(point.label)}</text>')
        if spot is None:
            parts.append(f'<g class="gap"><title>{escape(point.title)}</title>'
                         f'<line x1="{x:.1f}" y1="{top + plot_h - 4}" x2="{x:.1f}" y2="{top + plot_h}"/></g>')
            continue
        parts.append(f'<circle class="trend-point" cx="{spot[0]:.1f}" cy="{spot[1]:.1f}" r="3.5">'
                     f'<title>{escape(point.title)}</title></circle>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
