"""Evaluate the store's organisation: read the measurements it needs, hand them to the engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.graph import children_of, organisation_graph, reachable
from lineofsight.domain.text import did_you_mean
from lineofsight.errors import UsageError
from lineofsight.services.arguments import OPTIONS, ArgumentNames
from lineofsight.services.as_of import resolve_as_of
from lineofsight.store.database import Store

# The engine and the table definitions are imported where they are used: `los status` on a
# scorecard kept in the store needs neither.
if TYPE_CHECKING:
    from lineofsight.engine.frame_older import Older
    from lineofsight.engine.frames import DefinitionFrames, FrameEvaluation
    from lineofsight.store.labels import Labels
    from lineofsight.store.scorecard_reads import Selection, Settings

__all__ = [
    "MEASURED_BY",
    "evaluate_store",
    "frame_window",
    "frame_windows",
    "kpi_measurements",
    "load_organization",
    "measurement_frame",
    "older_measurements",
    "read_definition_frames",
    "read_definitions_and_labels",
    "read_kpi_frame",
    "read_measurement_frame",
    "read_names",
    "read_scoring_inputs",
    "resolve_as_of",
    "scoring_measurements",
    "status_store",
    "status_with_definitions",
    "subtree_of",
    "unit_subtree",
]

NO_STRATEGY = "the store has no strategy yet: run `los apply strategy.yaml` first"


def read_measurement_frame(
    store: Store, window: tuple[dt.date, dt.date] | None = None
) -> pl.DataFrame:
    """Measurements as a Polars frame, optionally only those whose last day is in `window`."""
    from lineofsight.store.scorecard_reads import read_measurement_rows

    return measurement_frame(read_measurement_rows(store, window))


def read_kpi_frame(
    store: Store, kpi_ids: Iterable[str], window: tuple[dt.date, dt.date] | None = None
) -> pl.DataFrame:
    """The measurements of these KPIs only (every unit), optionally only those whose last
    day is in `window`, as the engine takes them."""
    from lineofsight.store.scorecard_reads import read_kpi_measurement_rows

    return measurement_frame(read_kpi_measurement_rows(store, kpi_ids, window))


def older_measurements(store: Store) -> Older:
    """The measurements of some KPIs before a day, read from the store when the engine asks
    for them (`engine.frame_older`: a row whose last known value is older than the days a
    scorecard reads)."""
    from lineofsight.store.scorecard_reads import read_older_measurement_rows

    def read(kpi_ids: Collection[str], before: dt.date, since: dt.date | None) -> pl.DataFrame:
        return measurement_frame(read_older_measurement_rows(store, kpi_ids, before, since))

    return read


def measurement_frame(stored: pl.DataFrame) -> pl.DataFrame:
    """Stored measurement rows (with `period_start`) as the engine takes them."""
    from lineofsight.engine.values import MEASUREMENT_SCHEMA

    return stored.select(list(MEASUREMENT_SCHEMA))


def load_organization(store: Store, kpi_ids: Iterable[str] | None = None) -> m.Organization:
    """The organisation in the store as domain objects; `kpi_ids`: with only these KPIs, its
    units and no people nor objectives (what a computation over a few KPIs needs)."""
    from lineofsight.store.definitions import read_organization

    with store.reading() as conn:
        org = read_organization(conn, None if kpi_ids is None else set(kpi_ids))
    if org is None:
        raise UsageError(NO_STRATEGY)
    return org


def evaluate_store(
    store: Store, period: str | None = None, as_of: str | None = None
) -> tuple[m.Organization, FrameEvaluation]:
    """The organisation in the store as domain objects, and its scorecard as of a date (the
    same engine and numbers as `status_store`; for callers that also need the objects)."""
    from lineofsight.engine.frame_definitions import definition_frames
    from lineofsight.engine.frames import evaluate_frames

    org = load_organization(store)
    defs = definition_frames(org)
    day = resolve_as_of(org, period, as_of)
    lag = not period  # a period report shows each KPI's period, value or not
    measurements = scoring_measurements(store, defs, day, lag)
    return org, evaluate_frames(defs, measurements, day, lag, older_measurements(store))


def unit_subtree(org: m.Organization, unit_id: str) -> set[str]:
    """A unit and every unit below it; UsageError for an unknown unit."""
    known_unit([u.id for u in org.units], unit_id)
    return set(organisation_graph(org).subtree(unit_id))


def known_unit(ids: list[str], unit_id: str, names: ArgumentNames = OPTIONS) -> None:
    """UsageError naming the unit argument (and the closest id) when `unit_id` is no unit."""
    if unit_id not in ids:
        raise UsageError(f"{names.unit}: unknown unit '{unit_id}'{did_you_mean(unit_id, ids)}")


def read_definition_frames(store: Store) -> DefinitionFrames:
    """The tables a scorecard needs, as frames, without building domain objects."""
    return _definition_frames(store, labels=False)[0]


def read_definitions_and_labels(store: Store) -> tuple[DefinitionFrames, Labels]:
    """`read_definition_frames` with the labels of `store.labels.read_labels`, read in the
    same queries (a scorecard computed in full needs both)."""
    defs, labels = _definition_frames(store, labels=True)
    assert labels is not None
    return defs, labels


def read_scoring_inputs(
    store: Store, as_of: dt.date, lag: bool = True
) -> tuple[DefinitionFrames, Labels, pl.DataFrame]:
    """`read_definitions_and_labels` and the `scoring_measurements` of a scorecard of every
    KPI as of this date, of one state of the store, the measurements read as soon as the
    KPIs' frequencies are known (beside the other definitions)."""
    from lineofsight.engine.frame_definitions import DEFINITION_COLUMNS
    from lineofsight.store.scorecard_reads import read_definitions_and_measurements

    def select(settings: Settings, kpis: pl.DataFrame) -> Selection:
        return _selection(kpis, m.Calendar(settings[0], settings[2]), as_of, lag)

    found = read_definitions_and_measurements(store, DEFINITION_COLUMNS, select, labels=True)
    if found is None:
        raise UsageError(NO_STRATEGY)
    settings, frames, measurements = found
    defs, labels = _definitions(settings, frames, labels=True)
    assert labels is not None
    return defs, labels, measurement_frame(measurements)


