"""The JSON shapes of the specification (section 5) as plain data, for the command line and the
JSON API alike: `los status/explain/forecast/trace/check --format json` and `/api/v1` give the
same fields because both are written here."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import polars as pl

from lineofsight.checks.base import finding_plain as finding_plain
from lineofsight.domain import model as m

if TYPE_CHECKING:  # not imported at run time: `los status --format json` loads none of them
    from lineofsight.engine.explain import Contribution, Explanation
    from lineofsight.engine.forecast import Forecast, NotRequested
    from lineofsight.engine.frames import FrameEvaluation
    from lineofsight.engine.trace import Trace

# Worst first: a roll-up's items as a person reads them ("2 red, 1 amber, 5 green").
ITEM_ORDER = ("red", "amber", "green", "no_data", "no_target")


def items_text(counts: dict[str, int] | None) -> str:
    """The statuses of an objective's or unit's direct items, worst first, e.g.
    "2 red, 1 amber, 5 green"; empty when it has none."""
    if not counts:
        return ""
    return ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in ITEM_ORDER if counts.get(s, 0))


def status_json(ev: FrameEvaluation) -> str:
    """`{"as_of", "kpis", "objectives", "units"}`, written column-wise (fast for 100,000 KPIs),
    numbers at full precision (rounding is for display only)."""
    return status_document(
        ev.as_of, status_rows(ev.kpis), status_rows(ev.objectives), status_rows(ev.units)
    )


def status_rows(frame: pl.DataFrame) -> pl.Series:
    """Each row of a scorecard frame (KPIs, objectives or units) as its JSON object, so that a
    scorecard kept up to date writes again only the rows that changed."""
    text = frame.drop("own_unit", strict=False).write_ndjson()
    # One row per "\n" only: `splitlines` also breaks at U+2028, U+0085 and the like, which
    # JSON leaves unescaped inside a name.
    return pl.Series("json", text.split("\n")[:-1], dtype=pl.String)


def status_document(
    as_of: dt.date, kpis: pl.Series, objectives: pl.Series, units: pl.Series
) -> str:
    """The status JSON from the rows of `status_rows`."""
    return (
        f'{{"as_of": "{as_of.isoformat()}", "kpis": [{_joined(kpis)}], '
        f'"objectives": [{_joined(objectives)}], "units": [{_joined(units)}]}}'
    )


def _joined(rows: pl.Series) -> str:
    return "" if rows.is_empty() else str(rows.str.join(",").item())


def explanation_plain(e: Explanation) -> dict[str, Any]:
    """`{"kpi", "unit", "from": {"period", "value"}, "to", "change", "contributions", ...}`."""
    data: dict[str, Any] = {
        "kpi": e.kpi,
        "unit": e.unit,
        "from": {"period": e.from_period.label, "value": e.from_value},
        "to": {"period": e.to_period.label, "value": e.to_value},
        "change": e.change,
        "method": e.method.value,
        "exact": e.exact,
    }
    if e.formula is not None:
        data["formula"] = e.formula
    if e.across is not None:
        data["across_units"] = e.across.value
    data["contributions"] = [_contribution_plain(c) for c in e.contributions]
    data["residual"] = residual(e)
    return data


def _contribution_plain(c: Contribution) -> dict[str, Any]:
    data: dict[str, Any] = {
        c.kind: c.id,
        "contribution": c.contribution,
        "value_from": c.from_value,
        "value_to": c.to_value,
    }
    if c.breakdown is not None:
        data["breakdown"] = explanation_plain(c.breakdown)
    return data


def residual(e: Explanation) -> float:
    """The residual, with float rounding shown as the 0 it is."""
    scale = max(
        [1.0, abs(e.from_value), abs(e.to_value)] + [abs(c.contribution) for c in e.contributions]
    )
    return 0.0 if abs(e.residual) <= 1e-9 * scale else e.residual


def forecast_plain(f: Forecast, kpi: m.Kpi) -> dict[str, Any]:
    """One projection: `{"id", "unit", "projected", "target", "deadline", "on_track",
    "probability", "method", "path": [{"period", "value", "low", "high"}], ...}`."""
    data: dict[str, Any] = {
        "id": f.id,
        "unit": f.unit,
        "projected": f.projected,
        "target": f.target,
        "deadline": f.deadline.isoformat(),
        "on_track": f.on_track,
        "probability": f.probability,
        "method": f.method,
        "models": f.models,
        "points": f.points,
        "period": f.target_period.label,
        "direction": kpi.direction.value,
        "first_period": f.first_period.label if f.first_period else None,
        "last_period": f.last_period.label if f.last_period else None,
        "path": [
            {"period": period.label, "value": value, "low": low, "high": high}
            for period, value, low, high in zip(
                f.path_periods, f.path_values, f.path_low, f.path_high, strict=True
            )
        ],
    }
    if kpi.direction is m.Direction.RANGE and kpi.range is not None:
        data["range"] = {"low": kpi.range.low, "high": kpi.range.high}
    if f.clamped:
        data["clamped"] = True
    if f.reason is not None:
        data["reason"] = f.reason
    return data


def not_requested_plain(row: NotRequested, kpi: m.Kpi) -> dict[str, Any]:
    """A KPI with nothing to forecast, in `forecast_plain`'s shape: no target, no projection,
    `method` no_forecast and the `reason`."""
    data: dict[str, Any] = {
        "id": row.id,
        "unit": row.unit,
        "projected": None,
        "target": None,
        "deadline": None,
        "on_track": None,
        "probability": None,
        "method": "no_forecast",
        "models": None,
        "points": 0,
        "period": None,
        "direction": kpi.direction.value,
        "first_period": None,
        "last_period": None,
        "path": [],
    }
    if kpi.direction is m.Direction.RANGE and kpi.range is not None:
        data["range"] = {"low": kpi.range.low, "high": kpi.range.high}
    data["reason"] = row.reason
    return data


def trace_plain(trace: Trace) -> dict[str, Any]:
    """`{"id", "kind", "paths": [[id, ..., "mission"]], "ends", "truncated"}`."""
    return {
        "id": trace.id,
        "kind": trace.kind.value,
        "paths": [list(p.ids) for p in trace.paths],
        "ends": [p.end.value for p in trace.paths],
        "truncated": trace.truncated,
    }
