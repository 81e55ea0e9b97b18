"""The histories of formula KPIs on arrays, for forecasts of large organisations.

A value table (engine/values.py) evaluates a formula period by period, in Python: about a
millisecond per KPI for three years of months, seconds for the 2,000 formulas of a
100,000-KPI organisation. Here a formula is evaluated once over all its periods with numpy,
on the histories of the measured KPIs it reads (one group-by for every formula,
`forecast_frames.series_histories`), under the value table's rules (`ValueTable._value`,
`formula_eval.evaluate`):

- an input is read at the formula's unit when it has a value there for the period, else at
  its own unit; a formula input is itself evaluated so, all the way down;
- the formula has no value in a period where an input has none, where it divides by zero or
  where a step overflows (IEEE arithmetic is the same in numpy as in Python, so the values
  are the same numbers);
- a period is one of the formula's own grain, up to its evaluation period.

Only formulas whose every measured input is read where its value is that unit's own
measurements (no unit below with values of it: nothing to roll up) are evaluated here
(`FormulaBook.ready`); the caller forecasts the others from a value table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from lineofsight.domain.formula_parse import parse_formula
from lineofsight.domain.formula_tree import (
    BinOp,
    Call,
    Expr,
    FormulaError,
    Neg,
    Number,
    Ref,
    references,
)
from lineofsight.engine.forecast_frames import GrainSteps, Histories, series_histories

__all__ = ["FormulaBook", "book_of", "formula_histories", "parsed"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FormulaBook:
    """What the histories of formula KPIs read besides the measurements: every formula KPI's
    tree (None: it does not parse), every KPI's own unit, each measured KPI's aggregation
    within a period (as the KPI takes it) and ratio scale, and for the KPIs formulas read,
    the units above a unit with measurements of them (`forecast_frames.rolled_up`)."""

    formulas: Mapping[str, Expr | None]
    units: Mapping[str, str]
    aggregations: Mapping[str, str]
    scales: Mapping[str, float | None]
    below: Mapping[str, set[str]]

    def leaves(self, kpi_id: str, unit: str) -> set[tuple[str, str]] | None:
        """The measured KPIs and units a formula KPI at `unit` reads (through inner formulas
        and the fall-back to an input's own unit); None when it cannot be evaluated on
        arrays (a formula that does not parse, an unknown KPI, a cycle, an input whose value
        there is rolled up from the units below)."""
        found: set[tuple[str, str]] = set()

        def walk(current: str, at: str, visiting: frozenset[str]) -> bool:
            if current not in self.formulas:
                if at in self.below.get(current, ()):
                    return False
                found.add((current, at))
                return True
            expr = self.formulas[current]
            if expr is None or current in visiting:
                return False
            inside = visiting | {current}
            for input_id in references(expr):
                own = self.units.get(input_id)
                if own is None or not walk(input_id, at, inside):
                    return False
                if own != at and not walk(input_id, own, inside):
                    return False
            return True

        return found if kpi_id in self.formulas and walk(kpi_id, unit, frozenset()) else None


def formula_histories(
    requests: pl.DataFrame,
    measurements: pl.DataFrame,
    shapes: Mapping[str, GrainSteps],
    book: FormulaBook,
) -> Histories:
    """The history of each row of `requests` (`forecast_frames.REQUEST_SCHEMA`, each a
    formula KPI at a unit for which `book.leaves` is not None), as `series_histories` gives
    those of measured KPIs: the periods with a value, cut to the last `window` periods."""
    k = requests.height
    ids = requests["kpi_id"].to_list()
    units = requests["unit_id"].to_list()
    frequencies = requests["frequency"].to_list()
    plans: list[set[tuple[str, str]]] = []
    index: dict[tuple[str, str, str], int] = {}
    for kpi_id, unit, frequency in zip(ids, units, frequencies, strict=True):
        leaves = book.leaves(kpi_id, unit)
        if leaves is None:
            raise ValueError(f"{kpi_id} at {unit} cannot be evaluated on arrays")
        plans.append(leaves)
        for leaf_id, leaf_unit in leaves:
            index.setdefault((leaf_id, leaf_unit, frequency), len(index))
    inputs = _leaf_histories(index, measurements, shapes, book)
    counts = np.zeros(k, dtype=np.int64)
    steps_parts: list[Ints] = []
    value_parts: list[Floats] = []
    for row, (kpi_id, unit, frequency) in enumerate(zip(ids, units, frequencies, strict=True)):
        read = {leaf: inputs[index[(*leaf, frequency)]] for leaf in plans[row]}
        steps, values = _evaluated(kpi_id, unit, read, book)
        known = ~np.isnan(values)
        steps, values = steps[known], values[known]
        if len(steps):
            keep = steps > steps[-1] - shapes[frequency].window
            steps, values = steps[keep], values[keep]
        counts[row] = len(steps)
        steps_parts.append(steps)
        value_parts.append(values)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return Histories(
        start,
        counts,
        np.concatenate([np.empty(0, dtype=np.int64), *steps_parts]).astype(np.int64),
        np.concatenate([np.empty(0), *value_parts]).astype(np.float64),
    )


def _leaf_histories(
    index: Mapping[tuple[str, str, str], int],
    measurements: pl.DataFrame,
    shapes: Mapping[str, GrainSteps],
    book: FormulaBook,
) -> list[tuple[Ints, Floats]]:
    """Each measured KPI's values at a unit, at a formula's grain, by `index`: (steps, values)
    of every period with a value up to the evaluation period (no cut to a window: the
    formula's periods are cut once evaluated)."""
    if not index:
        return []
    keys = sorted(index, key=index.__getitem__)
    leaf_requests = pl.DataFrame(
        [
            (kpi_id, unit, frequency, book.aggregations[kpi_id], book.scales.get(kpi_id))
            for kpi_id, unit, frequency in keys
        ],
        schema={
            "kpi_id": pl.String,
            "unit_id": pl.String,
            "frequency": pl.String,
            "aggregation": pl.String,
            "ratio_scale": pl.Float64,
        },
        orient="row",
    )
    found = series_histories(leaf_requests, measurements, shapes, windowed=False)
    return [
        (
            found.steps[begin : begin + size],
            found.values[begin : begin + size],
        )
        for begin, size in zip(found.start.tolist(), found.count.tolist(), strict=True)
    ]


def _evaluated(
    kpi_id: str,
    unit: str,
    leaves: Mapping[tuple[str, str], tuple[Ints, Floats]],
    book: FormulaBook,
) -> tuple[Ints, Floats]:
    """A formula KPI's value at `unit` in every period where one of the values it reads has
    one (NaN: no value there)."""
    grid = np.unique(
        np.concatenate([np.empty(0, dtype=np.int64), *(s for s, _ in leaves.values())])
    )
    aligned: dict[tuple[str, str], Floats] = {}
    for leaf, (steps, values) in leaves.items():
        column = np.full(len(grid), np.nan)
        column[np.searchsorted(grid, steps)] = values
        aligned[leaf] = column
    return grid, _kpi(kpi_id, unit, aligned, book, len(grid))


def _kpi(
    kpi_id: str, unit: str, aligned: Mapping[tuple[str, str], Floats], book: FormulaBook, n: int
) -> Floats:
    expr = book.formulas.get(kpi_id)
    if kpi_id not in book.formulas:
        return aligned[(kpi_id, unit)]
    assert expr is not None  # `FormulaBook.leaves` said so
    return _expr(expr, unit, aligned, book, n)


def _expr(
    expr: Expr, unit: str, aligned: Mapping[tuple[str, str], Floats], book: FormulaBook, n: int
) -> Floats:
    """`formula_eval.evaluate` over every period at once: NaN where it gives None."""
    with np.errstate(all="ignore"):
        if isinstance(expr, Number):
            try:
                number = float(expr.value)
            except OverflowError:
                number = math.nan
            return np.full(n, number if math.isfinite(number) else math.nan)
        if isinstance(expr, Ref):
            values = _kpi(expr.id, unit, aligned, book, n)
            own = book.units[expr.id]
            if own != unit:
                values = np.where(np.isnan(values), _kpi(expr.id, own, aligned, book, n), values)
            return values
        if isinstance(expr, Neg):
            return -_expr(expr.operand, unit, aligned, book, n)
        if isinstance(expr, BinOp):
            left = _expr(expr.left, unit, aligned, book, n)
            right = _expr(expr.right, unit, aligned, book, n)
            if expr.op == "+":
                result = left + right
            elif expr.op == "-":
                result = left - right
            elif expr.op == "*":
                result = left * right
            else:
                result = np.where(right == 0, math.nan, left / right)
            return np.where(np.isfinite(result), result, math.nan)
        assert isinstance(expr, Call)
        args = [_expr(arg, unit, aligned, book, n) for arg in expr.args]
        missing = np.zeros(n, dtype=bool)
        for arg in args:
            missing |= np.isnan(arg)
        if expr.func == "abs":
            chosen = np.abs(args[0])
        else:
            # Python's min and max keep the first of equal values (a signed zero stays).
            chosen = args[0]
            for arg in args[1:]:
                better = arg < chosen if expr.func == "min" else arg > chosen
                chosen = np.where(better, arg, chosen)
        return np.where(missing, math.nan, chosen)


def book_of(kpis: pl.DataFrame, rolled: pl.DataFrame) -> FormulaBook:
    """A `FormulaBook` from every KPI's `id`, `unit_id`, `formula` (its text; null: measured),
    `aggregation` (as the KPI takes it) and `ratio_scale`; `rolled`:
    `forecast_frames.rolled_up`."""
    measured = kpis.filter(pl.col("formula").is_null())
    ids = measured["id"].to_list()
    formulas = {
        kpi_id: parsed(text)
        for kpi_id, text in kpis.filter(pl.col("formula").is_not_null())
        .select("id", "formula")
        .iter_rows()
    }
    read = {name for expr in formulas.values() if expr is not None for name in references(expr)}
    below: dict[str, set[str]] = {}
    for kpi_id, unit in rolled.filter(pl.col("kpi_id").is_in(list(read))).iter_rows():
        below.setdefault(kpi_id, set()).add(unit)
    return FormulaBook(
        formulas,
        dict(zip(kpis["id"].to_list(), kpis["unit_id"].to_list(), strict=True)),
        dict(zip(ids, measured["aggregation"].to_list(), strict=True)),
        dict(zip(ids, measured["ratio_scale"].to_list(), strict=True)),
        below,
    )


def parsed(formula: str) -> Expr | None:
    """A formula's tree; None when it does not parse (`los apply` refuses such a file; a
    value table then says why)."""
    try:
        return parse_formula(formula)
    except FormulaError:
        return None
