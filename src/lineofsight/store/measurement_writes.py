"""Write measurements: compare a file's checked rows with the store, add the new values,
replace the changed ones and delete one, keeping every replaced or deleted value as a
revision (never lost). Each runs inside the caller's load session (one transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, select, update

from lineofsight.domain.model import Calendar
from lineofsight.domain.periods import parse_period
from lineofsight.store import tables as t
from lineofsight.store.loading import LoadSession, time_parameter
from lineofsight.store.measurement_overlaps import (
    OVERLAPS,
    overlapping,
    stored_near,
    with_ends,
)
from lineofsight.store.measurements import (
    COMPARED,
    KEY,
    MEASUREMENT_FRAME,
    current_value,
)
from lineofsight.store.scorecards import MARKS_QUERY


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """How many of a file's rows a write added, replaced and found as stored."""

    added: int
    replaced: int
    unchanged: int


# A stored row: its key and the values a load compares (read with a typed first row, see
# `typed_query`, so that a column whose first values are missing keeps its type).
_STORED = {name: MEASUREMENT_FRAME[name] for name in (*KEY, *COMPARED)}
_STORED_COLUMNS = ", ".join(f"m.{name}" for name in (*KEY, *COMPARED))
# The stored rows of a few (last day, KPI) pairs are found one key step each; those of many,
# by reading their last days whole (each a range of the table).
_STORED_BY_PAIRS = (
    f"SELECT {_STORED_COLUMNS} FROM load_keys k CROSS JOIN measurements m "
    "WHERE m.period_end = k.period_end AND m.kpi_id = k.kpi_id"
)
# Only the file's KPIs: the other KPIs' values on those days are neither compared nor can
# they overlap, and a store of many KPIs' histories holds many of them.
_STORED_BY_ENDS = (
    f"SELECT {_STORED_COLUMNS} FROM measurements m "
    "WHERE m.period_end IN (SELECT period_end FROM load_ends) "
    "AND m.kpi_id IN (SELECT kpi_id FROM load_kpis)"
)
# Every stored row of some (last day, KPI) pairs, as a process holds them (`compare_held`).
HELD = {"period_end": pl.Date, **_STORED}
_HELD_BY_PAIRS = (
    f"SELECT k.pair, {_STORED_COLUMNS} FROM load_keys k CROSS JOIN measurements m "
    "WHERE m.period_end = k.period_end AND m.kpi_id = k.kpi_id"
)
_ANY = "SELECT COUNT(*) FROM (SELECT 1 FROM measurements LIMIT 1) x"
PAIRS_AT_MOST = 20_000
# How many of the file's rows a comparison with the store takes at a time.
COMPARE_ROWS = 500_000
_N = {"n": pl.Int64}
# What the table keeps of a checked row: not the first day and grain (see `with_starts`).
_STORED_AS = [name for name in MEASUREMENT_FRAME if name not in ("grain", "period_start")]
# The primary key: a row of the file and a stored row are the same measurement.
_SAME_ROW = " AND ".join(f"m.{name} = n.{name}" for name in ("period_end", *KEY))


@dataclass(frozen=True)
class Comparison:
    """A file's checked rows against the store: what is new, what changed, and what overlaps.

    `overlaps` has one row per pair of a file row that the load writes (new or changed) and a
    stored value of the same KPI and unit whose periods share days but are not the same
    period (a day and its month, a week across two months, a fiscal and a calendar quarter):
    kpi_id, unit_id, period, row (the file's row number, when the frame had a `row` column),
    stored_period.
    """

    frame: pl.DataFrame
    new: pl.DataFrame
    changed: pl.DataFrame
    overlaps: pl.DataFrame


