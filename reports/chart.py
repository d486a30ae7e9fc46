"""A small SVG chart of each category's benchmark score over recent cycles (people read trends from pictures)."""

from __future__ import annotations

from xml.sax.saxutils import escape

WIDTH, PANEL, MARGIN = 640, 72, 150


def _points(values: list[float], top: float, height: float) -> str:
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (WIDTH - MARGIN - 60) / max(1, len(values) - 1)
    return " ".join(f"{MARGIN + i * step:.1f},{top + height - (v - low) / span * height:.1f}"
                    for i, v in enumerate(values))


def score_chart(trend: dict[str, list[tuple[str, float]]]) -> str | None:
    """One panel per category: its score per cycle, oldest to newest. None when there is nothing to draw."""
    series = {category: points for category, points in sorted(trend.items()) if points}
    if not series:
        return None
    height = PANEL * len(series) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
             '<title>Benchmark score per category over recent cycles</title>',
             f'<rect width="{WIDTH}" height="{height}" fill="white"/>']
    for index, (category, points) in enumerate(series.items()):
        top = 15 + index * PANEL
        values = [value for _, value in points]
        parts.append(f'<text x="8" y="{top + PANEL / 2:.0f}">{escape(category[:22])}</text>')
        parts.append(f'<line x1="{MARGIN}" y1="{top + PANEL - 22}" x2="{WIDTH - 60}" y2="{top + PANEL - 22}" '
                     'stroke="#ccc"/>')
        if len(values) > 1:
            parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" '
                         f'points="{_points(values, top + 4, PANEL - 30)}"/>')
        else:
            parts.append(f'<circle cx="{MARGIN}" cy="{top + PANEL / 2 - 10:.0f}" r="3" fill="#1f77b4"/>')
        parts.append(f'<text x="{WIDTH - 55}" y="{top + PANEL / 2 - 6:.0f}">{values[-1]:.3g}</text>')
        parts.append(f'<text x="{MARGIN}" y="{top + PANEL - 8}" fill="#666">{escape(points[0][0])}</text>')
        if len(points) > 1:
            parts.append(f'<text x="{WIDTH - 60}" y="{top + PANEL - 8}" fill="#666" text-anchor="end">'
                         f'{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
