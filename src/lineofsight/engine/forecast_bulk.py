"""The forecasts of many KPIs at once, from frames: what engine/forecast.py does request by
request, done on arrays for the series whose histories come from a group-by over the
measurements (`forecast_frames.series_histories`).

The rules are engine/forecast.py's (SPEC section 3, "Forecast"), with its reasons and its
fits (`forecast_fit.fit_rows`): a range without its range, fewer than MIN_POINTS values, a
target not after the last value or too far ahead are not forecast; gaps are filled by a
straight line; series of one length, season and horizon are fitted together. Only the rows
that are not forecast and those with gaps take a step of Python each; the rest is array work,
so that 100,000 KPIs take about a second beyond their fits.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Period
from lineofsight.engine.calendar import period_for
from lineofsight.engine.forecast import (
    _BATCH,
    MAX_HORIZON,
    MIN_POINTS,
    NO_FORECAST,
    NO_RANGE,
    TARGET_PASSED,
    TOO_LARGE,
    Forecast,
    _periods_after,
    no_forecast,
    not_after,
    too_far,
    too_few,
)
from lineofsight.engine.forecast_fit import DIRECTIONS, Goals, Paths, fit_rows, paths_of
from lineofsight.engine.forecast_formulas import FormulaBook, formula_histories
from lineofsight.engine.forecast_frames import (
    GrainSteps,
    Histories,
    grain_steps,
    merged_histories,
    period_at,
    series_histories,
    step_of,
)
from lineofsight.engine.forecast_kept import KEPT_SCHEMA, kept_frame, path_texts

__all__ = ["OFF_TRACK_SCHEMA", "FitHelper", "FitJob", "Kept", "forecast_rows", "kept_rows"]

Ints = npt.NDArray[np.int64]

_CODES = {d.value: code for d, code in DIRECTIONS.items()}


def forecast_rows(
    requests: pl.DataFrame,
    measurements: pl.DataFrame,
    calendar: m.Calendar,
    as_of: dt.date,
    book: FormulaBook | None = None,
) -> list[Forecast]:
    """The forecast of every row of `requests` (`forecast_frames.REQUEST_SCHEMA`, each row a
    distinct KPI and unit whose values are the unit's own measurements, or a formula KPI
    that `book` evaluates on arrays: `FormulaBook.leaves`), from `measurements` up to
    `as_of`, in the rows' order."""
    if requests.is_empty():
        return []
    rows = _Rows.read(requests, measurements, calendar, as_of, book)
    results: list[Forecast | None] = [None] * requests.height
    for batch, n, season, horizon in rows.batches():
        for row, result in zip(batch.tolist(), rows.fit(batch, n, season, horizon), strict=True):
            results[row] = result
    for row in np.flatnonzero(~rows.fitted()).tolist():
        results[row] = rows.not_fitted(row)
    return [r for r in results if r is not None]


# What `Kept.calls` holds: the KPI, the forecast's value in the target's period, the
# final target, that period, the target's date and the chance of meeting it.
OFF_TRACK_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "projected": pl.Float64,
    "final_target": pl.Float64,
    "target_period": pl.String,
    "deadline": pl.Date,
    "probability": pl.Float64,
}


@dataclass(frozen=True, slots=True)
class Kept:
    """The whole organisation's forecast as it is kept: the rows forecast off track
    (`OFF_TRACK_SCHEMA`, what the attention lists read) and every row's forecast
    (`forecast_kept.KEPT_SCHEMA`, what a KPI's page reads)."""

    calls: pl.DataFrame
    rows: pl.DataFrame


