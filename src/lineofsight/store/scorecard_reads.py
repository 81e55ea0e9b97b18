"""What a scorecard reads from the store, as frames: the definitions the engine scores with,
the measurements of a window of days (of every KPI or of some), and the labels people read.

Every read goes through `arrow.read_frame` (Arrow straight from SQLite where it can), except
the reads of some KPIs' measurements, which find them along the primary key."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from lineofsight.domain.model import Frequency
from lineofsight.domain.periods import start_of
from lineofsight.store.arrow import (
    ISO_DATE,
    Read,
    frame_of,
    read_frame,
    read_frames,
    read_frames_then,
    read_in_turn,
)
from lineofsight.store.database import Store

_COLUMNS = "kpi_id, unit_id, period, period_end, value, numerator, denominator"
# As stored: the period's label, from which (with its last day) its first day follows.
STORED_SCHEMA = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period": pl.String,
    "period_end": pl.Date,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}

# A window's rows as read through ADBC on an SQLite file, in fewer columns: ADBC's SQLite
# driver spends on each value it hands over (whatever its type) about what SQLite spends on
# finding the row (100,000 KPIs' three months of values: 7 columns 130 ms, 4 columns 95 ms).
# Each row's last day and period's label come as one text, `ended` (the day in ISO, then the
# label: `with_starts` parts them), and the numerator and denominator, missing from all rows
# but a ratio's, are read apart, only of the rows that hold either (`_PLAIN` and `_PARTS`:
# the rows of the one and of the other; the second read looks at every row again, a fifth of
# the time the two columns cost). The engine reads rows in any order.
_ENDED = "kpi_id, unit_id, period_end || period AS ended, value"
ENDED_SCHEMA = {"kpi_id": pl.String, "unit_id": pl.String, "ended": pl.String, "value": pl.Float64}
_ENDED_PARTS = f"{_ENDED}, numerator, denominator"
ENDED_PARTS_SCHEMA = {**ENDED_SCHEMA, "numerator": pl.Float64, "denominator": pl.Float64}
_PLAIN = " AND numerator IS NULL AND denominator IS NULL"
_PARTS = " AND (numerator IS NOT NULL OR denominator IS NOT NULL)"


def read_measurement_rows(
    store: Store,
    window: tuple[dt.date, dt.date] | None = None,
    early: tuple[dt.date, Sequence[str]] | None = None,
    *,
    monthly: bool = False,
    kpis: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Stored measurements (`STORED_SCHEMA` with each period's first day, `period_start`),
    optionally only those whose last day is in `window`; `early` (a day in the window and
    frequencies): those whose last day is before that day only of the KPIs of these
    frequencies (the others' are not read: most rows of a window are months no KPI of
    theirs looks at). `monthly`: the window's rows read a calendar month of last days at a
    time, the months at once (`arrow.read_frames`: on an SQLite file most of a read is
    outside Python's lock), put back together in the order of one read (through ADBC, the
    rows holding a numerator or a denominator after the others: see `ENDED_SCHEMA`).
    `kpis`: the KPIs' frame (with `frequency` and `id`), when known: the early part may then
    be read day by day (`_by_day`; the same rows in the same order)."""
    if window is None:
        select = f"SELECT {_COLUMNS} FROM measurements"
        return with_starts(read_frame(store, select, [], STORED_SCHEMA))
    by_day = None if kpis is None else _by_day(store, kpis, window, early, in_turn=False)
    ended = store.arrow_file is not None
    reads = _measurement_reads(window, early, monthly, by_day, ended)
    return measurement_rows(read_frames(store, reads))


# Which measurements a scorecard reads (`read_measurement_rows`'s arguments): the window of
# last days, the early part read only for some frequencies, and whether a month at a time.
Selection = tuple[tuple[dt.date, dt.date], tuple[dt.date, Sequence[str]] | None, bool]