def compare_measurements(
    session: LoadSession,
    frame: pl.DataFrame,
    calendar: Calendar = Calendar(),
    *,
    relative: float = 0.0,
    keep_notes: bool = False,
) -> Comparison:
    """The file's rows (MEASUREMENT_FRAME, and optionally `row`) compared with the store of
    an organisation with this calendar. `relative`: numbers that differ by at most this part
    of the larger are the same (a source's float sums differ in their last bits from one run
    to the next); 0: compared exactly. `keep_notes`: the rows say nothing of notes (a file
    without a note column), so a stored value keeps its note, and is unchanged when its
    numbers are."""
    rows = frame if "row" in frame.columns else frame.with_row_index("row", offset=1)
    frame = _unsigned(frame)
    new, changed, others = _compare(session, frame, relative, keep_notes)
    return _with_overlaps(session, rows, frame, (new, changed, others), calendar)


def compare_held(
    session: LoadSession,
    frame: pl.DataFrame,
    calendar: Calendar,
    held: pl.DataFrame | None,
    *,
    relative: float = 0.0,
) -> tuple[Comparison, pl.DataFrame | None]:
    """`compare_measurements`, the stored rows of the (last day, KPI) pairs `held` has taken
    from it instead of the store: `held` (HELD) holds every stored row of each of its pairs,
    as a write of this process left them, and the caller vouches that nothing was written
    since. With it, the stored rows of the frame's pairs as they are once the comparison is
    written (HELD; None when the frame has too many pairs not held to read them whole)."""
    rows = frame if "row" in frame.columns else frame.with_row_index("row", offset=1)
    if session.dialect != "sqlite":
        return compare_measurements(session, rows, calendar, relative=relative), None
    frame = _unsigned(frame)
    pairs = frame.select("period_end", "kpi_id").unique()
    if held is not None:
        held = held.join(pairs, on=["period_end", "kpi_id"], how="semi")
        pairs = pairs.join(held.select("period_end", "kpi_id"), on=pairs.columns, how="anti")
    stored = pl.DataFrame(schema=HELD)
    if pairs.height > PAIRS_AT_MOST:
        if session.query(_ANY, _N).item():
            return compare_measurements(session, rows, calendar, relative=relative), None
    elif not pairs.is_empty():
        # Each stored row's last day is its pair's (read as the pair's place, not as text).
        pairs = pairs.with_row_index("pair").with_columns(pl.col("pair").cast(pl.Int64))
        session.stage("load_keys", pairs)
        found = session.query(_HELD_BY_PAIRS, {"pair": pl.Int64, **_STORED})
        ends = pairs.get_column("period_end").gather(found.get_column("pair"))
        stored = found.select(ends.alias("period_end"), *_STORED)
    if held is not None:
        stored = pl.concat([held, stored]) if not stored.is_empty() else held
    parts = _split(frame, stored.drop("period_end"), relative)
    comparison = _with_overlaps(session, rows, frame, parts, calendar)
    # As the write leaves them: the stored rows, the changed ones with their new values,
    # and the new rows.
    changed = comparison.changed.select(list(HELD))
    if not changed.is_empty():
        stored = pl.concat([stored.join(changed.select(KEY), on=KEY, how="anti"), changed])
    new = comparison.new.select(list(HELD))
    return comparison, pl.concat([stored, new]) if not new.is_empty() else stored


def _unsigned(frame: pl.DataFrame) -> pl.DataFrame:
    """The measurements (MEASUREMENT_FRAME) with a value of -0 as 0: SQLite drops the sign of
    a whole REAL, PostgreSQL would keep it. Not `+ 0.0`: Polars skips adding a literal 0 to a
    column of more than one row (as `engine.values.unsigned`, which the store may not
    import)."""
    numbers = pl.col("value", "numerator", "denominator")
    return frame.select(list(MEASUREMENT_FRAME)).with_columns(
        pl.when(numbers == 0).then(0.0).otherwise(numbers).name.keep()
    )


