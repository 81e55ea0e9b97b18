"""The reference scorecard: a slow, object-by-object evaluation of SPEC section 3, kept only
to check the package's one engine (`engine.frames`) against it (the differential tests).

Each KPI is evaluated at its own period chosen with reporting lag (the latest that has a value
or is due; in a period report: the latest ending by the as-of date), at its own unit and at
every other unit that has a value of its own for it in one of the periods up to the first due
one (in a period report: that period) or a unit target, each such row at its own period chosen
by the same rule; at a unit without a unit target, a row has no target (`no_target`). The
maths is written out plainly here, scalar by scalar, independently of the frame engine's
column expressions.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import Period, PeriodError, previous_period
from lineofsight.engine.calendar import period_named
from lineofsight.engine.lag import AWAITING, OVERDUE, REPORTED, first_due, period_slots
from lineofsight.engine.scoring import Status
from lineofsight.engine.values import ValueTable, finite
from lineofsight.services.evaluate import load_organization, read_measurement_frame, resolve_as_of
from lineofsight.store.database import Store
from tests.engine.oracle_results import (
    Counts,
    Evaluation,
    KpiResult,
    ObjectiveResult,
    UnitResult,
    Worst,
)


def miss_of(direction: m.Direction, actual: float, target: float, band: m.Range | None) -> float:
    """How far `actual` falls short of `target` (or of the range), never negative."""
    if direction is m.Direction.INCREASE:
        return max(0.0, target - actual)
    if direction is m.Direction.DECREASE:
        return max(0.0, actual - target)
    assert band is not None
    return max(0.0, band.low - actual, actual - band.high)


def target_for_period(
    period: Period,
    final: m.FinalTarget | None,
    baseline: m.PeriodValue | None,
    overrides: tuple[tuple[str, float], ...],
    calendar: m.Calendar,
) -> float | None:
    """An explicit target, else the glide path from the baseline, else the final target."""
    for name, value in overrides:
        other = period_named(name, calendar)
        if other.start == period.start and other.end == period.end:
            return value
    if final is None:
        return None
    if baseline is None:
        return final.value
    e, b, deadline = period.end, period_named(baseline.period, calendar).end, final.by
    if e >= deadline:
        return final.value
    if e <= b:
        return baseline.value
    return baseline.value + (final.value - baseline.value) * (e - b).days / (deadline - b).days


def kpi_target(
    kpi: m.Kpi, period: Period, calendar: m.Calendar, unit: str | None = None
) -> float | None:
    """A KPI's target for a period at its own unit, or at `unit` when that unit has one."""
    if unit is not None and unit != kpi.unit:
        for unit_id, ut in kpi.unit_targets:
            if unit_id == unit:
                final = m.FinalTarget(ut.value, ut.by)
                return target_for_period(period, final, ut.baseline, ut.targets, calendar)
        return None
    return target_for_period(period, kpi.target, kpi.baseline, kpi.targets, calendar)


def tolerance_of(kpi: m.Kpi, target: float) -> float:
    """The amber band's width for this target."""
    if kpi.tolerance_abs is not None:
        return kpi.tolerance_abs
    relative = kpi.tolerance if kpi.tolerance is not None else m.DEFAULT_TOLERANCE
    return relative * abs(target)


def score_of(miss: float, tol: float) -> float:
    """0..100, capped at 100."""
    if tol == 0:
        return 100.0 if miss == 0 else 0.0
    return min(100.0, max(0.0, 100.0 - 50.0 * (miss / tol)))


def status_of(miss: float, tol: float) -> Status:
    if miss == 0:
        return Status.GREEN
    if miss <= tol:
        return Status.AMBER
    return Status.RED


def band_status(score: float | None, scoring: m.Scoring) -> Status:
    """An objective's or unit's status from its score."""
    if score is None:
        return Status.NO_DATA
    if score >= scoring.green_at:
        return Status.GREEN
    if score >= scoring.amber_at:
        return Status.AMBER
    return Status.RED


def achievement_of(direction: m.Direction, actual: float, target: float) -> float | None:
    """A / T (or T / A for decrease)."""
    if direction is m.Direction.DECREASE:
        return target / actual if actual else None
    return actual / target if target else None


def choose_slot(has_value: list[bool], due_index: int) -> int:
    """The first slot with a value up to the first due one, else the first due one."""
    for index in range(due_index + 1):
        if has_value[index]:
            return index
    return due_index


def data_state(reported: bool, due: dt.date, as_of: dt.date) -> str:
    if reported:
        return REPORTED
    return OVERDUE if due <= as_of else AWAITING


