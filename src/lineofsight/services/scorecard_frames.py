"""The scorecard as frames for programs and analysts: the frame engine's rows with the words
people read beside the ids (names, unit names, units of measure) and each period's last day.

`los status --format json|csv|parquet` and the Python API's `Workspace.scorecard` both come
from here, so they carry the same columns, at full precision: rounding is for display only.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError
from lineofsight.engine.calendar import period_named
from lineofsight.engine.frames import DefinitionFrames, FrameEvaluation
from lineofsight.services.arguments import OPTIONS, ArgumentNames
from lineofsight.services.evaluate import subtree_of
from lineofsight.store.database import Store
from lineofsight.store.labels import Labels

# Statuses as an ordered category, lowest first: green > amber > red, and below red the rows
# that have no score (no value, then no target), so that `status >= "amber"` keeps exactly
# the met-or-nearly-met rows and sorting ascending puts every row needing attention first.
STATUS_ORDER = ("no_data", "no_target", "red", "amber", "green")
STATUS = pl.Enum(list(STATUS_ORDER))


@dataclass(frozen=True, slots=True)
class ScorecardFrames:
    """A scorecard as of a date.

    kpis: id, name, unit, unit_name, period, period_end, actual, target, unit_of_measure,
      miss, score, status, achievement, own_unit, due, data, last_value, last_period
    objectives: id, name (its title), unit, unit_name, score, status, coverage, counts, worst
    units: id, name, unit (its own id), score, status, counts, worst
    """

    as_of: dt.date
    kpis: pl.DataFrame
    objectives: pl.DataFrame
    units: pl.DataFrame

    def names(self) -> dict[str, dict[str, str]]:
        """{"kpi"|"objective"|"unit": {id: name}} for the tables of `los status`."""
        return {
            kind: dict(frame.select("id", pl.col("name").fill_null("")).unique("id").iter_rows())
            for kind, frame in (
                ("kpi", self.kpis),
                ("objective", self.objectives),
                ("unit", self.units),
            )
        }

    def evaluation(self) -> FrameEvaluation:
        """The engine's rows (with the label columns, status as text), for the JSON shape."""
        return FrameEvaluation(
            self.as_of,
            *(
                frame.with_columns(pl.col("status").cast(pl.String))
                for frame in (self.kpis, self.objectives, self.units)
            ),
        )


def scorecard_frames(
    store: Store,
    period: str | None = None,
    as_of: str | None = None,
    unit: str | None = None,
    names: ArgumentNames = OPTIONS,
    *,
    say_unkept: bool = False,
) -> ScorecardFrames:
    """The store's scorecard as of a date (or a period's last day), optionally only for a unit
    and the units below it; messages name the arguments as `names` says. It is the scorecard
    `los status` keeps up to date in the store (`services.snapshots`)."""
    from lineofsight.services.snapshots import scorecard

    card = scorecard(store, period, as_of, names=names, say_unkept=say_unkept)
    frames = card.frames()
    if unit is None:
        return frames
    keep = list(subtree_of(card.defs.units, unit, names))
    return ScorecardFrames(
        frames.as_of,
        frames.kpis.filter(pl.col("unit").is_in(keep)),
        frames.objectives.filter(pl.col("unit").is_in(keep)),
        frames.units.filter(pl.col("id").is_in(keep)),
    )


def labelled(ev: FrameEvaluation, defs: DefinitionFrames, labels: Labels) -> ScorecardFrames:
    """The evaluation's rows with names, unit names, units of measure and period ends (the
    three tables in one go: Polars labels them side by side)."""
    kpis, objectives, units = pl.collect_all(
        [
            _kpis_labelled(ev.kpis, defs.calendar, labels),
            _objectives_labelled(ev.objectives, labels),
            _units_labelled(ev.units, labels),
        ]
    )
    return ScorecardFrames(ev.as_of, kpis, objectives, units)


def label_kpis(kpis: pl.DataFrame, calendar: m.Calendar, labels: Labels) -> pl.DataFrame:
    """The engine's KPI rows with their names, unit names, units of measure and period ends."""
    return _kpis_labelled(kpis, calendar, labels).collect()


def label_objectives(objectives: pl.DataFrame, labels: Labels) -> pl.DataFrame:
    """The engine's objective rows with their titles and unit names."""
    return _objectives_labelled(objectives, labels).collect()


def label_units(units: pl.DataFrame, labels: Labels) -> pl.DataFrame:
    """The engine's unit rows with their names."""
    return _units_labelled(units, labels).collect()


def _beside(rows: pl.DataFrame, labels: pl.DataFrame) -> pl.LazyFrame:
    """The rows with the labels of their ids (`labels`: id and its labels, one row per id):
    set beside them when they hold the same ids in the same order (a scorecard of every
    KPI, objective or unit in the order read), else joined."""
    if rows.height == labels.height and rows["id"].equals(labels["id"]):
        return rows.hstack(labels.drop("id")).lazy()
    return rows.lazy().join(labels.lazy(), on="id", how="left", maintain_order="left")