def _with_overlaps(
    session: LoadSession,
    rows: pl.DataFrame,
    frame: pl.DataFrame,
    parts: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
    calendar: Calendar,
) -> Comparison:
    """The comparison of `frame` (`rows`: the same with each row's number) whose rows are new,
    changed and whose stored rows are not in it (`parts`), with the overlaps it would make."""
    new, changed, others = parts
    # Only what the load writes can make a new overlap: a row the store already holds as it
    # is, and whatever shares its days, were both there before.
    written = pl.concat([new, changed]) if not changed.is_empty() else new
    if written.is_empty():
        return Comparison(frame, new, changed, pl.DataFrame(schema=OVERLAPS))
    if written.height < frame.height:
        rows = rows.join(written.select(KEY), on=KEY, how="semi", maintain_order="left")
    others = with_ends(others, calendar)
    extra = stored_near(session, written, frame, calendar.fiscal_year_start)
    candidates = pl.concat([others, extra]) if not extra.is_empty() else others
    return Comparison(frame, new, changed, overlapping(rows, candidates))


def write_compared(
    session: LoadSession, comparison: Comparison, *, source: str, at: dt.datetime
) -> WriteCounts:
    """Add new values, replace changed ones (keeping the old as a revision), skip the same.

    What is new, changed or the same is found by joining the file's rows with the stored
    values of its periods and KPIs (compared exactly, missing values alike). New rows go to
    the table in its own order (by last day), which appends a new period at the end; changed
    rows go through a temporary table, and SQL does the rest. When anything is written, one
    row of `loads` records the source and the time. The caller refuses overlaps first.
    """
    frame, new, changed = comparison.frame, comparison.new, comparison.changed
    unchanged = frame.height - new.height - changed.height
    if new.is_empty() and changed.is_empty():
        return WriteCounts(added=0, replaced=0, unchanged=unchanged)
    recorded_at = time_parameter(session, at)
    load_id = session.insert_returning_id(
        "INSERT INTO loads (source, recorded_at) VALUES (?, ?) RETURNING id", [source, recorded_at]
    )
    if not changed.is_empty():
        session.stage("load_rows", changed)
        session.execute(
            "INSERT INTO measurement_revisions (kpi_id, unit_id, period, revision, value, "
            "numerator, denominator, note, recorded_at, source, replaced_at) "
            "SELECT m.kpi_id, m.unit_id, m.period, m.revision, m.value, m.numerator, "
            "m.denominator, m.note, l.recorded_at, l.source, ? "
            "FROM load_rows n CROSS JOIN measurements m JOIN loads l ON l.id = m.load_id "
            f"WHERE {_SAME_ROW}",
            [recorded_at],
        )
        session.execute(
            "UPDATE measurements SET value = n.value, numerator = n.numerator, "
            "denominator = n.denominator, note = n.note, revision = measurements.revision + 1, "
            "load_id = ? FROM load_rows AS n WHERE " + _SAME_ROW.replace("m.", "measurements."),
            [load_id],
        )
    if not new.is_empty():
        session.append(
            "measurements",
            new.select(_STORED_AS)
            .sort("period_end", *KEY, maintain_order=True)
            .with_columns(revision=pl.lit(1, pl.Int64), load_id=pl.lit(load_id, pl.Int64)),
        )
    return WriteCounts(added=new.height, replaced=changed.height, unchanged=unchanged)


@dataclass(frozen=True, slots=True)
class KpiWrite:
    """What a write of many KPIs' values did for one KPI: its counts, and the `loads` row
    of its write (None when it wrote nothing)."""

    counts: WriteCounts
    load_id: int | None


