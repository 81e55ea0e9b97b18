"""The JSON shapes of the specification (section 5) as plain data, for the command line and the
JSON API alike: `los status/explain/forecast/trace/check --format json` and `/api/v1` give the
same fields because both are written here."""

from __future__ import annotations

from typing import Any

import polars as pl

from lineofsight.checks.base import Finding
from lineofsight.domain import model as m
from lineofsight.engine.explain import Contribution, Explanation
from lineofsight.engine.forecast import Forecast
from lineofsight.engine.frames import FrameEvaluation
from lineofsight.engine.trace import Trace


def rounded(frame: pl.DataFrame) -> pl.DataFrame:
    """Numbers to 6 decimals, as every status output writes them (also inside `worst`)."""
    columns = [pl.col(c).round(6) for c, dtype in frame.schema.items() if dtype == pl.Float64]
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Struct) and any(f.dtype == pl.Float64 for f in dtype.fields):
            columns.append(
                pl.col(name).struct.with_fields(
                    [pl.field(f.name).round(6) for f in dtype.fields if f.dtype == pl.Float64]
                )
            )
    return frame.with_columns(columns)


# Worst first: a roll-up's items as a person reads them ("2 red, 1 amber, 5 green").
ITEM_ORDER = ("red", "amber", "green", "no_data", "no_target")


def items_text(counts: dict[str, int] | None) -> str:
    """The statuses of an objective's or unit's direct items, worst first, e.g.
    "2 red, 1 amber, 5 green"; empty when it has none."""
    if not counts:
        return ""
    return ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in ITEM_ORDER if counts.get(s, 0))


def status_json(ev: FrameEvaluation) -> str:
    """`{"as_of", "kpis", "objectives", "units"}`, written column-wise (fast for 100,000 KPIs)."""
    kpis = rounded(ev.kpis.drop("own_unit", strict=False))
    return (
        f'{{"as_of": "{ev.as_of.isoformat()}", "kpis": {kpis.write_json()}, '
        f'"objectives": {rounded(ev.objectives).write_json()}, '
        f'"units": {rounded(ev.units).write_json()}}}'
    )


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


def trace_plain(trace: Trace) -> dict[str, Any]:
    """`{"id", "kind", "paths": [[id, ..., "mission"]], "ends", "truncated"}`."""
    return {
        "id": trace.id,
        "kind": trace.kind.value,
        "paths": [list(p.ids) for p in trace.paths],
        "ends": [p.end.value for p in trace.paths],
        "truncated": trace.truncated,
    }


def finding_plain(f: Finding) -> dict[str, Any]:
    """`{"code", "name", "severity", "subject": {"kind", "id"}, "message", "location"}`."""
    return {
        "code": f.code,
        "name": f.name,
        "severity": f.severity.value,
        "subject": {"kind": f.subject.kind.value, "id": f.subject.id},
        "message": f.message,
        "location": {
            "file": f.location.file if f.location else None,
            "line": f.location.line if f.location and f.location.line else None,
        },
    }
