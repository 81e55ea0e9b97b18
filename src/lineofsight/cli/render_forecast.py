"""Forecasts as a rich table for people and JSON for programs."""

from __future__ import annotations

import io
import json
from typing import TextIO

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from lineofsight import display
from lineofsight.cli.idtable import IdTable
from lineofsight.domain import model as m
from lineofsight.engine.forecast import NO_FORECAST, Forecast, NotRequested
from lineofsight.services.forecast import ForecastReport
from lineofsight.services.shapes import forecast_plain, not_requested_plain


def forecast_json(report: ForecastReport) -> str:
    """`{"as_of", "kpis": [{"id", "unit", "projected", "target", "deadline", "on_track", ...}]}`."""
    text = io.StringIO()
    write_forecast_json(report, text)
    return text.getvalue()


def write_forecast_json(report: ForecastReport, out: TextIO) -> None:
    """`forecast_json`, written KPI by KPI: the document of 100,000 KPIs (a quarter of a
    gigabyte) is never held in memory whole, nor copied."""
    kpis = report.org.kpis_by_id()
    # Compact, and one KPI at a time: the C encoder writes the paths of 100,000 KPIs in a
    # fraction of the time an indented document takes (json's indenting encoder is pure
    # Python), and no KPI's dictionaries outlive its own text.
    out.write(f'{{"as_of": "{report.as_of.isoformat()}", "kpis": [')
    encode = json.JSONEncoder(ensure_ascii=False).encode
    for i, f in enumerate(report.rows()):
        if i:
            out.write(", ")
        if isinstance(f, NotRequested):
            out.write(encode(not_requested_plain(f, kpis[f.id])))
        else:
            out.write(encode(forecast_plain(f, kpis[f.id])))
    out.write("]}\n")


