"""Sparklines as small inline SVG drawn on the server: no JavaScript, one per scorecard row.

The values come from the engine (services.kpi_series); this module only maps them to pixels.
Each sparkline carries a text alternative listing the periods and values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from lineofsight.display import human
from lineofsight.services.kpi_series import SeriesPoint

WIDTH = 96
HEIGHT = 24
PAD = 2


def sparkline(points: Sequence[SeriesPoint]) -> Markup:
    """An SVG line of the actual values (gaps left open) with the target as a dashed line."""
    actual = [p.actual for p in points]
    target = [p.target for p in points]
    known = [v for v in actual + target if v is not None and math.isfinite(v)]
    if not any(v is not None for v in actual):
        return Markup('<span class="muted">no values</span>')
    low, high = min(known), max(known)
    span = high - low or 1.0
    step = (WIDTH - 2 * PAD) / max(1, len(points) - 1)

    def xy(i: int, v: float) -> str:
        x = PAD + i * step
        y = HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    lines = []
    for values, css in ((target, "target"), (actual, "actual")):
        run: list[str] = []
        for i, v in enumerate(values):
            if v is None:
                if len(run) > 1:
                    lines.append((css, run))
                run = []
            else:
                run.append(xy(i, v))
        if run:
            lines.append((css, run))
    shapes = []
    for css, run in lines:
        if len(run) == 1:
            x, y = run[0].split(",")
            shapes.append(f'<circle class="{css}" cx="{x}" cy="{y}" r="1.8"/>')
        else:
            shapes.append(f'<polyline class="{css}" points="{" ".join(run)}"/>')
    told = "; ".join(
        f"{p.period}: {human(p.actual) if p.actual is not None else 'no value'}" for p in points
    )
    return Markup(
        f'<svg class="spark" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img"><title>{escape(told)}</title>'
        f"{''.join(shapes)}</svg>"
    )
