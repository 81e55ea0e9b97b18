"""The rules of the attention list (SPEC section 8, "Attention"): which KPIs, objectives and
findings need someone now, and the sentence that says why.

Each rule works on the whole scorecard's frames at once (a column expression over 100,000 rows
costs milliseconds), after the rows are cut to the scope asked for; each row kept becomes one
candidate (a dict of `AttentionItem`'s fields) with its reason written for people.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import polars as pl

from lineofsight import display
from lineofsight.checks.base import Finding
from lineofsight.display import score
from lineofsight.display import with_measure as _with_measure
from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError, next_period
from lineofsight.engine.calendar import period_named

# An objective's deadline is near within this many days (or past, the objective still open).
DEADLINE_DAYS = 30

_WORDS = {
    "green": "green",
    "amber": "amber",
    "red": "red",
    "no_data": "without a value",
    "no_target": "without a target",
}


# A list of every person's items writes a few values over and over (one target for many
# KPIs, the same actuals in many periods): each is written once. Equal numbers are written
# alike (1 and 1.0, 0.0 and -0.0), so equal keys share their text.
with_measure = functools.lru_cache(maxsize=1 << 16)(_with_measure)


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def _chance(probability: float) -> str:
    """The chance of meeting the target as every table, page and book writes it
    (`display.chance`: a whole percent, `<1%` and `>99%` at the ends)."""
    return f"a {display.chance(probability)} chance of meeting it"


# The columns of the scorecard's KPI rows an item reads (fewer columns, cheaper rows).
KPI_COLUMNS = (
    "id",
    "name",
    "unit",
    "unit_name",
    "owner_id",
    "owner_name",
    "status",
    "actual",
    "target",
    "score",
    "period",
    "unit_of_measure",
)


def _named(frame: pl.DataFrame, *more: str) -> Iterator[dict[str, Any]]:
    """The rows of `frame` as dicts of KPI_COLUMNS and `more` (and any column a join added)."""
    extra = [c for c in frame.columns if c not in KPI_COLUMNS and c not in more]
    wanted = [*KPI_COLUMNS, *more, *(c for c in extra if c in _JOINED)]
    names = [c for c in wanted if c in frame.columns]
    for values in frame.select(names).iter_rows():
        yield dict(zip(names, values, strict=True))


# Columns the rules join onto the KPI rows (the previous period's status, the forecast).
_JOINED = (
    "previous",
    "previous_status",
    "projected",
    "final_target",
    "target_period",
    "deadline",
    "probability",
)


def _kpi_link(kpi_id: str, period: str | None, unit: str | None = None) -> str:
    """The KPI's page at the period (and at `unit` when it is not the KPI's own)."""
    query = urlencode({k: v for k, v in (("unit", unit), ("period", period)) if v})
    return f"/kpis/{kpi_id}" + (f"?{query}" if query else "")


def _against(row: Mapping[str, Any]) -> str:
    uom = row["unit_of_measure"]
    return (
        f"{with_measure(row['actual'], uom)} against a target of {with_measure(row['target'], uom)}"
    )


def status_items(
    rows: pl.DataFrame, previous: pl.DataFrame, calendar: m.Calendar
) -> Iterator[dict[str, Any]]:
    """KPIs red or amber in their evaluation period (`rows`: the scorecard's own-unit rows
    with owner_id and owner_name), compared with the period before (`previous`).

    Red: `turned_red` unless it was red the period before too (`still_red`). Amber:
    `turned_amber` when it was green or had no value the period before (an amber that was red
    is getting better, and one that stays amber is not news)."""
    found = rows.filter(pl.col("status").is_in(["red", "amber"])).join(
        previous, on="id", how="left"
    )
    for row in _named(found):
        status, before = row["status"], row["previous_status"]
        was = _WORDS.get(before or "", before or "not scored")
        where = f" in {row['previous']}" if row["previous"] else ""
        if status == "red":
            kind = "still_red" if before == "red" else "turned_red"
            if kind == "still_red":
                reason = f"still red in {row['period']} (red{where} too): {_against(row)}"
            else:
                reason = f"turned red in {row['period']}: {_against(row)} (was {was}{where})"
        else:
            if before in ("red", "amber"):
                continue
            kind = "turned_amber"
            reason = f"turned amber in {row['period']}: {_against(row)} (was {was}{where})"
        yield _kpi_item(row, kind, reason, due=None)


def _kpi_item(
    row: Mapping[str, Any], kind: str, reason: str, due: dt.date | None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "reason": reason,
        "item_type": "kpi",
        "item_id": row["id"],
        "name": row["name"],
        "unit": row["unit"],
        "unit_name": row["unit_name"],
        "owner": row["owner_id"],
        "owner_name": row["owner_name"],
        "status": row["status"],
        "value": row["actual"],
        "target": row["target"],
        "score": row["score"],
        "period": row["period"],
        "due": due,
        "link": _kpi_link(row["id"], row["period"]),
        "unit_of_measure": row["unit_of_measure"],
    }


# Up to how many missing values an overdue item names one by one (more: "N values since P").
NAMED_MISSING = 4


def missing_reason(periods: list[str], dues: list[dt.date], as_of: dt.date) -> str:
    """Why an overdue item is on the list: the values due and not in (`periods`, oldest
    first, each due on the date of `dues` beside it), named one by one up to NAMED_MISSING."""
    late = (as_of - dues[0]).days
    when = "today" if late == 0 else f"{_days(late)} ago"
    if len(periods) == 1:
        return f"the value for {periods[0]} was due on {dues[0]} ({when}) and is not in"
    if len(periods) <= NAMED_MISSING:
        named = ", ".join(periods[:-1]) + f" and {periods[-1]}"
        return f"the values for {named} were due since {dues[0]} ({when}) and are not in"
    return (
        f"{len(periods)} values since {periods[0]} are missing: due since {dues[0]} ({when}),"
        f" the latest for {periods[-1]}"
    )


def overdue_items(
    rows: pl.DataFrame,
    as_of: dt.date,
    failures: Mapping[str, str] | None = None,
    missing: pl.DataFrame | None = None,
) -> Iterator[dict[str, Any]]:
    """KPI values that were due and are not in, at the KPI's own unit and at every other unit
    it has rows at (`rows`: the scorecard's rows with `own_unit`): the value of the row's
    evaluation period when it is overdue there (SPEC section 3), and every earlier period
    without a value that `engine.gaps` finds (`missing`: its MISSING_SCHEMA), one item per
    row naming them all, until each is in. `failures`: why a KPI's source gave no value (its
    last refresh failed), by KPI id: said instead of leaving its owner to think a value was
    forgotten."""
    evaluated = rows.filter(pl.col("data") == "overdue").select(
        "id", "unit", missing_period="period", missing_end="period_end", missing_due="due"
    )
    late = evaluated if missing is None else pl.concat([missing, evaluated], how="diagonal")
    grouped = (
        late.unique(["id", "unit", "missing_period"])
        .sort("missing_end")
        .group_by("id", "unit", maintain_order=True)
        .agg("missing_period", "missing_due")
    )
    found = rows.join(grouped, on=["id", "unit"])
    for row in _named(found, "own_unit", "missing_period", "missing_due"):
        periods, dues = row["missing_period"], row["missing_due"]
        reason = missing_reason(periods, dues, as_of)
        failed = (failures or {}).get(row["id"])
        if failed:
            reason += f": {failed}"
        item = _kpi_item(row, "overdue", reason, due=dues[0])
        item.update(
            period=periods[-1], status="no_data", value=None, score=None, missing=tuple(periods)
        )
        item["link"] = _kpi_link(row["id"], periods[-1], None if row["own_unit"] else row["unit"])
        yield item


def without_overdue_findings(
    pair: tuple[list[Finding], Any], overdue: Collection[str]
) -> tuple[list[Finding], Any]:
    """The findings (and their subjects) without DA01's on a KPI of `overdue` (the KPIs with
    an overdue item at their own unit): its own item already says so, with the periods and
    the due dates."""
    findings, subjects = pair
    kept = [f for f in findings if not (f.code == "DA01" and f.subject.id in overdue)]
    return kept, subjects


def due_soon_items(
    rows: pl.DataFrame, as_of: dt.date, window: int, calendar: m.Calendar
) -> Iterator[dict[str, Any]]:
    """KPIs entered by hand (not formulas, nor fed by a data source: its refresh brings the
    value, and a failed one is said on the overdue item) whose next period's value falls due
    within `window` days: the period after the one evaluated (which has no value yet: the scorecard
    evaluates the newest period with one) is due `due_days` after it ends."""
    following = []
    for label in rows["period"].unique().drop_nulls().to_list():
        try:
            after = next_period(period_named(label, calendar), calendar)
        except PeriodError:
            continue
        following.append((label, after.label, after.end))
    spans = pl.DataFrame(
        following,
        schema={"period": pl.String, "next": pl.String, "next_end": pl.Date},
        orient="row",
    )
    due = pl.col("next_end") + pl.duration(days=pl.col("due_days"))
    found = (
        rows.filter(~pl.col("formula").fill_null(False) & ~pl.col("sourced").fill_null(False))
        .join(spans, on="period")
        .with_columns(due.alias("due"))
        .filter((pl.col("due") > as_of) & (pl.col("due") <= as_of + dt.timedelta(days=window)))
    )
    for row in _named(found, "next", "due"):
        left = (row["due"] - as_of).days
        reason = f"the value for {row['next']} is due on {row['due']} (in {_days(left)})"
        item = _kpi_item(row, "due_soon", reason, due=row["due"])
        item["period"] = row["next"]
        item["link"] = f"/kpis/{row['id']}/checkin?period={row['next']}"
        yield item


def off_track_candidates(rows: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """The KPIs whose off-track call puts them on a list (all but the red: the red item says
    more, and sooner), each as the row its item reads, by id: read before the calls are in."""
    return {row["id"]: row for row in _named(rows.filter(pl.col("status") != "red"))}


def off_track_items(
    rows: pl.DataFrame,
    calls: pl.DataFrame,
    candidates: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """KPIs the forecast calls off track for their final target (`calls`: the forecast's
    SCHEMA), unless already red (the red item says more, and sooner). `candidates`: the
    rows' `off_track_candidates`, when the caller made them already."""
    known = off_track_candidates(rows) if candidates is None else candidates
    for call in calls.iter_rows(named=True):
        found = known.get(call["id"])
        if found is not None:
            yield off_track_item(found, call)


