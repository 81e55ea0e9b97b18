"""One item of the stored strategy changed through the strategy file's validation and the
apply, and the approval of such changes; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineofsight.domain import model as m
from lineofsight.errors import SpecError, UsageError
from lineofsight.services import edit_approval
from lineofsight.services.accounts import Account, Grant
from lineofsight.services.apply import apply_file
from lineofsight.services.export import export_strategy, stored_organization
from lineofsight.services.history import definition_history
from lineofsight.services.strategy_edit import (
    Edit,
    item_plain,
    preview_edit,
    problem_field,
    problem_path,
    problem_text,
    save_edit,
)
from lineofsight.store.database import Store

STRATEGY = """\
version: 1
organization:
  name: Acme
  units:
    - {id: acme, name: Acme, level: company, lead: ceo}
    - {id: sales, name: Sales, level: department, parent: acme, lead: sam}
    - {id: ops, name: Operations, level: department, parent: acme, lead: olga}
  people:
    - {id: ceo, name: Casey CEO, unit: acme}
    - {id: sam, name: Sam Sales, unit: sales}
    - {id: olga, name: Olga Ops, unit: ops}
objectives:
  - {id: grow, title: Grow revenue, level: strategic, unit: acme, owner: ceo,
     deadline: 2027-12-31}
  - {id: sell, title: Sell more, level: tactical, unit: sales, owner: sam, parent: grow,
     deadline: 2027-12-31}
kpis:
  - {id: revenue, name: Revenue, unit: sales, owner: sam, frequency: monthly,
     direction: increase, supports: [{objective: sell}], target: {value: 100, by: 2027-12-31}}
  - {id: defects, name: Defects, unit: ops, owner: olga, frequency: monthly,
     direction: decrease, supports: [{objective: grow}]}
