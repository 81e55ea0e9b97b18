"""Forecasts as a rich table for people and JSON for programs."""

from __future__ import annotations

import json

from rich import box
from rich.markup import escape
from rich.table import Table

from lineofsight.domain import model as m
from lineofsight.engine.forecast import MAX_POINTS, Forecast
from lineofsight.services.forecast import ForecastReport
from lineofsight.services.shapes import forecast_plain


def forecast_json(report: ForecastReport) -> str:
    """`{"as_of", "kpis": [{"id", "unit", "projected", "target", "deadline", "on_track", ...}]}`."""
    kpis = report.org.kpis_by_id()
    data = {
        "as_of": report.as_of.isoformat(),
        "kpis": [forecast_plain(f, kpis[f.id]) for f in report.forecasts],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def forecast_table(report: ForecastReport) -> Table:
    """One row per forecast: projected value, target, deadline, on track, points used."""
    kpis = report.org.kpis_by_id()
    table = Table(
        title=f"Forecast as of {report.as_of.isoformat()}",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("KPI", no_wrap=True)
    table.add_column("unit", no_wrap=True)
    table.add_column("projected", justify="right", no_wrap=True)
    table.add_column("target", justify="right", no_wrap=True)
    table.add_column("deadline", no_wrap=True)
    table.add_column("on track", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    for f in report.forecasts:
        kpi = kpis[f.id]
        projected = "–" if f.projected is None else f"{f.projected:,.2f}"
        if f.clamped:
            projected += "*"
        table.add_row(
            escape(f.id),
            escape(f.unit),
            projected,
            _target(f, kpi),
            f"{f.deadline.isoformat()} ({f.target_period.label})",
            _on_track(f),
            str(f.points),
        )
    return table


def forecast_notes(report: ForecastReport) -> list[str]:
    """A count of KPIs on track, and why any KPI was not forecast."""
    done = [f for f in report.forecasts if f.on_track is not None]
    on_track = sum(1 for f in done if f.on_track)
    skipped = len(report.forecasts) - len(done)
    lines = [
        f"{on_track} of {len(done)} on track"
        + (f", {skipped} not forecast" if skipped else "")
        + f" (a least-squares line through each KPI's last {MAX_POINTS} periods with values,"
        " projected to the period of its target date)."
    ]
    if any(f.clamped for f in report.forecasts):
        lines.append("* the line leaves the KPI's bounds; the projection is held at the bound.")
    for f in report.forecasts:
        if f.reason is not None:
            lines.append(f"  {escape(f.id)} at {escape(f.unit)}: not forecast: {escape(f.reason)}")
    return lines


def _target(f: Forecast, kpi: m.Kpi) -> str:
    if kpi.direction is m.Direction.RANGE and kpi.range is not None:
        return f"{_number(kpi.range.low)}–{_number(kpi.range.high)}"
    sign = "≥ " if kpi.direction is m.Direction.INCREASE else "≤ "
    return sign + _number(f.target)


def _on_track(f: Forecast) -> str:
    if f.on_track is None:
        return "[dim]– not forecast[/]"
    if f.on_track:
        return "[green]✓ on track[/]"
    return "[red]✗ off track[/]"


def _number(value: float) -> str:
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text
