"""Actions and commentary through the JSON API, on SQLite and PostgreSQL: round trips, the
audit log, who may read and write what, and bad input refused whole with its fields named."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.web.test_api import assert_error


def _create(api: Any, **body: Any) -> Any:
    return api.request("POST", "/actions", json=body)


def _count(api: Any) -> int:
    return len(api_get(api, "/actions")["actions"])


def api_get(api: Any, path: str, **params: Any) -> Any:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_action_round_trips_with_its_milestones_and_audit(api_as) -> None:  # type: ignore[no-untyped-def]
    alice = api_as("alice")
    made = _create(
        alice,
        subject={"kind": "kpi", "id": "revenue"},
        title="Call the ten largest customers",
        owner="alice",
        due="2026-05-31",
        milestones=[{"title": "List them", "due": "2026-04-15"}, {"title": "Call them"}],
    )
    assert made.status_code == 201, made.text
    action = made.json()
    assert action["subject"] == {"kind": "kpi", "id": "revenue"}
    assert (action["status"], action["owner"], action["due"]) == ("open", "alice", "2026-05-31")
    assert action["milestones"] == [
        {"title": "List them", "due": "2026-04-15", "done": False},
        {"title": "Call them", "due": None, "done": False},
    ]
    assert action["created_by"] == "alice" and action["key"] == f"action_{action['id']}"
    number = action["id"]
    assert api_get(alice, f"/actions/{number}") == action

    ticked = alice.request("PATCH", f"/actions/{number}/milestones/1", json={"done": True})
    assert ticked.status_code == 200, ticked.text
    assert [m["done"] for m in ticked.json()["milestones"]] == [True, False]
    added = alice.request(
        "POST", f"/actions/{number}/milestones", json={"title": "Report back", "due": "2026-06-01"}
    )
    assert added.status_code == 201 and len(added.json()["milestones"]) == 3
    done = alice.request("PATCH", f"/actions/{number}", json={"status": "done", "due": None})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["due"]) == ("done", None)

    listed = api_get(alice, "/actions", kpi="revenue")["actions"]
    assert [a["id"] for a in listed if a["id"] == number] == [number]
    assert api_get(alice, "/actions", kpi="revenue", status="open")["actions"] == [
        a for a in listed if a["status"] == "open"
    ]
    log = api_get(api_as("admin"), "/audit", subject=f"action:{number}")
    entries = log["entries"] if "entries" in log else log["audit"]
    actions = [e["action"] for e in entries]
    assert actions == ["action.update", "action.update", "action.update", "action.create"]
    assert {e["actor"] for e in entries} == {"alice"}
    assert entries[0]["before"] == {"status": "open", "due": "2026-05-31"}
    assert entries[0]["after"] == {"status": "done", "due": None}


def test_who_may_read_and_change_actions(api_as) -> None:  # type: ignore[no-untyped-def]
    admin, bob, alice = api_as("admin"), api_as("bob"), api_as("alice")
    on_defects = _create(admin, subject={"kind": "kpi", "id": "defects"}, title="Fix the press")
    assert on_defects.status_code == 201, on_defects.text
    number = on_defects.json()["id"]
    on_sales = _create(
        api_as("sales_editor"), subject={"kind": "objective", "id": "sell_more"}, title="Hire two"
    )
    assert on_sales.status_code == 201, on_sales.text

    # The owner of the KPI changes the action on it; a viewer reads but may not change it.
    assert bob.request("PATCH", f"/actions/{number}", json={"owner": "bob"}).status_code == 200
    viewer = api_as("viewer")
    assert api_get(viewer, f"/actions/{number}")["owner"] == "bob"
    assert_error(viewer.request("PATCH", f"/actions/{number}", json={"status": "done"}), 403)
    assert_error(
        _create(viewer, subject={"kind": "kpi", "id": "defects"}, title="Look"), 403, "forbidden"
    )
    # Scoped roles see only their subtree: ops' action is not there for sales' people.
    for name in ("sales_viewer", "alice"):
        shown = {a["subject"]["id"] for a in api_get(api_as(name), "/actions")["actions"]}
        assert "defects" not in shown and "sell_more" in shown, name
        # Its action is answered as one that does not exist (the same body).
        hidden, missing = api_as(name).get(f"/actions/{number}"), api_as(name).get("/actions/99999")
        assert_error(hidden, 404)
        assert hidden.text.replace(str(number), "N") == missing.text.replace("99999", "N")
    assert_error(alice.request("PATCH", f"/actions/{number}", json={"status": "done"}), 404)
    # A KPI outside alice's units is answered as one that does not exist.
    assert_error(_create(alice, subject={"kind": "kpi", "id": "defects"}, title="x"), 422)
    assert_error(api_as("sales_viewer").get("/actions", params={"unit": "ops"}), 404)  # as unknown
    # Moving an action into a unit one may not add actions to is refused.
    moved = bob.request(
        "PATCH", f"/actions/{number}", json={"subject": {"kind": "objective", "id": "grow"}}
    )
    assert_error(moved, 422)  # grow lies outside bob's units: as an objective that does not exist
    ops = api_get(admin, "/actions", unit="ops")["actions"]
    assert [a["id"] for a in ops] == [number]
    assert_error(api_as(None).get("/actions"), 401)


def test_bad_actions_are_refused_with_their_fields_and_store_nothing(api_as) -> None:  # type: ignore[no-untyped-def]
    admin = api_as("admin")
    before = _count(admin)
    unknown = _create(admin, subject={"kind": "kpi", "id": "nope"}, title="x")
    error = assert_error(unknown, 422, "invalid")
    assert error["details"] == [{"field": "subject.id", "reason": "unknown KPI 'nope'"}]
    ghost = _create(admin, subject={"kind": "kpi", "id": "revenue"}, title="x", owner="ghost")
    assert assert_error(ghost, 422)["details"] == [
        {"field": "owner", "reason": "unknown person 'ghost'"}
    ]
    cases = [
        {"subject": {"kind": "unit", "id": "sales"}, "title": "x"},
        {"subject": {"kind": "kpi", "id": "revenue"}, "title": ""},
        {"subject": {"kind": "kpi", "id": "revenue"}, "title": "x", "due": "2026-02-30"},
        {"subject": {"kind": "kpi", "id": "revenue"}, "title": "x", "due": "9999-12-31"},
        {"subject": {"kind": "kpi", "id": "revenue"}, "title": "x\ny"},
        {"subject": {"kind": "kpi", "id": "revenue"}, "title": "x", "status": "maybe"},
        {"subject": {"kind": "kpi", "id": "revenue"}, "title": "x", "colour": "red"},
        {"subject": {"kind": "kpi", "id": "revenue"}, "title": "x", "milestones": [{"due": 1}]},
    ]
    for body in cases:
        error = assert_error(admin.request("POST", "/actions", json=body), 422)
        assert error["details"] and all(d["field"] for d in error["details"]), body
    assert _count(admin) == before

    made = _create(admin, subject={"kind": "kpi", "id": "revenue"}, title="Keep")
    number = made.json()["id"]
    for body in ({"status": None}, {"title": None}, {"owner": "ghost"}, {"status": "gone"}):
        assert_error(admin.request("PATCH", f"/actions/{number}", json=body), 422)
    assert_error(admin.request("PATCH", f"/actions/{number}/milestones/1", json={}), 404)
    assert_error(admin.request("PATCH", "/actions/999999", json={"title": "x"}), 404)
    assert_error(admin.get("/actions/0"), 422)
    assert api_get(admin, f"/actions/{number}") == made.json()


def test_commentary_round_trips_with_its_history(api_as) -> None:  # type: ignore[no-untyped-def]
    alice = api_as("alice")
    path = "/kpis/revenue/commentary/2026-03"
    first = alice.request(
        "PUT", path, json={"analysis": "Two orders <b>slipped</b>.", "recommendation": "Chase."}
    )
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["author"]) == (1, "alice")
    second = api_as("sales_editor").request(
        "PUT", path, json={"analysis": "Two orders slipped to April.", "recommendation": ""}
    )
    assert second.json()["version"] == 2
    read = api_get(api_as("sales_viewer"), path)
    assert read["current"] == second.json()
    assert [c["version"] for c in read["history"]] == [2, 1]
    assert read["history"][1]["analysis"] == "Two orders <b>slipped</b>."
    # The current version of every period, and one period's.
    listed = api_get(alice, "/kpis/revenue/commentary")["commentary"]
    assert [(c["period"], c["version"]) for c in listed] == [("2026-03", 2)]
    assert api_get(alice, "/kpis/revenue/commentary", period="2026-04")["commentary"] == []
    objective = alice.request(
        "PUT", "/objectives/sell_more/commentary/2026-q1", json={"analysis": "On plan."}
    )
    assert objective.status_code == 200 and objective.json()["period"] == "2026-Q1"
    log = api_get(api_as("admin"), "/audit", subject="kpi:revenue")
    entries = log["entries"] if "entries" in log else log["audit"]
    assert [e["actor"] for e in entries if e["action"] == "comment.write"][:2] == [
        "sales_editor",
        "alice",
    ]


def test_commentary_permissions_and_bad_input(api_as) -> None:  # type: ignore[no-untyped-def]
    path = "/kpis/defects/commentary/2026-03"
    assert_error(api_as("viewer").request("PUT", path, json={"analysis": "x"}), 403)
    # Outside alice's and bob's units: answered as items that do not exist.
    assert_error(api_as("alice").request("PUT", path, json={"analysis": "x"}), 404)
    assert_error(api_as("alice").get(path), 404)
    assert_error(api_as("bob").request("PUT", "/objectives/grow/commentary/2026", json={}), 404)
    assert_error(api_as("bob").get("/kpis/nope/commentary"), 404)
    bob = api_as("bob")
    bad = assert_error(
        bob.request("PUT", "/kpis/defects/commentary/2026-13", json={"analysis": "x"}), 422
    )
    assert bad["details"][0]["field"] == "period" and "month" in bad["details"][0]["reason"]
    # A quarter of a monthly KPI: a period its page never shows commentary for.
    quarter = assert_error(
        bob.request("PUT", "/kpis/defects/commentary/2026-Q1", json={"analysis": "x"}), 422
    )
    assert quarter["details"] == [
        {
            "field": "period",
            "reason": "2026-Q1 is not a period of 'defects', which is monthly: give a month such"
            " as 2026-03",
        }
    ]
    # An objective's commentary is of a period that has begun, the running one too.
    admin = api_as("admin")
    month = dt.date.today().strftime("%Y-%m")
    ahead = assert_error(
        admin.request("PUT", "/objectives/grow/commentary/2031-05", json={"analysis": "x"}), 422
    )
    assert ahead["details"] == [
        {
            "field": "period",
            "reason": "2031-05 has not begun yet (it starts on 2031-05-01): commentary on an "
            f"objective is of a period that has begun, such as {month}",
        }
    ]
    assert api_get(admin, "/objectives/grow/commentary")["commentary"] == []
    running = admin.request("PUT", f"/objectives/grow/commentary/{month}", json={"analysis": "x"})
    assert running.status_code == 200, running.text
    empty = assert_error(bob.request("PUT", path, json={"analysis": " "}), 422)
    assert empty["details"] == [
        {"field": "analysis", "reason": "give an analysis or a recommendation"}
    ]
    long = assert_error(bob.request("PUT", path, json={"analysis": "x" * 20_001}), 422)
    assert long["details"][0]["field"] == "analysis"
    assert_error(bob.request("PUT", "/units/ops/commentary/2026-03", json={"analysis": "x"}), 404)
    assert api_get(bob, path) == {"current": None, "history": []}
    assert bob.request("PUT", path, json={"analysis": "Press down"}).status_code == 200


def test_an_objective_through_the_api(api_as) -> None:  # type: ignore[no-untyped-def]
    admin = api_as("admin")
    found = api_get(admin, "/objectives/sell_more", period="2026-03")
    assert found["objective"]["id"] == "sell_more" and found["as_of"] == "2026-03-31"
    assert found["objective"]["parent"] == "grow"
    score = found["score"]
    assert {"score", "status", "coverage", "counts", "worst"} <= set(score)
    assert sum(score["counts"].values()) == 3  # revenue, conversion and xss
    assert {r["id"] for r in found["kpis"]} == {"revenue", "conversion", "xss"}
    grow = api_get(admin, "/objectives/grow", period="2026-03")
    assert [c["id"] for c in grow["children"]] == ["sell_more"]
    assert {r["id"] for r in grow["kpis"]} == {"defects"}
    # A role scoped to sales reads sell_more, not grow, and sees no KPI of ops through it.
    viewer = api_as("sales_viewer")
    assert "parent" not in api_get(viewer, "/objectives/sell_more")["objective"]
    assert_error(viewer.get("/objectives/grow"), 404)  # as one that does not exist
    assert_error(admin.get("/objectives/nope"), 404)
    assert_error(admin.get("/objectives/grow", params={"period": "2026-13"}), 422)


def test_an_unknown_item_in_the_list_query_is_a_404_naming_the_field(api_as) -> None:  # type: ignore[no-untyped-def]
    admin = api_as("admin")
    for field, word in (("kpi", "KPI"), ("objective", "objective"), ("unit", "unit")):
        error = assert_error(admin.get("/actions", params={field: "zz"}), 404, "not_found")
        assert error["message"] == f"{word} 'zz' not found"
        assert error["details"] == [{"field": field, "reason": f"unknown {word} 'zz'"}]
    # A known KPI without actions is an empty list, not a 404.
    assert api_get(admin, "/actions", kpi="revenue", status="dropped")["actions"] == []


def test_a_commentary_field_left_out_keeps_its_text_and_an_empty_one_clears_it(api_as) -> None:  # type: ignore[no-untyped-def]
    alice = api_as("alice")
    path = "/kpis/revenue/commentary/2026-05"
    body = {"analysis": "Weekend backlog", "recommendation": "Add a shift"}
    assert alice.request("PUT", path, json=body).status_code == 200
    kept = alice.request("PUT", path, json={"analysis": "Weekend backlog and two agents sick"})
    assert kept.status_code == 200, kept.text
    assert (kept.json()["version"], kept.json()["recommendation"]) == (2, "Add a shift")
    assert kept.json()["analysis"] == "Weekend backlog and two agents sick"
    advice = alice.request("PUT", path, json={"recommendation": "Add two shifts"}).json()
    assert (advice["analysis"], advice["recommendation"]) == (
        "Weekend backlog and two agents sick",
        "Add two shifts",
    )
    cleared = alice.request("PUT", path, json={"recommendation": ""}).json()
    assert (cleared["version"], cleared["recommendation"]) == (4, "")
    assert cleared["analysis"] == "Weekend backlog and two agents sick"
    # Clearing the only text left is refused, as an empty commentary is.
    none_left = assert_error(alice.request("PUT", path, json={"analysis": ""}), 422)
    assert none_left["details"] == [
        {"field": "analysis", "reason": "give an analysis or a recommendation"}
    ]
    assert api_get(alice, path)["current"]["version"] == 4


def test_a_bad_action_is_refused_with_every_problem_at_once(api_as) -> None:  # type: ignore[no-untyped-def]
    alice = api_as("alice")
    before = _count(alice)
    refused = _create(
        alice,
        subject={"kind": "kpi", "id": "revenue"},
        title="",
        owner="alicee",
        milestones=[{"title": " "}],
    )
    body = assert_error(refused, 422)
    assert body["details"] == [
        {"field": "title", "reason": "is required"},
        {"field": "owner", "reason": "unknown person 'alicee' (did you mean 'alice'?)"},
        {"field": "milestones[0].title", "reason": "is required"},
    ]
    assert _count(alice) == before
    # A date the schema refuses does not hide the other problems: one answer says them all,
    # each field named as the body names it (`milestones[0].due`, as JSON counts).
    refused = _create(
        alice,
        subject={"kind": "kpi", "id": "revenu"},
        title="",
        owner="alicee",
        due="2026-13-01",
        milestones=[{"title": "Call", "due": "soon"}, {"title": ""}],
    )
    assert assert_error(refused, 422)["details"] == [
        {"field": "due", "reason": "'2026-13-01' is not a date (YYYY-MM-DD)"},
        {"field": "milestones[0].due", "reason": "'soon' is not a date (YYYY-MM-DD)"},
        {"field": "subject.id", "reason": "unknown KPI 'revenu' (did you mean 'revenue'?)"},
        {"field": "title", "reason": "is required"},
        {"field": "owner", "reason": "unknown person 'alicee' (did you mean 'alice'?)"},
        {"field": "milestones[1].title", "reason": "is required"},
    ]
    number = _create(alice, subject={"kind": "kpi", "id": "revenue"}, title="Fix").json()["id"]
    changed = alice.request(
        "PATCH",
        f"/actions/{number}",
        json={"title": "", "owner": "alicee", "due": "2026-02-30", "status": "gone"},
    )
    assert assert_error(changed, 422)["details"] == [
        {"field": "due", "reason": "'2026-02-30' is not a date (YYYY-MM-DD)"},
        {"field": "status", "reason": "'gone' is not one of 'open', 'done', 'dropped'"},
        {"field": "title", "reason": "is required"},
        {"field": "owner", "reason": "unknown person 'alicee' (did you mean 'alice'?)"},
    ]
    assert api_get(alice, f"/actions/{number}")["title"] == "Fix"
    assert _count(alice) == before + 1
    # A close id the account may not see is not named: alice reads sales, not ops.
    unseen = _create(alice, subject={"kind": "kpi", "id": "defect"}, title="x")
    assert assert_error(unseen, 422)["details"] == [
        {"field": "subject.id", "reason": "unknown KPI 'defect'"}
    ]
    seen = _create(api_as("admin"), subject={"kind": "kpi", "id": "defect"}, title="x")
    assert assert_error(seen, 422)["details"] == [
        {"field": "subject.id", "reason": "unknown KPI 'defect' (did you mean 'defects'?)"}
    ]


def test_an_action_is_given_only_to_a_person_of_the_units_one_may_add_actions_in(api_as) -> None:  # type: ignore[no-untyped-def]
    editor, alice = api_as("sales_editor"), api_as("alice")
    before = _count(api_as("admin"))
    # The CEO and bob work outside sales: to a sales editor they are people that do not exist.
    # A name close to one of theirs is no hint of it either ("bobb" is not "did you mean 'bob'").
    for who, body in (
        (editor, {"subject": {"kind": "kpi", "id": "revenue"}, "title": "Ask", "owner": "ceo"}),
        (alice, {"subject": {"kind": "kpi", "id": "revenue"}, "title": "Ask", "owner": "bob"}),
        (editor, {"subject": {"kind": "kpi", "id": "revenue"}, "title": "Ask", "owner": "bobb"}),
    ):
        refused = assert_error(_create(who, **body), 422)
        assert refused["details"] == [
            {"field": "owner", "reason": f"unknown person '{body['owner']}'"}
        ]
    assert _count(api_as("admin")) == before
    # Within sales, and passed on within it, it is given; passed on outside it, refused.
    made = _create(editor, subject={"kind": "kpi", "id": "revenue"}, title="Ask", owner="alice")
    assert made.status_code == 201, made.text
    number = made.json()["id"]
    moved = editor.request("PATCH", f"/actions/{number}", json={"owner": "bob"})
    assert assert_error(moved, 422)["details"] == [
        {"field": "owner", "reason": "unknown person 'bob'"}
    ]
    assert api_get(editor, f"/actions/{number}")["owner"] == "alice"
    # An editor of the whole organisation gives it to anyone.
    passed = api_as("editor").request("PATCH", f"/actions/{number}", json={"owner": "bob"})
    assert passed.status_code == 200 and passed.json()["owner"] == "bob"