def _measurement_reads(
    window: tuple[dt.date, dt.date],
    early: tuple[dt.date, Sequence[str]] | None,
    monthly: bool,
    by_day: Sequence[str] | None = None,
    ended: bool = False,
) -> list[Read]:
    """The reads of `read_measurement_rows` with a window (`by_day`: the ids of the early
    part's KPIs when it is read day by day, see `_by_day`; `ended`: in the columns of a read
    through ADBC, `ENDED_SCHEMA`, the rows holding a numerator or a denominator read apart);
    the early part last."""
    columns, schema = (_ENDED_PARTS, ENDED_PARTS_SCHEMA) if ended else (_COLUMNS, STORED_SCHEMA)
    select = f"SELECT {columns} FROM measurements"
    start = window[0]
    if early is not None and window[0] < early[0]:
        start = early[0]
    main = " WHERE period_end >= {} AND period_end <= {}"
    parts = _months(start, window[1]) if monthly else [(start, window[1])]
    reads: list[Read]
    if ended:
        plain = f"SELECT {_ENDED} FROM measurements" + main + _PLAIN
        reads = [(plain, [first, last], ENDED_SCHEMA) for first, last in parts]
        reads.append((select + main + _PARTS, [start, window[1]], schema))
    else:
        reads = [(select + main, [first, last], schema) for first, last in parts]
    if start != window[0]:
        assert early is not None
        if by_day is not None:
            # The early part's distinct last days, then each of these KPIs' rows of each day.
            query = _of_kpis(columns, by_day)
            reads.append((query, [window[0], start, start], schema))
            return reads
        # Frequencies are the model's own words, never a user's text: inlined.
        listed = ", ".join(f"'{Frequency(f).value}'" for f in early[1])
        query = (
            select + " WHERE period_end >= {} AND period_end < {}"
            f" AND kpi_id IN (SELECT id FROM kpis WHERE frequency IN ({listed}))"
        )
        reads.append((query, [window[0], start], schema))
    return reads


def _of_kpis(columns: str, ids: Iterable[str]) -> str:
    """The query of these KPIs' rows (`columns`, every unit) whose last day is from {} to
    before {} (and {} again), in the order of the primary key: each last day held there
    found along the key from the one before (`_DAYS`), then each KPI's rows of that day
    (cheaper than a look at every row of those days when the KPIs are few)."""
    return (
        f"SELECT * FROM ({_DAYS} SELECT {_taken(columns)} FROM days d CROSS JOIN measurements m"
        f" ON m.period_end = d.day WHERE m.kpi_id IN (SELECT value FROM {_ids(ids)})"
        " ORDER BY m.period_end, m.kpi_id, m.unit_id, m.period)"
    )


def _ids(ids: Iterable[str]) -> str:
    """A table of these ids (its column `value`), sorted, to join in a query: a JSON array
    written in hexadecimal UTF-8 (the ids are a user's text: no character of theirs is in
    the query), which SQLite reads at once (a list of literals is parsed one by one)."""
    written = json.dumps(sorted(set(ids)), ensure_ascii=False).encode().hex()
    return f"json_each(CAST(X'{written}' AS TEXT))"


def _taken(columns: str) -> str:
    """`columns` of the measurements' table taken from it as `m` in a join."""
    return re.sub(
        r"\b(kpi_id|unit_id|period_end|period|value|numerator|denominator)\b", r"m.\1", columns
    )


# The distinct last days from {} to before {} (each found from the one before along the
# primary key, not by reading every row of those days).
_DAYS = """WITH RECURSIVE days(day) AS (
 SELECT min(period_end) FROM measurements WHERE period_end >= {} AND period_end < {}
 UNION ALL
 SELECT (SELECT min(period_end) FROM measurements WHERE period_end > day AND period_end < {})
 FROM days WHERE day IS NOT NULL)"""
# The early part is read day by day when it has this many distinct last days at most.
_FEW_DAYS = 8


