from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Option, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError
from lineofsight.engine.calendar import evaluation_period, period_for, period_named
from lineofsight.engine.scoring import Columns, glide, miss, tie_rounded

_DAY = dt.timedelta(days=1)


class RedWithoutAction(Rule):
    """A KPI red for `periods` consecutive periods with no open action on it.

    The periods counted end with the KPI's latest period that has a value at its own unit
    (not older than its latest due period, which DA01 reports instead); each of them must
    have a value and be red as `los status` scores it (value aggregated over the period,
    target for the period, tolerance). Formula KPIs are left to their inputs. An action on
    the KPI counts while its status is `open`. This rule needs the store's measurements;
    checking a bare strategy file skips it.

    Why it matters:
        A KPI that stays red while nobody has taken it on is the miss a review exists to
        catch. Recording what is being done (an owner, a date) turns a red number into a
        plan that the next review can follow up.

    Bad:
        # first_response_hours was red in 2026-09 and 2026-10; no action on it

    Good:
        actions:
          - {id: hire_agents, kpi: first_response_hours, title: Hire two agents for tier 1,
             owner: cs_head, due: 2026-12-31}
    """

    severity = Severity.WARNING
    needs_data = True
    options = (
        Option("periods", 2, "Consecutive red periods before an action is asked for.", minimum=1),
    )

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        if ctx.measurements is None:
            return
        count = int(options["periods"])
        streaks = _red_streaks(ctx, count)
        yield from ctx.findings(
            self,
            SubjectKind.KPI,
            (
                (
                    kpi_id,
                    f"KPI '{kpi_id}' has been red for {count} consecutive periods "
                    f"({', '.join(labels)}) and has no open action",
                )
                for kpi_id, labels in streaks.iter_rows()
            ),
        )


# What the rule reads of each KPI: where its values are, when it is due and how it is scored.
_KPI_COLUMNS = (
    "id",
    "unit",
    "frequency",
    "due_days",
    "aggregation",
    "direction",
    "target_value",
    "target_by",
    "baseline_value",
    "baseline_period",
    "tolerance",
    "tolerance_abs",
    "range_low",
    "range_high",
)


def _red_streaks(ctx: CheckContext, count: int) -> pl.DataFrame:
    """KPI id and the labels of its last `count` periods, for the KPIs red in all of them."""
    assert ctx.measurements is not None
    actions = ctx.data.frames["actions"]
    acted = actions.filter((pl.col("subject_type") == "kpi") & (pl.col("status") == "open"))
    kpis = (
        ctx.data.kpis.filter(pl.col("formula").is_null())
        .select(_KPI_COLUMNS)
        .join(acted.select(id="subject_id"), on="id", how="anti")
        .with_columns(
            grace=pl.col("due_days").fill_null(ctx.calendar.due_days),
            aggregation=pl.col("aggregation").fill_null(m.Aggregation.MEAN.value),
        )
    )
    kpis = (
        kpis.join(_window_starts(ctx, kpis, count), on=["frequency", "grace"], how="left")
        .join(_due_starts(ctx, kpis), on=["frequency", "grace"], how="left")
        .with_row_index("k")
    )
    # Each KPI is known by its row (`k`) from here: sorting, grouping and looking its columns
    # up by a number, not by its id, is what keeps this quick for 100,000 KPIs. Only the last
    # `count` periods up to the latest due one can make a streak that is both unbroken and
    # fresh: values before them are never read (not the whole history).
    values = (
        ctx.measurements.frame.filter(
            pl.col("value").is_not_null() & (pl.col("period_end") <= ctx.as_of)
        )
        .join(
            kpis.select("k", "frequency", "window_start", kpi_id="id", unit_id="unit"),
            on=["kpi_id", "unit_id"],
        )
        .filter(pl.col("period_end") >= pl.col("window_start"))
        .select("k", "frequency", "period_end", "value")
    )
    empty = pl.DataFrame(schema={"id": pl.String, "labels": pl.List(pl.String)})
    if values.is_empty():
        return empty
    periods = _periods_of(ctx, values.select("frequency", "period_end").unique())
    ordered = values.join(periods, on=["frequency", "period_end"]).sort("k", "start", "period_end")
    k, start, value = pl.col("k"), pl.col("start"), pl.col("value")
    # Mostly a KPI has one value a period: then it is the period's value, whatever the
    # aggregation, and there is nothing to group.
    shared = (k.eq_missing(k.shift(1)) & start.eq_missing(start.shift(1))).any()
    if ordered.select(shared).item():
        by_period = ordered.group_by("k", "start", maintain_order=True).agg(
            pl.col("end").first(),
            pl.col("label").first(),
            total=value.sum(),
            mean=value.mean(),
            last=value.last(),
            low=value.min(),
            high=value.max(),
        )
    else:
        by_period = ordered.select(
            "k", "start", "end", "label", total=value, mean=value, last=value, low=value, high=value
        )
    # The last `count` periods of each KPI: its rows are together, in order of their start.
    tail = by_period.filter(k.shift(-count).ne_missing(k))
    tail = pl.concat(
        [tail, kpis.drop("k", "unit", "frequency", "grace", "window_start").gather(tail["k"])],
        how="horizontal",
    )
    aggregation = pl.col("aggregation")
    actual = (
        pl.when(aggregation == "sum")
        .then("total")
        .when(aggregation == "last")
        .then("last")
        .when(aggregation == "min")
        .then("low")
        .when(aggregation == "max")
        .then("high")
        .otherwise("mean")
    )
    scored = _scored(ctx, tail.with_columns(actual=actual))
    # Each period must start the day after the one before it ended (the KPI's rows are
    # together, in order): worked out over the whole column, not group by group.
    first = k.ne_missing(k.shift(1))
    follows = first | (pl.col("start") == pl.col("end").shift(1) + _DAY)
    streaks = (
        scored.with_columns(follows=follows)
        .group_by("k", maintain_order=True)
        .agg(
            pl.col("id").first(),
            n=pl.len(),
            red=pl.col("red").all(),
            joined=pl.col("follows").all(),
            fresh=pl.col("start").last() >= pl.col("due_start").last(),
        )
        .filter((pl.col("n") == count) & pl.col("red") & pl.col("joined") & pl.col("fresh"))
    )
    labels = (
        scored.join(streaks.select("k"), on="k", how="semi", maintain_order="left")
        .group_by("k", maintain_order=True)
        .agg(labels=pl.col("label"))
    )
    streaks = streaks.join(labels, on="k", maintain_order="left")
    return streaks.select("id", "labels")