def _definition_frames(store: Store, *, labels: bool) -> tuple[DefinitionFrames, Labels | None]:
    from lineofsight.engine.frame_definitions import DEFINITION_COLUMNS
    from lineofsight.store.scorecard_reads import read_definition_tables

    found = read_definition_tables(store, DEFINITION_COLUMNS, labels=labels)
    if found is None:
        raise UsageError(NO_STRATEGY)
    return _definitions(*found, labels=labels)


def _definitions(
    settings: Settings, frames: dict[str, pl.DataFrame], *, labels: bool
) -> tuple[DefinitionFrames, Labels | None]:
    """The definition frames (and labels) of `read_definition_tables`'s answer."""
    from lineofsight.engine.frames import DefinitionFrames
    from lineofsight.store.labels import Labels

    fiscal_year_start, scoring, due_days = settings
    defs = DefinitionFrames(
        kpis=frames["kpis"],
        period_targets=frames["period_targets"],
        unit_targets=frames["unit_targets"],
        supports=frames["supports"],
        objectives=frames["objectives"],
        units=frames["units"],
        calendar=m.Calendar(fiscal_year_start, due_days),
        scoring=m.Scoring(**scoring) if scoring else m.Scoring(),
    )
    if not labels:
        return defs, None
    return defs, Labels(frames["kpi_labels"], frames["objective_labels"], frames["unit_labels"])


def frame_window(
    defs: DefinitionFrames, as_of: dt.date, lag: bool = True
) -> tuple[dt.date, dt.date]:
    """The days whose measurements a scorecard as of this date can use: the periods each
    frequency may be evaluated at and the ones searched for the last known value."""
    windows = frame_windows(defs, as_of, lag).values()
    return min(start for start, _ in windows), max(end for _, end in windows)


def frame_windows(
    defs: DefinitionFrames, as_of: dt.date, lag: bool = True
) -> dict[str, tuple[dt.date, dt.date]]:
    """`frame_window` of each frequency: the days whose measurements its KPIs can use."""
    return _windows(defs.kpis, defs.calendar, as_of, lag)