def kept_rows(
    requests: pl.DataFrame,
    measurements: pl.DataFrame,
    calendar: m.Calendar,
    as_of: dt.date,
    book: FormulaBook | None = None,
    threads: int = 1,
    helper: FitHelper | None = None,
) -> Kept:
    """The forecasts of the rows of `requests` (as `forecast_rows` takes them), as `Kept`:
    the same fits as `forecast_rows` makes, without a forecast object (and its path's
    periods) for each of 100,000 rows. `threads`: how many batches are fitted at once (most
    of a fit is numpy's work on whole arrays, outside Python's lock; each batch's numbers
    are the same however many run beside it). `helper`: another worker that fits some of
    the batches while this thread fits the others (`FitHelper`)."""
    found: list[tuple[list[tuple[Any, ...]], pl.DataFrame]] = []
    others = pl.DataFrame(schema=KEPT_SCHEMA)
    if not requests.is_empty():
        rows = _Rows.read(requests, measurements, calendar, as_of, book)
        batches = list(rows.batches())
        if helper is not None and len(batches) > 1:
            found = _shared(rows, batches, helper)
        elif threads > 1 and len(batches) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=threads) as pool:
                found = list(pool.map(lambda batch: rows.judged(*batch), batches))
        else:
            found = [rows.judged(*batch) for batch in batches]
        others = kept_frame(rows.not_fitted(row) for row in np.flatnonzero(~rows.fitted()).tolist())
    calls = pl.DataFrame(
        [call for part, _ in found for call in part], schema=OFF_TRACK_SCHEMA, orient="row"
    )
    return Kept(calls, pl.concat([*(frame for _, frame in found), others]))


@dataclass(frozen=True, slots=True)
class FitJob:
    """One batch to fit, as plain arrays (what another process can take): its number, the
    series (k, n), the season, the horizon and what each row is held to."""

    number: int
    y: npt.NDArray[np.float64]
    season: int
    horizon: int
    goals: Goals


class FitHelper(Protocol):
    """Another worker (e.g. another process, over pipes) that fits some of the batches."""

    def serve(
        self, take: Callable[[], FitJob | None], give: Callable[[FitJob, Paths], None]
    ) -> None:
        """Take jobs (`take`: None when none is left) and hand each one's fit back (`give`:
        `forecast_fit.paths_of` of the job) until none is left or the worker is gone; runs
        in a thread of its own. A job taken and not given back is fitted by the caller."""


def _shared(
    rows: _Rows, batches: list[tuple[Ints, int, int, int]], helper: FitHelper
) -> list[tuple[list[tuple[Any, ...]], pl.DataFrame]]:
    """`_Rows.judged` of `batches`, this thread fitting them from the first and `helper`
    (in a thread of its own) from the last, until none is left; in the batches' order
    (each batch's rows are the same whoever fits it)."""
    waiting = deque(range(len(batches)))
    done: dict[int, tuple[list[tuple[Any, ...]], pl.DataFrame]] = {}
    taken: set[int] = set()
    state = threading.Condition()
    ended = [False]

    def take() -> FitJob | None:
        with state:
            if not waiting:
                return None
            number = waiting.pop()
            taken.add(number)
        batch, n, season, horizon = batches[number]
        return FitJob(number, rows.series(batch, n), season, horizon, rows.goals_of(batch))

    def give(job: FitJob, paths: Paths) -> None:
        made = rows.kept_of(batches[job.number][0], paths)
        with state:
            done[job.number] = made
            taken.discard(job.number)
            state.notify_all()

    def serve() -> None:
        try:
            helper.serve(take, give)
        finally:
            with state:
                ended[0] = True
                state.notify_all()

    # A daemon: a helper that never asks (still busy, or gone) must not keep this process.
    threading.Thread(target=serve, name="forecast-helper", daemon=True).start()
    while True:
        with state:
            if not waiting:
                break
            number = waiting.popleft()
        done[number] = rows.judged(*batches[number])
    with state:
        state.wait_for(lambda: not taken or ended[0])
        left = sorted(taken)  # taken by a helper that is gone: fitted here
        taken.clear()
    for number in left:
        done[number] = rows.judged(*batches[number])
    return [done[number] for number in sorted(done)]


