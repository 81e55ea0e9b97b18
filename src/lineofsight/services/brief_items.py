"""What a briefing book reads besides the scorecard: commentary, actions, findings.

Commentary and actions come from their own services (services/commentary.py and
services/actions.py); the findings are those of the check report `los check` keeps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from lineofsight.domain import model as m
from lineofsight.domain.actions import Action, Comment
from lineofsight.store.database import Store


@dataclass(frozen=True, slots=True)
class BookFinding:
    """A finding of `los check` on an item of the book's units."""

    code: str
    severity: str
    subject: str  # "kpi Net Promoter Score": kind and name
    message: str


def comments_by_subject(
    store: Store, subjects: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[Comment]]:
    """The latest commentary of each subject, per period (newest first)."""
    if not subjects:
        return {}
    from lineofsight.services.commentary import comments_for

    found: dict[tuple[str, str], list[Comment]] = {}
    for c in comments_for(store, subjects=subjects, period=None):
        found.setdefault((c.subject_type, c.subject_id), []).append(c)
    for comments in found.values():
        comments.sort(key=lambda c: c.at, reverse=True)
    return found


def open_actions_by_subject(
    store: Store, subjects: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[Action]]:
    """The open actions of each subject, the earliest due first."""
    if not subjects:
        return {}
    from lineofsight.services.actions import list_actions

    found: dict[tuple[str, str], list[Action]] = {}
    for a in list_actions(store, subjects=subjects, status="open"):
        found.setdefault((a.subject_type, a.subject_id), []).append(a)
    for actions in found.values():
        actions.sort(key=lambda a: (a.due is None, a.due or dt.date.max, a.id))
    return found


def review_actions(store: Store, action_ids: Collection[int]) -> list[Action]:
    """The actions with these ids (created in a review), whatever their status now."""
    if not action_ids:
        return []
    from lineofsight.store.actions import read_actions

    with store.reading() as conn:
        return sorted(read_actions(conn, ids=sorted(set(action_ids))), key=lambda a: a.id)


def check_report(store: Store, as_of: dt.date) -> Any:
    """The report of `los check` as of the day (the one the store keeps, when it is)."""
    from lineofsight.services.check import check

    return check(file=None, store=store, as_of=as_of)


def finding_kpis(report: Any, kpi_units: dict[str, str], units: Collection[str]) -> set[str]:
    """The KPIs of these units that findings are about (their names are shown)."""
    return {
        f.subject.id
        for f in report.findings
        if f.subject.kind.value == "kpi" and kpi_units.get(f.subject.id) in units
    }


def findings_in(
    report: Any,
    org: m.Organization,
    kpi_units: dict[str, str],
    units: Collection[str],
    limit: int,
) -> tuple[list[Any], int]:
    """The findings about items of these units (at most `limit`), and how many there are."""
    where: dict[tuple[str, str], tuple[str, str]] = {}
    for u in org.units:
        where[("unit", u.id)] = (u.id, u.name)
    for p in org.people:
        where[("person", p.id)] = (p.unit, p.name)
    for o in org.objectives:
        where[("objective", o.id)] = (o.unit, o.title)
    # Every KPI's unit from the definitions (`org` may hold only the KPIs the book names).
    names = {k.id: k.name for k in org.kpis}
    found: list[BookFinding] = []
    count = 0
    for f in report.findings:
        kind = f.subject.kind.value
        if kind == "kpi":
            unit = kpi_units.get(f.subject.id)
            place = None if unit is None else (unit, names.get(f.subject.id, f.subject.id))
        else:
            place = where.get((kind, f.subject.id))
        if place is None or place[0] not in units:
            continue
        count += 1
        if len(found) < limit:
            found.append(BookFinding(f.code, f.severity.value, f"{kind} {place[1]}", f.message))
    return found, count


def _action_plain(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "subject_type": a.subject_type,
        "subject_id": a.subject_id,
        "title": a.title,
        "owner": a.owner,
        "due": a.due,
        "status": a.status,
    }


def _forecast_plain(chart: Any) -> dict[str, Any] | None:
    f = chart.forecast if chart is not None else None
    if f is None or f.projected is None:
        return None
    return {
        "projected": f.projected,
        "target": f.target,
        "target_period": f.target_period.label,
        "on_track": f.on_track,
        "probability": f.probability,
        "path": [
            {"period": p.label, "value": v, "low": lo, "high": hi}
            for p, v, lo, hi in zip(
                f.path_periods, f.path_values, f.path_low, f.path_high, strict=False
            )
        ],
    }


def book_plain(book: Any) -> dict[str, Any]:
    """The briefing book as JSON-ready data (what the API's `format=json` answers)."""

    def kpi(k: Any) -> dict[str, Any]:
        c = k.comment
        return {
            "id": k.id,
            "name": k.name,
            "unit": k.unit,
            "owner": k.owner,
            "period": k.period,
            "actual": k.actual,
            "target": k.target,
            "score": k.score,
            "status": k.status,
            "chart": [
                {"period": p.period, "actual": p.actual, "target": p.target}
                for p in (k.chart.points if k.chart is not None else ())
            ],
            "forecast": _forecast_plain(k.chart),
            "commentary": None
            if c is None
            else {
                "period": c.period,
                "analysis": c.analysis,
                "recommendation": c.recommendation,
                "author": c.author,
                "at": c.at,
            },
            "actions": [_action_plain(a) for a in k.actions],
        }

    p = book.previous
    return {
        "unit": book.unit,
        "unit_name": book.unit_name,
        "period": book.period,
        "as_of": book.as_of,
        "covers": None
        if book.covers is None
        else {"start": book.covers[0], "end": book.covers[1], "periods": book.shown_at},
        "made_at": book.made_at,
        "levels": book.levels,
        "kpi_count": book.kpi_count,
        "units": [
            {"id": u.id, "depth": u.depth, "score": u.score, "status": u.status, "counts": u.counts}
            for u in book.units
        ],
        "objectives": [
            {
                "id": o.id,
                "title": o.title,
                "score": o.score,
                "status": o.status,
                "counts": o.counts,
                "worst": o.worst,
            }
            for o in book.objectives
        ],
        "red": [kpi(k) for k in book.reds],
        "amber": [kpi(k) for k in book.ambers],
        "no_red": book.no_reds_sentence if not book.reds else None,
        "findings": [
            {"code": f.code, "severity": f.severity, "about": f.subject, "message": f.message}
            for f in book.findings
        ],
        "finding_count": book.finding_count,
        "overdue": [
            {"kpi": o.kpi, "unit": o.unit_name, "period": o.period, "due": o.due}
            for o in book.overdue
        ],
        "overdue_count": book.overdue_count,
        "previous_review": None
        if p is None
        else {
            **review_plain(p),
            "actions": [_action_plain(a) for a in book.previous_actions],
            "records": [review_plain(r) for r in book.previous_records],
        },
    }


def review_plain(r: Any) -> dict[str, Any]:
    """A review held, as JSON-ready data."""
    return {
        "id": r.id,
        "unit": r.unit,
        "period": r.period,
        "held_on": r.held_on,
        "attendees": list(r.attendees),
        "decisions": list(r.decisions),
        "action_ids": list(r.action_ids),
        "recorded_by": r.recorded_by,
        "recorded_at": r.recorded_at,
    }
