"""Approval of strategy edits: an organisation setting makes editors' changes wait until an
admin, or the lead of the unit the change concerns, approves or rejects them; those who may
are emailed through the notifications outbox (`edit_approval_notice`).

A waiting change keeps the edited item as the strategy file writes it. Approving it saves it
through `services.strategy_edit.save_edit` against the strategy as it is then (validated
again, one transaction with the history, the audit rows and the decision); rejecting it keeps
the reason. Every request, decision and change of the setting is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineofsight.domain import model as m
from lineofsight.errors import Problem, UsageError
from lineofsight.services import audit
from lineofsight.services.apply import Plan
from lineofsight.services.edit_approval_notice import queue_approval_notices, queue_decision_notice
from lineofsight.services.permissions import Reach, UnitTree, allows, change_tree, writer_reach
from lineofsight.services.strategy_edit import Edit, EditPreview, save_edit
from lineofsight.store import edits as stored
from lineofsight.store.database import Store, StoreConnection

if TYPE_CHECKING:
    # Accounts need the web extra (password hashing); only the annotation is used here.
    from lineofsight.services.accounts import Account


NOTHING_TO_APPROVE = "Nothing to approve: the change leaves the strategy as it already is."
KIND_WORDS = {"unit": "unit", "person": "person", "objective": "objective", "kpi": "KPI"}


@dataclass(frozen=True)
class PendingChange:
    """A strategy edit waiting for (or decided by) an approver."""

    id: int
    edit: Edit
    summary: str
    units: tuple[str | None, ...]  # None: the whole organisation
    requested_by: str
    requested_at: dt.datetime
    state: str  # pending | approved | rejected
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str | None


def require_approval(store: Store) -> bool:
    """Whether editors' changes wait for approval."""
    with store.reading() as conn:
        return stored.read_require_approval(conn)


def set_require_approval(store: Store, on: bool, *, actor: str) -> bool:
    """Turn the approval setting on or off (audited); whether it changed."""
    with store.transaction() as conn:
        before = stored.read_require_approval(conn)
        if before == on:
            return False
        stored.write_require_approval(conn, on, actor, dt.datetime.now(dt.UTC))
        audit.record(
            conn,
            actor=actor,
            action="setting.approval",
            subject="organization",
            before={"require_approval": before},
            after={"require_approval": on},
        )
    return True


def must_wait(store: Store, account: Account) -> bool:
    """Whether this account's edits wait for approval: the setting is on and the account holds
    no admin role (an admin's change is an approved change)."""
    return require_approval(store) and not any(g.role == "admin" for g in account.grants)


def summary_of(plan: Plan) -> str:
    """The plan's changes, one line each, as the preview lists them."""
    lines = []
    for r in plan.records:
        if r.action == "add":
            lines.append(f"add {r.kind} {r.item_id}")
        elif r.action == "remove":
            lines.append(f"remove {r.kind} {r.item_id}")
        else:
            lines.append(
                f"{r.kind} {r.item_id}: {r.field}: {_short(r.before)} -> {_short(r.after)}"
            )
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def request_change(store: Store, preview: EditPreview, *, actor: str) -> int:
    """Keep a previewed edit as waiting for approval (audited); its id. UsageError when it
    changes nothing: there is nothing to approve."""
    edit = preview.edit
    if preview.plan.empty:
        raise UsageError(NOTHING_TO_APPROVE)
    now = dt.datetime.now(dt.UTC)
    tree = change_tree(preview.before, preview.after)
    scopes = _reach(store, actor, preview.before, preview.after).scopes()
    with store.transaction() as conn:
        change_id = stored.insert_pending(
            conn,
            {
                "kind": edit.kind,
                "item_id": edit.item_id,
                "action": "add" if edit.new else "remove" if edit.item is None else "change",
                "item": None if edit.item is None else json.dumps(edit.item, ensure_ascii=False),
                "summary": summary_of(preview.plan),
                "units": json.dumps(scopes),
                "requested_by": actor,
                "requested_at": now,
            },
        )
        queue_approval_notices(
            conn,
            preview.before,
            change_id=change_id,
            subject_of=f"{KIND_WORDS.get(edit.kind, edit.kind)} {edit.item_id}",
            summary=summary_of(preview.plan),
            scopes=scopes,
            requested_by=actor,
            now=now,
            # Judged on the units as the change would leave them (a new unit's lead too).
            may_decide=lambda account, scopes, org: may_decide(account, scopes, org, tree),
        )
        audit.record(
            conn,
            actor=actor,
            action="definition.request",
            subject=f"{edit.kind}:{edit.item_id}",
            after={"pending_change": change_id, "summary": summary_of(preview.plan)},
            at=now,
        )
    return change_id