def _periods_of(ctx: CheckContext, pairs: pl.DataFrame) -> pl.DataFrame:
    """For each (frequency, last day of a value), the KPI period holding that day."""
    made = [
        period_for(day, m.Frequency(frequency), ctx.calendar)
        for frequency, day in pairs.iter_rows()
    ]
    return pairs.with_columns(
        start=pl.Series([p.start for p in made], dtype=pl.Date),
        end=pl.Series([p.end for p in made], dtype=pl.Date),
        label=pl.Series([p.label for p in made], dtype=pl.String),
    )


def _window_starts(ctx: CheckContext, kpis: pl.DataFrame, count: int) -> pl.DataFrame:
    """The first day of the `count`-th period back from the latest due one, per (frequency,
    days of reporting lag): the earliest a fresh, unbroken streak of `count` can start."""
    pairs = kpis.select("frequency", "grace").unique()
    made = []
    for frequency, grace in pairs.iter_rows():
        every = m.Frequency(frequency)
        period = evaluation_period(every, ctx.as_of - dt.timedelta(days=grace), ctx.calendar)
        for _ in range(count - 1):
            period = evaluation_period(every, period.start - _DAY, ctx.calendar)
        made.append(period.start)
    return pairs.with_columns(window_start=pl.Series(made, dtype=pl.Date))


def _due_starts(ctx: CheckContext, kpis: pl.DataFrame) -> pl.DataFrame:
    """The first day of the latest due period, per (frequency, days of reporting lag)."""
    pairs = kpis.select("frequency", "grace").unique()
    made = [
        evaluation_period(m.Frequency(f), ctx.as_of - dt.timedelta(days=g), ctx.calendar).start
        for f, g in pairs.iter_rows()
    ]
    return pairs.with_columns(due_start=pl.Series(made, dtype=pl.Date))


def _scored(ctx: CheckContext, rows: pl.DataFrame) -> pl.DataFrame:
    """The rows (a KPI's period each, with the KPI's columns) with `red`: the period's value
    misses its target by more than the tolerance (SPEC section 3: target for a period, miss,
    tolerance, ties and rounding)."""
    targets = _period_overrides(ctx)
    baselines = _baseline_ends(ctx, rows)
    frame = (
        rows.rename({"target_value": "final", "target_by": "by", "baseline_value": "base"})
        .join(baselines, on="baseline_period", how="left", maintain_order="left")
        .join(
            targets.rename({"kpi_id": "id"}),
            on=["id", "start", "end"],
            how="left",
            maintain_order="left",
        )
    )
    is_range = pl.col("direction") == m.Direction.RANGE.value
    path = glide(Columns, *(pl.col(c) for c in ("final", "by", "base", "base_end", "end")))
    glided = pl.when(pl.col("base").is_null()).then(pl.col("final")).otherwise(path)
    target = (
        pl.when(is_range)
        .then((pl.col("range_low") + pl.col("range_high")) / 2)
        .when(pl.col("override").is_not_null())
        .then(pl.col("override"))
        .when(pl.col("final").is_not_null())
        .then(glided)
    )
    frame = frame.with_columns(target=target)
    missed = miss(
        Columns,
        pl.col("direction"),
        pl.col("actual"),
        pl.col("target"),
        pl.col("range_low"),
        pl.col("range_high"),
    )
    tol = pl.col("tolerance_abs").fill_null(
        pl.col("tolerance").fill_null(m.DEFAULT_TOLERANCE) * pl.col("target").abs()
    )
    frame = frame.with_columns(miss=missed, tol=tol)
    rounded = tie_rounded(Columns, pl.col("miss"), pl.col("tol"), pl.col("target"))
    red = pl.col("target").is_not_null() & (rounded > pl.col("tol"))
    return frame.with_columns(red=red.fill_null(False))


def _period_overrides(ctx: CheckContext) -> pl.DataFrame:
    """The KPIs' own targets by period (`targets:`), by the days of the period."""
    own = ctx.data.frames["period_targets"].filter(
        pl.col("unit").is_null() | (pl.col("unit") == "")
    )
    rows = []
    for kpi_id, label, value in own.select("kpi_id", "period", "value").iter_rows():
        try:
            period = period_named(label, ctx.calendar)
        except PeriodError:
            continue
        rows.append((kpi_id, period.start, period.end, value))
    return pl.DataFrame(
        rows,
        schema={"kpi_id": pl.String, "start": pl.Date, "end": pl.Date, "override": pl.Float64},
        orient="row",
    )


def _baseline_ends(ctx: CheckContext, kpis: pl.DataFrame) -> pl.DataFrame:
    """The last day of each baseline period named."""
    labels = kpis["baseline_period"].drop_nulls().unique().to_list()
    rows = []
    for label in labels:
        try:
            rows.append((label, period_named(label, ctx.calendar).end))
        except PeriodError:
            continue
    return pl.DataFrame(
        rows, schema={"baseline_period": pl.String, "base_end": pl.Date}, orient="row"
    )
