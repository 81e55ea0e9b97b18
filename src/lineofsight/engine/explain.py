"""What drove a KPI's change between two periods (SPEC section 3, "Explaining a change").

The change `V(P1) - V(P0)` is split into contributions:

- a formula KPI: Shapley values over its direct inputs. With `n` inputs and `f(S)` the formula
  with the inputs in `S` at P1 and the rest at P0, input `i` gets
  `sum over S in N\\{i} of |S|! (n-|S|-1)! / n! * (f(S u {i}) - f(S))`; these add up to
  `f(N) - f({}) = V(P1) - V(P0)`. For a sum that is each input's own change; for `x*y` it is
  `dx * (y0 + y1) / 2`.
- a KPI that a unit takes from its child units (`across_units`): each child unit's own change.
  For a sum these add up exactly; for a mean, min, max or a ratio they do not, and the
  residual says by how much.
- a KPI measured directly: no breakdown; the residual is the whole change.

With `depth > 1` each input (or child unit) that has a breakdown of its own gets it, nested:
the split of that input's own change. For a formula that is a plain sum or difference an
input's own change is its contribution (up to its sign); for other formulas it is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from lineofsight.domain import model as m
from lineofsight.domain.formula import Expr, evaluate, parse_formula, references
from lineofsight.domain.graph import organisation_graph
from lineofsight.domain.periods import Period, PeriodError
from lineofsight.domain.text import did_you_mean
from lineofsight.engine.calendar import period_for, period_named
from lineofsight.engine.values import ValueTable
from lineofsight.errors import UsageError

__all__ = [
    "MAX_INPUTS",
    "Contribution",
    "Explanation",
    "Method",
    "explain",
    "kpi_named",
    "kpi_period",
    "shapley",
]

# 2^n evaluations of the formula; no formula a person writes comes near this.
MAX_INPUTS = 16


class Method(StrEnum):
    """How a change was split."""

    FORMULA = "formula"
    UNITS = "units"
    MEASURED = "measured"


@dataclass(frozen=True, slots=True)
class Contribution:
    """One input's (kind `kpi`) or child unit's (kind `unit`) share of a change."""

    kind: Literal["kpi", "unit"]
    id: str
    contribution: float
    from_value: float | None
    to_value: float | None
    breakdown: Explanation | None = None

    @property
    def own_change(self) -> float | None:
        """The input's or child unit's own change (None when it lacks a value in a period)."""
        if self.from_value is None or self.to_value is None:
            return None
        return self.to_value - self.from_value


@dataclass(frozen=True, slots=True)
class Explanation:
    """The change of a KPI at a unit between two periods, and what it is made of."""

    kpi: str
    unit: str
    from_period: Period
    to_period: Period
    from_value: float
    to_value: float
    method: Method
    contributions: tuple[Contribution, ...]
    exact: bool
    formula: str | None = None
    across: m.AcrossUnits | None = None
    own_value: bool = False  # units method: the unit's own recorded value wins over its children

    @property
    def change(self) -> float:
        return self.to_value - self.from_value

    @property
    def residual(self) -> float:
        """What the contributions leave unexplained; 0 (within float rounding) when exact."""
        return self.change - math.fsum(c.contribution for c in self.contributions)


class _NoSplit(Exception):
    """The formula has no value for some mix of the two periods' inputs."""


