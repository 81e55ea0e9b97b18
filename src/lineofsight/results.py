"""What `Workspace` methods return: the engine's results as Polars frames (pandas on request),
shown in notebooks as tables for people and in consoles as text."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from lineofsight import display as d
from lineofsight.extras import require


@dataclass
class Frames:
    """A result made of named Polars frames; `to_pandas()` gives the same as pandas."""

    title: ClassVar[str] = "Result"
    names: ClassVar[tuple[str, ...]] = ()

    def frames(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in self.names}

    def to_pandas(self) -> Any:
        """Each frame as a pandas DataFrame (a dict by name; one frame: the DataFrame itself).

        Needs the pandas extra: `pip install 'lineofsight[pandas]'`. Statuses become ordered
        categoricals (green > amber > red)."""
        require("pandas", f"{type(self).__name__}.to_pandas()")
        converted = {name: frame.to_pandas() for name, frame in self.frames().items()}
        return next(iter(converted.values())) if len(converted) == 1 else converted

    def _views(self) -> list[tuple[str, pl.DataFrame, Sequence[d.Column]]]:
        """(heading, frame, columns) of each table shown for people."""
        return [(name, frame, d.auto_columns(frame)) for name, frame in self.frames().items()]

    def _heading(self) -> str:
        return self.title

    def _note(self) -> str | None:
        """A sentence shown under the heading, where the tables alone would not say enough."""
        return None

    def _repr_html_(self) -> str:
        parts = [f"<div><h3>{html.escape(self._heading())}</h3>"]
        note = self._note()
        if note is not None:
            parts.append(f"<p>{html.escape(note)}</p>")
        parts += [d.html_table(frame, cols, name) for name, frame, cols in self._views()]
        return "".join(parts) + "</div>"

    def __repr__(self) -> str:
        parts = [self._heading()]
        note = self._note()
        if note is not None:
            parts.append(note)
        parts += [d.text_table(frame, cols, name) for name, frame, cols in self._views()]
        return "\n\n".join(parts)


@dataclass(repr=False)
class Table(Frames):
    """One frame: measurements, revisions, history or findings (`frame` is the Polars one)."""

    frame: pl.DataFrame
    label: str = "Table"
    names: ClassVar[tuple[str, ...]] = ("frame",)

    def to_polars(self) -> pl.DataFrame:
        return self.frame

    def __len__(self) -> int:
        return self.frame.height

    def _views(self) -> list[tuple[str, pl.DataFrame, Sequence[d.Column]]]:
        return [("", self.frame, d.auto_columns(self.frame))]

    def _heading(self) -> str:
        rows = self.frame.height
        return f"{self.label}: {rows:,} {'row' if rows == 1 else 'rows'}"


def _named(column: str = "name", fallback: str = "id") -> Any:
    return lambda row: row.get(column) or row.get(fallback)


@dataclass(repr=False)
class Scorecard(Frames):
    """KPIs, objectives and units scored as of a date.

    kpis: as_of, id, name, unit, unit_name, period, period_end, actual, target,
      unit_of_measure, miss, score, status, achievement, own_unit, due, data, last_value,
      last_period
    objectives: as_of, id, name (the title), unit, unit_name, score, status, coverage,
      counts ({green, amber, red, no_data, no_target} over its direct items), worst ({id,
      kind, status, score} of its lowest-scoring item)
    units: as_of, id, name, unit (its own id), score, status, counts, worst

    `status` is an ordered category: green > amber > red > no_target > no_data.
    """

    organization: str
    as_of: dt.date
    kpis: pl.DataFrame
    objectives: pl.DataFrame
    units: pl.DataFrame
    names: ClassVar[tuple[str, ...]] = ("kpis", "objectives", "units")

    def _heading(self) -> str:
        # Every KPI result, at its own unit and at the others it has a target at, counted
        # as `los status` and the web app's home page count them.
        counts = dict(self.kpis.group_by("status").len().iter_rows())
        summary = ", ".join(
            f"{counts[s]:,} {s.replace('_', ' ')}"
            for s in ("red", "amber", "green", "no_data", "no_target")
            if counts.get(s)
        )
        results = f"{self.kpis.height:,} KPI result{'s' if self.kpis.height != 1 else ''}"
        counted = f"{results}: {summary}" if summary else results  # none: "(0 KPI results)"
        return f"{self.organization}: scorecard as of {self.as_of} ({counted})"

    def _views(self) -> list[tuple[str, pl.DataFrame, Sequence[d.Column]]]:
        items = d.Column("items", lambda row: _items(row.get("counts")))
        worst = d.Column("worst", lambda row: _worst(row.get("worst")))
        return [
            (
                "Objectives",
                self.objectives,
                [
                    d.Column("objective", _named()),
                    d.Column("unit", _named("unit_name", "unit")),
                    d.Column("score", d.score_cell(), number=True),
                    d.Column("coverage", d.percent("coverage"), number=True),
                    d.status_cell(),
                    items,
                    worst,
                ],
            ),
            (
                "KPIs",
                self.kpis,
                [
                    d.Column("KPI", _named()),
                    d.Column("unit", _named("unit_name", "unit")),
                    d.Column("period", d.text("period")),
                    d.Column("actual", d.value("actual"), number=True),
                    d.Column("target", d.value("target"), number=True),
                    d.Column("score", d.score_cell(), number=True),
                    d.status_cell(),
                    d.Column("last", _last),
                    d.Column("data", _data),
                ],
            ),
            (
                "Units",
                self.units,
                [
                    d.Column("unit", _named()),
                    d.Column("score", d.score_cell(), number=True),
                    d.status_cell(),
                    items,
                    worst,
                ],
            ),
        ]


def _last(row: dict[str, Any]) -> str:
    """The value before the row's period, so that a row without its value still shows what
    is known: `37 meetings (2026-W43)`."""
    if row.get("last_period") is None:
        return "-"
    return f"{d.with_measure(row['last_value'], row.get('unit_of_measure'))} ({row['last_period']})"


def _data(row: dict[str, Any]) -> str:
    """`overdue since D` or `awaiting, due D` for a row without its value; empty when in."""
    if row.get("data") == "overdue":
        return f"overdue since {row['due']}"
    if row.get("data") == "awaiting":
        return f"awaiting, due {row['due']}"
    return ""


def _items(counts: dict[str, int] | None) -> str:
    from lineofsight.services.shapes import items_text

    return items_text(counts) or "-"


def _worst(worst: dict[str, Any] | None) -> str:
    if not worst:
        return "-"
    return f"{worst['id']} {d.ICONS.get(worst['status'], '')} {d.score(worst['score'])}"


@dataclass(repr=False)
class Forecasts(Frames):
    """Each targeted KPI projected to its target date.

    kpis: as_of, id, name, unit, unit_name, unit_of_measure, method, projected, low, high
      (its 80% prediction interval), target, deadline, period (the target's), on_track,
      probability, points, last_period, reason
    path: id, unit, period, period_end, value, low, high (the 80% prediction interval)
    """

    as_of: dt.date
    kpis: pl.DataFrame
    path: pl.DataFrame
    names: ClassVar[tuple[str, ...]] = ("kpis", "path")

    def _heading(self) -> str:
        # As `los forecast` counts them: those with an on/off-track call, and the rest.
        called = self.kpis.filter(pl.col("on_track").is_not_null())
        on = called.filter(pl.col("on_track")).height
        rest = self.kpis.height - called.height
        return f"Forecasts as of {self.as_of}: {on:,} of {called.height:,} on track" + (
            f", {rest:,} not forecast" if rest else ""
        )

    def _views(self) -> list[tuple[str, pl.DataFrame, Sequence[d.Column]]]:
        return [
            (
                "KPIs",
                self.kpis,
                [
                    d.Column("KPI", _named()),
                    d.Column("unit", _named("unit_name", "unit")),
                    d.Column("method", d.text("method")),
                    d.Column("projected", d.value("projected"), number=True),
                    d.Column("80% interval", d.interval_cell("low", "high"), number=True),
                    d.Column("target", d.value("target"), number=True),
                    d.Column("deadline", d.text("deadline")),
                    d.Column("on track", d.text("on_track")),
                    d.Column("chance", d.chance_cell(), number=True),
                ],
            )
        ]


@dataclass(repr=False)
class Explanation(Frames):
    """Why a KPI moved between two periods: contributions that add up to the change.

    summary: kpi, name, unit, unit_name, unit_of_measure, from_period, from_value,
      to_period, to_value, change, method, exact, residual
    contributions: level (1: the KPI's direct inputs or units; 2: inputs of a formula input,
      ...), parent (the KPI split), kind (kpi or unit), id, name, value_from, value_to,
      contribution
    """

    summary: pl.DataFrame
    contributions: pl.DataFrame
    names: ClassVar[tuple[str, ...]] = ("summary", "contributions")

    def _heading(self) -> str:
        row = self.summary.row(0, named=True)
        measure = row["unit_of_measure"]
        return (
            f"{row['name']} ({row['kpi']}) at {row['unit_name'] or row['unit']}: "
            f"{d.with_measure(row['from_value'], measure)} in {row['from_period']} to "
            f"{d.with_measure(row['to_value'], measure)} in {row['to_period']}, "
            f"change {d.with_measure(row['change'], measure)}"
        )

    def _note(self) -> str | None:
        # As `los explain` says it, instead of an empty table of contributions.
        if self.contributions.height == 0 and self.summary["method"][0] == "measured":
            return "Measured directly: no breakdown (the residual is the whole change)."
        return None

    def _views(self) -> list[tuple[str, pl.DataFrame, Sequence[d.Column]]]:
        if self.contributions.height == 0:
            return []
        return [
            (
                "Contributions",
                self.contributions,
                [
                    d.Column("level", d.text("level"), number=True),
                    d.Column("of", d.text("parent")),
                    d.Column("kind", d.text("kind")),
                    d.Column("item", _named()),
                    d.Column("from", d.value("value_from", None), number=True),
                    d.Column("to", d.value("value_to", None), number=True),
                    d.Column("contribution", d.value("contribution", None), number=True),
                ],
            )
        ]