def _kpis_labelled(kpis: pl.DataFrame, calendar: m.Calendar, labels: Labels) -> pl.LazyFrame:
    names, units = labels.kpis, _unit_names(labels)
    if kpis.height < 1000:  # a few rows (a patch): the labels of those only, not a hash of all
        names = names.filter(pl.col("id").is_in(kpis["id"].unique().implode()))
        units = units.filter(pl.col("unit").is_in(kpis["unit"].unique().implode()))
    return (
        _beside(kpis, names)
        .join(units.lazy(), on="unit", how="left", maintain_order="left")
        .join(
            _period_ends(kpis["period"], calendar).lazy(),
            on="period",
            how="left",
            maintain_order="left",
        )
        .select(
            "id",
            "name",
            "unit",
            "unit_name",
            "period",
            "period_end",
            "actual",
            "target",
            "unit_of_measure",
            "miss",
            "score",
            pl.col("status").cast(STATUS),
            "achievement",
            "own_unit",
            "due",
            "data",
            "last_value",
            "last_period",
        )
    )


def _objectives_labelled(objectives: pl.DataFrame, labels: Labels) -> pl.LazyFrame:
    return (
        _beside(objectives, labels.objectives)
        .rename({"unit_id": "unit"})
        .join(_unit_names(labels).lazy(), on="unit", how="left", maintain_order="left")
        .select(
            "id",
            "name",
            "unit",
            "unit_name",
            "score",
            pl.col("status").cast(STATUS),
            "coverage",
            "counts",
            "worst",
        )
    )


def _units_labelled(units: pl.DataFrame, labels: Labels) -> pl.LazyFrame:
    """A unit's row names its unit as a KPI's and an objective's do: itself (`unit`)."""
    return _beside(units, labels.units).select(
        "id",
        "name",
        pl.col("id").alias("unit"),
        "score",
        pl.col("status").cast(STATUS),
        "counts",
        "worst",
    )


def json_rows(frame: pl.DataFrame) -> pl.Series:
    """Labelled rows as the status JSON writes them (status as text), one JSON object each."""
    from lineofsight.services.shapes import status_rows

    return status_rows(frame.with_columns(pl.col("status").cast(pl.String)))


def json_text(frame: pl.DataFrame) -> bytes:
    """Labelled rows as the status JSON writes them, one JSON object a line (each ending with
    a newline, none inside one), UTF-8: `json_rows` as one text, with no string per row."""
    if frame.is_empty():
        return b""
    buffer = io.BytesIO()
    frame.with_columns(pl.col("status").cast(pl.String)).drop(
        "own_unit", strict=False
    ).write_ndjson(buffer)
    return buffer.getvalue()


def _unit_names(labels: Labels) -> pl.DataFrame:
    return labels.units.select(pl.col("id").alias("unit"), pl.col("name").alias("unit_name"))


def _period_ends(labels: pl.Series, calendar: m.Calendar) -> pl.DataFrame:
    """The last day of each distinct period name (a few dozen, whatever the rows); none for
    a period before the calendar's first year, which a scorecard of its first days looks back
    at (as of 1900-01-31 a monthly KPI's values of 1899-12 are due) and no value can be of."""
    distinct = labels.unique().drop_nulls().to_list()
    return pl.DataFrame(
        {"period": distinct, "period_end": [_period_end(p, calendar) for p in distinct]},
        schema={"period": pl.String, "period_end": pl.Date},
    )


def _period_end(label: str, calendar: m.Calendar) -> dt.date | None:
    try:
        return period_named(label, calendar).end
    except PeriodError:
        return None


def long_frame(card: ScorecardFrames) -> pl.DataFrame:
    """KPI, objective and unit rows in one table (a `kind` column), for CSV and Parquet:
    as_of, kind, id, name, unit, unit_name, period, period_end, actual, target,
    unit_of_measure, miss, score, status, achievement, coverage, data, due, last_value,
    last_period, counts, worst (the KPI rows' columns of the JSON, and the others')."""
    as_of = pl.lit(card.as_of, pl.Date).alias("as_of")
    nothing: dict[str, pl.DataType | type[pl.DataType]] = {
        "unit": pl.String,
        "unit_name": pl.String,
        "period": pl.String,
        "period_end": pl.Date,
        "actual": pl.Float64,
        "target": pl.Float64,
        "unit_of_measure": pl.String,
        "miss": pl.Float64,
        "achievement": pl.Float64,
        "coverage": pl.Float64,
        "data": pl.String,
        "due": pl.Date,
        "last_value": pl.Float64,
        "last_period": pl.String,
    }
    order = [
        "as_of",
        "kind",
        "id",
        "name",
        "unit",
        "unit_name",
        "period",
        "period_end",
        "actual",
        "target",
        "unit_of_measure",
        "miss",
        "score",
        "status",
        "achievement",
        "coverage",
        "data",
        "due",
        "last_value",
        "last_period",
        "counts",
        "worst",
    ]
    counts_type = card.units.schema["counts"]
    worst_type = card.units.schema["worst"]
    parts = []
    for kind, frame in (("kpi", card.kpis), ("objective", card.objectives), ("unit", card.units)):
        missing = [
            pl.lit(None, dtype).alias(name)
            for name, dtype in [*nothing.items(), ("counts", counts_type), ("worst", worst_type)]
            if name not in frame.columns
        ]
        parts.append(frame.with_columns(as_of, pl.lit(kind).alias("kind"), *missing).select(order))
    return pl.concat(parts)
