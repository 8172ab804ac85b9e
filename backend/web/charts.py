"""Tiny server-side SVG charts (no JavaScript, no CDN; they print as they look)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR_COLOR = "#2f6f9f"
RISK_COLORS = {"red": "#c62828", "orange": "#ef6c00", "yellow": "#f9a825", "blue": "#1565c0"}


def bar_chart(
    items: Sequence[tuple[str, int]],
    *,
    title: str,
    colors: dict[str, str] | None = None,
    keys: Sequence[str] | None = None,
    limit: int = 15,
) -> Markup:
    """Horizontal bars with labels and values; the largest ``limit`` items."""
    shown = list(items)[:limit]
    width, label_w, row_h = 640, 190, 24
    height = max(row_h * len(shown) + 10, 40)
    top = max((value for _, value in shown), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}"'
        f' viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not shown:
        parts.append('<text x="10" y="25" class="muted">本期无数据</text>')
    for index, (label, value) in enumerate(shown):
        y = 5 + index * row_h
        bar = (width - label_w - 60) * value / top
        color = BAR_COLOR
        if colors and keys:
            color = colors.get(keys[index], BAR_COLOR)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="13">'
            f"{escape(label[:14])}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row_h - 8}"'
            f' fill="{color}"/>'
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 16}" font-size="13">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(items: Sequence[tuple[str, int]], *, title: str) -> Markup:
    """Vertical columns (the weekly trend), one per item, labels under each."""
    shown = list(items)[-26:]
    width, height, base, left = 640, 220, 180, 30
    top = max((value for _, value in shown), default=0) or 1
    step = (width - left - 10) / max(len(shown), 1)
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}"'
        f' viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{base}" x2="{width - 5}" y2="{base}" stroke="#888"/>',
    ]
    for index, (label, value) in enumerate(shown):
        x = left + index * step
        bar = (base - 20) * value / top
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{base - bar:.1f}" width="{step * 0.7:.1f}"'
            f' height="{bar:.1f}" fill="{BAR_COLOR}"/>'
            f'<text x="{x + step / 2:.1f}" y="{base - bar - 4:.1f}" text-anchor="middle"'
            f' font-size="11">{value}</text>'
            f'<text x="{x + step / 2:.1f}" y="{base + 16}" text-anchor="middle"'
            f' font-size="10">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
