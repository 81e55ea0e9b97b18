"""`los forecast`: read the organisation and its measurements up to a date, project every target."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.formula import references
from lineofsight.domain.graph import reachable_in
from lineofsight.domain.periods import MIN_YEAR
from lineofsight.engine.forecast import (
    Forecast,
    NotRequested,
    Request,
    forecast_requests,
    not_requested,
    requests_of,
    table_source,
)
from lineofsight.engine.forecast_bulk import (
    OFF_TRACK_SCHEMA,
    FitHelper,
    Kept,
    forecast_rows,
    kept_rows,
)
from lineofsight.engine.forecast_formulas import FormulaBook, book_of
from lineofsight.engine.forecast_frames import (
    REQUEST_SCHEMA,
    LabelsNeeded,
    measured_pairs,
    own_only,
    rolled_up,
)
from lineofsight.engine.forecast_kept import kept_frame
from lineofsight.engine.values import ValueTable
from lineofsight.errors import UsageError
from lineofsight.services.evaluate import (
    NO_STRATEGY,
    load_organization,
    measurement_frame,
    read_measurement_frame,
)
from lineofsight.store.database import Store

if TYPE_CHECKING:
    from lineofsight.store.forecast_reads import ForecastDefinitions


@dataclass(frozen=True, slots=True)
class ForecastReport:
    """The forecasts as of a date, with the organisation they were made for (names, units)."""

    as_of: dt.date
    org: m.Organization
    forecasts: list[Forecast]
    # The KPIs with no target to forecast at their own unit, each with why.
    not_requested: Sequence[NotRequested] = ()

    def rows(self) -> list[Forecast | NotRequested]:
        """Every KPI's rows in the strategy's order: its forecasts, or why it has none."""
        order = {kpi.id: place for place, kpi in enumerate(self.org.kpis)}
        rows: list[Forecast | NotRequested] = [*self.forecasts, *self.not_requested]
        # Stable: the forecasts keep their order (own unit, then the unit targets).
        rows.sort(key=lambda row: order.get(row.id, len(order)))
        return rows


def forecast_store(store: Store, as_of: dt.date) -> ForecastReport:
    """Forecast every targeted KPI in the store from the measurements up to `as_of`."""
    org = load_organization(store)
    # Nothing after the as-of date may shape the forecast; how far back the history reaches
    # depends on the gaps, so the window has no lower bound to speak of.
    window = (dt.date(MIN_YEAR, 1, 1), as_of)
    return ForecastReport(
        as_of,
        org,
        forecast_frame(org, read_measurement_frame(store, window), as_of),
        not_requested(org),
    )


def forecast_every_kpi(store: Store, as_of: dt.date) -> tuple[list[Forecast], dict[str, str]]:
    """Every target in the store forecast from the measurements up to `as_of`, and each KPI's
    own unit, without building the organisation as domain objects (only the formula KPIs
    and what they read are: for 100,000 KPIs the objects cost more than the fits)."""
    for labels in (False, True):  # with the labels only when the values need them
        every = _Everything.read(store, as_of, own_units_only=False, labels=labels)
        try:
            made = _forecast(
                every.calendar,
                every.requests,
                every.simple,
                every.book,
                every.frame,
                as_of,
                every.domain,
                every.labelled,
            )
        except LabelsNeeded:
            continue
        break
    return made, every.own_units


def whole_forecast(
    store: Store, as_of: dt.date, threads: int = 1, helper: FitHelper | None = None
) -> Kept:
    """Every KPI forecast at its own unit as of `as_of`, as it is kept (`forecast_bulk.Kept`:
    the off-track calls by id, what the attention lists of a whole organisation read, and
    each KPI's forecast, what its page reads): the forecasts of `forecast_every_kpi`, made
    without a forecast object for each KPI. `threads`: how many batches of series are fitted
    at once, `helper`: another worker fitting some of them (`forecast_bulk.kept_rows`)."""
    # Read without the periods' labels (see `read_forecast_measurements`), and again with
    # them in the rare organisation whose values need them.
    try:
        every = _Everything.read(store, as_of, own_units_only=True, threads=threads, labels=False)
        fast, rest = every.split()
        kept = _kept_fast(every, fast, threads, helper)
    except LabelsNeeded:
        every = _Everything.read(store, as_of, own_units_only=True, threads=threads)
        fast, rest = every.split()
        kept = _kept_fast(every, fast, threads, helper)
    return Kept(
        pl.concat([kept.calls, off_track_of(rest.values())]).sort("id"),
        pl.concat([kept.rows, kept_frame(rest.values())]),
    )


def kpis_forecast(
    store: Store, as_of: dt.date, kpi_ids: Collection[str], reading: Collection[str]
) -> Kept:
    """Only the KPIs `kpi_ids` forecast at their own units as of `as_of`, as `whole_forecast`
    makes and keeps them (the same requests, histories and fits, for these KPIs only), from
    the definitions and measurements of the KPIs `reading` only: `kpi_ids` with every KPI
    their formulas read, all the way down. What a kept forecast brought up to date after a
    write forecasts again: a few KPIs' rows read along the keys, not the whole store's."""
    every = _Everything.read_some(store, as_of, set(kpi_ids), set(reading) | set(kpi_ids))
    if every is None:
        raise UsageError(NO_STRATEGY)
    fast, rest = every.split()
    kept = _kept_fast(every, fast, 1, None)
    return Kept(
        pl.concat([kept.calls, off_track_of(rest.values())]).sort("id"),
        pl.concat([kept.rows, kept_frame(rest.values())]),
    )


def off_track_of(forecasts: Iterable[Forecast]) -> pl.DataFrame:
    """The forecasts off track, as `OFF_TRACK_SCHEMA`."""
    return pl.DataFrame(
        [
            (f.id, f.projected, f.target, f.target_period.label, f.deadline, f.probability)
            for f in forecasts
            if f.on_track is False and f.projected is not None
        ],
        schema=OFF_TRACK_SCHEMA,
        orient="row",
    )


def _kept_fast(
    every: _Everything, fast: list[bool], threads: int, helper: FitHelper | None
) -> Kept:
    """The forecasts of the requests forecast on arrays (`fast`)."""
    return kept_rows(
        every.requests.filter(pl.Series(fast, dtype=pl.Boolean)),
        every.frame,
        every.calendar,
        every.as_of,
        every.book,
        threads,
        helper,
    )


@dataclass(frozen=True, slots=True)
class _Everything:
    """What a forecast of every KPI of a store reads: the requests (`REQUEST_SCHEMA`), the
    measurements, each KPI's unit and formula, what the formulas read (`FormulaBook`) and
    the formulas' inputs."""

    store: Store
    as_of: dt.date
    calendar: m.Calendar
    requests: pl.DataFrame
    frame: pl.DataFrame
    kpis: pl.DataFrame  # the definitions' (`read_forecast_definitions`)
    simple: list[bool]  # each request's values are its unit's own measurements only
    book: FormulaBook
    reads: dict[str, list[str]]

    @classmethod
    def read_some(
        cls, store: Store, as_of: dt.date, kpi_ids: set[str], reading: set[str]
    ) -> _Everything | None:
        """As `read` with `own_units_only`, for the requests of `kpi_ids` only, from the
        definitions and measurements of the KPIs `reading` (those with what their formulas
        read) and the units their values are at or roll up to; None before the first apply."""
        from lineofsight.services.evaluate import read_kpi_frame
        from lineofsight.store.forecast_reads import read_some_forecast_definitions

        frame = read_kpi_frame(store, sorted(reading), (dt.date(MIN_YEAR, 1, 1), as_of))
        measured = measured_pairs(frame)
        units = measured["unit_id"].unique().to_list()
        defs = read_some_forecast_definitions(store, reading, units)
        if defs is None:
            return None
        return cls._of(store, as_of, defs, frame, measured, kpi_ids)

    @classmethod
    def read(
        cls,
        store: Store,
        as_of: dt.date,
        *,
        own_units_only: bool,
        threads: int = 1,
        labels: bool = True,
    ) -> _Everything:
        from lineofsight.store.forecast_reads import (
            read_forecast_definitions,
            read_forecast_measurements,
        )

        defs = read_forecast_definitions(store)
        if defs is None:
            raise UsageError(NO_STRATEGY)
        if own_units_only:
            defs = dataclasses.replace(defs, unit_targets=defs.unit_targets.clear())
        frame = read_forecast_measurements(store, as_of, threads, labels=labels)
        return cls._of(store, as_of, defs, frame, measured_pairs(frame), None)

    @classmethod
    def _of(
        cls,
        store: Store,
        as_of: dt.date,
        defs: ForecastDefinitions,
        frame: pl.DataFrame,
        measured: pl.DataFrame,
        kpi_ids: set[str] | None,
    ) -> _Everything:
        """What was read, with the requests (of `kpi_ids` only, when given) and the formulas'
        book made from it."""
        kpis = defs.kpis.sort("position")
        parents = dict(defs.units.select("id", "parent_id").iter_rows())
        rolled = rolled_up(measured, parents)
        requests = _requests_from(kpis, defs.unit_targets)
        if kpi_ids is not None:
            requests = requests.filter(pl.col("kpi_id").is_in(sorted(kpi_ids)))
        own_units = kpis.select(pl.col("id").alias("kpi_id"), pl.col("unit_id").alias("own_unit"))
        book = book_of(
            kpis.with_columns(pl.col("aggregation").fill_null(m.Aggregation.MEAN.value)), rolled
        )
        reads = {
            kpi_id: list(references(expr))
            for kpi_id, expr in book.formulas.items()
            if expr is not None
        }
        return cls(
            store,
            as_of,
            m.Calendar(defs.fiscal_year_start, defs.due_days),
            requests,
            frame,
            kpis,
            own_only(requests, own_units, measured, rolled),
            book,
            reads,
        )

    @property
    def own_units(self) -> dict[str, str]:
        return dict(zip(self.kpis["id"].to_list(), self.kpis["unit_id"].to_list(), strict=True))

    def domain(self, kpi_ids: set[str]) -> m.Organization:
        """Only these KPIs, what their formulas read and the units, as domain objects."""
        return load_organization(self.store, reachable_in(kpi_ids, self.reads))

    def split(self) -> tuple[list[bool], dict[int, Forecast]]:
        """Which requests are forecast on arrays, and the forecasts of the others (`_split`)."""
        return _split(
            self.calendar,
            self.requests,
            self.simple,
            self.book,
            self.frame,
            self.as_of,
            self.domain,
            self.labelled,
        )

    def labelled(self, kpi_ids: list[str]) -> pl.DataFrame:
        """These KPIs' measurements with their periods' labels (`frame` may have none)."""
        from lineofsight.store.forecast_reads import read_labelled_measurements

        return read_labelled_measurements(self.store, self.as_of, kpi_ids)


def forecast_frame(org: m.Organization, frame: pl.DataFrame, as_of: dt.date) -> list[Forecast]:
    """Every target of `org` forecast from the measurements in `frame`.

    A KPI at a unit whose values are that unit's own measurements reads its history from a
    group-by over the frame and is fitted with the others on arrays (fast for 100,000 KPIs);
    formulas and values derived from the units below read theirs from a value table over
    only the KPIs they need.
    """
    parents = {u.id: u.parent for u in org.units}
    measured = measured_pairs(frame)
    rolled = rolled_up(measured, parents)
    requests = request_frame(requests_of(org))
    own_units = pl.DataFrame(
        [(k.id, k.unit) for k in org.kpis],
        schema={"kpi_id": pl.String, "own_unit": pl.String},
        orient="row",
    )
    book = book_of(
        pl.DataFrame(
            [
                (
                    k.id,
                    k.unit,
                    k.formula,
                    k.effective_aggregation.value,
                    None if k.ratio is None else k.ratio.scale,
                )
                for k in org.kpis
            ],
            schema={
                "id": pl.String,
                "unit_id": pl.String,
                "formula": pl.String,
                "aggregation": pl.String,
                "ratio_scale": pl.Float64,
            },
            orient="row",
        ),
        rolled,
    )
    simple = own_only(requests, own_units, measured, rolled)
    return _forecast(org.calendar, requests, simple, book, frame, as_of, lambda _: org)


def request_frame(requests: Iterable[Request]) -> pl.DataFrame:
    """Requests as the rows `engine.forecast_bulk.forecast_rows` takes."""
    rows = []
    for r in requests:
        kpi = r.kpi
        band, bounds = kpi.range, kpi.bounds
        rows.append(
            (
                kpi.id,
                r.unit,
                r.target,
                r.deadline,
                kpi.frequency.value,
                kpi.direction.value,
                None if band is None else band.low,
                None if band is None else band.high,
                None if bounds is None else bounds.min,
                None if bounds is None else bounds.max,
                kpi.effective_aggregation.value,
                None if kpi.ratio is None else kpi.ratio.scale,
                kpi.formula is not None,
            )
        )
    return pl.DataFrame(rows, schema=REQUEST_SCHEMA, orient="row")


def _with_starts(frame: pl.DataFrame) -> pl.DataFrame:
    """Measurements as a value table takes them: with each period's first day (a frame read
    by `read_forecast_measurements` has its label instead)."""
    if "period_start" in frame.columns:
        return frame
    from lineofsight.store.measurements import with_starts

    return measurement_frame(with_starts(frame))


def _requests_from(kpis: pl.DataFrame, unit_targets: pl.DataFrame) -> pl.DataFrame:
    """The requests of `requests_of`, in its order, from the definition frames: each KPI's
    own final target, then its unit targets at other units by unit."""
    shape = kpis.select(
        pl.col("id").alias("kpi_id"),
        "position",
        pl.col("unit_id").alias("own_unit"),
        "frequency",
        "direction",
        "range_low",
        "range_high",
        "bounds_min",
        "bounds_max",
        pl.col("aggregation").fill_null(m.Aggregation.MEAN.value),
        "ratio_scale",
        pl.col("formula").is_not_null(),
    )
    own = kpis.filter(pl.col("target_value").is_not_null()).select(
        pl.col("id").alias("kpi_id"),
        "unit_id",
        pl.col("target_value").alias("target"),
        pl.col("target_by").alias("deadline"),
        pl.lit(0).alias("kind"),
    )
    others = unit_targets.select(
        "kpi_id",
        "unit_id",
        pl.col("value").alias("target"),
        pl.col("by_date").alias("deadline"),
        pl.lit(1).alias("kind"),
    )
    return (
        pl.concat([own, others])
        .join(shape, on="kpi_id", how="inner")
        .filter((pl.col("kind") == 0) | (pl.col("unit_id") != pl.col("own_unit")))
        .sort("position", "kind", "unit_id")
        .select(list(REQUEST_SCHEMA))
    )


def _forecast(
    calendar: m.Calendar,
    requests: pl.DataFrame,
    simple: Sequence[bool],
    book: FormulaBook,
    frame: pl.DataFrame,
    as_of: dt.date,
    domain: Callable[[set[str]], m.Organization],
    labelled: Callable[[list[str]], pl.DataFrame] | None = None,
) -> list[Forecast]:
    """The forecasts of `requests` (`REQUEST_SCHEMA`) in their order (see `_split`)."""
    fast, rest = _split(calendar, requests, simple, book, frame, as_of, domain, labelled)
    results: list[Forecast | None] = [None] * len(fast)
    for i, result in rest.items():
        results[i] = result
    chosen = [i for i, ok in enumerate(fast) if ok]
    bulk = forecast_rows(
        requests.filter(pl.Series(fast, dtype=pl.Boolean)), frame, calendar, as_of, book
    )
    for i, result in zip(chosen, bulk, strict=True):
        results[i] = result
    return [r for r in results if r is not None]


def _split(
    calendar: m.Calendar,
    requests: pl.DataFrame,
    simple: Sequence[bool],
    book: FormulaBook,
    frame: pl.DataFrame,
    as_of: dt.date,
    domain: Callable[[set[str]], m.Organization],
    labelled: Callable[[list[str]], pl.DataFrame] | None = None,
) -> tuple[list[bool], dict[int, Forecast]]:
    """Which of `requests` (`REQUEST_SCHEMA`) read their histories from their own
    measurements or are formulas of such values (forecast on arrays by the caller), and the
    forecasts of the others by row, from a value table. `simple`: which requests' values
    are their unit's own measurements (`own_only`); `domain`: the organisation with at least
    these KPIs and what their formulas read, as domain objects; `labelled`: the measurements
    of these KPIs with their periods' labels, when `frame` has none."""
    pairs = list(zip(requests["kpi_id"].to_list(), requests["unit_id"].to_list(), strict=True))
    fast = [
        ok or (formula and book.leaves(*pair) is not None)
        for pair, ok, formula in zip(pairs, simple, requests["formula"].to_list(), strict=True)
    ]
    rest = [i for i, ok in enumerate(fast) if not ok]
    if not rest:
        return fast, {}
    ids = {pairs[i][0] for i in rest}
    org = domain(ids)
    kpis = org.kpis_by_id()
    targets = requests["target"].to_list()
    deadlines = requests["deadline"].to_list()
    asked = [Request(kpis[pairs[i][0]], pairs[i][1], targets[i], deadlines[i]) for i in rest]
    # Loaded here: SQLAlchemy comes with it, which a forecast of every KPI does without.
    from lineofsight.services.kpi_series import measured_sources

    needed = sorted(measured_sources(org, ids))
    if "period" in frame.columns or "period_start" in frame.columns:
        source = frame.filter(pl.col("kpi_id").is_in(needed))
    elif labelled is not None:  # read without the labels a value table needs: read again
        source = labelled(needed)
    else:
        raise LabelsNeeded
    table = ValueTable(org, _with_starts(source))
    made = forecast_requests(calendar, asked, as_of, table_source(table))
    return fast, dict(zip(rest, made, strict=True))