def last_known(
    value_of: Callable[[Period], float | None],
    chosen: Period,
    earliest: dt.date | None,
    calendar: m.Calendar,
) -> tuple[float | None, Period | None]:
    """The latest value before the chosen period, however old, and its period: each period
    before it in turn, down to the one holding the earliest measurement (`earliest`)."""
    period = chosen
    while earliest is not None and period.start > earliest:
        try:
            period = previous_period(period, calendar)
        except PeriodError:  # before the first supported date
            break
        value = value_of(period)
        if value is not None:
            return value, period
    return None, None


def score_kpi(
    kpi: m.Kpi,
    period: Period,
    unit: str,
    actual: float | None,
    target: float | None,
) -> KpiResult:
    """One KPI row: miss, score and status from an actual and a target."""
    own = unit == kpi.unit
    if kpi.direction is m.Direction.RANGE and kpi.range is not None:
        target = (kpi.range.low + kpi.range.high) / 2
    # Nothing infinite or NaN goes into a score (SPEC: never NaN or infinite).
    actual, target = finite(actual), finite(target)
    if actual is None:
        return KpiResult(
            kpi.id, unit, period, None, target, None, None, Status.NO_DATA, own_unit=own
        )
    if target is None:
        return KpiResult(
            kpi.id, unit, period, actual, None, None, None, Status.NO_TARGET, own_unit=own
        )
    # Finite numbers far apart can differ by more than the largest float: hold the miss there.
    miss = min(miss_of(kpi.direction, actual, target, kpi.range), sys.float_info.max)
    tol = tolerance_of(kpi, target)
    eps = 1e-9 * max(1.0, abs(target))  # ties and rounding
    if miss <= eps:
        miss = 0.0
    elif abs(miss - tol) <= eps:
        miss = tol
    return KpiResult(
        kpi.id,
        unit,
        period,
        actual,
        target,
        miss,
        score_of(miss, tol),
        status_of(miss, tol),
        finite(achievement_of(kpi.direction, actual, target)),
        tol,
        own,
    )


def _max_due(org: m.Organization) -> dict[m.Frequency, int]:
    """The longest `due_days` of the KPIs of each frequency: their slots cover every KPI's."""
    longest: dict[m.Frequency, int] = {}
    for kpi in org.kpis:
        days = kpi.due_days_in(org.calendar)
        longest[kpi.frequency] = max(days, longest.get(kpi.frequency, 0))
    return longest


def evaluate_organization(
    org: m.Organization, measurements: pl.DataFrame, as_of: dt.date, lag: bool = True
) -> Evaluation:
    """Score every KPI, objective and unit as of a date: with reporting lag (`--as-of`), or
    as a period report (`lag=False`, `--period`)."""
    calendar = org.calendar
    longest = _max_due(org)
    # Every measurement: a row's last known value may be older than any period it is
    # evaluated at.
    values = ValueTable(org, measurements)
    earliest = measurements["period_end"].min() if not measurements.is_empty() else None
    assert earliest is None or isinstance(earliest, dt.date)
    rows: list[KpiResult] = []
    for kpi in org.kpis:
        due_days = kpi.due_days_in(calendar)
        slots = period_slots(
            kpi.frequency, as_of, calendar, longest[kpi.frequency] if lag else None
        )
        due_index = first_due(slots, as_of, due_days if lag else None)
        own = [values.value(kpi.id, p) for p in slots]
        chosen = choose_slot([v is not None for v in own], due_index)
        period = slots[chosen]
        due = period.end + dt.timedelta(days=due_days)

        own_target = kpi_target(kpi, period, calendar)
        rows.append(
            _lagged(kpi, slots, chosen, due, as_of, kpi.unit, own_target, own, values, earliest)
        )
        unit_targets = {unit_id for unit_id, _ in kpi.unit_targets}
        measured = set()
        if kpi.formula is None:
            for p in slots[: due_index + 1]:
                measured |= values.units_measured(kpi.id, p)
        others = (measured | unit_targets) - {kpi.unit}
        for unit in sorted(others):
            # Each row at its own latest slot with a value, else the due one, as the KPI's.
            history = [values.value(kpi.id, p, unit) for p in slots]
            at = choose_slot([v is not None for v in history], due_index)
            at_period = slots[at]
            target = (
                kpi_target(kpi, at_period, calendar, unit=unit) if unit in unit_targets else None
            )
            at_due = at_period.end + dt.timedelta(days=due_days)
            rows.append(
                _lagged(kpi, slots, at, at_due, as_of, unit, target, history, values, earliest)
            )
    own_rows = {r.id: r for r in rows if r.own_unit}
    objectives = _objectives(org, own_rows)
    units = _units(org, rows)
    return Evaluation(as_of, rows, objectives, units, values)