def _by_day(
    store: Store,
    kpis: pl.DataFrame,
    window: tuple[dt.date, dt.date],
    early: Any,
    *,
    in_turn: bool = True,
) -> list[str] | None:
    """The ids of the KPIs of the early part of a window (`read_measurement_rows`'s `early`:
    those of its frequencies) when it is read day by day on this SQLite file, else None
    (`in_turn`: by the thread holding its `arrow_turn`, else taking it). So when its last
    days are few (a month's or a quarter's last days) and its KPIs few enough that finding
    each one's rows of each day along the primary key costs less than testing every row of
    those days against their ids (a scorecard of monthly and quarterly KPIs: a tenth of the
    KPIs, four days, a third of the time). Either way the same rows in the same order; the
    days counted here (on a connection of their own) only choose the way."""
    if early is None or window[0] >= early[0] or store.arrow_file is None:
        return None
    mine = kpis.filter(pl.col("frequency").is_in(list(early[1])))["id"]
    count = f"SELECT count(*) AS n FROM ({_DAYS} SELECT day FROM days LIMIT {_FEW_DAYS + 2})"
    read: Read = (count, [window[0], early[0], early[0]], {"n": pl.Int64})
    found = read_in_turn(store, read) if in_turn else read_frame(store, *read)
    days = int(found["n"][0]) - 1  # the last row of the walk holds no day
    few = days <= _FEW_DAYS and days * mine.len() <= kpis.height
    return mine.to_list() if few else None


def measurement_rows(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The frames of `_measurement_reads` as one, with each period's first day (those read
    without a numerator and denominator with them missing)."""
    if len(frames) == 1:
        return with_starts(frames[0])
    return with_starts(pl.concat(frames, how="diagonal", rechunk=False))


def _months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The days from `first` to `last` cut at the start of each calendar month."""
    parts = []
    while first <= last:
        following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        end = min(last, following - dt.timedelta(days=1))
        parts.append((first, end))
        first = following
    return parts


def read_kpi_measurement_rows(
    store: Store, kpi_ids: Iterable[str], window: tuple[dt.date, dt.date] | None = None
) -> pl.DataFrame:
    """The stored measurements of these KPIs only (every unit), as `read_measurement_rows`."""
    from lineofsight.store.measurements import kpi_measurements_query

    query = kpi_measurements_query(kpi_ids, window)
    with store.reading() as conn:
        rows = conn.execute(query).all()
    return with_starts(frame_of(rows, STORED_SCHEMA))