"""
AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    (tmp_path / "strategy.yaml").write_text(STRATEGY, encoding="utf-8")
    opened = Store(db_url)
    apply_file(opened, tmp_path / "strategy.yaml")
    yield opened
    opened.close()


def _changed(store: Store, kpi_id: str, **fields: object) -> Edit:
    item = item_plain(stored_organization(store), "kpi", kpi_id)
    assert item is not None
    return Edit("kpi", kpi_id, {**item, **fields})


def test_an_edit_changes_only_its_item_and_keeps_the_others_lines(store: Store) -> None:
    before = stored_organization(store)
    preview = preview_edit(store, _changed(store, "revenue", owner="ceo"), actor="ed", as_of=AS_OF)
    assert [(r.item_id, r.field, r.after) for r in preview.plan.records] == [
        ("revenue", "owner", "ceo")
    ]
    kept = {k.id: k.location for k in preview.after.kpis}
    assert kept["defects"] == next(k.location for k in before.kpis if k.id == "defects")
    assert kept["defects"] is not None and kept["revenue"] is None
    assert preview.reach.scopes() == ["acme", "sales"], "the old and the new owner's units"


def test_findings_that_appear_and_go(store: Store) -> None:
    preview = preview_edit(store, _changed(store, "defects", supports=[]), actor="ed", as_of=AS_OF)
    assert [(f.code, f.subject.id) for f in preview.appeared] == [("AL01", "defects")]
    assert preview.gone == []
    fixed = preview_edit(store, _changed(store, "revenue", target=None), actor="ed", as_of=AS_OF)
    assert any(f.subject.id == "revenue" for f in fixed.appeared), "a KPI without a target"


def test_every_problem_at_once_each_naming_its_field(store: Store) -> None:
    # A wrong required field and an unknown owner and objective: all said in one pass (the
    # item's ids are checked from what the form gave, the owner as `los check` would).
    edit = _changed(
        store, "revenue", frequency="sometimes", supports=[{"objective": "nope"}], owner="nobody"
    )
    with pytest.raises(SpecError) as caught:
        preview_edit(store, edit, actor="ed", as_of=AS_OF)
    fields = {problem_field(p, edit) for p in caught.value.problems}
    assert fields == {"frequency", "supports", "owner"}
    said = {str(p) for p in caught.value.problems}
    assert any("supports: unknown objective 'nope'" in p for p in said), said
    assert any("owner: 'nobody' is not in people" in p for p in said), said
    edit = _changed(store, "revenue", supports=[{"objective": "nope"}], owner="nobody")
    with pytest.raises(SpecError) as caught:
        preview_edit(store, edit, actor="ed", as_of=AS_OF)
    assert {problem_field(p, edit) for p in caught.value.problems} == {"supports", "owner"}
    # A problem inside a field names the part of it (the form has a box for each part).
    edit = _changed(store, "revenue", baseline={"period": "2025-13", "value": 1})
    with pytest.raises(SpecError) as caught:
        preview_edit(store, edit, actor="ed", as_of=AS_OF)
    (problem,) = caught.value.problems
    assert problem_path(problem, edit) == "baseline.period"
    assert problem_field(problem, edit) == "baseline"
    assert problem_text(problem, edit, shown_at="baseline.period").startswith("'2025-13' is not")
    assert problem_text(problem, edit).startswith("baseline.period: '2025-13' is not")
    # An unknown owner alone is no file error (SPEC: a `los check` finding, OW01): it is
    # previewed as a finding that appears, and may be saved.
    edit = _changed(store, "revenue", owner="nobody")
    preview = preview_edit(store, edit, actor="ed", as_of=AS_OF)
    assert ("OW01", "revenue") in {(f.code, f.subject.id) for f in preview.appeared}


def test_saving_writes_history_audit_and_export_and_a_new_id_must_be_free(store: Store) -> None:
    plan = save_edit(store, _changed(store, "revenue", name="Net revenue"), actor="ed")
    assert plan.count("change") == 1
    exported = export_strategy(store)
    assert "name: Net revenue" in exported
    # Equal dates read from the store are written as dates, not as YAML anchors and aliases.
    assert exported.count("2027-12-31") == 3 and "&id" not in exported and "*id" not in exported
    last = definition_history(store, "revenue")[-1]
    assert (last.actor, last.source, last.after) == ("ed", "the web app (ed)", "Net revenue")
    taken = Edit("unit", "sales", {"id": "sales", "name": "Again", "level": "team"}, new=True)
    with pytest.raises(SpecError) as caught:
        save_edit(store, taken, actor="ed")
    assert [p.message for p in caught.value.problems] == [
        "unit sales: id: 'sales' is already the id of a unit"
    ]
    gone = Edit("kpi", "defects", None)
    save_edit(store, gone, actor="ed")
    assert "id: defects" not in export_strategy(store)


def test_a_change_made_meanwhile_is_never_undone(store: Store) -> None:
    edit = _changed(store, "revenue", name="Mine")

    def meanwhile(before: m.Organization, after: m.Organization) -> None:
        # Another edit saved between this one's reading and its transaction.
        save_edit(store, _changed(store, "defects", name="Theirs"), actor="other")

    with pytest.raises(UsageError, match="changed while this edit was being saved"):
        save_edit(store, edit, actor="ed", authorize=meanwhile)
    text = export_strategy(store)
    assert "name: Theirs" in text and "name: Mine" not in text


def _account(name: str, *grants: Grant, person: str | None = None) -> Account:
    return Account(hash(name) % 1000, name, name, person, tuple(grants))


def test_who_may_decide_a_waiting_change(store: Store) -> None:
    org = stored_organization(store)
    sam = _account("sam", Grant("owner", "sales"), person="sam")
    olga = _account("olga", Grant("viewer"), person="olga")
    ceo = _account("casey", Grant("viewer"), person="ceo")
    sales_admin = _account("sa", Grant("admin", "sales"))
    editor = _account("ed", Grant("editor"))
    cases = [
        (sam, ("sales",), True),
        (sam, ("sales", "acme"), False),
        (olga, ("sales",), False),
        (ceo, ("sales", "ops"), True),
        (ceo, (None,), False),
        (sales_admin, ("sales",), True),
        (sales_admin, ("ops",), False),
        (editor, ("sales",), False),
    ]
    for account, scopes, expected in cases:
        assert edit_approval.may_decide(account, scopes, org) is expected, (account, scopes)


def test_a_waiting_change_to_an_item_changed_since_is_not_approved_over_it(
    store: Store,
) -> None:
    edit_approval.set_require_approval(store, True, actor="admin")
    ad = _account("ad", Grant("admin"))
    asked = preview_edit(
        store,
        _changed(store, "revenue", target={"value": 165, "by": "2027-12-31"}),
        actor="ed",
        as_of=AS_OF,
    )
    change_id = edit_approval.request_change(store, asked, actor="ed")
    # An admin changes the item meanwhile: its target and its owner.
    later = _changed(store, "revenue", owner="ceo", target={"value": 175, "by": "2027-12-31"})
    save_edit(store, later, actor="admin")
    history = len(definition_history(store, "revenue"))
    with pytest.raises(UsageError, match=r"KPI revenue changed by admin on .* since this change"):
        edit_approval.approve_change(store, change_id, approver=ad)
    kpi = next(k for k in stored_organization(store).kpis if k.id == "revenue")
    assert kpi.owner == "ceo" and kpi.target is not None and kpi.target.value == 175
    assert len(definition_history(store, "revenue")) == history
    change = edit_approval.pending_change(store, change_id)
    assert change is not None and change.state == "pending", "it may still be rejected"
    edit_approval.reject_change(store, change_id, approver=ad, reason="asked again")

    # A removal asked before a change is not approved over it either.
    removal = preview_edit(store, Edit("kpi", "defects", None), actor="ed", as_of=AS_OF)
    removal_id = edit_approval.request_change(store, removal, actor="ed")
    save_edit(store, _changed(store, "defects", name="Defects found"), actor="admin")
    with pytest.raises(UsageError, match="KPI defects changed by admin"):
        edit_approval.approve_change(store, removal_id, approver=ad)
    assert "defects" in {k.id for k in stored_organization(store).kpis}

    # An unchanged item's change is approved as it was asked, and the history says so.
    asked = preview_edit(store, _changed(store, "revenue", name="Later"), actor="ed", as_of=AS_OF)
    change_id = edit_approval.request_change(store, asked, actor="ed")
    edit_approval.approve_change(store, change_id, approver=ad)
    last = definition_history(store, "revenue")[-1]
    assert (last.field, last.before, last.after) == ("name", "Revenue", "Later")


def test_a_waiting_change_is_approved_once_or_rejected_with_a_reason(store: Store) -> None:
    assert not edit_approval.require_approval(store)
    assert edit_approval.set_require_approval(store, True, actor="admin")
    editor = _account("ed", Grant("editor"))
    assert edit_approval.must_wait(store, editor)
    assert not edit_approval.must_wait(store, _account("ad", Grant("admin")))
    preview = preview_edit(store, _changed(store, "revenue", name="Later"), actor="ed", as_of=AS_OF)
    change_id = edit_approval.request_change(store, preview, actor="ed")
    assert "name: Later" not in export_strategy(store)
    waiting = edit_approval.pending_changes(store)
    assert [(c.id, c.units, c.summary) for c in waiting] == [
        (change_id, ("sales",), 'kpi revenue: name: "Revenue" -> "Later"')
    ]
    with pytest.raises(UsageError, match="someone other than who made it"):
        edit_approval.approve_change(store, change_id, approver=editor)
    olga = _account("olga", Grant("viewer"), person="olga")
    with pytest.raises(UsageError, match="may approve it"):
        edit_approval.approve_change(store, change_id, approver=olga)
    sam = _account("sam", Grant("owner", "sales"), person="sam")
    edit_approval.approve_change(store, change_id, approver=sam)
    assert "name: Later" in export_strategy(store)
    last = definition_history(store, "revenue")[-1]
    assert (last.actor, last.source) == ("ed", "the web app (ed, approved by sam)")
    with pytest.raises(UsageError, match="approved by sam already"):
        edit_approval.approve_change(store, change_id, approver=sam)

    preview = preview_edit(store, _changed(store, "revenue", name="Never"), actor="ed", as_of=AS_OF)
    other = edit_approval.request_change(store, preview, actor="ed")
    with pytest.raises(UsageError, match="say why"):
        edit_approval.reject_change(store, other, approver=sam, reason="  ")
    edit_approval.reject_change(store, other, approver=sam, reason="not now")
    decided = edit_approval.pending_change(store, other)
    assert decided is not None and (decided.state, decided.reason) == ("rejected", "not now")
    assert "name: Never" not in export_strategy(store)
    assert edit_approval.pending_changes(store) == []


def _stored_waiting(store: Store, edit: Edit, units: list[str | None]) -> int:
    """A waiting change as the store keeps it (`units` as they were judged)."""
    import json

    from lineofsight.store import edits

    with store.transaction() as conn:
        return edits.insert_pending(
            conn,
            {
                "kind": edit.kind,
                "item_id": edit.item_id,
                "action": "change",
                "item": json.dumps(edit.item),
                "summary": "",
                "units": json.dumps(units),
                "requested_by": "sales_ed",
                "requested_at": dt.datetime.now(dt.UTC),
            },
        )


def test_a_change_that_changes_nothing_waits_for_no_one(store: Store) -> None:
    assert edit_approval.set_require_approval(store, True, actor="admin")
    org = stored_organization(store)
    unchanged = preview_edit(store, _changed(store, "revenue"), actor="ed", as_of=AS_OF)
    assert unchanged.plan.empty and unchanged.reach.scopes() == []
    with pytest.raises(UsageError, match="Nothing to approve"):
        edit_approval.request_change(store, unchanged, actor="ed")
    assert edit_approval.pending_changes(store) == []
    # A change that reaches no unit is not everyone's to decide: an admin of the whole
    # organisation's only (one kept empty before changes that change nothing were refused).
    ops_viewer = _account("ov", Grant("viewer", "ops"))
    olga = _account("olga", Grant("viewer"), person="olga")
    sales_admin = _account("sa", Grant("admin", "sales"))
    admin = _account("ad", Grant("admin"))
    decides = {
        a.username: edit_approval.may_decide(a, (), org)
        for a in (ops_viewer, olga, sales_admin, admin)
    }
    assert decides == {"ov": False, "olga": False, "sa": False, "ad": True}
    kept = _stored_waiting(store, _changed(store, "revenue"), [])
    with pytest.raises(UsageError, match="may reject it"):
        edit_approval.reject_change(store, kept, approver=ops_viewer, reason="no")
    with pytest.raises(UsageError, match="may approve it"):
        edit_approval.approve_change(store, kept, approver=ops_viewer)
    # Approving it says that it changes nothing, instead of "succeeding" and leaving it waiting.
    with pytest.raises(UsageError, match=f"change {kept} changes nothing"):
        edit_approval.approve_change(store, kept, approver=admin)
    edit_approval.reject_change(store, kept, approver=admin, reason="nothing to do")
    # So does approving a change that the strategy came to meanwhile.
    preview = preview_edit(store, _changed(store, "revenue", name="Net"), actor="ed", as_of=AS_OF)
    asked = edit_approval.request_change(store, preview, actor="ed")
    save_edit(store, _changed(store, "revenue", name="Net"), actor="ad")
    with pytest.raises(UsageError, match=f"change {asked} changes nothing"):
        edit_approval.approve_change(store, asked, approver=admin)
    change = edit_approval.pending_change(store, asked)
    assert change is not None and change.state == "pending"


def test_a_plain_document_is_validated_as_its_file_would_be(store: Store) -> None:
    from lineofsight.services.apply import jsonable
    from lineofsight.spec.dump import organization_to_plain
    from lineofsight.spec.files import parse_document, parse_strategy

    org = stored_organization(store)
    document = jsonable(organization_to_plain(org))
    assert parse_document(document) == parse_strategy(export_strategy(store)) == org
    document["kpis"][0]["frequency"] = "hourly"
    document["objectives"][1]["parent"] = "nowhere"
    with pytest.raises(SpecError) as caught:
        parse_document(document)
    messages = sorted(p.message for p in caught.value.problems)
    assert len(messages) == 2, messages
    assert messages[0].startswith("kpi revenue: frequency: ")
    assert messages[1] == "objective sell: parent: unknown objective 'nowhere'"


def test_a_one_item_edit_keeps_the_order_of_every_other_item(store: Store) -> None:
    # A change keeps the item in its place, an addition comes last, a removal leaves the
    # others in their order: no edit of one item (nor a change waiting for approval, which is
    # one) reorders the strategy; whole files do (`PUT /api/strategy`, tests/web).
    from lineofsight.services.permissions import definition_reach, writer_reach

    sales_editor = _account("se", Grant("editor", "sales"))
    new = {
        "id": "churn",
        "name": "Churn",
        "unit": "sales",
        "owner": "sam",
        "frequency": "monthly",
        "direction": "decrease",
        "supports": [{"objective": "sell"}],
    }
    edits = [
        _changed(store, "revenue", name="Net revenue", owner="ceo"),
        Edit("kpi", "churn", new, new=True),
        Edit("kpi", "revenue", None),
        Edit("kpi", "defects", None),
    ]
    for edit in edits:
        preview = preview_edit(store, edit, actor="se", as_of=AS_OF)
        assert preview.plan.records, edit
        assert "position" not in {r.field for r in preview.plan.records}, edit
        reach = writer_reach(sales_editor, preview.before, preview.after)
        assert reach == definition_reach(preview.before, preview.after), edit