def shapley(expr: Expr, before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Shapley values of the formula's inputs for the move from `before` to `after`.

    `before` and `after` give a value for every input the formula references. Raises
    `_NoSplit` when the formula has no value for some mix (a division by zero on the way).
    """
    names = list(references(expr))
    n = len(names)
    factorial = [math.factorial(k) for k in range(n + 1)]
    cache: dict[int, float] = {}

    def f(mask: int) -> float:
        found = cache.get(mask)
        if found is None:
            mixed = {
                name: after[name] if mask >> bit & 1 else before[name]
                for bit, name in enumerate(names)
            }
            value = evaluate(expr, mixed)
            if value is None:
                raise _NoSplit
            found = cache[mask] = value
        return found

    result = {}
    for i, name in enumerate(names):
        terms = []
        for mask in range(1 << n):
            if mask >> i & 1:
                continue
            size = mask.bit_count()
            weight = factorial[size] * factorial[n - size - 1] / factorial[n]
            terms.append(weight * (f(mask | 1 << i) - f(mask)))
        result[name] = math.fsum(terms)
    return result


def kpi_named(org: m.Organization, kpi_id: str) -> m.Kpi:
    """The KPI with this id; `UsageError` (with the closest id) when there is none."""
    kpi = organisation_graph(org).kpis.get(kpi_id)
    if kpi is None:
        hint = did_you_mean(kpi_id, [k.id for k in org.kpis])
        raise UsageError(f"unknown KPI '{kpi_id}'{hint}")
    return kpi


def kpi_period(kpi: m.Kpi, text: str, calendar: m.Calendar, label: str) -> Period:
    """The KPI's own period named by `text` (`label` names the argument in messages).

    A period with the same days in the other calendar (`2026-Q4` for `FY2027-Q3` with an April
    fiscal year) is taken as the KPI's own; one of another grain is refused with an example.
    """
    try:
        given = period_named(text, calendar)
    except PeriodError as exc:
        raise UsageError(f"{label} {exc}") from None
    own = period_for(given.start, kpi.frequency, calendar)
    if own.start == given.start and own.end == given.end:
        return own
    raise UsageError(
        f"{label} {text}: '{kpi.id}' is {kpi.frequency.value}, so give one of its periods, "
        f"such as {own.label}"
    )


def explain(
    values: ValueTable,
    org: m.Organization,
    kpi_id: str,
    p0: Period,
    p1: Period,
    depth: int = 1,
    unit: str | None = None,
) -> Explanation:
    """Split the change of a KPI between its periods `p0` and `p1` (at its own unit by default).

    Raises `UsageError` for an unknown KPI or unit, periods that are not the KPI's own, a
    missing value, or a formula that has no value for some mix of the two periods' inputs.
    """
    if depth < 1:
        raise UsageError(f"--depth {depth}: give 1 or more")
    kpi = kpi_named(org, kpi_id)
    at = unit or kpi.unit
    if at not in organisation_graph(org).units:
        raise UsageError(f"unknown unit '{at}'")
    for period in (p0, p1):
        own = period_for(period.start, kpi.frequency, org.calendar)
        if own != period:
            raise UsageError(
                f"{period.label} is not a period of '{kpi.id}' ({kpi.frequency.value}); "
                f"such as {own.label}"
            )
    for period in (p0, p1):
        if values.value(kpi.id, period, at) is None:
            raise UsageError(_missing(values, kpi, period, at))
    try:
        return _explain(values, kpi, p0, p1, at, depth)
    except _NoSplit:
        raise UsageError(
            f"cannot split the change of '{kpi.id}' over its inputs: {kpi.formula} has no "
            f"value when some inputs are at {p0.label} and the others at {p1.label} "
            "(division by zero)"
        ) from None


def _missing(values: ValueTable, kpi: m.Kpi, period: Period, unit: str) -> str:
    where = "" if unit == kpi.unit else f" at unit '{unit}'"
    text = f"'{kpi.id}' has no value for {period.label}{where}"
    if kpi.formula is not None:
        absent = [
            i
            for i in references(parse_formula(kpi.formula))
            if i in values.kpis and values.value(i, period, _input_unit(values, i, unit)) is None
        ]
        if absent:
            text += f" (no value of {', '.join(repr(i) for i in absent)})"
    return text


def _input_unit(values: ValueTable, input_id: str, unit: str) -> str:
    """Where a formula at `unit` reads an input: that unit when it has values, else the input's."""
    return unit if unit in values.units_with_values(input_id) else values.kpis[input_id].unit


def _explain(
    values: ValueTable, kpi: m.Kpi, p0: Period, p1: Period, unit: str, depth: int
) -> Explanation:
    v0 = values.value(kpi.id, p0, unit)
    v1 = values.value(kpi.id, p1, unit)
    assert v0 is not None and v1 is not None
    if kpi.formula is not None:
        return _explain_formula(values, kpi, p0, p1, unit, depth, v0, v1)
    across = kpi.effective_across_units
    if across is not m.AcrossUnits.NONE:
        before = values.child_values(kpi.id, p0, unit)
        after = values.child_values(kpi.id, p1, unit)
        if before or after:
            return _explain_units(values, kpi, p0, p1, unit, depth, v0, v1, before, after)
    return Explanation(kpi.id, unit, p0, p1, v0, v1, Method.MEASURED, (), exact=False)


def _explain_formula(
    values: ValueTable,
    kpi: m.Kpi,
    p0: Period,
    p1: Period,
    unit: str,
    depth: int,
    v0: float,
    v1: float,
) -> Explanation:
    assert kpi.formula is not None
    expr = parse_formula(kpi.formula)
    names = references(expr)
    if len(names) > MAX_INPUTS:
        raise UsageError(
            f"'{kpi.id}' has {len(names)} inputs; a change can be split over at most {MAX_INPUTS}"
        )
    where = {name: _input_unit(values, name, unit) for name in names}
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for name in names:
        x0 = values.value(name, p0, where[name])
        x1 = values.value(name, p1, where[name])
        assert x0 is not None and x1 is not None  # the formula has a value in both periods
        before[name], after[name] = x0, x1
    shares = shapley(expr, before, after)
    contributions = tuple(
        Contribution(
            "kpi",
            name,
            shares[name],
            before[name],
            after[name],
            _breakdown(values, values.kpis[name], p0, p1, where[name], depth),
        )
        for name in names
    )
    return Explanation(
        kpi.id, unit, p0, p1, v0, v1, Method.FORMULA, contributions, exact=True, formula=kpi.formula
    )


def _explain_units(
    values: ValueTable,
    kpi: m.Kpi,
    p0: Period,
    p1: Period,
    unit: str,
    depth: int,
    v0: float,
    v1: float,
    before: dict[str, float],
    after: dict[str, float],
) -> Explanation:
    across = kpi.effective_across_units
    own = (
        values.own_value(kpi.id, p0, unit) is not None
        or values.own_value(kpi.id, p1, unit) is not None
    )
    summed = across is m.AcrossUnits.SUM and kpi.ratio is None
    contributions = []
    for child in sorted(before.keys() | after.keys()):
        x0, x1 = before.get(child), after.get(child)
        if summed:
            # A child without a value adds nothing to the sum in that period.
            share = (x1 or 0.0) - (x0 or 0.0)
        elif x0 is None or x1 is None:
            continue
        else:
            share = x1 - x0
        nested = None
        if x0 is not None and x1 is not None:
            nested = _breakdown(values, kpi, p0, p1, child, depth)
        contributions.append(Contribution("unit", child, share, x0, x1, nested))
    return Explanation(
        kpi.id,
        unit,
        p0,
        p1,
        v0,
        v1,
        Method.UNITS,
        tuple(contributions),
        exact=summed and not own,
        across=across,
        own_value=own,
    )


def _breakdown(
    values: ValueTable, kpi: m.Kpi, p0: Period, p1: Period, unit: str, depth: int
) -> Explanation | None:
    """The nested explanation of an input's own change, when depth allows and it has one."""
    if depth <= 1:
        return None
    if values.value(kpi.id, p0, unit) is None or values.value(kpi.id, p1, unit) is None:
        return None
    try:
        nested = _explain(values, kpi, p0, p1, unit, depth - 1)
    except _NoSplit:
        return None
    return None if nested.method is Method.MEASURED else nested