def _lagged(
    kpi: m.Kpi,
    slots: tuple[Period, ...],
    chosen: int,
    due: dt.date,
    as_of: dt.date,
    unit: str,
    target: float | None,
    history: list[float | None],
    values: ValueTable,
    earliest: dt.date | None,
) -> KpiResult:
    """One KPI row at its chosen slot, with its due date, data state and last known value."""
    period = slots[chosen]
    result = score_kpi(kpi, period, unit, history[chosen], target)
    last_value, last_period = last_known(
        lambda p: values.value(kpi.id, p, unit), period, earliest, values.calendar
    )
    return replace(
        result,
        due=due,
        data=data_state(result.actual is not None, due, as_of),
        last_value=last_value,
        last_period=last_period,
    )


def tally(items: list[tuple[str, str, str, float | None]]) -> tuple[Counts, Worst | None]:
    """Counts of (kind, id, status, score) items by status, and the lowest-scoring one (ties:
    KPIs before objectives, then by id)."""
    counts = Counter(status for _, _, status, _ in items)
    scored = [
        (score, kind, item_id, status)
        for kind, item_id, status, score in items
        if score is not None
    ]
    worst = None
    if scored:
        score, kind, item_id, status = min(scored)
        worst = Worst(item_id, kind, status, score)
    return Counts(**{s.value: counts.get(s.value, 0) for s in Status}), worst


def _objectives(org: m.Organization, kpi_rows: dict[str, KpiResult]) -> list[ObjectiveResult]:
    items: dict[str, list[tuple[str, str, float]]] = {o.id: [] for o in org.objectives}
    for kpi in org.kpis:
        for support in kpi.supports:
            if support.objective in items:
                items[support.objective].append(("kpi", kpi.id, support.weight))
    for objective in org.objectives:
        # A closed objective keeps its own score but is no item of its parent's.
        if objective.parent in items and objective.status is not m.ObjectiveStatus.CLOSED:
            items[objective.parent].append(("objective", objective.id, objective.weight))
    done: dict[str, tuple[float | None, float]] = {}

    def score(objective_id: str, visiting: frozenset[str]) -> float | None:
        if objective_id in done:
            return done[objective_id][0]
        if objective_id in visiting:
            return None  # a cycle of parents (AL04) scores nothing
        total = scored = weighted = 0.0
        for kind, item_id, weight in items[objective_id]:
            total += weight
            value = (
                kpi_rows[item_id].score
                if kind == "kpi"
                else score(item_id, visiting | {objective_id})
            )
            if value is not None:
                scored += weight
                weighted += weight * value
        result = weighted / scored if scored > 0 else None
        done[objective_id] = (result, scored / total if total > 0 else 0.0)
        return result

    scores = {o.id: score(o.id, frozenset()) for o in org.objectives}
    results = []
    for objective in org.objectives:
        value = scores[objective.id]
        coverage = done[objective.id][1]
        direct = [
            (
                kind,
                item_id,
                _status_of(kind, item_id, kpi_rows, scores, org.scoring),
                _score_of(kind, item_id, kpi_rows, scores),
            )
            for kind, item_id, _ in items[objective.id]
        ]
        counts, worst = tally(direct)
        results.append(
            ObjectiveResult(
                objective.id, value, band_status(value, org.scoring), coverage, counts, worst
            )
        )
    return results


def _score_of(
    kind: str, item_id: str, kpi_rows: dict[str, KpiResult], scores: dict[str, float | None]
) -> float | None:
    return kpi_rows[item_id].score if kind == "kpi" else scores[item_id]


def _status_of(
    kind: str,
    item_id: str,
    kpi_rows: dict[str, KpiResult],
    scores: dict[str, float | None],
    scoring: m.Scoring,
) -> str:
    if kind == "kpi":
        return kpi_rows[item_id].status.value
    return band_status(scores[item_id], scoring).value


def _units(org: m.Organization, rows: list[KpiResult]) -> list[UnitResult]:
    by_unit: dict[str, list[KpiResult]] = {u.id: [] for u in org.units}
    for row in rows:
        if row.own_unit and row.unit in by_unit:
            by_unit[row.unit].append(row)
    results = []
    for unit in org.units:
        scores = [r.score for r in by_unit[unit.id] if r.score is not None]
        value = sum(scores) / len(scores) if scores else None
        counts, worst = tally([("kpi", r.id, r.status.value, r.score) for r in by_unit[unit.id]])
        results.append(
            UnitResult(
                unit.id,
                value,
                band_status(value, org.scoring),
                len(by_unit[unit.id]),
                len(scores),
                counts,
                worst,
            )
        )
    return results


def evaluate_store(
    store: Store, period: str | None = None, as_of: str | None = None
) -> tuple[m.Organization, Evaluation]:
    """The store's organisation evaluated by the reference (`los status`'s arguments)."""
    org = load_organization(store)
    day = resolve_as_of(org, period, as_of)
    lag = not period
    return org, evaluate_organization(org, read_measurement_frame(store), day, lag)