def write_compared_by_kpi(
    session: LoadSession,
    comparison: Comparison,
    sources: Mapping[str, str],
    *,
    at: dt.datetime,
) -> dict[str, KpiWrite]:
    """`write_compared` of each KPI's rows as a write of its own (`sources`: each KPI's
    provenance, in the order their `loads` rows are made), done as one write: a `loads` row
    for each KPI that adds or replaces a value, then every new and changed value at once.
    A KPI whose values are all as stored gets no `loads` row, and nothing of it is written."""
    frame, new, changed = comparison.frame, comparison.new, comparison.changed
    totals = _by_kpi(frame)
    added, replaced = _by_kpi(new), _by_kpi(changed)
    recorded_at = time_parameter(session, at)
    writing = [kpi_id for kpi_id in sources if added.get(kpi_id) or replaced.get(kpi_id)]
    ids = _load_ids(session, writing, sources, recorded_at)
    missing = (set(added) | set(replaced)) - set(ids)
    if missing:
        raise ValueError(f"no provenance for the values of {sorted(missing)}")
    load_ids = pl.DataFrame(
        {"kpi_id": list(ids), "load_id": list(ids.values())},
        schema={"kpi_id": pl.String, "load_id": pl.Int64},
    )
    if not changed.is_empty():
        session.stage("load_rows", changed.join(load_ids, on="kpi_id", how="left"))
        session.execute(
            "INSERT INTO measurement_revisions (kpi_id, unit_id, period, revision, value, "
            "numerator, denominator, note, recorded_at, source, replaced_at) "
            "SELECT m.kpi_id, m.unit_id, m.period, m.revision, m.value, m.numerator, "
            "m.denominator, m.note, l.recorded_at, l.source, ? "
            "FROM load_rows n CROSS JOIN measurements m JOIN loads l ON l.id = m.load_id "
            f"WHERE {_SAME_ROW}",
            [recorded_at],
        )
        session.execute(
            "UPDATE measurements SET value = n.value, numerator = n.numerator, "
            "denominator = n.denominator, note = n.note, revision = measurements.revision + 1, "
            "load_id = n.load_id FROM load_rows AS n WHERE "
            + _SAME_ROW.replace("m.", "measurements."),
        )
    if not new.is_empty():
        session.append(
            "measurements",
            new.select(_STORED_AS)
            .sort("period_end", *KEY, maintain_order=True)
            .with_columns(revision=pl.lit(1, pl.Int64))
            .join(load_ids, on="kpi_id", how="left", maintain_order="left"),
        )
    return {
        kpi_id: KpiWrite(
            WriteCounts(
                added=added.get(kpi_id, 0),
                replaced=replaced.get(kpi_id, 0),
                unchanged=totals.get(kpi_id, 0) - added.get(kpi_id, 0) - replaced.get(kpi_id, 0),
            ),
            ids.get(kpi_id),
        )
        for kpi_id in sources
    }


def _load_ids(
    session: LoadSession, kpis: list[str], sources: Mapping[str, str], recorded_at: Any
) -> dict[str, int]:
    """A `loads` row for each of `kpis` (its provenance from `sources`), in that order; the
    id of each. On SQLite one statement makes them all: the transaction holds the only write
    lock from its first insert on, so the newest ids are its own, given in insertion order.
    Elsewhere one row at a time, each id as the row's insert returns it."""
    if len(kpis) > 1 and session.dialect == "sqlite":
        session.stage(
            "load_sources",
            pl.DataFrame(
                {"position": range(len(kpis)), "source": [sources[kpi] for kpi in kpis]},
                schema={"position": pl.Int64, "source": pl.String},
            ),
        )
        session.execute(
            "INSERT INTO loads (source, recorded_at) "
            "SELECT source, ? FROM load_sources ORDER BY position",
            [recorded_at],
        )
        newest = session.query(
            f"SELECT id FROM (SELECT id FROM loads ORDER BY id DESC LIMIT {len(kpis)}) x",
            {"id": pl.Int64},
        )
        return dict(zip(kpis, sorted(newest["id"].to_list()), strict=True))
    return {
        kpi_id: session.insert_returning_id(
            "INSERT INTO loads (source, recorded_at) VALUES (?, ?) RETURNING id",
            [sources[kpi_id], recorded_at],
        )
        for kpi_id in kpis
    }


def written_marks(session: LoadSession) -> tuple[int, int, int]:
    """The newest definition change, load and replaced value the store holds (0: none; the
    marks a kept scorecard covers). Equal twice on SQLite, whose writers take turns, nothing
    was written in between."""
    row = session.query(
        MARKS_QUERY, {"definitions": pl.Int64, "load": pl.Int64, "revision": pl.Int64}
    )
    if row.is_empty():
        return 0, 0, 0
    definitions, load, revision = row.row(0)
    return int(definitions or 0), int(load or 0), int(revision or 0)