def forecast_table(report: ForecastReport) -> Table:
    """One row per forecast, and one per KPI with no target to forecast: projected value with
    its 80% interval, target, deadline, on track with the chance of meeting the target, the
    method and the values it used, and why a KPI is not forecast.

    Values carry the KPI's unit of measure and chances are whole percents, as every page,
    book, email and notebook writes them (`lineofsight.display`). Ids are never cut however
    narrow the terminal, nor numbers (an `IdTable`, as `los status`'s): the deadline and why
    a KPI is not forecast wrap instead."""
    kpis = report.org.kpis_by_id()
    rows = report.rows()
    table = IdTable(
        title=_title(report),
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("KPI", min_width=max((len(f.id) for f in rows), default=1))
    table.add_column("unit", min_width=max((len(f.unit) for f in rows), default=1))
    table.add_column("projected", justify="right", no_wrap=True)
    table.add_column("80% interval", justify="right", no_wrap=True)
    table.add_column("target", justify="right", no_wrap=True)
    table.add_column("deadline")
    table.add_column("on track", no_wrap=True)
    table.add_column("chance", justify="right", no_wrap=True)
    table.add_column("method", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    # Why a KPI is not forecast, in a last column (wrapped, not cutting the others) when any
    # KPI is not.
    why = any(isinstance(f, NotRequested) or f.reason is not None for f in rows)
    if why:
        table.add_column("why not forecast", min_width=16)
    for f in rows:
        kpi = kpis[f.id]
        reason = [escape(f.reason or "")] if why else []
        if isinstance(f, NotRequested):
            target = _target(None, kpi)
            table.add_row(
                escape(f.id), escape(f.unit), "–", "–", target, "–", _on_track(f), "–",
                NO_FORECAST, "0", *reason,
            )  # fmt: skip
            continue
        measure = kpi.unit_of_measure
        projected = (
            "–" if f.projected is None else escape(display.with_measure(f.projected, measure))
        )
        if f.clamped:
            projected += "*"
        table.add_row(
            escape(f.id),
            escape(f.unit),
            projected,
            _interval(f, measure),
            _target(f, kpi),
            f"{f.deadline.isoformat()} ({f.target_period.label})",
            _on_track(f),
            "–" if f.probability is None else display.chance(f.probability),
            f.method,
            str(f.points),
            *reason,
        )
    return table


def forecast_stacked(report: ForecastReport) -> Group:
    """The rows of `forecast_table` for a terminal too narrow for it: each KPI on a line
    with its id, unit and name, then its figures on indented lines, labelled (there are no
    column headings), wrapping under their indent. The same texts as the table's cells."""
    kpis = report.org.kpis_by_id()
    lines: list[Text | Padding | Table] = [Text.from_markup(f"[italic]{_title(report)}[/]")]
    for f in report.rows():
        kpi = kpis[f.id]
        # The id and the unit whole (an `IdTable`), the name wrapping beside them.
        head = IdTable.grid(padding=(0, 2))
        head.add_column(min_width=len(f.id))
        head.add_column(min_width=len(f.unit))
        head.add_column()
        head.add_row(f"[bold]{escape(f.id)}[/]", escape(f.unit), f"[dim]{escape(kpi.name)}[/]")
        lines.append(head)
        figures: list[str] = []
        if isinstance(f, NotRequested):
            figures.append(f"{_on_track(f)}: {escape(f.reason)}  target {_target(None, kpi)}")
        else:
            state = _on_track(f) + (f": {escape(f.reason)}" if f.reason is not None else "")
            if f.probability is not None:
                state += f"  {display.chance(f.probability)} chance"
            by = f"{f.deadline.isoformat()} ({f.target_period.label})"
            figures.append(f"{state}  target {_target(f, kpi)} by {by}")
            if f.projected is not None:
                projected = escape(display.with_measure(f.projected, kpi.unit_of_measure))
                interval = _interval(f, kpi.unit_of_measure)
                figures.append(
                    f"projected {projected}{'*' if f.clamped else ''}  80% interval {interval}"
                    f"  {f.method}, {f.points} points"
                )
            else:
                figures.append(f"{f.method}, {f.points} points")
        lines += [Padding(Text.from_markup(line), (0, 0, 0, 2), expand=False) for line in figures]
    lines.append(Text())  # a blank line before the notes, as below the table
    return Group(*lines)


def forecast_notes(report: ForecastReport) -> list[str]:
    """A count of KPIs on track and of those not forecast (the table says why)."""
    done = [f for f in report.forecasts if f.on_track is not None]
    on_track = sum(1 for f in done if f.on_track)
    skipped = len(report.forecasts) - len(done) + len(report.not_requested)
    lines = [
        f"{on_track} of {len(done)} on track"
        + (f", {skipped} not forecast" if skipped else "")
        + " (projected to the period of each target date: seasonal with two years of"
        " history, then the two models with the least error over its last seasons, else a"
        " damped trend; chance = probability of meeting the target)."
    ]
    if any(f.clamped for f in report.forecasts):
        lines.append("* the projection leaves the KPI's bounds; it is held at the bound.")
    return lines


def _title(report: ForecastReport) -> str:
    return f"Forecast as of {report.as_of.isoformat()}"


def _interval(f: Forecast, measure: str | None) -> str:
    if not f.path:
        return "–"
    last = f.path[-1]
    return escape(display.interval(last.low, last.high, measure))


def _target(f: Forecast | None, kpi: m.Kpi) -> str:
    measure = kpi.unit_of_measure
    if kpi.direction is m.Direction.RANGE and kpi.range is not None:
        return escape(display.interval(kpi.range.low, kpi.range.high, measure))
    if f is None:
        return "–"
    sign = "≥ " if kpi.direction is m.Direction.INCREASE else "≤ "
    return sign + escape(display.with_measure(f.target, measure))


def _on_track(f: Forecast | NotRequested) -> str:
    if isinstance(f, NotRequested) or f.on_track is None:
        return "[dim]– not forecast[/]"
    if f.on_track:
        return "[green]✓ on track[/]"
    return "[red]✗ off track[/]"
