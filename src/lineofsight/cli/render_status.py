"""Scorecards for people (tables, the cascade tree) and programs (JSON, CSV).

Status is always written as text and an icon as well as a colour, so it reads without colour.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import polars as pl
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from lineofsight import display
from lineofsight.cli.idtable import IdTable, longest_id
from lineofsight.display import human
from lineofsight.domain import model as m
from lineofsight.domain.formula import parse_formula, references
from lineofsight.engine.frames import FrameEvaluation
from lineofsight.engine.scoring import Status
from lineofsight.services.scorecard_frames import ScorecardFrames, long_frame
from lineofsight.services.shapes import items_text, status_json

ICON = {
    Status.GREEN: "✓",
    Status.AMBER: "▲",
    Status.RED: "✗",
    Status.NO_DATA: "?",
    Status.NO_TARGET: "–",
}
COLOUR = {
    Status.GREEN: "green",
    Status.AMBER: "yellow",
    Status.RED: "red",
    Status.NO_DATA: "dim",
    Status.NO_TARGET: "dim",
}


def status_text(status: Status) -> str:
    return f"[{COLOUR[status]}]{ICON[status]} {status.value}[/]"


def number(value: float | None, digits: int = 4) -> str:
    """A value for people (`display.human`): 35,567 rather than 3.557e+04; "-" if none."""
    return human(value, digits)


def value_text(value: float | None, measure: str | None) -> str:
    """A value with its unit of measure, as every table, page and book writes it
    (`display.with_measure`: 21%, 2,376 USD), with Rich's markup characters escaped."""
    return escape(display.with_measure(value, measure))