def _windows(
    kpis: pl.DataFrame, calendar: m.Calendar, as_of: dt.date, lag: bool
) -> dict[str, tuple[dt.date, dt.date]]:
    from lineofsight.engine.lag import period_slots

    longest = dict(
        kpis.group_by("frequency")
        .agg(pl.col("due_days").fill_null(calendar.due_days).max())
        .iter_rows()
    ) or {f.value: calendar.due_days for f in m.Frequency}
    windows = {}
    for f, due in longest.items():
        periods = period_slots(m.Frequency(f), as_of, calendar, due if lag else None)
        windows[f] = min(p.start for p in periods), max(p.end for p in periods)
    return windows


def scoring_measurements(
    store: Store, defs: DefinitionFrames, as_of: dt.date, lag: bool = True
) -> pl.DataFrame:
    """The measurements a scorecard of every KPI as of this date reads: those of
    `frame_window`, except the days before the latest frequency's window, read only for the
    KPIs of the frequencies that look that far back (a monthly KPI looks at two or three
    months, a quarterly one at half a year: most monthly values of the window would be read
    for nothing). A formula reads its inputs over its own frequency's periods, whatever
    theirs: when a formula's frequency looks back further, the whole window is read."""
    return kpi_measurements(store, defs.kpis, defs.calendar, as_of, lag)


# The columns of the KPIs' frame `kpi_measurements` reads.
MEASURED_BY = ("id", "frequency", "due_days", "formula")


def kpi_measurements(
    store: Store, kpis: pl.DataFrame, calendar: m.Calendar, as_of: dt.date, lag: bool = True
) -> pl.DataFrame:
    """`scoring_measurements` from the KPIs' frame (only its columns `MEASURED_BY` are read)
    and the calendar only (what it reads depends on nothing else)."""
    from lineofsight.store.scorecard_reads import read_measurement_rows

    window, wide, many = _selection(kpis, calendar, as_of, lag)
    return measurement_frame(read_measurement_rows(store, window, wide, monthly=many, kpis=kpis))


def _selection(kpis: pl.DataFrame, calendar: m.Calendar, as_of: dt.date, lag: bool) -> Selection:
    """The arguments of `store.scorecard_reads.read_measurement_rows` that read the
    measurements of `scoring_measurements`."""
    windows = _windows(kpis, calendar, as_of, lag)
    window = min(s for s, _ in windows.values()), max(e for _, e in windows.values())
    latest = max(start for start, _ in windows.values())
    early = sorted(f for f, (start, _) in windows.items() if start < latest)
    formulas = kpis.filter(
        pl.col("formula").is_not_null() & pl.col("frequency").is_in(early)
    ).height
    wide = None if formulas or not early else (latest, early)
    # Read a month at a time, the months at once, when there are many rows to read.
    many = kpis.height >= 1000
    return window, wide, many


def status_store(
    store: Store, period: str | None = None, as_of: str | None = None
) -> FrameEvaluation:
    """The scorecard of the whole store, computed on frames (fast on large organisations)."""
    return status_with_definitions(store, period, as_of)[1]


def status_with_definitions(
    store: Store,
    period: str | None = None,
    as_of: str | None = None,
    names: ArgumentNames = OPTIONS,
) -> tuple[DefinitionFrames, FrameEvaluation]:
    """The definitions and the scorecard computed in full from the store (no kept scorecard:
    see `services.snapshots` for the one `los status` keeps up to date)."""
    from lineofsight.engine.frames import evaluate_frames

    defs = read_definition_frames(store)
    minimal = m.Organization(name="", calendar=defs.calendar)
    day = resolve_as_of(minimal, period, as_of, names)
    lag = not period
    measurements = scoring_measurements(store, defs, day, lag)
    return defs, evaluate_frames(defs, measurements, day, lag, older_measurements(store))


def read_names(store: Store) -> dict[str, dict[str, str]]:
    """Names of KPIs and units and titles of objectives, for tables."""
    from lineofsight.store.labels import read_labels

    labels = read_labels(store)
    return {
        kind: dict(frame.select("id", pl.col("name").fill_null("")).iter_rows())
        for kind, frame in (
            ("kpi", labels.kpis),
            ("objective", labels.objectives),
            ("unit", labels.units),
        )
    }


def subtree_of(units: pl.DataFrame, unit_id: str, names: ArgumentNames = OPTIONS) -> set[str]:
    """A unit and every unit below it, from the units frame; UsageError when unknown."""
    known_unit(units["id"].to_list(), unit_id, names)
    children = children_of(units.select("id", "parent_id").iter_rows())
    return reachable([unit_id], lambda unit: children.get(unit, ()))