def off_track_item(row: Mapping[str, Any], call: Mapping[str, Any]) -> dict[str, Any]:
    """The off-track item of a KPI (`row`: its `off_track_candidates` row) from its call (a
    row of the forecast's SCHEMA)."""
    item = off_track_fields(row)
    item["due"] = call["deadline"]
    item["reason"] = off_track_reason(
        row["unit_of_measure"],
        call["projected"],
        call["target_period"],
        call["final_target"],
        call["probability"],
    )
    return item


def off_track_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The off-track item of a KPI (`row`: its `off_track_candidates` row) but its reason
    and due date (the call's): what can be made before the call is in."""
    return _kpi_item(row, "off_track", "", due=None)


def off_track_reason(
    uom: str | None,
    projected: float | None,
    target_period: str | None,
    final_target: float | None,
    probability: float | None,
) -> str:
    """Why a KPI is on the list by its off-track call (the forecast's value in the target's
    period, the final target and the chance of meeting it)."""
    chance = "" if probability is None else f", {_chance(probability)}"
    return (
        f"off track: forecast at {with_measure(projected, uom)} for {target_period} against a "
        f"target of {with_measure(final_target, uom)}{chance}"
    )


def deadline_items(
    objectives: pl.DataFrame, as_of: dt.date, link_period: str | None
) -> Iterator[dict[str, Any]]:
    """Open objectives whose deadline is within DEADLINE_DAYS (or past) and which are not
    green (`objectives`: the scorecard's rows with deadline, active, owner_id, owner_name)."""
    near = as_of + dt.timedelta(days=DEADLINE_DAYS)
    found = objectives.filter(
        pl.col("active")
        & pl.col("deadline").is_not_null()
        & (pl.col("deadline") <= near)
        & (pl.col("status").cast(pl.String).fill_null("no_data") != "green")
    )
    for row in found.iter_rows(named=True):
        status = str(row["status"] or "no_data")
        left = (row["deadline"] - as_of).days
        if left > 0:
            when = f"is due on {row['deadline']} (in {_days(left)})"
        elif left == 0:
            when = f"is due today ({row['deadline']})"
        else:
            when = f"was due on {row['deadline']} ({_days(-left)} ago) and is still open"
        standing = (
            f"its score is {score(row['score'])} ({status})"
            if row["score"] is not None
            else "it has no score yet"
        )
        yield {
            "kind": "deadline_near",
            "reason": f"{when}; {standing}",
            "item_type": "objective",
            "item_id": row["id"],
            "name": row["name"],
            "unit": row["unit"],
            "unit_name": row["unit_name"],
            "owner": row["owner_id"],
            "owner_name": row["owner_name"],
            "status": status,
            "value": row["score"],
            "target": None,
            "score": row["score"],
            "period": link_period,
            "due": row["deadline"],
            "link": objective_link(row["id"], link_period),
        }


def objective_link(objective_id: str, period: str | None) -> str:
    return f"/objectives/{objective_id}" + (f"?period={period}" if period else "")


def finding_items(
    findings: list[Finding],
    subjects: Mapping[tuple[str, str], Mapping[str, Any]],
    link_period: str | None,
) -> Iterator[dict[str, Any]]:
    """The findings of `los check` on a KPI, objective, unit or person (`subjects`: each
    one's name, unit, unit name, owner, owner name, and status and period for KPIs)."""
    for f in findings:
        kind, item_id = f.subject.kind.value, f.subject.id
        about = subjects.get((kind, item_id))
        if about is None:
            continue  # the subject is not in the scope looked at
        if kind == "kpi":
            link = _kpi_link(item_id, about.get("period"))
        elif kind == "objective":
            link = objective_link(item_id, link_period)
        else:
            link = f"/{'units' if kind == 'unit' else 'people'}/{item_id}" + (
                f"?period={link_period}" if link_period else ""
            )
        yield {
            "kind": "finding",
            "reason": f"{f.code} {f.name} ({f.severity.value}): {f.message}",
            "item_type": "finding",
            "item_id": item_id,
            "name": about["name"],
            "unit": about["unit"],
            "unit_name": about["unit_name"],
            "owner": about["owner"],
            "owner_name": about["owner_name"],
            "status": about.get("status"),
            "value": None,
            "target": None,
            "score": None,
            "period": about.get("period"),
            "due": None,
            "link": link,
            "code": f.code,
            "severity": f.severity.value,
            "subject": kind,
        }