def _by_kpi(frame: pl.DataFrame) -> dict[str, int]:
    return dict(frame.group_by("kpi_id").len().iter_rows())


def _compare(
    session: LoadSession, frame: pl.DataFrame, relative: float = 0.0, keep_notes: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The file's rows that are new, those whose stored values differ, and the stored rows
    read on the way that the file does not hold (OTHERS: they may overlap its periods).

    The stored values of a few (last day, KPI) pairs are looked up pair by pair; those of
    many, a group of last days at a time, so that only part of a large store is in memory at
    once (a whole history loaded again compares one slice after another).
    """
    anything = session.query(_ANY, _N)
    if not anything.item():
        return frame, frame.clear(), pl.DataFrame(schema=_STORED).select(KEY)
    pairs = frame.select("period_end", "kpi_id").unique()
    if pairs.height <= PAIRS_AT_MOST:
        session.stage("load_keys", pairs)
        return _split(frame, session.query(_STORED_BY_PAIRS, _STORED), relative, keep_notes)
    session.stage("load_kpis", frame.select("kpi_id").unique())
    counts = frame.group_by("period_end").len().sort("period_end")
    groups = counts.with_columns(group=pl.col("len").cum_sum() // COMPARE_ROWS)
    new, changed, others = [], [], []
    for (_,), ends in groups.select("group", "period_end").group_by("group", maintain_order=True):
        session.stage("load_ends", ends.select("period_end"))
        part = frame.join(ends, on="period_end", how="semi")
        stored = session.query(_STORED_BY_ENDS, _STORED)
        new_here, changed_here, others_here = _split(part, stored, relative, keep_notes)
        new.append(new_here)
        changed.append(changed_here)
        others.append(others_here)
    return pl.concat(new), pl.concat(changed), pl.concat(others)


def _split(
    frame: pl.DataFrame, stored: pl.DataFrame, relative: float = 0.0, keep_notes: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Of `frame`'s rows, those `stored` does not hold, and those it holds with other values
    (`keep_notes`: with the stored note); and the stored rows `frame` does not hold."""
    if stored.is_empty():
        return frame, frame.clear(), pl.DataFrame(schema=_STORED).select(KEY)
    stored = stored.rename({name: f"{name}_stored" for name in COMPARED}).with_columns(
        held=pl.lit(True)
    )
    joined = frame.join(stored, on=KEY, how="left", maintain_order="left")
    if keep_notes:
        joined = joined.with_columns(pl.col("note").fill_null(pl.col("note_stored")))
    same = pl.lit(True)
    for name in COMPARED:
        mine, theirs = pl.col(name), pl.col(f"{name}_stored")
        equal = mine.eq_missing(theirs)
        if relative and frame.schema[name].is_float():
            bound = pl.max_horizontal(mine.abs(), theirs.abs()) * relative
            equal = equal | ((mine - theirs).abs() <= bound).fill_null(False)
        same = same & equal
    held = pl.col("held").fill_null(False)
    new = joined.filter(~held).select(frame.columns)
    changed = joined.filter(held & ~same).select(frame.columns)
    # Keys are unique on both sides: when every stored row was matched, none is left over.
    others = stored.clear().select(KEY)
    if frame.height - new.height < stored.height:
        others = stored.join(frame.select(KEY), on=KEY, how="anti").select(KEY)
    return new, changed, others


def move_fiscal_periods(conn: Connection, calendar: Calendar) -> int:
    """Give the stored fiscal periods (`FY2026`, `FY2026-Q1`) the days they have in `calendar`,
    after the fiscal year's first month changed; the number of values moved.

    A value's key holds its period's last day, which must follow from its label in the
    organisation's calendar, for the scorecards and for the key to stay one per period.
    """
    ms = t.measurements
    labels = conn.execute(select(ms.c.period).where(ms.c.period.like("FY%")).distinct())
    moved = 0
    for (label,) in labels.all():
        period = parse_period(label, calendar)
        moved += conn.execute(
            update(ms).where(ms.c.period == label).values(period_end=period.end)
        ).rowcount
    return moved


def delete_measurement(
    session: LoadSession,
    kpi_id: str,
    unit_id: str,
    period: str,
    period_end: dt.date,
    *,
    at: dt.datetime,
) -> dict[str, Any] | None:
    """Remove one current value, keeping it as a revision replaced at `at`; the value removed,
    or None when there was none.

    The ids and the period reach here only after the caller checked them against the store's
    KPIs, units and calendar, so they are quoted inline (see `measurements.current_value`).
    """
    found = current_value(session, kpi_id, unit_id, period, period_end)
    if not found:
        return None
    keys = pl.DataFrame([(kpi_id, unit_id, period, period_end)], schema=GONE_KEYS, orient="row")
    delete_measurements(session, keys, at=at)
    return found


# The keys of stored values to remove (`delete_measurements`).
GONE_KEYS = {"kpi_id": pl.String, "unit_id": pl.String, "period": pl.String, "period_end": pl.Date}


def delete_measurements(session: LoadSession, keys: pl.DataFrame, *, at: dt.datetime) -> int:
    """Remove the current values of `keys` (GONE_KEYS), each kept as a revision replaced at
    `at`, in the caller's transaction; how many were removed."""
    if keys.is_empty():
        return 0
    session.stage("load_gone", keys.select(list(GONE_KEYS)))
    replaced_at = time_parameter(session, at)
    session.execute(
        "INSERT INTO measurement_revisions (kpi_id, unit_id, period, revision, value, "
        "numerator, denominator, note, recorded_at, source, replaced_at) "
        "SELECT m.kpi_id, m.unit_id, m.period, m.revision, m.value, m.numerator, "
        "m.denominator, m.note, l.recorded_at, l.source, ? "
        "FROM load_gone n CROSS JOIN measurements m JOIN loads l ON l.id = m.load_id "
        f"WHERE {_SAME_ROW}",
        [replaced_at],
    )
    return session.execute(
        "DELETE FROM measurements WHERE EXISTS (SELECT 1 FROM load_gone n WHERE "
        + _SAME_ROW.replace("m.", "measurements.")
        + ")"
    )


# The current values of some KPIs (staged as `load_gone_kpis`: kpi_id, source) whose last
# write was a refresh of that source, with the numbers they hold.
WRITTEN_BY_SOURCE = {**GONE_KEYS, **{name: MEASUREMENT_FRAME[name] for name in COMPARED}}


def written_by_source(
    session: LoadSession, source: str, kpis: list[str], first: dt.date, last: dt.date
) -> pl.DataFrame:
    """The current values of `kpis` whose period ends from `first` to `last` and whose last
    write was a refresh of `source` (WRITTEN_BY_SOURCE)."""
    session.stage(
        "load_gone_kpis",
        pl.DataFrame(
            {"kpi_id": kpis, "source": [source] * len(kpis)},
            schema={"kpi_id": pl.String, "source": pl.String},
        ),
    )
    # The days are dates this process made (no text of anyone's): written inline. The last
    # day is read as text, as both databases write it (SQLite keeps it so).
    columns = [
        "CAST(m.period_end AS TEXT)" if name == "period_end" else f"m.{name}"
        for name in WRITTEN_BY_SOURCE
    ]
    found = session.query(
        f"SELECT {', '.join(columns)} "
        "FROM measurements m JOIN source_writes w ON w.load_id = m.load_id "
        "JOIN load_gone_kpis k ON k.kpi_id = m.kpi_id AND k.source = w.source "
        f"WHERE m.period_end >= '{first.isoformat()}' AND m.period_end <= '{last.isoformat()}'",
        {**WRITTEN_BY_SOURCE, "period_end": pl.String},
    )
    return found.with_columns(pl.col("period_end").str.to_date("%Y-%m-%d"))
