"""The value of every KPI, unit and period, from the stored measurements (SPEC sections 2, 3).

- A measurement belongs to the KPI period that holds its last day, so finer values (days,
  ISO weeks, months) fall into the KPI's own periods; they are combined by the KPI's
  `aggregation` (`last` means the latest by period end).
- A ratio KPI is a ratio of sums, `scale * sum(numerators) / sum(denominators)`, over time
  and over units; never an average of ratios.
- A unit without a value of its own takes one from its child units by `across_units`; a
  value recorded for a unit always wins for that unit.
- A formula KPI is its formula over its inputs' values for the same period, each input
  aggregated over that period; division by zero gives no value.

The heavy part is vectorised with Polars; the few formula KPIs are evaluated one by one.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.formula import Expr, evaluate, parse_formula, references
from lineofsight.domain.graph import organisation_graph
from lineofsight.domain.periods import Grain, Period, grain_of, period_of
from lineofsight.engine.calendar import uses_fiscal

# The periods a table's values fall in, made once each: every KPI of an organisation has values
# in the same few hundred, and a KPI page's first visit asked for a few dozen anew.
_period_at = functools.lru_cache(maxsize=4096)(period_of)

MEASUREMENT_SCHEMA = {
    "kpi_id": pl.String,
    "unit_id": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}

# One measurement as a plain tuple, in MEASUREMENT_SCHEMA's order: what a value table of a few
# KPIs is built from (a page's chart), where a frame's fixed cost would be most of the work.
MeasurementTuple = tuple[str, str, dt.date, dt.date, float | None, float | None, float | None]

_AGGREGATIONS = ("sum", "mean", "last", "min", "max")
_ACROSS = ("sum", "mean", "min", "max")


@dataclass(frozen=True, slots=True)
class PeriodKey:
    """A period as the value tables key it: grain, fiscal or not, and first day."""

    grain: Grain
    fiscal: bool
    start: dt.date


def key_of(period: Period) -> PeriodKey:
    return PeriodKey(period.grain, period.fiscal, period.start)


def _period_start_expr(grain: pl.Expr, fiscal_shift: pl.Expr, day: pl.Expr) -> pl.Expr:
    """The first day of the period of `grain` that holds `day` (fiscal years shifted)."""
    shifted = day.dt.offset_by(pl.format("-{}mo", fiscal_shift))
    return (
        pl.when(grain == int(Grain.DAY))
        .then(day)
        .when(grain == int(Grain.WEEK))
        .then(day.dt.truncate("1w"))
        .when(grain == int(Grain.MONTH))
        .then(day.dt.truncate("1mo"))
        .when(grain == int(Grain.QUARTER))
        .then(shifted.dt.truncate("1q").dt.offset_by(pl.format("{}mo", fiscal_shift)))
        .otherwise(shifted.dt.truncate("1y").dt.offset_by(pl.format("{}mo", fiscal_shift)))
    )


def period_start(grain: int, shift: int, day: dt.date) -> dt.date:
    """`_period_start_expr` for one day: the first day of its period of `grain`."""
    if grain == Grain.DAY:
        return day
    if grain == Grain.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if grain == Grain.MONTH:
        return day.replace(day=1)
    # Months counted from year 0, the fiscal year's shift taken off, truncated, put back.
    months = day.year * 12 + day.month - 1 - shift
    months -= months % (3 if grain == Grain.QUARTER else 12)
    months += shift
    return dt.date(months // 12, months % 12 + 1, 1)


Triple = tuple[float | None, float, float]


# Everything a period's value may be made of, measured once per KPI, unit and period; the
# KPI's aggregation (or its ratio) then picks: see `period_value`.
PERIOD_AGGREGATES = (
    pl.col("value").sum().alias("v_sum"),
    pl.col("value").mean().alias("v_mean"),
    pl.col("value").last().alias("v_last"),
    pl.col("value").min().alias("v_min"),
    pl.col("value").max().alias("v_max"),
    pl.col("numerator").sum().alias("num"),
    pl.col("denominator").sum().alias("den"),
)


def period_aggregates(joined: pl.LazyFrame, keys: Sequence[str], *first: str) -> pl.DataFrame:
    """Each group's PERIOD_AGGREGATES (and the first of each `first` column), rows taken in
    the order of their periods; sums and means compensated (SPEC section 3, "Ties and
    rounding"): a group of one value is exact as it is, and the others' are made with
    `math.fsum`, so that a period's value does not depend on how its rows were read."""
    grouped = (
        joined.sort("period_end", "period_start")
        .group_by(*keys)
        .agg(*(pl.first(name) for name in first), *PERIOD_AGGREGATES, pl.len().alias("_n"))
        .collect()
    )
    several = grouped.filter(pl.col("_n") > 1).select(*keys)
    grouped = grouped.drop("_n")
    if several.is_empty():
        return grouped
    lists = (
        joined.join(several.lazy(), on=list(keys), how="semi")
        .group_by(*keys)
        .agg("value", "numerator", "denominator")
        .collect()
    )
    sums, means, nums, dens = [], [], [], []
    for values, numerators, denominators in lists.select(
        "value", "numerator", "denominator"
    ).iter_rows():
        given = [v for v in values if v is not None]
        total = exact_total(given)
        sums.append(total)
        means.append(total / len(given) if given else None)
        nums.append(exact_total(v for v in numerators if v is not None))
        dens.append(exact_total(v for v in denominators if v is not None))
    exact = lists.select(*keys).with_columns(
        pl.Series("v_sum", sums, dtype=pl.Float64),
        pl.Series("v_mean", means, dtype=pl.Float64),
        pl.Series("num", nums, dtype=pl.Float64),
        pl.Series("den", dens, dtype=pl.Float64),
    )
    return grouped.update(exact, on=list(keys), how="left")


def unsigned(number: pl.Expr) -> pl.Expr:
    """A ratio divided out without the sign of a zero: a negative scale over a zero numerator
    is -0.0, which a status showed as "-0". In plain Python, + 0.0 does it (IEEE 754: -0.0 +
    0.0 is 0.0); Polars skips adding a literal 0 to a column of more than one row, hence the
    comparison (null and NaN stay as they are)."""
    return pl.when(number == 0).then(0.0).otherwise(number)


def period_value(scale: str) -> pl.Expr:
    """A period's value from PERIOD_AGGREGATES: a ratio of sums for a ratio KPI (none when
    the denominators add up to 0), else by the `agg` column. None when it is not finite
    (a sum past the largest float): no value rather than an infinite one."""
    ratio = unsigned(pl.col(scale) * pl.col("num") / pl.col("den"))
    value = (
        pl.when(pl.col(scale).is_not_null())
        .then(pl.when(pl.col("den") != 0).then(ratio))
        .when(pl.col("agg") == "sum")
        .then(pl.col("v_sum"))
        .when(pl.col("agg") == "last")
        .then(pl.col("v_last"))
        # The least or greatest of values equal to zero is zero without a sign: -0.0 and 0.0
        # are equal, and which of them a minimum keeps would depend on the order of the rows.
        .when(pl.col("agg") == "min")
        .then(unsigned(pl.col("v_min")))
        .when(pl.col("agg") == "max")
        .then(unsigned(pl.col("v_max")))
        .otherwise(pl.col("v_mean"))
    )
    return pl.when(value.is_finite()).then(value)


def exact_total(values: Iterable[float]) -> float:
    """The correctly rounded sum of values (order does not matter); infinite past the largest
    float, as a plain sum would be."""
    numbers = list(values)
    try:
        return math.fsum(numbers)
    except OverflowError:
        return math.inf if sum(numbers) > 0 else -math.inf


def _group_value(rows: list[MeasurementTuple], agg: str, scale: float | None) -> Triple:
    """`period_aggregates` then `period_value` for one group's rows, in plain Python: the
    same numbers (a group of one value as it is, the others' sums with `math.fsum`)."""
    if len(rows) == 1:
        only, num, den = rows[0][4], rows[0][5], rows[0][6]
        # Polars' sums start from 0.0 (so -0.0 comes out 0.0), its mean is that sum / 1.
        v_sum = 0.0 if only is None else 0.0 + only
        v_mean = None if only is None else v_sum
        v_last = v_min = v_max = only
        num, den = 0.0 + (num or 0.0), 0.0 + (den or 0.0)
    else:
        rows = sorted(rows, key=lambda r: (r[3], r[2]))
        given = [r[4] for r in rows if r[4] is not None]
        v_sum = exact_total(given)
        v_mean = v_sum / len(given) if given else None
        v_last = rows[-1][4]
        v_min = min(given) if given else None
        v_max = max(given) if given else None
        num = exact_total(r[5] for r in rows if r[5] is not None)
        den = exact_total(r[6] for r in rows if r[6] is not None)
    value: float | None
    if scale is not None:
        value = scale * num / den + 0.0 if den != 0 else None  # no "-0": see `unsigned`
    elif agg == "sum":
        value = v_sum
    elif agg == "last":
        value = v_last
    elif agg == "min":
        value = None if v_min is None else v_min + 0.0  # no "-0": see `period_value`
    elif agg == "max":
        value = None if v_max is None else v_max + 0.0
    else:
        value = v_mean
    return finite(value), num, den


def finite(value: float | None) -> float | None:
    """The value, or None when it is infinite or NaN (a value past the largest float)."""
    return value if value is not None and math.isfinite(value) else None


class ValueTable:
    """Values of KPIs by (KPI, grain, fiscal, unit, period start), own and derived."""

    def __init__(
        self,
        org: m.Organization,
        measurements: pl.DataFrame | Sequence[MeasurementTuple],
        window: tuple[dt.date, dt.date] | None = None,
    ) -> None:
        """`window`, when given, keeps only measurements whose last day lies within it.
        `measurements`: a frame, or a few KPIs' rows as tuples (the same table)."""
        self.org = org
        self.window = window
        self.calendar = org.calendar
        graph = organisation_graph(org)  # made once per organisation, shared
        self.kpis = graph.kpis
        self.fiscal = uses_fiscal(org.calendar)
        self._children: dict[str, list[str]] = graph.unit_children
        self._graph = graph
        # Parsed once per organisation (the graph's); a formula that does not parse (never
        # in a validated file) is refused here as before.
        self._formulas: Mapping[str, Expr] = graph.formulas
        if graph.unparsed_formulas:
            parse_formula(graph.kpis[graph.unparsed_formulas[0]].formula or "")
        # kpi id -> (grain, fiscal, unit, period start) -> (value, numerator sum, denominator sum)
        self._values: dict[str, dict[tuple[int, bool, str, dt.date], Triple]] = {}
        self._units_with_values: dict[str, set[str]] = {}
        # The last series asked for: a KPI page's chart and its forecast both ask for it.
        self._last_series: tuple[tuple[str, str], list[tuple[Period, float]]] | None = None
        if not isinstance(measurements, pl.DataFrame):
            low, high = window if window is not None else (dt.date.min, dt.date.max)
            self._build_rows([r for r in measurements if low <= r[3] <= high])
            return
        if window is not None:
            measurements = measurements.filter(
                pl.col("period_end").is_between(window[0], window[1])
            )
        self._build(measurements)

    # ------------------------------------------------------------ building

    def _grains_wanted(self, present: set[str]) -> dict[str, set[tuple[int, bool]]]:
        """Each KPI of `present` at its own grain, and formula inputs at their formulas' grains
        too (a table of one KPI's values need not look at the organisation's other KPIs)."""
        wanted: dict[str, set[tuple[int, bool]]] = {}
        for kpi_id in present:
            kpi = self.kpis.get(kpi_id)
            if kpi is not None:
                wanted.setdefault(kpi_id, set()).add(self._grain_key(kpi.frequency))
        if len(present) < len(self._formulas):
            # A few KPIs (a page's chart, an explanation): walk up from each to the formulas
            # that read it, directly or through other formulas, instead of walking down every
            # formula of the organisation. The same pairs either way.
            users = self._graph.formula_users
            for kpi_id in present:
                if kpi_id not in self.kpis:
                    continue
                above = list(users.get(kpi_id, ()))
                reached: set[str] = set()
                while above:
                    formula_id = above.pop()
                    if formula_id in reached:
                        continue
                    reached.add(formula_id)
                    grain = self._grain_key(self.kpis[formula_id].frequency)
                    wanted.setdefault(kpi_id, set()).add(grain)
                    above.extend(users.get(formula_id, ()))
            return wanted
        for formula_id, expr in self._formulas.items():
            grain = self._grain_key(self.kpis[formula_id].frequency)
            stack = list(references(expr))
            seen: set[str] = set()
            while stack:
                input_id = stack.pop()
                if input_id in seen or input_id not in self.kpis:
                    continue
                seen.add(input_id)
                if input_id in present:
                    wanted.setdefault(input_id, set()).add(grain)
                inner = self._formulas.get(input_id)
                if inner is not None:
                    stack.extend(references(inner))
        return wanted

    def _grain_key(self, frequency: m.Frequency) -> tuple[int, bool]:
        grain = grain_of(frequency)
        return int(grain), self.fiscal and grain in (Grain.QUARTER, Grain.YEAR)

    def _grain_rows(self, present: set[str]) -> list[tuple[str, int, bool, int, str, float | None]]:
        """Each measured KPI of `present` at each grain its values are wanted: (KPI, grain,
        fiscal, the fiscal year's shift in months, aggregation, ratio scale)."""
        rows = []
        for kpi_id, grains in self._grains_wanted(present).items():
            kpi = self.kpis[kpi_id]
            if kpi.formula is not None:
                continue
            for grain, fiscal in grains:
                rows.append(
                    (
                        kpi_id,
                        grain,
                        fiscal,
                        self.calendar.fiscal_year_start - 1 if fiscal else 0,
                        kpi.effective_aggregation.value,
                        kpi.ratio.scale if kpi.ratio is not None else None,
                    )
                )
        return rows

    def _build_rows(self, measurements: list[MeasurementTuple]) -> None:
        """`_build` for a few KPIs' rows, without a frame: the same groups and values."""
        wanted: dict[str, list[tuple[int, bool, int, str, float | None]]] = {}
        for kpi_id, grain, fiscal, shift, agg, scale in self._grain_rows(
            {r[0] for r in measurements}
        ):
            wanted.setdefault(kpi_id, []).append((grain, fiscal, shift, agg, scale))
        groups: dict[tuple[str, int, bool, str, dt.date], list[MeasurementTuple]] = {}
        how: dict[tuple[str, int, bool, str, dt.date], tuple[str, float | None]] = {}
        for row in measurements:
            for grain, fiscal, shift, agg, scale in wanted.get(row[0], ()):
                key = (row[0], grain, fiscal, row[1], period_start(grain, shift, row[3]))
                found = groups.get(key)
                if found is None:
                    groups[key] = [row]
                    how[key] = (agg, scale)
                else:
                    found.append(row)
        values = self._values
        units = self._units_with_values
        for key, rows in groups.items():
            value, num, den = _group_value(rows, *how[key])
            kpi_id, unit_id = key[0], key[3]
            table = values.get(kpi_id)
            if table is None:
                table = values[kpi_id] = {}
                units[kpi_id] = set()
            table[(key[1], key[2], unit_id, key[4])] = (value, num or 0.0, den or 0.0)
            units[kpi_id].add(unit_id)

    def _build(self, measurements: pl.DataFrame) -> None:
        if measurements.is_empty():
            return
        present = set(measurements.get_column("kpi_id").unique().to_list())
        rows = self._grain_rows(present)
        info = pl.DataFrame(
            rows,
            schema={
                "kpi_id": pl.String,
                "grain": pl.Int8,
                "fiscal": pl.Boolean,
                "shift": pl.Int32,
                "agg": pl.String,
                "scale": pl.Float64,
            },
            orient="row",
        )
        joined = measurements.lazy().join(info.lazy(), on="kpi_id", how="inner")
        joined = joined.with_columns(
            p_start=_period_start_expr(pl.col("grain"), pl.col("shift"), pl.col("period_end"))
        )
        keys = ("kpi_id", "grain", "fiscal", "unit_id", "p_start")
        grouped = (
            period_aggregates(joined, keys, "agg", "scale")
            .with_columns(value=period_value("scale"))
            .select(*keys, "value", "num", "den")
        )
        values = self._values
        units = self._units_with_values
        for kpi_id, grain, fiscal, unit_id, start, value, num, den in grouped.iter_rows():
            table = values.get(kpi_id)
            if table is None:
                table = values[kpi_id] = {}
                units[kpi_id] = set()
            table[(grain, fiscal, unit_id, start)] = (value, num or 0.0, den or 0.0)
            units[kpi_id].add(unit_id)

    # ------------------------------------------------------------ reading

    def units_with_values(self, kpi_id: str) -> set[str]:
        """The units that have measurements of a KPI (or, for a formula, of its inputs)."""
        if kpi_id in self._formulas:
            found: set[str] = set()
            for input_id in references(self._formulas[kpi_id]):
                if input_id in self.kpis and input_id != kpi_id:
                    found |= self.units_with_values(input_id)
            return found
        return self._units_with_values.get(kpi_id, set())

    def units_measured(self, kpi_id: str, period: Period) -> set[str]:
        """The units with a value of their own for the KPI in that period."""
        grain, fiscal, start = int(period.grain), period.fiscal, period.start
        return {
            k[2]
            for k in self._values.get(kpi_id, {})
            if k[0] == grain and k[1] == fiscal and k[3] == start
        }

    def value(self, kpi_id: str, period: Period, unit: str | None = None) -> float | None:
        """The KPI's value for the period at the unit (default: the KPI's own unit)."""
        return self._value(kpi_id, key_of(period), unit or self.kpis[kpi_id].unit, ())[0]

    def own_value(self, kpi_id: str, period: Period, unit: str) -> float | None:
        """Only a value recorded for that unit (no derivation from child units)."""
        found = self._values.get(kpi_id, {}).get(
            (int(period.grain), period.fiscal, unit, period.start)
        )
        return None if found is None else found[0]

    def child_values(self, kpi_id: str, period: Period, unit: str) -> dict[str, float]:
        """The values of the unit's child units that have one (for explanations)."""
        key = key_of(period)
        result = {}
        for child in self._children.get(unit, ()):
            value = self._value(kpi_id, key, child, ())[0]
            if value is not None:
                result[child] = value
        return result

    def _value(self, kpi_id: str, key: PeriodKey, unit: str, visiting: tuple[str, ...]) -> Triple:
        kpi = self.kpis[kpi_id]
        expr = self._formulas.get(kpi_id)
        if expr is not None:
            if kpi_id in visiting:
                return None, 0.0, 0.0  # a formula cycle has no value
            inputs: dict[str, float] = {}
            for input_id in references(expr):
                if input_id not in self.kpis:
                    return None, 0.0, 0.0
                # An input is read at the formula's unit when it has a value there for this
                # period, else at its own unit.
                value = self._value(input_id, key, unit, (*visiting, kpi_id))[0]
                own_unit = self.kpis[input_id].unit
                if value is None and own_unit != unit:
                    value = self._value(input_id, key, own_unit, (*visiting, kpi_id))[0]
                if value is None:
                    return None, 0.0, 0.0
                inputs[input_id] = value
            return evaluate(expr, inputs), 0.0, 0.0
        own = self._values.get(kpi_id, {}).get((int(key.grain), key.fiscal, unit, key.start))
        if own is not None:
            return own
        across = kpi.effective_across_units
        if across is m.AcrossUnits.NONE:
            return None, 0.0, 0.0
        children = [
            self._value(kpi_id, key, child, visiting) for child in self._children.get(unit, ())
        ]
        present = [c for c in children if c[0] is not None]
        if not present:
            return None, 0.0, 0.0
        if kpi.ratio is not None:
            num = exact_total(c[1] for c in present)
            den = exact_total(c[2] for c in present)
            # + 0.0: no "-0" from a negative scale (see `unsigned`).
            return (finite(kpi.ratio.scale * num / den + 0.0) if den else None), num, den
        numbers = [c[0] for c in present if c[0] is not None]
        if across is m.AcrossUnits.SUM:
            return finite(exact_total(numbers)), 0.0, 0.0
        if across is m.AcrossUnits.MEAN:
            return finite(exact_total(numbers) / len(numbers)), 0.0, 0.0
        if across is m.AcrossUnits.MIN:
            return min(numbers), 0.0, 0.0
        return max(numbers), 0.0, 0.0

    def periods_with_values(self, kpi_id: str, unit: str | None = None) -> list[Period]:
        """The KPI's own periods that have a value at the unit, oldest first."""
        kpi = self.kpis[kpi_id]
        grain, fiscal = self._grain_key(kpi.frequency)
        unit = unit or kpi.unit
        sources = self._measured_sources(kpi_id)
        starts = {
            k[3]
            for source in sources
            for k in self._values.get(source, {})
            if k[0] == grain and k[1] == fiscal
        }
        periods = [_period_at(s, Grain(grain), self.calendar, fiscal) for s in sorted(starts)]
        return [p for p in periods if self.value(kpi_id, p, unit) is not None]

    def series(self, kpi_id: str, unit: str | None = None) -> list[tuple[Period, float]]:
        """The KPI's own periods that have a value at the unit, with the value, oldest first
        (`periods_with_values` and `value` in one pass: a formula is evaluated once)."""
        kpi = self.kpis[kpi_id]
        grain, fiscal = self._grain_key(kpi.frequency)
        unit = unit or kpi.unit
        last = self._last_series
        if last is not None and last[0] == (kpi_id, unit):
            return list(last[1])
        starts = {
            k[3]
            for source in self._measured_sources(kpi_id)
            for k in self._values.get(source, {})
            if k[0] == grain and k[1] == fiscal
        }
        found = []
        for start in sorted(starts):
            period = _period_at(start, Grain(grain), self.calendar, fiscal)
            value = self.value(kpi_id, period, unit)
            if value is not None:
                found.append((period, value))
        self._last_series = ((kpi_id, unit), found)
        return list(found)

    def _measured_sources(self, kpi_id: str) -> list[str]:
        """The KPI itself, or for a formula the measured KPIs it reads, through inner formulas."""
        if kpi_id not in self._formulas:
            return [kpi_id]
        found: list[str] = []
        seen = {kpi_id}
        stack = list(references(self._formulas[kpi_id]))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            inner = self._formulas.get(current)
            if inner is None:
                found.append(current)
            else:
                stack.extend(references(inner))
        return found


def measurements_frame(rows: Iterable[Mapping[str, object]]) -> pl.DataFrame:
    """A measurements frame from row mappings (tests and small stores)."""
    return pl.DataFrame(list(rows), schema=MEASUREMENT_SCHEMA)