def read_value_ends(store: Store, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Which KPI has a value at which unit for a period ending on which day, of the values
    whose period ends from `first` to `last` (`kpi_id`, `unit_id`, `period_end`; a day may
    come twice): what `engine.gaps` asks about."""
    query = (
        "SELECT kpi_id, unit_id, period_end FROM measurements"
        " WHERE period_end >= {} AND period_end <= {}"
    )
    schema = {"kpi_id": pl.String, "unit_id": pl.String, "period_end": pl.Date}
    return read_frame(store, query, [first, last], schema)


# Up to how many KPIs' older measurements are found along the primary key, KPI by KPI
# (`read_older_measurement_rows`); for more, the days before are read whole.
_FEW_KPIS = 20000


def read_older_measurement_rows(
    store: Store, kpi_ids: Collection[str], before: dt.date, since: dt.date | None = None
) -> pl.DataFrame:
    """The stored measurements of these KPIs (every unit) whose last day is before `before`
    (and on or after `since` when given), as `read_measurement_rows`: what a scorecard reads
    for the rows whose last known value is older than its window of days.

    On an SQLite file, a few KPIs' rows are found along the primary key through Arrow, as
    the scorecard's other reads (a status in full then needs no SQLAlchemy, whose import
    alone costs more than the read): each last day held in the window (the recursive
    `_DAYS`), then each KPI there (the ids written into the query as `_ids` does)."""
    first = since or dt.date(1, 1, 1)
    if not kpi_ids:
        return with_starts(frame_of([], STORED_SCHEMA))
    if len(kpi_ids) > _FEW_KPIS:
        select = (
            f"SELECT {_COLUMNS} FROM measurements WHERE period_end >= {{}} AND period_end < {{}}"
        )
        found = read_frame(store, select, [first, before], STORED_SCHEMA)
        return with_starts(found.filter(pl.col("kpi_id").is_in(list(kpi_ids))))
    if store.arrow_file is None:
        return read_kpi_measurement_rows(store, kpi_ids, (first, before - dt.timedelta(days=1)))
    query = _of_kpis(_COLUMNS, kpi_ids)
    return with_starts(read_frame(store, query, [first, before, before], STORED_SCHEMA))


# The table each definition frame is read from; its columns are the engine's (see
# `engine.frame_definitions.DEFINITION_COLUMNS`), named alike in the table.
DEFINITION_TABLES = {
    "kpis": "kpis",
    "period_targets": "kpi_period_targets",
    "unit_targets": "kpi_unit_targets",
    "supports": "kpi_supports",
    "objectives": "objectives",
    "units": "units",
}


# The labels (`store.labels.Labels`) read with the definitions, from the same tables: each
# frame's extra columns, the label frame's columns (from the extra ones and the ids).
_LABEL_COLUMNS: dict[str, dict[str, Any]] = {
    "kpis": {"name": pl.String, "unit_of_measure": pl.String},
    "objectives": {"title": pl.String},
    "units": {"name": pl.String},
}


# The organisation's calendar and scoring: (fiscal year start, scoring settings, due days).
Settings = tuple[int, dict[str, Any], int]


def read_definition_tables(
    store: Store, columns: Mapping[str, Mapping[str, Any]], *, labels: bool = False
) -> tuple[Settings, dict[str, pl.DataFrame]] | None:
    """The organisation's calendar and scoring ((fiscal year start, scoring settings, due
    days)) and each definition table of `DEFINITION_TABLES` with the `columns` (name: type)
    asked for it, the period targets in the file's order; None before the first apply.
    `labels`: with the labels of `store.labels.read_labels` too, read in the same queries
    (frames `kpi_labels`, `objective_labels`, `unit_labels`).

    The tables are read at once (`arrow.read_frames`), the KPIs' table (most of the time) on
    an SQLite file in two halves of its rows."""
    found = _organization_row(store)
    if found is None:
        return None
    row, last_rowid = found
    reads = _definition_reads(columns, labels, last_rowid)
    return _settings(row), _definition_frames(read_frames(store, reads), labels)


def read_definitions_and_measurements(
    store: Store,
    columns: Mapping[str, Mapping[str, Any]],
    select: Callable[[Settings, pl.DataFrame], Selection],
    *,
    labels: bool = False,
) -> tuple[Settings, dict[str, pl.DataFrame], pl.DataFrame] | None:
    """`read_definition_tables` and the measurements of `read_measurement_rows` with the
    arguments that `select` gives from the organisation's settings and the KPIs' frame (with
    the `columns` asked for it), all of one state of the store. On an SQLite file the
    measurements are read as soon as the KPIs are, beside the other definition tables
    (`arrow.read_frames_then`)."""
    found = _organization_row(store)
    if found is None:
        return None
    # The settings are read again among the watched reads: those of the state the KPIs and
    # measurements are read from (an apply may change the calendar in between).
    reads = [_ORGANIZATION_READ, *_definition_reads(columns, labels, found[1])]
    halves = 2 if len(reads) > len(DEFINITION_TABLES) + 1 else 1

    def measurements(given: list[pl.DataFrame]) -> list[Read]:
        kpis = pl.concat(given[1:]) if halves > 1 else given[1]
        window, early, monthly = select(_settings(given[0].row(0)), kpis)
        by_day = _by_day(store, kpis, window, early)
        return _measurement_reads(window, early, monthly, by_day, store.arrow_file is not None)

    read = read_frames_then(store, reads, 1 + halves, measurements)
    frames = _definition_frames(read[1 : len(reads)], labels)
    return _settings(read[0].row(0)), frames, measurement_rows(read[len(reads) :])


# The organisation's settings as one of the reads of `read_definitions_and_measurements`.
_ORGANIZATION_READ: Read = (
    "SELECT fiscal_year_start, CAST(scoring AS TEXT) AS scoring, due_days FROM organization",
    [],
    {"fiscal_year_start": pl.Int64, "scoring": pl.String, "due_days": pl.Int64},
)


def _settings(row: Any) -> Settings:
    scoring = row[1]
    if isinstance(scoring, str):
        scoring = json.loads(scoring)
    return (row[0], scoring or {}, row[2])


def _definition_reads(
    columns: Mapping[str, Mapping[str, Any]], labels: bool, last_rowid: int | None
) -> list[Read]:
    """The reads of `read_definition_tables`, the KPIs' first (in two halves on an SQLite
    file read through ADBC: `last_rowid`)."""
    reads: list[Read] = []
    for name, table in DEFINITION_TABLES.items():
        schema = dict(columns[name])
        if name == "period_targets":  # in the file's order: sorted once read (`typed_query`)
            schema["position"] = pl.Int64
        if labels:
            schema.update(_LABEL_COLUMNS.get(name, {}))
        query = f"SELECT {', '.join(schema)} FROM {table}"
        if name == "kpis" and last_rowid is not None and last_rowid > 1:
            # Two halves, in the order of a whole table's scan (its rows' order).
            half = last_rowid // 2
            reads.append((query + " WHERE rowid <= {}", [half], schema))
            reads.append((query + " WHERE rowid > {}", [half], schema))
        else:
            reads.append((query, [], schema))
    return reads


def _definition_frames(read: list[pl.DataFrame], labels: bool) -> dict[str, pl.DataFrame]:
    """The frames of `_definition_reads`, by name (with the labels' when `labels`)."""
    if len(read) > len(DEFINITION_TABLES):
        read[:2] = [pl.concat(read[:2])]
    frames = dict(zip(DEFINITION_TABLES, read, strict=True))
    if labels:
        frames["kpi_labels"] = frames["kpis"].select("id", "name", "unit_of_measure")
        frames["objective_labels"] = frames["objectives"].select(
            "id", pl.col("title").alias("name"), "unit_id"
        )
        frames["unit_labels"] = frames["units"].select("id", "name")
        for name, extra in _LABEL_COLUMNS.items():
            frames[name] = frames[name].drop(list(extra))
    frames["period_targets"] = (
        frames["period_targets"].sort("kpi_id", "position", maintain_order=True).drop("position")
    )
    return frames


def _organization_row(store: Store) -> tuple[Any, int | None] | None:
    """(fiscal_year_start, scoring, due_days) of the organisation, and the KPIs' table's
    last row id on an SQLite file read through ADBC (else None); None before any apply."""
    query = "SELECT fiscal_year_start, scoring, due_days FROM organization"
    with store.plain_reading() as plain:
        if plain is not None:  # a plain SQLite file: SQLAlchemy not loaded for it
            row = plain.execute(query).fetchone()
            if row is None:
                return None
            last = None
            if store.arrow_file is not None:
                last = plain.execute("SELECT max(rowid) FROM kpis").fetchone()[0]
            return row, last
    from sqlalchemy import text

    with store.reading() as conn:
        row = conn.execute(text(query)).first()
    return None if row is None else (row, None)


def with_starts(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (with `period` and `period_end`) with each period's first day, `period_start`:
    worked out once for each distinct period and joined on. A frame of `ENDED_SCHEMA` (each
    row's last day and label as one text, `ended`) is given `STORED_SCHEMA`'s columns the
    same way (the numerator and denominator missing where it has none)."""
    if "ended" not in frame.columns:
        if frame.is_empty():
            return frame.with_columns(period_start=pl.lit(None, pl.Date))
        starts = _starts(frame.select("period", "period_end").unique())
        return frame.join(starts, on=["period", "period_end"], how="left", maintain_order="left")
    if frame.is_empty():
        return pl.DataFrame(schema=STORED_SCHEMA).with_columns(period_start=pl.lit(None, pl.Date))
    ended = frame["ended"]
    distinct = ended.unique().sort()
    periods = _starts(
        pl.DataFrame({"ended": distinct}).select(
            period=pl.col("ended").str.slice(10),
            period_end=pl.col("ended").str.slice(0, 10).str.to_date(ISO_DATE),
        )
    )
    # Each row's period by its number among the distinct ones (a gather, not a join).
    number = ended.cast(pl.Enum(distinct)).to_physical()
    taken = {name: periods[name].gather(number) for name in periods.columns}
    return frame.select(
        *(
            taken[name]
            if name in taken
            else frame[name]
            if name in frame.columns
            else pl.lit(None, dtype).alias(name)
            for name, dtype in STORED_SCHEMA.items()
        ),
        taken["period_start"],
    )


def _starts(periods: pl.DataFrame) -> pl.DataFrame:
    """Distinct periods (`period`, `period_end` and any other column) with their first day."""
    pairs = periods.select("period", "period_end").iter_rows()
    return periods.with_columns(
        period_start=pl.Series([start_of(label, end) for label, end in pairs], dtype=pl.Date)
    )
