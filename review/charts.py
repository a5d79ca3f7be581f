"""Server-side charts: inline SVG built from numbers, no JavaScript. Every label is escaped;
colours are presentation attributes (the page's CSP allows no inline style)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from markupsafe import Markup, escape

PALETTE = (
    "#1f5fa8",
    "#c0392b",
    "#2e8b57",
    "#d68910",
    "#7d3c98",
    "#17a2b8",
    "#6c757d",
    "#a0522d",
    "#e83e8c",
    "#556b2f",
)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _nice_max(value: int) -> int:
    """The top of the y axis: four equal steps of 1, 2, 2.5 or 5 times a power of ten, whole."""
    need = max(value, 4) / 4
    magnitude = 10 ** (len(str(int(need))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= need and float(step).is_integer():
            return int(step * 4)
    return int(10 * magnitude * 4)


def line_chart(
    days: Sequence[date],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    width: int = 860,
    height: int = 280,
) -> Markup:
    """A line per series over ``days``; a ``<title>`` on every point gives the exact figure."""
    left, right, top, bottom = 48, 28, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((max(v) for v in series.values() if v), default=0)
    y_max = _nice_max(peak)
    n = len(days)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    out = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(5):
        v = y_max * k / 4
        yy = y(v)
        out.append(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" '
            'stroke="#dde3ea" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#555">{int(v) if v == int(v) else f"{v:.1f}"}</text>'
        )
    step = max(1, n // 10)
    for i, d in enumerate(days):
        if i % step == 0 or i == n - 1:
            out.append(
                f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" font-size="11" '
                f'fill="#555">{escape(d.strftime("%d.%m"))}</text>'
            )
    for idx, (name, values) in enumerate(series.items()):
        c = color(idx)
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        out.append(
            f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        for i, v in enumerate(values):
            if v:
                out.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{c}">'
                    f"<title>{escape(name)} {escape(days[i].isoformat())}: {v}</title></circle>"
                )
    out.append("</svg>")
    return Markup("".join(out))


def swatch(i: int) -> Markup:
    """A small coloured square for a legend entry."""
    return Markup(
        f'<svg class="swatch" width="12" height="12" aria-hidden="true">'
        f'<rect width="12" height="12" fill="{color(i)}"/></svg>'
    )


def bar(value: int, peak: int, *, width: int = 160) -> Markup:
    """A horizontal bar proportional to ``value``/``peak`` (for tables of counts)."""
    w = 0 if peak <= 0 else max(1, round(width * value / peak)) if value else 0
    return Markup(
        f'<svg class="bar" width="{width}" height="10" aria-hidden="true">'
        f'<rect width="{w}" height="10" fill="#1f5fa8"/></svg>'
    )
