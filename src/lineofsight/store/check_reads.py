"""What `los check` reads of the store: the definitions' columns the rules look at, as frames.

The rules of a large organisation look at a few columns of every item: reading them as Arrow
costs a fraction of building every KPI from its rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.store.arrow import Read, read_frame, read_frames
from lineofsight.store.database import Store

# SQLAlchemy is not needed to read the columns through ADBC: `los check` loads it meanwhile.
if TYPE_CHECKING:
    from sqlalchemy import Connection

TEXT, NUMBER, WHOLE = pl.String, pl.Float64, pl.Int64

# Each frame: its columns (name in the frame, what is selected, type), in the table's order.
_ITEMS: dict[str, tuple[str, tuple[tuple[str, str, Any], ...]]] = {
    "units": (
        "units",
        (
            ("id", "id", TEXT),
            ("position", "position", WHOLE),
            ("line", "source_line", WHOLE),
            ("parent", "parent_id", TEXT),
            ("lint", "NULLIF(CAST(lint AS TEXT), 'null')", TEXT),
        ),
    ),
    "people": (
        "people",
        (
            ("id", "id", TEXT),
            ("position", "position", WHOLE),
            ("line", "source_line", WHOLE),
            ("lint", "NULLIF(CAST(lint AS TEXT), 'null')", TEXT),
        ),
    ),
    "objectives": (
        "objectives",
        (
            ("id", "id", TEXT),
            ("position", "position", WHOLE),
            ("line", "source_line", WHOLE),
            ("level", "level", TEXT),
            ("unit", "unit_id", TEXT),
            ("owner", "owner_id", TEXT),
            ("parent", "parent_id", TEXT),
            ("weight", "weight", NUMBER),
            ("deadline", "deadline", pl.Date),
            ("status", "status", TEXT),
            ("lint", "NULLIF(CAST(lint AS TEXT), 'null')", TEXT),
        ),
    ),
    "kpis": (
        "kpis",
        (
            ("id", "id", TEXT),
            ("position", "position", WHOLE),
            ("line", "source_line", WHOLE),
            ("name", "name", TEXT),
            ("level", "level", TEXT),
            ("type", "type", TEXT),
            ("unit", "unit_id", TEXT),
            ("owner", "owner_id", TEXT),
            ("frequency", "frequency", TEXT),
            ("direction", "direction", TEXT),
            ("aggregation", "aggregation", TEXT),
            ("across_units", "across_units", TEXT),
            ("formula", "formula", TEXT),
            ("ratio_numerator", "ratio_numerator", TEXT),
            ("ratio_denominator", "ratio_denominator", TEXT),
            ("ratio_scale", "ratio_scale", NUMBER),
            ("baseline_period", "baseline_period", TEXT),
            ("baseline_value", "baseline_value", NUMBER),
            ("target_value", "target_value", NUMBER),
            ("target_by", "target_by", pl.Date),
            ("source", "NULLIF(CAST(source AS TEXT), 'null')", TEXT),
            ("due_days", "due_days", WHOLE),
            ("lint", "NULLIF(CAST(lint AS TEXT), 'null')", TEXT),
            ("tolerance", "tolerance", NUMBER),
            ("tolerance_abs", "tolerance_abs", NUMBER),
            ("range_low", "range_low", NUMBER),
            ("range_high", "range_high", NUMBER),
        ),
    ),
    "supports": (
        "kpi_supports",
        (
            ("kpi_id", "kpi_id", TEXT),
            ("position", "position", WHOLE),
            ("objective", "objective_id", TEXT),
            ("weight", "weight", NUMBER),
        ),
    ),
    "contributions": (
        "kpi_contributions",
        (
            ("kpi_id", "kpi_id", TEXT),
            ("position", "position", WHOLE),
            ("kpi", "to_kpi_id", TEXT),
            ("weight", "weight", NUMBER),
            ("effect", "effect", TEXT),
        ),
    ),
    "period_targets": (
        "kpi_period_targets",
        (
            ("kpi_id", "kpi_id", TEXT),
            ("unit", "unit_id", TEXT),
            ("period", "period", TEXT),
            ("position", "position", WHOLE),
            ("value", "value", NUMBER),
        ),
    ),
    "unit_targets": (
        "kpi_unit_targets",
        (
            ("kpi_id", "kpi_id", TEXT),
            ("unit", "unit_id", TEXT),
            ("position", "position", WHOLE),
            ("value", "value", NUMBER),
            ("by", "by_date", pl.Date),
            ("baseline_period", "baseline_period", TEXT),
            ("baseline_value", "baseline_value", NUMBER),
        ),
    ),
}


def _unsigned(number: str) -> str:
    """A number column read without the sign of a zero: PostgreSQL keeps -0.0 in a number a
    strategy file gave as -0.0 (SQLite drops it), and the rules print it ("-0"); IEEE 754's
    -0.0 + 0.0 is 0.0, every other number stays as it is (as `compare_measurements` does
    for the values written, and migration 0021 for those stored before)."""
    return f"({number} + 0.0)"


def read_check_frames(store: Store) -> dict[str, pl.DataFrame]:
    """The columns the alignment rules look at, one frame per kind of item or link: items in
    their order (`position`), each KPI's links in theirs."""
    # The KPIs' read, the longest by far, goes first: the others are read beside it.
    names = sorted(_ITEMS, key=lambda name: name != "kpis")
    reads: list[Read] = []
    for name in names:
        table, columns = _ITEMS[name]
        selected = ", ".join(
            f'{_unsigned(source) if dtype is NUMBER else source} AS "{alias}"'
            for alias, source, dtype in columns
        )
        schema = {alias: dtype for alias, _, dtype in columns}
        reads.append((f"SELECT {selected} FROM {table}", [], schema))
    # Actions are no definitions with a line (findings are sorted, so their order is free).
    reads.append((_ACTIONS_QUERY, [], _ACTIONS))
    frames = dict(zip([*names, "actions"], read_frames(store, reads), strict=True))
    # Items in their order (as the store mostly holds them already); links in their order
    # within each KPI (positions count from 0 for each KPI).
    for name in ("units", "people", "objectives", "kpis"):
        if not frames[name]["position"].is_sorted():
            frames[name] = frames[name].sort("position")
        frames[name] = frames[name].drop("position")
    for name in ("supports", "contributions", "period_targets", "unit_targets"):
        if not frames[name]["position"].is_sorted():
            frames[name] = frames[name].sort("position", maintain_order=True)
        frames[name] = frames[name].drop("position")
    return frames