def cascade_tree(ev: FrameEvaluation, org: m.Organization, units: set[str] | None = None) -> Tree:
    """Mission > objectives > the KPIs that measure them > the KPIs that feed those."""
    mission = org.strategy.mission or org.name
    root = Tree(f"[bold]{escape(mission)}[/]")
    kpi_rows = {r["id"]: r for r in ev.kpis.filter(pl.col("own_unit")).iter_rows(named=True)}
    objective_rows = {o["id"]: o for o in ev.objectives.iter_rows(named=True)}
    objectives = {o.id: o for o in org.objectives}
    children: dict[str | None, list[m.Objective]] = {}
    for objective in org.objectives:
        parent = objective.parent if objective.parent in objectives else None
        children.setdefault(parent, []).append(objective)
    supporters: dict[str, list[m.Kpi]] = {}
    feeders: dict[str, list[m.Kpi]] = {}
    kpis = org.kpis_by_id()
    for kpi in org.kpis:
        for support in kpi.supports:
            supporters.setdefault(support.objective, []).append(kpi)
        for link in kpi.contributes_to:
            feeders.setdefault(link.kpi, []).append(kpi)
    for kpi in org.kpis:
        if kpi.formula is not None:
            for input_id in references(parse_formula(kpi.formula)):
                if input_id in kpis:
                    feeders.setdefault(kpi.id, []).append(kpis[input_id])

    def wanted_objective(objective: m.Objective) -> bool:
        if units is None or objective.unit in units:
            return True
        return any(wanted_objective(c) for c in children.get(objective.id, ())) or any(
            k.unit in units for k in supporters.get(objective.id, ())
        )

    def kpi_label(kpi: m.Kpi) -> str:
        row = kpi_rows.get(kpi.id)
        if row is None:
            return escape(kpi.id)
        measure = kpi.unit_of_measure
        values = f"{value_text(row['actual'], measure)} / {value_text(row['target'], measure)}"
        if row["actual"] is None:
            # The period's value is missing: what is known instead, as `los status` says it.
            known = row["last_period"] is not None
            missing = [f"last {last_text(row, measure)}" if known else "", data_text(row)]
            values += "".join(f" · {part}" for part in missing if part)
        return (
            f"{status_text(Status(row['status']))} [bold]{escape(kpi.name)}[/] "
            f"[dim]{escape(kpi.id)} · {escape(kpi.unit)} · {row['period']}[/] {values}"
        )

    # Each KPI is drawn in full once, with the KPIs that feed it: under the first objective it
    # supports (its home), or, with none, where it first feeds another KPI. Anywhere else it is
    # one line saying where it is shown; drawing it in full at every link repeated whole
    # subtrees (a team KPI that feeds a department KPI and supports its own objective twice).
    drawn_objectives: list[m.Objective] = []

    def walk(objective: m.Objective, seen: frozenset[str]) -> None:
        drawn_objectives.append(objective)
        for child in children.get(objective.id, ()):
            if child.id not in seen and wanted_objective(child):
                walk(child, seen | {child.id})

    for objective in children.get(None, ()):
        if wanted_objective(objective):
            walk(objective, frozenset({objective.id}))
    home: dict[str, str] = {}
    for objective in drawn_objectives:
        for kpi in supporters.get(objective.id, ()):
            if units is None or kpi.unit in units:
                home.setdefault(kpi.id, objective.id)
    shown_under = {kpi_id: f"objective {o}" for kpi_id, o in home.items()}
    drawn: set[str] = set()

    def add_kpi(node: Tree, kpi: m.Kpi, seen: frozenset[str], objective: str | None) -> None:
        if units is not None and kpi.unit not in units:
            return
        full = kpi.id not in drawn and (
            home.get(kpi.id) == objective if kpi.id in home else objective is None
        )
        if not full:
            row = kpi_rows.get(kpi.id)
            status = f"{status_text(Status(row['status']))} " if row else ""
            where = shown_under.get(kpi.id, "above")
            node.add(
                f"[dim]↳[/] {status}{escape(kpi.name)} [dim]{escape(kpi.id)} "
                f"(shown under {escape(where)})[/]"
            )
            return
        drawn.add(kpi.id)
        branch = node.add(kpi_label(kpi))
        for feeder in feeders.get(kpi.id, ()):
            if feeder.id not in seen:
                shown_under.setdefault(feeder.id, f"KPI {kpi.id}")
                add_kpi(branch, feeder, seen | {feeder.id}, None)

    def add_objective(node: Tree, objective: m.Objective, seen: frozenset[str]) -> None:
        row = objective_rows.get(objective.id)
        score = f" {display.score(row['score'])}" if row and row["score"] is not None else ""
        items = items_text(row["counts"]) if row else ""
        if items:
            score += f" [dim]({items})[/]"  # a mean never hides a red
        status = status_text(Status(row["status"])) if row else ""
        # A closed objective is out of its parent's score (`engine.frame_rollups.rolled_up`).
        closed = " · closed" if objective.status is m.ObjectiveStatus.CLOSED else ""
        branch = node.add(
            f"{status}{score} [bold]{escape(objective.title)}[/] "
            f"[dim]{escape(objective.id)} · {escape(objective.unit)}{closed}[/]"
        )
        for child in children.get(objective.id, ()):
            if child.id not in seen and wanted_objective(child):
                add_objective(branch, child, seen | {child.id})
        for kpi in supporters.get(objective.id, ()):
            add_kpi(branch, kpi, frozenset({kpi.id}), objective.id)

    for objective in children.get(None, ()):
        if wanted_objective(objective):
            add_objective(root, objective, frozenset({objective.id}))
    return root


def frames_json(card: ScorecardFrames | FrameEvaluation) -> str:
    """The spec's status JSON (see `services.shapes`) at full precision; from a labelled
    scorecard, each row with its name and each KPI row with its period's last day."""
    ev = card.evaluation() if isinstance(card, ScorecardFrames) else card
    return status_json(ev) + "\n"


def frames_csv(card: ScorecardFrames) -> str:
    """KPI, objective and unit rows in one table, at full precision; an objective's or unit's
    items as text ("2 red, 1 amber") and its worst item's id."""
    frame = long_frame(card)
    items = [items_text(c) if c is not None else None for c in frame["counts"].to_list()]
    worst = [w["id"] if w else None for w in frame["worst"].to_list()]
    return (
        frame.with_columns(
            pl.Series("items", items, dtype=pl.String),
            pl.Series("worst", worst, dtype=pl.String),
        )
        .drop("counts")
        .select(pl.exclude("worst"), "worst")
        .write_csv()
    )


