"""The attention list's items about actions (SPEC section 8): a red KPI with no open action
on it (`no_action`), an open action past its due date or with a milestone not done past
its own (`action_overdue`: a milestone that slips makes the action late before its end date),
and an open action given to a person in the app or the API in the last NEW_DAYS days, when
it was entered or passed on to them, by someone else (`action_new`: its owner is told, once
per time it is given to them, that it is theirs).

Like the other rules (`attention_rules`), each item is a dict of `AttentionItem`'s fields with
its reason written for people; the list ranks and cuts them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl

from lineofsight.domain.actions import Action, is_overdue, late_milestones
from lineofsight.services.actions import list_actions
from lineofsight.services.attention_rules import with_measure
from lineofsight.services.attention_scope import Organisation, Scope
from lineofsight.services.history import as_utc
from lineofsight.store.attention_reads import Responsibilities
from lineofsight.store.database import Store


def action_items(
    store: Store,
    day: dt.date,
    kpis: pl.DataFrame,
    resp: Responsibilities,
    org: Organisation,
    scope: Scope,
    link_period: str | None,
) -> list[dict[str, Any]]:
    """Both kinds of item for the KPIs in scope (`kpis`: the scorecard's own-unit rows with
    owner_id and owner_name, cut to the scope) and the open actions in scope."""
    actions = list_actions(store, status="open")
    # An action on a KPI links the KPI's page at the KPI's own period, as the KPI's items do
    # (the as-of month may not have ended); one on an objective, at the as-of month.
    periods = dict(kpis.select("id", "period").iter_rows()) if link_period else {}
    return [
        *no_action_items(kpis, actions),
        *overdue_action_items(actions, day, resp, org, scope, link_period, periods),
        *new_action_items(actions, day, resp, org, scope, link_period, periods),
    ]


# An action given to a person stays on their list as new for this many days after it was
# entered (its email goes once, on the first sending after it was entered).
NEW_DAYS = 7


# The alignment rules whose findings the two kinds above already say, in their own words.
ACTION_RULES = frozenset({"AC01", "AC02"})


def without_action_findings(pair: tuple[list[Any], Any]) -> tuple[list[Any], Any]:
    """The findings (and their subjects) without AC01's and AC02's: a red KPI without an
    action and an overdue action are on the list as items of their own."""
    findings, subjects = pair
    return [f for f in findings if f.code not in ACTION_RULES], subjects


def no_action_items(kpis: pl.DataFrame, actions: list[Action]) -> Iterator[dict[str, Any]]:
    """Red KPIs on which no action is open."""
    acted = sorted({a.subject_id for a in actions if a.subject_type == "kpi"})
    red = kpis.filter(
        (pl.col("status") == "red")
        & ~pl.col("id").is_in(pl.Series(acted, dtype=pl.String).implode())
    )
    names = ["id", "name", "unit", "unit_name", "owner_id", "owner_name", "actual", "target"]
    names += ["score", "period", "unit_of_measure"]
    for row in red.select(names).iter_rows(named=True):
        uom = row["unit_of_measure"]
        yield {
            "kind": "no_action",
            "reason": (
                f"red in {row['period']} ({with_measure(row['actual'], uom)} against a target "
                f"of {with_measure(row['target'], uom)}) and nobody has an open action on it"
            ),
            "item_type": "kpi",
            "item_id": row["id"],
            "name": row["name"],
            "unit": row["unit"],
            "unit_name": row["unit_name"],
            "owner": row["owner_id"],
            "owner_name": row["owner_name"],
            "status": "red",
            "value": row["actual"],
            "target": row["target"],
            "score": row["score"],
            "period": row["period"],
            "due": None,
            "link": f"/kpis/{row['id']}?period={row['period']}#actions",
            "unit_of_measure": uom,
        }


def overdue_action_items(
    actions: list[Action],
    day: dt.date,
    resp: Responsibilities,
    org: Organisation,
    scope: Scope,
    link_period: str | None,
    periods: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Open actions past their due date, or with a milestone not done past its own, on KPIs
    and objectives in scope: the action's owner's item (the subject's owner's when the action
    has none)."""
    late = [a for a in actions if is_overdue(a, day) or late_milestones(a, day)]
    for action, subject, unit, owner in _placed(late, resp, scope):
        reason, due = _late_reason(action, day, subject)
        shown = _link_period(action, link_period, periods)
        yield _action_item("action_overdue", action, reason, due, unit, owner, org, shown)