# The key of an action made in the web app or the API is the store's own (`action_2`), which
# nobody typed: only a declared action's key (its id in the strategy file) is read.
_ACTIONS_QUERY = (
    "SELECT CASE WHEN declared THEN key END AS key, CAST(NULL AS INTEGER) AS line,"
    " subject_type, subject_id, title, owner, due, status FROM actions"
)
_ACTIONS = {
    "key": TEXT,
    "line": WHOLE,
    "subject_type": TEXT,
    "subject_id": TEXT,
    "title": TEXT,
    "owner": TEXT,
    "due": pl.Date,
    "status": TEXT,
}


def read_source_file(conn: Connection) -> str | None:
    """The strategy file last applied (where the stored items were written)."""
    from sqlalchemy import select

    from lineofsight.store import tables as t

    return conn.execute(select(t.organization.c.source_file)).scalar()


# A value as the rules see it: a ratio's divided out (scale x numerator / denominator, as the
# scorecard divides it; no value for a zero denominator). The KPI's scale is looked up for the
# rows of ratio KPIs only, and the two columns that are empty on nearly every row stay unread.
# A negative scale times a zero numerator is -0.0: + 0.0 drops the sign (see `_unsigned`).
_SCALE = "(SELECT ratio_scale FROM kpis WHERE kpis.id = measurements.kpi_id)"
_RULES_VALUE = (
    f"CASE WHEN numerator IS NULL OR {_SCALE} IS NULL THEN value"
    f" WHEN denominator <> 0 THEN {_SCALE} * numerator / denominator + 0.0 END"
)
_RECENT_SCHEMA = {
    "kpi_id": TEXT,
    "unit_id": TEXT,
    "period": TEXT,
    "period_end": pl.Date,
    "value": NUMBER,
}


def read_recent_values(store: Store, floors: Mapping[str, dt.date]) -> pl.DataFrame:
    """The stored values of each KPI whose period ends on or after the first day asked for at
    the KPI's frequency (`floors`, by frequency), as the rules see them: kpi_id, unit_id,
    period_start, period_end and value (a ratio's divided out, null for a zero denominator).

    The store keeps values in order of their period's last day: the values from the latest
    of those days are one range of it, read whole; before it, each earlier range keeps only
    the values of the KPIs of the frequencies that reach back that far.
    """
    from lineofsight.store.measurements import with_starts

    known = {frequency.value for frequency in m.Frequency}
    assert set(floors) <= known, floors  # frequencies are written into the query
    days = sorted(set(floors.values()))
    columns = f"kpi_id, unit_id, period, period_end, {_RULES_VALUE} AS value"
    parts = [f"SELECT {columns} FROM measurements WHERE period_end >= {{}}"]
    params: list[object] = [days[-1]]
    for day, following in itertools.pairwise(days):
        names = ", ".join(f"'{f}'" for f in sorted(floors) if floors[f] <= day)
        parts.append(
            f"SELECT {columns} FROM measurements WHERE period_end >= {{}} AND period_end < {{}}"
            f" AND kpi_id IN (SELECT id FROM kpis WHERE frequency IN ({names}))"
        )
        params += [day, following]
    frame = read_frame(store, " UNION ALL ".join(parts), params, _RECENT_SCHEMA)
    return with_starts(frame).select("kpi_id", "unit_id", "period_start", "period_end", "value")


# The ratio rows whose denominator makes no ratio (`domain.limits.denominator_problem` says
# why): refused at every input now, they may be in a store written before.
_NO_RATIO = (
    "SELECT kpi_id, unit_id, period, numerator, denominator FROM measurements "
    "WHERE numerator IS NOT NULL AND (denominator < 0 OR (denominator = 0 AND numerator <> 0))"
)
_RATIO_SCHEMA = {
    "kpi_id": TEXT,
    "unit_id": TEXT,
    "period": TEXT,
    "numerator": NUMBER,
    "denominator": NUMBER,
}


def read_ratios_without_denominator(store: Store) -> pl.DataFrame:
    """The stored ratio rows with a zero denominator under a numerator that is not zero, or
    a negative denominator: kpi_id, unit_id, period, numerator, denominator."""
    return read_frame(store, _NO_RATIO, [], _RATIO_SCHEMA)