def frames_parquet(card: ScorecardFrames, target: BinaryIO | str) -> None:
    """The rows of `frames_csv` as Parquet, typed: dates as dates, status as an ordered
    category, `counts` and `worst` as structs."""
    long_frame(card).write_parquet(target)


def data_text(row: dict[str, Any]) -> str:
    """`overdue since D` or `awaiting until D` for a KPI row without its value; empty when
    reported."""
    data, due = row.get("data"), row.get("due")
    if data == "overdue":
        return f"[red]overdue[/] since {due}"
    if data == "awaiting":
        return f"awaiting, due {due}"
    return ""


def last_text(row: dict[str, Any], measure: str | None = None) -> str:
    """The latest value before the row's period, with its period: `37 (2026-W43)`."""
    if row.get("last_period") is None:
        return "-"
    measure = measure or row.get("unit_of_measure")
    return f"{value_text(row['last_value'], measure)} ({row['last_period']})"


def worst_text(worst: dict[str, Any] | None) -> str:
    """The lowest-scoring item of a roll-up: `time_to_market_days ✗ 31.7`."""
    if worst is None:
        return "-"
    status = Status(worst["status"])
    shown = display.score(worst["score"])
    return f"{escape(worst['id'])} [{COLOUR[status]}]{ICON[status]} {shown}[/]"


# The columns shown whole at any terminal width (see IdTable): numbers, periods, statuses.
WHOLE = frozenset({"period", "actual", "target", "score", "coverage", "status"})


def frames_tables(ev: FrameEvaluation, names: dict[str, dict[str, str]]) -> list[Table]:
    # Ids are never cut however narrow the terminal (see IdTable): names wrap below them.
    kpis = IdTable(title=f"KPIs as of {ev.as_of}", title_justify="left")
    for column in ("KPI", "unit", "period", "actual", "target", "score", "status", "last", "data"):
        kpis.add_column(
            column,
            justify="right" if column in ("actual", "target", "score") else "left",
            min_width=longest_id(ev.kpis, "id" if column == "KPI" else column)
            if column in ("KPI", "unit")
            else None,
            no_wrap=column in WHOLE,
        )
    for r in ev.kpis.iter_rows(named=True):
        kpis.add_row(
            f"{escape(r['id'])} [dim]{escape(names['kpi'].get(r['id'], ''))}[/]",
            escape(r["unit"]),
            r["period"],
            value_text(r["actual"], r.get("unit_of_measure")),
            value_text(r["target"], r.get("unit_of_measure")),
            display.score(r["score"]),
            status_text(Status(r["status"])),
            last_text(r),
            data_text(r),
        )
    objectives = IdTable(title="Objectives", title_justify="left")
    for column in ("objective", "score", "coverage", "status", "items", "worst"):
        objectives.add_column(
            column,
            justify="right" if column in ("score", "coverage") else "left",
            min_width=longest_id(ev.objectives, "id" if column == "objective" else column)
            if column in ("objective", "worst")
            else None,
            no_wrap=column in WHOLE,
        )
    for r in ev.objectives.iter_rows(named=True):
        objectives.add_row(
            f"{escape(r['id'])} [dim]{escape(names['objective'].get(r['id'], ''))}[/]",
            display.score(r["score"]),
            f"{r['coverage']:.0%}",
            status_text(Status(r["status"])),
            items_text(r["counts"]),
            worst_text(r["worst"]),
        )
    units = IdTable(title="Units", title_justify="left")
    for column in ("unit", "score", "status", "items", "worst"):
        units.add_column(
            column,
            justify="right" if column == "score" else "left",
            min_width=longest_id(ev.units, "id" if column == "unit" else column)
            if column in ("unit", "worst")
            else None,
            no_wrap=column in WHOLE,
        )
    for r in ev.units.iter_rows(named=True):
        units.add_row(
            f"{escape(r['id'])} [dim]{escape(names['unit'].get(r['id'], ''))}[/]",
            display.score(r["score"]),
            status_text(Status(r["status"])),
            items_text(r["counts"]),
            worst_text(r["worst"]),
        )
    return [kpis, objectives, units]