def _pending(row: dict[str, Any]) -> PendingChange:
    item = None if row["item"] is None else json.loads(row["item"])
    edit = Edit(row["kind"], row["item_id"], item, new=row["action"] == "add")
    return PendingChange(
        id=row["id"],
        edit=edit,
        summary=row["summary"],
        units=tuple(json.loads(row["units"])),
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        state=row["state"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        reason=row["reason"],
    )


def pending_changes(store: Store, *, state: str | None = "pending") -> list[PendingChange]:
    """The changes in `state` (None: all), oldest first."""
    with store.reading() as conn:
        return [_pending(row) for row in stored.read_pending(conn, state=state)]


def pending_change(store: Store, change_id: int) -> PendingChange | None:
    with store.reading() as conn:
        rows = stored.read_pending(conn, state=None, change_id=change_id)
    return _pending(rows[0]) if rows else None


def waiting_for(store: Store, account: Account, org: m.Organization) -> int:
    """How many strategy changes wait for this account's decision (never its own): what the
    home page and /checkin tell whoever may decide, a unit's lead or an admin without a
    person alike."""
    tree = UnitTree.of(org)
    return sum(
        1
        for change in pending_changes(store)
        if change.requested_by != account.username and may_decide(account, change.units, org, tree)
    )


def may_decide(
    account: Account,
    scopes: tuple[str | None, ...],
    org: m.Organization,
    tree: UnitTree | None = None,
) -> bool:
    """Whether the account may approve or reject a change that reaches `scopes`: an admin
    whose roles cover every one of them, or the lead of a unit that holds them all (a change
    of the whole organisation: an admin of the whole organisation only). A change that
    reaches no unit is also an admin of the whole organisation's to decide, never everyone's.
    `tree`: the units as the change is judged (default: the organisation's)."""
    tree = tree or UnitTree.of(org)
    if not scopes:
        return allows(account, "manage_users", unit_id=None, org=tree)
    if all(allows(account, "manage_users", unit_id=u, org=tree) for u in scopes):
        return True
    if account.person_id is None or None in scopes:
        return False
    led = [u.id for u in org.units if u.lead == account.person_id]
    return any(all(u is not None and tree.within(u, top) for u in scopes) for top in led)


def approve_change(store: Store, change_id: int, *, approver: Account) -> Plan:
    """Save a waiting change, credited to whoever made it, with the approval in the same
    transaction; UsageError when it is no longer waiting, the approver may not decide it or
    it changes nothing (the strategy already is as it asks: reject it to close it), SpecError
    when it is no longer valid (every problem)."""
    change = _waiting(store, change_id)
    if change.requested_by == approver.username:
        raise UsageError("a change is approved by someone other than who made it")

    saved: list[m.Organization] = []  # the organisation as the change leaves it
    started = dt.datetime.now(dt.UTC)

    def authorize(before: m.Organization, after: m.Organization) -> None:
        scopes = tuple(_reach(store, change.requested_by, before, after).scopes())
        if not may_decide(approver, scopes, before, change_tree(before, after)):
            raise UsageError(
                "only an admin of the units this change reaches, or their lead, may approve it"
            )
        saved.append(after)

    def decided(conn: StoreConnection, plan: Plan) -> None:
        stale = changed_since_request(conn, change, plan, until=started)
        if stale is not None:
            raise UsageError(stale)
        _decide(conn, change, "approved", approver.username, None, saved[-1])

    plan = save_edit(
        store,
        change.edit,
        actor=change.requested_by,
        source=f"the web app ({change.requested_by}, approved by {approver.username})",
        authorize=authorize,
        also=decided,
    )
    if plan.empty:  # nothing was written, the decision neither
        raise UsageError(
            f"change {change_id} changes nothing: the strategy already is as it asks; "
            "reject it to close it"
        )
    return plan


def changed_since_request(
    conn: StoreConnection, change: PendingChange, plan: Plan, *, until: dt.datetime | None = None
) -> str | None:
    """Why a waiting change may not be approved as it is because its item changed since it
    was asked for (None: it did not). `plan`: what approving it would write now; `until`: when
    the approval began (its own history rows are not a change since). Approving it would
    otherwise put back, unsaid, what was changed meanwhile: what it writes must be what was
    asked (the same fields, from the same values) and the item's history must hold nothing
    newer than the request."""
    from lineofsight.services.history import as_utc
    from lineofsight.store.definitions import read_history

    asked = as_utc(change.requested_at)
    later = []
    for row in read_history(conn, kind=change.edit.kind, item_id=change.edit.item_id):
        at = as_utc(row["changed_at"])
        if asked < at and (until is None or at < until):
            later.append(row)
    if not later and summary_of(plan) == change.summary:
        return None
    what = f"{KIND_WORDS.get(change.edit.kind, change.edit.kind)} {change.edit.item_id}"
    by = ""
    if later:
        by = f" by {later[-1]['actor']} on {as_utc(later[-1]['changed_at']):%Y-%m-%d %H:%M} UTC"
    return (
        f"{what} changed{by} since this change was asked for: approving it would undo that. "
        f"Reject it, and {change.requested_by} asks again on the {what} as it is now."
    )


def reject_change(store: Store, change_id: int, *, approver: Account, reason: str) -> None:
    """Turn a waiting change down, with the reason (audited)."""
    from lineofsight.services.export import stored_organization

    change = _waiting(store, change_id)
    org = stored_organization(store)
    if not may_decide(approver, change.units, org):
        raise UsageError(
            "only an admin of the units this change reaches, or their lead, may reject it"
        )
    if not reason.strip():
        raise UsageError(
            "reason: say why the change is rejected", [Problem("reason", 0, "say why")]
        )
    with store.transaction() as conn:
        _decide(conn, change, "rejected", approver.username, reason.strip(), org)


def _reach(store: Store, writer: str, before: m.Organization, after: m.Organization) -> Reach:
    """The units a change reaches as the writer's permission check judges it (a new order
    their own items explain is theirs): whose admins or lead decide it."""
    from lineofsight.services.accounts import find_user

    return writer_reach(find_user(store, writer), before, after)


def _waiting(store: Store, change_id: int) -> PendingChange:
    change = pending_change(store, change_id)
    if change is None:
        raise UsageError(f"no pending change {change_id}")
    if change.state != "pending":
        raise UsageError(f"change {change_id} was {change.state} by {change.decided_by} already")
    return change


def _decide(
    conn: StoreConnection,
    change: PendingChange,
    state: str,
    actor: str,
    reason: str | None,
    org: m.Organization,
) -> None:
    """Record the decision (audited), and queue the email that tells whoever asked for the
    change (`org`: the people as the decision leaves them)."""
    now = dt.datetime.now(dt.UTC)
    if not stored.decide_pending(conn, change.id, state=state, actor=actor, at=now, reason=reason):
        raise UsageError(f"change {change.id} was decided by someone else meanwhile")
    queue_decision_notice(
        conn,
        org,
        change_id=change.id,
        subject_of=f"{KIND_WORDS.get(change.edit.kind, change.edit.kind)} {change.edit.item_id}",
        state=state,
        decided_by=actor,
        reason=reason,
        requested_by=change.requested_by,
        now=now,
    )
    audit.record(
        conn,
        actor=actor,
        action="definition." + {"approved": "approve", "rejected": "reject"}[state],
        subject=f"{change.edit.kind}:{change.edit.item_id}",
        after={"pending_change": change.id, "requested_by": change.requested_by, "reason": reason},
        at=now,
    )