@dataclass
class _Rows:
    """The requests as columns, with their histories and where each one's series ends."""

    ids: list[str]
    units: list[str]
    deadlines: list[dt.date]
    frequencies: list[str]
    goals: Goals
    ranged_without: npt.NDArray[np.bool_]
    passed: npt.NDArray[np.bool_]  # the target's date is before the as-of date
    histories: Histories
    first: Ints
    last: Ints
    season: Ints
    horizon: Ints
    target_periods: list[Period]
    target_steps: Ints
    shapes: Mapping[str, GrainSteps]
    calendar: m.Calendar

    @classmethod
    def of(
        cls,
        requests: pl.DataFrame,
        histories: Histories,
        shapes: Mapping[str, GrainSteps],
        calendar: m.Calendar,
        as_of: dt.date,
    ) -> _Rows:
        columns = requests.select(
            "kpi_id", "unit_id", "deadline", "frequency", "direction"
        ).to_dict(as_series=False)
        low = requests["range_low"].fill_null(math.nan).to_numpy().astype(np.float64)
        high = requests["range_high"].fill_null(math.nan).to_numpy().astype(np.float64)
        direction = np.array([_CODES[d] for d in columns["direction"]], dtype=np.int8)
        ranged = direction == DIRECTIONS[m.Direction.RANGE]
        given = requests["target"].to_numpy().astype(np.float64)
        without = ranged & (np.isnan(low) | np.isnan(high))
        with np.errstate(invalid="ignore"):
            target = np.where(ranged & ~without, (low + high) / 2, given)
        goals = Goals(
            target,
            direction,
            low,
            high,
            requests["bounds_min"].fill_null(-math.inf).to_numpy().astype(np.float64),
            requests["bounds_max"].fill_null(math.inf).to_numpy().astype(np.float64),
        )
        # The target's period and its step, once per date and frequency.
        periods: dict[tuple[dt.date, str], tuple[Period, int]] = {}
        target_periods: list[Period] = []
        target_steps: list[int] = []
        for key in zip(columns["deadline"], columns["frequency"], strict=True):
            found = periods.get(key)
            if found is None:
                shape = shapes[key[1]]
                period = period_for(key[0], shape.frequency, calendar)
                found = (period, step_of(period.start, shape.months, shape.days, shape.shift))
                periods[key] = found
            target_periods.append(found[0])
            target_steps.append(found[1])
        steps = np.append(histories.steps, 0)  # a series without values reads the 0 at the end
        has = histories.count > 0
        first = np.where(has, steps[np.where(has, histories.start, -1)], 0)
        last = np.where(has, steps[np.where(has, histories.start + histories.count - 1, -1)], 0)
        target_at = np.array(target_steps, dtype=np.int64)
        return cls(
            ids=columns["kpi_id"],
            units=columns["unit_id"],
            deadlines=columns["deadline"],
            frequencies=columns["frequency"],
            goals=goals,
            ranged_without=without,
            passed=np.array([d < as_of for d in columns["deadline"]], dtype=np.bool_),
            histories=histories,
            first=first,
            last=last,
            season=np.array([shapes[f].season for f in columns["frequency"]], dtype=np.int64),
            horizon=target_at - last,
            target_periods=target_periods,
            target_steps=target_at,
            shapes=shapes,
            calendar=calendar,
        )

    @classmethod
    def read(
        cls,
        requests: pl.DataFrame,
        measurements: pl.DataFrame,
        calendar: m.Calendar,
        as_of: dt.date,
        book: FormulaBook | None = None,
    ) -> _Rows:
        """The requests with their histories from `measurements` up to `as_of` (formula
        KPIs' from `book`)."""
        shapes = {
            f: grain_steps(m.Frequency(f), calendar, as_of)
            for f in requests["frequency"].unique().to_list()
        }
        formula = requests["formula"].to_numpy().astype(bool)
        if book is None or not formula.any():
            histories = series_histories(requests, measurements, shapes)
        else:
            measured = np.flatnonzero(~formula)
            formulas = np.flatnonzero(formula)
            histories = merged_histories(
                [
                    (measured, series_histories(requests[measured], measurements, shapes)),
                    (
                        formulas,
                        formula_histories(requests[formulas], measurements, shapes, book),
                    ),
                ],
                requests.height,
            )
        return cls.of(requests, histories, shapes, calendar, as_of)

    def batches(self) -> Iterator[tuple[Ints, int, int, int]]:
        """The rows to fit, in batches of one span, season and horizon (and at most _BATCH)."""
        chosen = np.flatnonzero(self.fitted())
        if not len(chosen):
            return
        keys = np.stack(
            [self.last[chosen] - self.first[chosen] + 1, self.season[chosen], self.horizon[chosen]],
            axis=1,
        )
        found, group = np.unique(keys, axis=0, return_inverse=True)
        group = group.reshape(-1)
        for index, (n, season, horizon) in enumerate(found.tolist()):
            members = chosen[group == index]
            for cut in range(0, len(members), _BATCH):
                yield members[cut : cut + _BATCH], n, season, horizon

    def fitted(self) -> npt.NDArray[np.bool_]:
        """The rows to fit (the others are not forecast, for a reason: `not_fitted`)."""
        return (
            ~self.ranged_without
            & ~self.passed
            & (self.histories.count >= MIN_POINTS)
            & (self.horizon > 0)
            & (self.horizon <= MAX_HORIZON)
        )

    def _period(self, row: int, step: int) -> Period:
        return period_at(step, self.shapes[self.frequencies[row]], self.calendar)

    def series(self, batch: Ints, n: int) -> npt.NDArray[np.float64]:
        """The values of rows `batch`, whose series span `n` periods: (len(batch), n)."""
        histories = self.histories
        start, count = histories.start[batch], histories.count[batch]
        if (count == n).all():
            gathered: npt.NDArray[np.float64] = histories.values[start[:, None] + np.arange(n)]
            return gathered
        # A gap is filled by the straight line between its neighbours.
        y = np.empty((len(batch), n))
        for i, (begin, size) in enumerate(zip(start.tolist(), count.tolist(), strict=True)):
            steps = histories.steps[begin : begin + size]
            values = histories.values[begin : begin + size]
            y[i] = values if size == n else np.interp(np.arange(n), steps - steps[0], values)
        return y

    def goals_of(self, batch: Ints) -> Goals:
        """What rows `batch` are held to."""
        goals = self.goals
        return Goals(
            goals.target[batch],
            goals.direction[batch],
            goals.low[batch],
            goals.high[batch],
            goals.floor[batch],
            goals.ceiling[batch],
        )

    def judged(
        self, batch: Ints, n: int, season: int, horizon: int
    ) -> tuple[list[tuple[Any, ...]], pl.DataFrame]:
        """Rows `batch` fitted, as `kept_of` gives them."""
        return self.kept_of(
            batch, paths_of(self.series(batch, n), season, horizon, self.goals_of(batch))
        )

    def kept_of(self, batch: Ints, paths: Paths) -> tuple[list[tuple[Any, ...]], pl.DataFrame]:
        """The fit of rows `batch` (`paths`): those off track (`OFF_TRACK_SCHEMA`) and each
        one's forecast (`KEPT_SCHEMA`), as `fit` makes them."""
        rows = batch.tolist()
        off = paths.off_track()
        targets = self.goals.target[batch]
        calls = [
            (
                self.ids[row],
                projected,
                target,
                self.target_periods[row].label,
                self.deadlines[row],
                chance,
            )
            for row, projected, target, chance in zip(
                batch[off].tolist(),
                paths.held[off, -1].tolist(),
                targets[off].tolist(),
                paths.chance[off].tolist(),
                strict=True,
            )
        ]
        ok = paths.ok
        made = ok.all()
        texts: list[str | None] = list(path_texts(paths.held, paths.low, paths.high))
        k = len(rows)
        frame = pl.DataFrame(
            {
                "kpi_id": [self.ids[row] for row in rows],
                "unit_id": [self.units[row] for row in rows],
                "target": targets,
                "deadline": [self.deadlines[row] for row in rows],
                "points": self.histories.count[batch],
                "method": [paths.method] * k,
                "models": paths.models if paths.models is not None else [None] * k,
                "on_track": paths.on_track,
                "probability": paths.chance,
                "clamped": paths.clamped,
                "first_period": [self._period(r, int(self.first[r])).label for r in rows],
                "last_period": [self._period(r, int(self.last[r])).label for r in rows],
                "reason": [None] * k,
                "path": texts,
            },
            schema=KEPT_SCHEMA,
        )
        if not made:
            # Values near the largest float overflow the fit: no forecast, not a NaN one.
            usable = pl.Series(ok)
            nothing = pl.lit(None)
            frame = frame.with_columns(
                pl.when(usable).then(pl.col("method")).otherwise(pl.lit(NO_FORECAST)),
                *(
                    pl.when(usable).then(pl.col(name)).otherwise(nothing)
                    for name in ("models", "on_track", "probability", "path")
                ),
                pl.when(usable).then(pl.col("clamped")).otherwise(pl.lit(False)),
                pl.when(usable).then(pl.col("reason")).otherwise(pl.lit(TOO_LARGE)),
            )
        return calls, frame

    def fit(self, batch: Ints, n: int, season: int, horizon: int) -> Iterator[Forecast]:
        """The forecasts of rows `batch`, whose series span `n` periods."""
        count = self.histories.count[batch]
        goals = self.goals
        fitted = fit_rows(self.series(batch, n), season, horizon, self.goals_of(batch))
        targets = goals.target[batch].tolist()
        for i, row in enumerate(batch.tolist()):
            first = self._period(row, int(self.first[row]))
            last = self._period(row, int(self.last[row]))
            target_period = self.target_periods[row]
            if not fitted.ok[i]:
                # Values near the largest float overflow the fit: no forecast, not a NaN one.
                yield no_forecast(
                    self.ids[row], self.units[row], targets[i], self.deadlines[row],
                    target_period, int(count[i]), first, last, TOO_LARGE,
                )  # fmt: skip
                continue
            path = _periods_after(last, target_period, self.calendar)
            path_values = fitted.values[i]
            yield Forecast(
                id=self.ids[row],
                unit=self.units[row],
                target=targets[i],
                deadline=self.deadlines[row],
                target_period=target_period,
                points=int(count[i]),
                projected=path_values[-1],
                on_track=fitted.on_track[i],
                method=fitted.method,
                models=fitted.models[i] if fitted.models is not None else None,
                probability=fitted.probability[i],
                first_period=first,
                last_period=last,
                clamped=fitted.clamped[i],
                path_periods=path,
                path_values=tuple(path_values),
                path_low=tuple(fitted.low[i]),
                path_high=tuple(fitted.high[i]),
            )

    def not_fitted(self, row: int) -> Forecast:
        """A row that is not forecast, with the reason (in the order engine/forecast.py
        checks them)."""
        target = float(self.goals.target[row])
        target_period = self.target_periods[row]
        count = int(self.histories.count[row])
        first = self._period(row, int(self.first[row])) if count else None
        last = self._period(row, int(self.last[row])) if count else None
        if self.ranged_without[row]:
            reason = NO_RANGE
            count, first, last = 0, None, None
        elif self.passed[row]:
            reason = TARGET_PASSED
            count, first, last = 0, None, None
        elif last is None or count < MIN_POINTS:
            reason = too_few(count, self.shapes[self.frequencies[row]].last_allowed)
        elif self.horizon[row] <= 0:
            reason = not_after(target_period, last)
        else:
            reason = too_far(target_period)
        return no_forecast(
            self.ids[row], self.units[row], target, self.deadlines[row], target_period,
            count, first, last, reason,
        )  # fmt: skip