def new_action_items(
    actions: list[Action],
    day: dt.date,
    resp: Responsibilities,
    org: Organisation,
    scope: Scope,
    link_period: str | None,
    periods: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Open actions given to their owner in the app or the API (entered for them, or passed
    on to them) within NEW_DAYS days up to `day`, by another person than the owner (nobody
    needs to be told what they did themselves; the strategy file's actions were given by
    nobody: its own people wrote them), on KPIs and objectives in scope: their owner's item."""
    first = day - dt.timedelta(days=NEW_DAYS - 1)
    new = [a for a in actions if first <= (_given_day(a) or dt.date.min) <= day]
    for action, subject, unit, owner in _placed(new, resp, scope):
        giver = action.given_by_person
        if owner != action.owner or giver == owner:
            continue  # given to nobody (its subject's owner's item), or to themselves
        name = (org.people.get(giver) if giver else None) or action.given_by
        by = f" by {name}" if name else ""
        due = f", due {action.due}" if action.due else ""
        reason = f"new action on {subject}, given to them{by} on {_given_day(action)}{due}"
        shown = _link_period(action, link_period, periods)
        item = _action_item("action_new", action, reason, action.due, unit, owner, org, shown)
        yield {**item, "given_at": action.given_at}


def _given_day(action: Action) -> dt.date | None:
    """The day (UTC) its owner was given the action in the app or the API (None: never)."""
    return None if action.given_at is None else as_utc(action.given_at).date()


def _placed(
    actions: list[Action], resp: Responsibilities, scope: Scope
) -> Iterator[tuple[Action, str, str, str | None]]:
    """Each action on a KPI or objective still defined and in scope, with its subject said
    for people ("KPI 'Revenue'"), the subject's unit, and whose item it is (the action's
    owner, else the subject's owner)."""
    if not actions:
        return
    subjects: dict[tuple[str, str], tuple[str, str, str | None]] = {}
    for kind, frame in (("kpi", resp.kpis), ("objective", resp.objectives)):
        wanted = sorted({a.subject_id for a in actions if a.subject_type == kind})
        rows = frame.filter(pl.col("id").is_in(pl.Series(wanted, dtype=pl.String).implode()))
        for item_id, name, unit, owner in rows.select(
            "id", "name", "unit_id", "owner_id"
        ).iter_rows():
            subjects[(kind, item_id)] = (name, unit, owner)
    for action in actions:
        found = subjects.get(action.subject)
        if found is None:
            continue  # its KPI or objective is no longer defined
        title, unit, subject_owner = found
        owner = action.owner or subject_owner
        if not scope.holds(unit, owner):
            continue
        word = "KPI" if action.subject_type == "kpi" else "objective"
        yield action, f"{word} '{title}'", unit, owner


def _link_period(
    action: Action, link_period: str | None, periods: Mapping[str, str] | None
) -> str | None:
    """The period an action's item links its subject's page at: a KPI's own period (that of
    its row in the scorecard), else the as-of month; None when the list is of today."""
    if link_period is None or action.subject_type != "kpi":
        return link_period
    return (periods or {}).get(action.subject_id, link_period)


def _action_item(
    kind: str,
    action: Action,
    reason: str,
    due: dt.date | None,
    unit: str,
    owner: str | None,
    org: Organisation,
    link_period: str | None,
) -> dict[str, Any]:
    query = f"?period={link_period}" if link_period else ""
    return {
        "kind": kind,
        "reason": reason,
        "item_type": "action",
        "item_id": str(action.id),
        "name": action.title,
        "unit": unit,
        "unit_name": org.units.get(unit),
        "owner": owner,
        "owner_name": org.people.get(owner) if owner else None,
        "status": None,
        "value": None,
        "period": None,
        "due": due,
        "link": f"/{action.subject_type}s/{action.subject_id}{query}#actions",
        "subject": action.subject_type,
    }


def _late_reason(action: Action, day: dt.date, subject: str) -> tuple[str, dt.date]:
    """Why a late action is on the list, and the date it is late against: the earliest of
    its own due date, when that has passed, and its milestones not done past theirs."""
    late = late_milestones(action, day)
    first = late[0] if late else None
    overdue = is_overdue(action, day)
    if (
        overdue
        and action.due is not None
        and (first is None or first.due is None or action.due <= first.due)
    ):
        return (
            f"action on {subject} was due {action.due} ({_ago(day, action.due)}) and is still open"
        ), action.due
    assert first is not None and first.due is not None
    more = f" (and {len(late) - 1} more)" if len(late) > 1 else ""
    itself = f"; the action itself was due {action.due}" if overdue else ""
    return (
        f"milestone '{first.title}'{more} of the action on {subject} was due {first.due} "
        f"({_ago(day, first.due)}) and is not done{itself}"
    ), first.due


def _ago(day: dt.date, due: dt.date) -> str:
    days = (day - due).days
    return f"{days} day{'' if days == 1 else 's'} ago"
