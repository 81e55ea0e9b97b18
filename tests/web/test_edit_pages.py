"""Changing the strategy in the browser, through the in-process client on SQLite and
PostgreSQL: the form, its preview (the changes, the findings that appear or go), the save
through the apply (history, audit, `los export`), every problem at once, permissions, and
the approval of editors' changes when the organisation asks for it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.services.audit import read_audit
from lineofsight.services.export import export_strategy
from lineofsight.services.history import definition_history
from lineofsight.store.database import Store
from lineofsight.store.notifications import read_outbox
from tests.web.conftest import csrf_of, log_in
from tests.web.formparse import form_values


@pytest.fixture
def store(web_url: str) -> Iterator[Store]:
    opened = Store(web_url)
    yield opened
    opened.close()


def _kpi_block(text: str, kpi_id: str) -> str:
    start = text.index(f"- id: {kpi_id}\n")
    end = text.find("\n- id:", start + 1)
    return text[start : end if end > 0 else len(text)]


def _preview(client: TestClient, path: str, **changes: str):  # type: ignore[no-untyped-def]
    form = form_values(client.get(path).text, "edit-form")
    form.update(changes)
    return client.post(path, data=form)


def test_an_edit_is_previewed_then_saved_into_export_history_and_audit(
    client: TestClient, store: Store
) -> None:
    log_in(client, "editor")
    answer = _preview(client, "/edit/kpi/revenue", **{"target.value": "260", "supports": ""})
    assert answer.status_code == 200, answer.text
    changes = answer.text[answer.text.index('id="changes"') :]
    assert "<td>target</td>" in changes and "&#34;value&#34;: 260" in changes
    # Taking away its only support makes AL01 (a KPI that supports nothing) appear.
    appear = answer.text[answer.text.index('id="findings-appear"') :]
    assert "AL01" in appear and "revenue" in appear
    assert "target:\n    value: 260" not in export_strategy(store), "a preview saves nothing"

    saved = client.post(
        "/edit/kpi/revenue", data={**form_values(answer.text, "save-form"), "op": "save"}
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/edit/kpi/revenue?saved=true"
    page = client.get(saved.headers["location"]).text
    assert 'id="edit-saved"' in page
    history = page[page.index('id="item-history"') :]
    body = history[history.index("<tbody>") :]
    first = body[: body.index("</tr>")]
    assert "editor" in first and "the web app (editor)" in first and "&#34;value&#34;: 260" in first
    # The file the store was applied from: its name, never the server's folder.
    assert "(strategy.yaml)" in history and "pytest-of" not in history
    block = _kpi_block(export_strategy(store), "revenue")
    assert re.search(r"target:\n\s+value: 260\n", block), block
    assert "supports" not in block
    history = [h for h in definition_history(store, "revenue") if h.field == "target"]
    assert history[-1].actor == "editor" and history[-1].source == "the web app (editor)"
    assert history[-1].after == {"value": 260, "by": "2026-12-31"}
    entry = read_audit(store, subject="kpi:revenue", limit=1)[0]
    assert entry.actor == "editor" and entry.action == "definition.change"


def test_every_problem_is_shown_next_to_its_field_and_nothing_is_saved(
    client: TestClient, store: Store
) -> None:
    before = export_strategy(store)
    log_in(client, "admin")
    answer = _preview(client, "/edit/objective/grow", weight="lots", deadline="someday")
    assert answer.status_code == 422
    assert "2 problems: nothing was saved." in answer.text
    assert re.search(r'id="f-weight-error">[^<]*valid number', answer.text)
    assert re.search(r'id="f-deadline-error">[^<]*valid date', answer.text)
    # A reference to nothing: the strategy file's own message, next to the field.
    answer = _preview(client, "/edit/kpi/defects", owner="nobody_here", supports="no_such_goal")
    assert answer.status_code == 422
    assert re.search(
        r"id=\"f-supports-error\">[^<]*unknown objective &#39;no_such_goal&#39;", answer.text
    )
    # A problem inside a field of two parts is shown at that part, not at its neighbour.
    answer = _preview(
        client,
        "/edit/kpi/revenue",
        **{"baseline.period": "2025-13", "target.by": "someday", "target.value": "lots"},
    )
    assert answer.status_code == 422
    assert re.search(r'id="f-baseline-period-error">&#39;2025-13&#39; is not a valid', answer.text)
    assert re.search(r'id="f-target-by-error">[^<]*valid date', answer.text)
    assert re.search(r'id="f-target-value-error">[^<]*valid number', answer.text)
    assert 'id="f-baseline-value-error"' not in answer.text
    assert export_strategy(store) == before
    # A decimal comma is refused, never read as a number ten times bigger.
    answer = _preview(client, "/edit/kpi/revenue", **{"target.value": "2,5"})
    assert answer.status_code == 422
    assert re.search(r'id="f-target-value-error">[^<]*valid number', answer.text)
    assert export_strategy(store) == before
    # A target date before the baseline's period (2025-12): the strategy file's own problem,
    # next to the date.
    answer = _preview(client, "/edit/kpi/revenue", **{"target.by": "2025-06-30"})
    assert answer.status_code == 422
    assert re.search(
        r'id="f-target-by-error">[^<]*2025-06-30 is not after the baseline period 2025-12',
        answer.text,
    )
    assert export_strategy(store) == before


def test_a_range_kpi_is_added_changed_and_made_another_direction(
    client: TestClient, store: Store
) -> None:
    log_in(client, "admin")
    path = "/edit/kpi/new"
    page = client.get(path).text
    assert 'id="f-range-low"' in page and 'id="f-range-high"' in page
    form = form_values(page, "edit-form")
    form.update(
        id="cycle_days",
        name="Cycle days",
        unit="ops",
        owner="bob",
        frequency="monthly",
        direction="range",
        supports="grow",
        **{"range.low": "3", "range.high": "2"},
    )
    answer = client.post(path, data=form)  # the file's own validation, at the range's boxes
    assert answer.status_code == 422
    assert re.search(r'id="f-range-(low|high)-error">[^<]*low 3 is above high 2', answer.text)
    form["range.high"] = "7"
    preview = client.post(path, data=form)
    assert preview.status_code == 200, preview.text
    saved = client.post(path, data={**form_values(preview.text, "save-form"), "op": "save"})
    assert saved.status_code == 303, saved.text
    block = _kpi_block(export_strategy(store), "cycle_days")
    assert "direction: range" in block and "range:\n    low: 3\n    high: 7" in block

    edit = "/edit/kpi/cycle_days"
    form = form_values(client.get(edit).text, "edit-form")
    assert (form["range.low"], form["range.high"]) == ("3", "7")
    preview = client.post(edit, data={**form, "range.high": "8"})
    assert "&#34;high&#34;: 8" in preview.text
    # Another direction: the range boxes, still filled in, are left out of the KPI.
    preview = client.post(edit, data={**form, "direction": "increase"})
    assert preview.status_code == 200, preview.text
    saved = client.post(edit, data={**form_values(preview.text, "save-form"), "op": "save"})
    assert saved.status_code == 303, saved.text
    block = _kpi_block(export_strategy(store), "cycle_days")
    assert "direction: increase" in block and "range" not in block
    fields = [h.field for h in definition_history(store, "cycle_days")]
    assert "range" in fields and "direction" in fields


def test_new_items_are_added_and_a_taken_id_is_refused(client: TestClient, store: Store) -> None:
    log_in(client, "admin")
    path = "/edit/unit/new"
    form = form_values(client.get(path).text, "edit-form")
    form.update(id="sales", name="Twice", level="team", parent="sales")
    answer = client.post(path, data=form)
    assert answer.status_code == 422
    assert re.search(r'id="f-id-error">&#39;sales&#39; is already the id of a unit', answer.text)
    form.update(id="sales_west", name="Sales West")
    preview = client.post(path, data=form)
    assert preview.status_code == 200 and "add" in preview.text
    saved = client.post(path, data={**form_values(preview.text, "save-form"), "op": "save"})
    assert saved.status_code == 303
    assert "- id: sales_west\n    name: Sales West" in export_strategy(store)
    person = form_values(client.get("/edit/person/new").text, "edit-form")
    person.update(id="wes", name="Wes West", unit="sales_west", email="wes@example.com")
    preview = client.post("/edit/person/new", data=person)
    assert preview.status_code == 200, preview.text
    saved = client.post(
        "/edit/person/new", data={**form_values(preview.text, "save-form"), "op": "save"}
    )
    assert saved.status_code == 303
    assert "- id: wes\n    name: Wes West\n    unit: sales_west" in export_strategy(store)


def test_a_new_item_gets_every_problem_at_once_with_a_taken_or_bad_id(
    client: TestClient, store: Store
) -> None:
    before = export_strategy(store)
    log_in(client, "admin")
    form = form_values(client.get("/edit/kpi/new").text, "edit-form")
    form.update(id="revenue", name="", unit="nowhere", supports="no_goal")
    answer = client.post("/edit/kpi/new", data={**form, "target.value": "lots"})
    assert answer.status_code == 422
    errors = dict(re.findall(r'id="f-([a-z-]+)-error">([^<]*)', answer.text))
    assert errors["id"] == "&#39;revenue&#39; is already the id of a kpi"
    assert errors["unit"] == "unknown unit &#39;nowhere&#39;"
    assert errors["supports"] == "unknown objective &#39;no_goal&#39;"
    assert "valid number" in errors["target-value"] and "name" in errors
    assert "duplicate id" not in answer.text  # said once, at the id
    # An id that is not valid: what the item names is still checked.
    answer = client.post("/edit/kpi/new", data={**form, "id": "Bad Id"})
    errors = dict(re.findall(r'id="f-([a-z-]+)-error">([^<]*)', answer.text))
    assert "not a valid id" in errors["id"] and errors["unit"] == "unknown unit &#39;nowhere&#39;"
    unit = form_values(client.get("/edit/unit/new").text, "edit-form")
    unit.update(id="sales", name="Twice", level="team", parent="nowhere", lead="nobody")
    errors = dict(re.findall(r'id="f-([a-z-]+)-error">([^<]*)', client.post(
        "/edit/unit/new", data=unit).text))  # fmt: skip
    assert set(errors) == {"id", "parent", "lead"}
    assert export_strategy(store) == before


def test_an_item_is_removed_after_its_preview(client: TestClient, store: Store) -> None:
    log_in(client, "admin")
    page = client.get("/edit/kpi/xss").text
    preview = client.post("/edit/kpi/xss", data=form_values(page, "remove-form"))
    assert preview.status_code == 200
    assert "Preview: remove" in preview.text and "<script>alert(1)" not in preview.text
    assert "- id: xss" in export_strategy(store)
    done = client.post(
        "/edit/kpi/xss", data={**form_values(preview.text, "save-form"), "op": "remove-save"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/edit?removed=kpi%3Axss"
    assert "- id: xss" not in export_strategy(store)
    assert [h.action for h in definition_history(store, "xss")][-1] == "remove"


def test_viewers_and_owners_cannot_edit_and_a_unit_editor_stays_in_the_unit(
    client: TestClient, store: Store
) -> None:
    for name in ("viewer", "alice"):
        log_in(client, name)
        assert client.get("/edit").status_code == 403
        assert client.get("/edit/kpi/conversion").status_code == 403
        assert 'href="/edit"' not in client.get("/").text, "no menu entry that answers 403"
    log_in(client, "sales_editor")
    assert client.get("/edit/kpi/defects").status_code == 404, "an ops KPI, not readable"
    index = client.get("/edit").text
    assert "/edit/kpi/conversion" in index and "/edit/kpi/defects" not in index
    before = export_strategy(store)
    # Within Sales: allowed to preview. Supporting the company's objective reaches Acme: not.
    assert _preview(client, "/edit/kpi/conversion", name="Conversion").status_code == 200
    answer = _preview(client, "/edit/kpi/conversion", supports="grow")
    assert answer.status_code == 403
    assert "unit &#39;acme&#39;" in answer.text and "Nothing was saved" in answer.text
    token = form_values(client.get("/edit/kpi/conversion").text, "edit-form")
    forged = client.post("/edit/kpi/conversion", data={**token, "supports": "grow", "op": "save"})
    assert forged.status_code == 403, "a save without a preview is judged the same way"
    assert export_strategy(store) == before


def test_with_approval_on_an_editors_change_waits_for_the_unit_lead(
    client: TestClient, store: Store
) -> None:
    log_in(client, "admin")
    setting = form_values(client.get("/admin/users").text, "approval-form")
    answer = client.post("/admin/approval", data={**setting, "require_approval": "on"})
    assert answer.status_code == 303
    try:
        log_in(client, "editor")
        preview = _preview(client, "/edit/kpi/conversion", unit_of_measure="percent")
        assert "Send for approval" in preview.text
        sent = client.post(
            "/edit/kpi/conversion", data={**form_values(preview.text, "save-form"), "op": "save"}
        )
        assert sent.status_code == 303
        waiting = sent.headers["location"]
        assert re.fullmatch(r"/edit/pending/\d+", waiting)
        assert "unit_of_measure: percent" not in export_strategy(store), "not saved yet"
        with store.reading() as conn:  # notifications are off in this strategy: no email
            assert not [r for r in read_outbox(conn, limit=100) if r.kind == "approval"]
        page = client.get(waiting).text
        assert "Waiting for an admin" in page and 'id="approve-form"' not in page
        # Bob leads Operations, not Sales: he may not decide; Alice leads Sales: she may.
        log_in(client, "bob")
        assert client.get(waiting).status_code == 403
        log_in(client, "alice")
        notice = client.get("/checkin").text
        assert re.search(r'id="checkin-approvals"><a href="/edit">1 strategy change waits', notice)
        page = client.get(waiting).text
        assert "unit_of_measure" in page and 'id="approve-form"' in page
        approved = client.post(waiting + "/approve", data=form_values(page, "approve-form"))
        assert approved.status_code == 303
        assert "Approved by alice" in client.get(waiting).text
        assert "unit_of_measure: percent" in _kpi_block(export_strategy(store), "conversion")
        change = [
            h for h in definition_history(store, "conversion") if h.field == "unit_of_measure"
        ]
        assert change[-1].actor == "editor"
        assert change[-1].source == "the web app (editor, approved by alice)"
        # A rejection needs a reason and saves nothing.
        log_in(client, "editor")
        preview = _preview(client, "/edit/kpi/conversion", unit_of_measure="pct")
        sent = client.post(
            "/edit/kpi/conversion", data={**form_values(preview.text, "save-form"), "op": "save"}
        )
        waiting = sent.headers["location"]
        log_in(client, "admin")
        form = form_values(client.get(waiting).text, "reject-form")
        assert client.post(waiting + "/reject", data=form).status_code == 422
        rejected = client.post(waiting + "/reject", data={**form, "reason": "keep percent"})
        assert rejected.status_code == 303
        assert "Rejected by admin: keep percent" in client.get(waiting).text
        assert "unit_of_measure: percent" in _kpi_block(export_strategy(store), "conversion")
        actions = [e.action for e in read_audit(store, subject="kpi:conversion", limit=10)]
        assert {"definition.request", "definition.approve", "definition.reject"} <= set(actions)
    finally:
        log_in(client, "admin")
        setting = form_values(client.get("/admin/users").text, "approval-form")
        client.post(
            "/admin/approval", data={k: v for k, v in setting.items() if k != "require_approval"}
        )
    assert "Changes by editors wait" not in client.get("/edit").text


def test_with_approval_on_a_form_that_changes_nothing_is_not_sent_and_no_lead_decides_it(
    client: TestClient, store: Store
) -> None:
    import datetime as dt
    import json

    from lineofsight.services import edit_approval
    from lineofsight.store import edits

    assert edit_approval.set_require_approval(store, True, actor="admin")
    try:
        log_in(client, "sales_editor")
        form = form_values(client.get("/edit/kpi/conversion").text, "edit-form")
        for op in ("preview", "save"):
            answer = client.post("/edit/kpi/conversion", data={**form, "op": op})
            assert answer.status_code == 200, answer.text
            assert (
                '<div class="notice" role="status" id="edit-nothing">Nothing to approve: '
                "the change leaves the strategy as it already is.</div>" in answer.text
            )
            assert 'id="edit-errors"' not in answer.text
        assert edit_approval.pending_changes(store) == []
        # One kept with no units (as such changes were before): Bob, who leads Operations
        # and holds no admin role, may neither see it decided by him nor decide it.
        with store.transaction() as conn:
            kept = edits.insert_pending(
                conn,
                {
                    "kind": "kpi",
                    "item_id": "conversion",
                    "action": "change",
                    "item": json.dumps({"id": "conversion"}),
                    "summary": "",
                    "units": "[]",
                    "requested_by": "sales_editor",
                    "requested_at": dt.datetime.now(dt.UTC),
                },
            )
        waiting = f"/edit/pending/{kept}"
        log_in(client, "bob")
        assert client.get(waiting).status_code == 403
        token = csrf_of(client)
        for action in ("approve", "reject"):
            answer = client.post(f"{waiting}/{action}", data={"csrf_token": token, "reason": "x"})
            assert answer.status_code == 403, action
        assert edit_approval.pending_change(store, kept).state == "pending"  # type: ignore[union-attr]
        log_in(client, "admin")
        page = client.get(waiting).text
        rejected = client.post(
            waiting + "/reject", data={**form_values(page, "reject-form"), "reason": "empty"}
        )
        assert rejected.status_code == 303
    finally:
        edit_approval.set_require_approval(store, False, actor="admin")


@pytest.mark.parametrize("kind", ["unit", "person", "objective", "kpi"])
@pytest.mark.parametrize("junk", ["::,,:", "1e999", "<b>x</b>", "-", "9" * 400, "a:b:c:d"])
def test_any_text_in_any_field_is_a_message_never_a_server_error(
    client: TestClient, store: Store, kind: str, junk: str
) -> None:
    before = export_strategy(store)
    log_in(client, "admin")
    form = form_values(client.get(f"/edit/{kind}/new").text, "edit-form")
    answer = client.post(f"/edit/{kind}/new", data={**{k: junk for k in form}, **{
        "csrf_token": form["csrf_token"], "op": "save"}})  # fmt: skip
    assert answer.status_code in (403, 422), answer.text
    assert 'role="alert"' in answer.text
    assert export_strategy(store) == before


def test_the_chosen_period_is_kept_by_links_and_redirects(client: TestClient) -> None:
    log_in(client, "admin")
    index = client.get("/edit?period=2026-03").text
    assert 'href="/edit/kpi/new?period=2026-03"' in index
    page = client.get("/edit/person/ceo?period=2026-03").text
    assert 'action="/edit/person/ceo?period=2026-03"' in page
    form = form_values(page, "edit-form")
    preview = client.post("/edit/person/ceo?period=2026-03", data={**form, "title": "Chief"})
    assert 'action="/edit/person/ceo?period=2026-03"' in preview.text
    saved = client.post(
        "/edit/person/ceo?period=2026-03",
        data={**form_values(preview.text, "save-form"), "op": "save"},
    )
    assert saved.headers["location"] == "/edit/person/ceo?saved=true&period=2026-03"
    due = client.get("/admin/users?period=2026-03").text
    assert 'action="/admin/users?period=2026-03"' in due


PAGES_OF = {
    "kpi": ("/kpis/conversion", "/kpis/defects"),
    "unit": ("/units/sales", "/units/ops"),
    "person": ("/people/alice", "/people/bob"),
    "objective": ("/objectives/sell_more", "/objectives/grow"),
}
EDIT_LINK = re.compile(r'<a id="edit-link" href="([^"]+)">')


def test_item_pages_link_to_their_edit_form_for_those_who_may_edit(client: TestClient) -> None:
    log_in(client, "sales_editor")
    for kind, (inside, outside) in PAGES_OF.items():
        page = client.get(inside, params={"period": "2026-02"})
        assert page.status_code == 200, inside
        found = EDIT_LINK.findall(page.text)
        item_id = inside.rsplit("/", 1)[1]
        assert found == [f"/edit/{kind}/{item_id}?period=2026-02"], (inside, found)
        form = client.get(found[0])
        assert form.status_code == 200 and 'id="edit-form"' in form.text
        # The page of an item outside the editor's unit: readable, but no link that would 403.
        other = client.get(outside)
        if other.status_code == 200:
            assert not EDIT_LINK.findall(other.text), outside
        # Readable: refused (403); not even readable: as an item that does not exist (404).
        refused = 403 if other.status_code == 200 else 404
        assert client.get(f"/edit/{kind}/{outside.rsplit('/', 1)[1]}").status_code == refused
    for name in ("viewer", "alice"):
        log_in(client, name)
        for inside, _ in PAGES_OF.values():
            assert not EDIT_LINK.findall(client.get(inside).text), (name, inside)
    log_in(client, "admin")
    assert EDIT_LINK.findall(client.get("/units/ops").text) == ["/edit/unit/ops"]


def test_unit_targets_are_edited_in_the_browser_and_checked_like_the_file(
    client: TestClient, store: Store
) -> None:
    log_in(client, "admin")
    before = export_strategy(store)
    # Every problem of the box at once, next to it; nothing saved.
    bad = _preview(
        client,
        "/edit/kpi/revenue",
        unit_targets="sales_east: lots by never\nnowhere: 5 by 2026-12-31",
    )
    assert bad.status_code == 422
    errors = re.search(r'id="f-unit_targets-error">([^<]*)<', bad.text)
    assert errors, bad.text
    assert "sales_east" in errors.group(1) and "nowhere" in bad.text
    assert export_strategy(store) == before

    lines = "sales_east: 60 by 2026-12-31; baseline 2025-12 = 40; 2026-06 = 50, 2026-09 = 55"
    answer = _preview(client, "/edit/kpi/revenue", unit_targets=lines)
    assert answer.status_code == 200, answer.text
    changes = answer.text[answer.text.index('id="changes"') :]
    assert "<td>unit_targets</td>" in changes
    saved = client.post(
        "/edit/kpi/revenue", data={**form_values(answer.text, "save-form"), "op": "save"}
    )
    assert saved.status_code == 303, saved.text
    block = _kpi_block(export_strategy(store), "revenue")
    assert re.search(
        r"unit_targets:\n\s+sales_east:\n\s+value: 60\n\s+by: '?2026-12-31'?\n"
        r"\s+baseline:\n\s+period: '?2025-12'?\n\s+value: 40\n"
        r"\s+targets:\n\s+'?2026-06'?: 50\n\s+'?2026-09'?: 55\b",
        block,
    ), block
    # The form shows them back as typed; the KPI at Sales East is scored against its own
    # glide path now (2026-03: 40 + 20 * 90/365 days from the baseline's end).
    assert form_values(client.get("/edit/kpi/revenue").text, "edit-form")["unit_targets"] == lines
    history = [h for h in definition_history(store, "revenue") if h.field == "unit_targets"]
    assert history[-1].actor == "admin"
    page = client.get("/kpis/revenue", params={"unit": "sales_east", "period": "2026-03"}).text
    assert "44.9" in page, "the unit's own target"
    # Emptied, the unit targets go.
    cleared = _preview(client, "/edit/kpi/revenue", unit_targets="")
    client.post("/edit/kpi/revenue", data={**form_values(cleared.text, "save-form"), "op": "save"})
    assert "unit_targets" not in _kpi_block(export_strategy(store), "revenue")


def test_an_owner_who_is_no_person_is_previewed_as_los_check_reports_it(
    client: TestClient, store: Store
) -> None:
    # SPEC 4, OW01: as `los apply` and `los check` say it, an error finding naming the owner
    # and the item; the change may be saved (it is no file error).
    log_in(client, "admin")
    preview = _preview(client, "/edit/kpi/defects", owner="nobody_here")
    assert preview.status_code == 200, preview.text
    appear = preview.text[preview.text.index('id="findings-appear"') :].split("</ul>")[0]
    assert (
        "<strong>OW01</strong> error: KPI &#39;defects&#39; is owned by &#39;nobody_here&#39;, "
        "who is not in people" in appear
    )
    form = {**form_values(preview.text, "save-form"), "op": "save"}
    assert client.post("/edit/kpi/defects", data=form).status_code == 303
    assert "owner: nobody_here" in _kpi_block(export_strategy(store), "defects")
    back = _preview(client, "/edit/kpi/defects", owner="bob")
    assert "OW01" in back.text[back.text.index('id="findings-gone"') :].split("</ul>")[0]
    saved = client.post(
        "/edit/kpi/defects", data={**form_values(back.text, "save-form"), "op": "save"}
    )
    assert saved.status_code == 303


def test_a_waiting_change_to_an_item_changed_since_cannot_be_approved_over_it(
    client: TestClient, store: Store
) -> None:
    log_in(client, "admin")
    setting = form_values(client.get("/admin/users").text, "approval-form")
    client.post("/admin/approval", data={**setting, "require_approval": "on"})
    try:
        log_in(client, "editor")
        preview = _preview(client, "/edit/kpi/defects", **{"target.value": "4"})
        sent = client.post(
            "/edit/kpi/defects", data={**form_values(preview.text, "save-form"), "op": "save"}
        )
        waiting = sent.headers["location"]
        # Meanwhile an admin sets another target and owner directly.
        log_in(client, "admin")
        preview = _preview(client, "/edit/kpi/defects", **{"target.value": "3", "owner": "ceo"})
        saved = client.post(
            "/edit/kpi/defects", data={**form_values(preview.text, "save-form"), "op": "save"}
        )
        assert saved.status_code == 303, saved.text
        history = definition_history(store, "defects")
        page = client.get(waiting).text
        said = "KPI defects changed by admin on "
        assert said in page and "approving it would undo that" in page
        assert 'id="approve-form"' not in page and 'id="reject-form"' in page
        token = form_values(page, "reject-form")["csrf_token"]
        refused = client.post(waiting + "/approve", data={"csrf_token": token})
        assert refused.status_code == 409 and said in refused.text
        block = _kpi_block(export_strategy(store), "defects")
        assert "owner: ceo" in block and "value: 3" in block
        assert definition_history(store, "defects") == history
        rejected = client.post(
            waiting + "/reject", data={"csrf_token": token, "reason": "ask again"}
        )
        assert rejected.status_code == 303
        preview = _preview(client, "/edit/kpi/defects", **{"target.value": "5", "owner": "bob"})
        client.post(
            "/edit/kpi/defects", data={**form_values(preview.text, "save-form"), "op": "save"}
        )
    finally:
        log_in(client, "admin")
        setting = form_values(client.get("/admin/users").text, "approval-form")
        client.post(
            "/admin/approval", data={k: v for k, v in setting.items() if k != "require_approval"}
        )


def test_a_finding_on_an_item_changed_in_the_browser_names_no_file_the_others_theirs(
    client: TestClient, store: Store, api_as: Any
) -> None:
    import datetime as dt

    log_in(client, "editor")
    # Revenue supports nothing (AL01 on it) once the change is saved, whatever came before.
    answer = _preview(client, "/edit/kpi/revenue", name="Revenue renamed here", supports="")
    saved = client.post(
        "/edit/kpi/revenue", data={**form_values(answer.text, "save-form"), "op": "save"}
    )
    assert saved.status_code == 303, saved.text
    today = dt.datetime.now(dt.UTC).date()
    changed = f"changed in the web app by editor on {today}"
    page = client.get("/alignment").text
    row = next(r for r in page.split("<tr") if "/kpis/revenue" in r and "AL01" in r)
    assert changed in row and "strategy.yaml" not in row
    assert "the web app (" not in page
    answer = api_as("admin").get("/checks")
    assert answer.status_code == 200, answer.text
    where = [(f["subject"]["id"], f["location"]) for f in answer.json()["findings"]]
    assert ("revenue", {"file": None, "line": None}) in where
    assert all(w == {"file": None, "line": None} for item, w in where if item == "revenue")
    files = [w for _, w in where if w["file"] is not None]
    assert files and all(w["file"] == "strategy.yaml" and w["line"] > 0 for w in files)
