"""The objective page, and actions and commentary in the browser: the panels on the KPI,
objective, unit, person and check-in pages, their forms, errors and permissions."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.web.pages_actions import FETCH_HEADER
from tests.web.conftest import CSRF, PASSWORD, log_in


@pytest.fixture
def as_user(web_app: object) -> Iterator[object]:
    """`as_user("alice")`: a browser logged in as that user."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(web_app, follow_redirects=False)  # type: ignore[arg-type]
        client.__enter__()
        clients.append(client)
        assert log_in(client, username).status_code == 303
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _token(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def _action_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-action="(\d+)"', html)]


def test_the_objective_page_shows_score_items_worst_and_kpis(as_user) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    page = admin.get("/objectives/sell_more", params={"period": "2026-03"})
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>Sell more" in html
    score = re.search(r'id="objective-score">([^<]*)<', html)
    assert score and score.group(1).strip() not in ("", "–")
    assert 'id="objective-counts"' in html and "red" in html
    worst = re.search(r'id="objective-worst">(.*?)</td>', html, re.S)
    assert worst and "/kpis/" in worst.group(1)
    for kpi in ("revenue", "conversion", "xss"):
        assert f'data-kpi="{kpi}"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'id="commentary"' in html and 'id="actions"' in html
    # Links keep the chosen period; the parent objective's page is linked.
    assert 'href="/kpis/revenue?period=2026-03"' in html
    assert 'href="/objectives/grow?period=2026-03"' in html
    assert admin.get("/objectives/nope").status_code == 404
    # The KPI and unit pages link to the objective page.
    assert 'href="/objectives/sell_more' in admin.get("/kpis/revenue").text


def test_scoped_roles_see_only_their_objectives(as_user) -> None:  # type: ignore[no-untyped-def]
    viewer = as_user("sales_viewer")
    assert viewer.get("/objectives/grow").status_code == 404  # as one that does not exist
    page = viewer.get("/objectives/sell_more")
    assert page.status_code == 200
    assert "Add an action" not in page.text and "Write the commentary" not in page.text
    # Its parent lies outside the viewer's units: no link that would answer 403.
    assert 'href="/objectives/grow' not in page.text


def test_an_owner_adds_changes_and_closes_an_action_in_the_browser(as_user) -> None:  # type: ignore[no-untyped-def]
    alice = as_user("alice")
    page = alice.get("/kpis/revenue", params={"period": "2026-03"})
    assert "Add an action" in page.text
    before = set(_action_ids(page.text))
    added = alice.post(
        "/actions?period=2026-03",
        data={
            "csrf_token": _token(page.text),
            "subject_type": "kpi",
            "subject_id": "revenue",
            "title": "Call the ten largest customers",
            "owner": "alice",
            "due": "2026-05-31",
            "milestones": "2026-04-15 List them\nx Book the calls",
            "back": "/kpis/revenue",
        },
    )
    assert added.status_code == 303, added.text
    location = added.headers["location"]
    assert location.startswith("/kpis/revenue?period=2026-03#action-")
    number = int(location.rsplit("-", 1)[1])
    page = alice.get("/kpis/revenue", params={"period": "2026-03"}).text
    assert set(_action_ids(page)) == before | {number}
    assert "Call the ten largest customers" in page and "List them" in page
    # Shown on the unit and the person pages too.
    assert f'data-action="{number}"' in alice.get("/units/sales").text
    assert f'data-action="{number}"' in alice.get("/people/alice").text

    edit = alice.get(f"/actions/{number}/edit", params={"back": "/kpis/revenue"})
    assert edit.status_code == 200 and "2026-04-15 List them" in edit.text
    assert "x Book the calls" in edit.text
    changed = alice.post(
        f"/actions/{number}",
        data={
            "csrf_token": _token(edit.text),
            "title": "Call the twelve largest customers",
            "owner": "alice",
            "due": "2026-06-30",
            "status": "open",
            "milestones": "x 2026-04-15 List them",
            "back": "/kpis/revenue",
        },
    )
    assert changed.status_code == 303
    done = alice.post(
        f"/actions/{number}/status",
        data={"csrf_token": _token(edit.text), "status": "done", "back": "/units/sales"},
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/units/sales")
    shown = alice.get("/kpis/revenue").text
    item = re.search(rf'<li id="action-{number}".*?</li>', shown, re.S)
    assert item and 'data-status="done"' in item.group(0)
    assert "Call the twelve largest customers" in shown and "due 2026-06-30" in shown


def test_a_bad_action_form_lists_every_problem_and_stores_nothing(as_user) -> None:  # type: ignore[no-untyped-def]
    editor = as_user("sales_editor")
    page = editor.get("/objectives/sell_more")
    before = _action_ids(editor.get("/units/sales").text)
    answer = editor.post(
        "/actions",
        data={
            "csrf_token": _token(page.text),
            "subject_type": "objective",
            "subject_id": "sell_more",
            "title": "  ",
            "owner": "alicee",
            "due": "2026-02-30",
            "milestones": "2026-13-01 Wrong",
            "back": "/objectives/sell_more",
        },
    )
    assert answer.status_code == 422
    assert "4 problems: nothing was saved" in answer.text
    assert "2026-02-30" in answer.text  # the form keeps what was typed
    assert 'id="action-due-error"' in answer.text and 'id="action-milestones-error"' in answer.text
    # The dates the form cannot read and the service's problems are told at once.
    assert "title: is required" in answer.text
    assert "unknown person &#39;alicee&#39; (did you mean &#39;alice&#39;?)" in answer.text
    assert _action_ids(editor.get("/units/sales").text) == before
    # A change of an action is checked the same way.
    made = editor.post(
        "/actions",
        data={
            "csrf_token": _token(page.text),
            "subject_type": "objective",
            "subject_id": "sell_more",
            "title": "Call every lead",
            "back": "/objectives/sell_more",
        },
    )
    assert made.status_code == 303, made.text
    number = made.headers["location"].rsplit("#action-", 1)[1]
    changed = editor.post(
        f"/actions/{number}",
        data={
            "csrf_token": _token(page.text),
            "title": "",
            "owner": "alicee",
            "due": "2026-02-30",
            "back": "/objectives/sell_more",
        },
    )
    assert changed.status_code == 422
    assert "3 problems: nothing was saved" in changed.text
    assert "did you mean &#39;alice&#39;?" in changed.text


def test_viewers_cannot_write_and_forms_need_the_csrf_token(as_user) -> None:  # type: ignore[no-untyped-def]
    viewer = as_user("viewer")
    page = viewer.get("/kpis/revenue")
    assert "Add an action" not in page.text and "Write the commentary" not in page.text
    token = _token(page.text)
    refused = viewer.post(
        "/actions",
        data={"csrf_token": token, "subject_type": "kpi", "subject_id": "revenue", "title": "x"},
    )
    assert refused.status_code == 403
    comment = viewer.post(
        "/commentary",
        data={"csrf_token": token, "subject_type": "kpi", "subject_id": "revenue",
              "period": "2026-03", "analysis": "x"},
    )  # fmt: skip
    assert comment.status_code == 403
    admin = as_user("admin")
    no_token = admin.post(
        "/actions", data={"subject_type": "kpi", "subject_id": "revenue", "title": "x"}
    )
    assert no_token.status_code == 403
    bob = as_user("bob")  # may not read sales at all
    assert bob.get("/objectives/sell_more").status_code == 404  # as one that does not exist
    hidden = bob.post(
        "/actions",
        data={"csrf_token": _token(bob.get("/units/ops").text), "subject_type": "kpi",
              "subject_id": "revenue", "title": "x"},
    )  # fmt: skip
    assert hidden.status_code == 404


def test_commentary_is_written_beside_the_kpi_and_the_checkin(as_user) -> None:  # type: ignore[no-untyped-def]
    alice = as_user("alice")
    checkin = alice.get("/kpis/revenue/checkin", params={"period": "2026-02"})
    assert checkin.status_code == 200
    assert 'id="commentary"' in checkin.text and "Commentary for 2026-02" in checkin.text
    token = _token(checkin.text)

    def write(analysis: str, recommendation: str, period: str = "2026-02") -> object:
        return alice.post(
            "/commentary",
            data={"csrf_token": token, "subject_type": "kpi", "subject_id": "revenue",
                  "period": period, "analysis": analysis, "recommendation": recommendation,
                  "back": "/kpis/revenue/checkin"},
        )  # fmt: skip

    first = write("January's <b>orders</b> slipped.", "Chase them.")
    assert first.status_code == 303  # type: ignore[attr-defined]
    assert first.headers["location"] == "/kpis/revenue/checkin#commentary"  # type: ignore[attr-defined]
    write("They came in February.", "Nothing to do.")
    page = alice.get("/kpis/revenue/checkin", params={"period": "2026-02"}).text
    assert "They came in February." in page and "Earlier versions (1)" in page
    assert "January&#39;s &lt;b&gt;orders&lt;/b&gt; slipped." in page
    bad = write(" ", " ", period="2026-13")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "nothing was saved" in bad.text and "month must be 01-12" in bad.text  # type: ignore[attr-defined]
    objective = alice.get("/objectives/sell_more", params={"period": "2026-03"}).text
    assert "Commentary for 2026-03" in objective and "Write the commentary" in objective
    # An objective's commentary is of a period that has begun, as the API says it.
    ahead = alice.post(
        "/commentary",
        data={"csrf_token": token, "subject_type": "objective", "subject_id": "sell_more",
              "period": "2031-05", "analysis": "Too early.", "back": "/objectives/sell_more"},
    )  # fmt: skip
    assert ahead.status_code == 422  # type: ignore[attr-defined]
    assert "nothing was saved" in ahead.text  # type: ignore[attr-defined]
    assert "2031-05 has not begun yet (it starts on 2031-05-01)" in ahead.text  # type: ignore[attr-defined]
    later = alice.get("/objectives/sell_more", params={"period": "2031-05"}).text
    assert "Too early." not in later


def test_a_form_goes_back_only_to_a_page_of_the_app(as_user) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    token = _token(admin.get("/kpis/revenue").text)
    for back in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        answer = admin.post(
            "/commentary",
            data={"csrf_token": token, "subject_type": "kpi", "subject_id": "revenue",
                  "period": "2026-01", "analysis": f"Back to {back}", "back": back},
        )  # fmt: skip
        assert answer.status_code == 303
        assert answer.headers["location"] == "/#commentary"
    made = admin.post(
        "/actions",
        data={"csrf_token": token, "subject_type": "kpi", "subject_id": "revenue",
              "title": "Look", "back": "/kpis/revenue"},
    )  # fmt: skip
    number = made.headers["location"].rsplit("-", 1)[1]
    page = admin.get(f"/actions/{number}/edit", params={"back": "//evil.example/x"})
    assert page.status_code == 200
    assert "evil.example" not in page.text and 'value="/kpis/revenue"' in page.text


def test_owner_suggestions_are_fetched_when_used_and_keep_to_the_readers_scope(as_user) -> None:  # type: ignore[no-untyped-def]
    alice = as_user("alice")
    page = alice.get("/kpis/revenue").text
    # The panel's owner field names where its suggestions are; the page carries none of them.
    datalist = re.search(r'<datalist id="new-kpi-people"([^>]*)>(.*?)</datalist>', page, re.S)
    assert datalist is not None, page
    assert datalist.group(1) == ' data-src="/suggestions/people"'
    assert datalist.group(2) == ""
    options = alice.get("/suggestions/people")
    assert options.status_code == 200
    assert options.headers["content-type"].startswith("text/html")
    assert '<option value="alice">Alice Seller</option>' in options.text
    assert 'value="bob"' not in options.text  # a person outside alice's units
    everyone = as_user("admin").get("/suggestions/people").text
    assert re.findall(r'<option value="(\w+)">', everyone) == ["ceo", "alice", "bob"]


def test_without_javascript_the_panel_links_to_a_form_page_with_the_suggestions(as_user) -> None:  # type: ignore[no-untyped-def]
    alice = as_user("alice")
    page = alice.get("/kpis/revenue", params={"period": "2026-03"}).text
    # The panel's list is fetched by a script; a browser without one is sent to a form page.
    link = re.search(r'<noscript><p><a href="([^"]*)"', page)
    assert link is not None, page
    href = link.group(1).replace("&amp;", "&")
    assert href.startswith("/actions/new?") and "period=2026-03" in href
    form = alice.get(href)
    assert form.status_code == 200, form.text
    assert '<option value="alice">Alice Seller</option>' in form.text
    assert 'value="bob"' not in form.text  # outside alice's units
    assert 'name="subject_id" value="revenue"' in form.text
    # The form posts, and goes back, with the chosen period.
    assert 'action="/actions?period=2026-03"' in form.text
    assert 'href="/kpis/revenue?period=2026-03"' in form.text
    # A reader who may not add an action there is refused; an unknown KPI is not found.
    assert as_user("viewer").get(href).status_code == 403
    missing = alice.get("/actions/new", params={"subject_type": "kpi", "subject_id": "nope"})
    assert missing.status_code == 404


def test_owner_suggestions_only_for_a_reader_who_may_add_an_action(as_user) -> None:  # type: ignore[no-untyped-def]
    # Viewers are shown no form to add an action, so they are not given its list of people.
    for viewer in ("viewer", "sales_viewer"):
        answer = as_user(viewer).get("/suggestions/people")
        assert answer.status_code == 403, viewer
        assert "<option" not in answer.text
    for writer in ("alice", "sales_editor", "editor"):
        answer = as_user(writer).get("/suggestions/people")
        assert answer.status_code == 200 and "<option" in answer.text, writer


def test_owner_suggestions_without_a_session(web_app, tokens) -> None:  # type: ignore[no-untyped-def]
    with TestClient(web_app, follow_redirects=False) as anonymous:  # type: ignore[arg-type]
        # The panel's script is told 401, with no page to put into the form's list...
        asked = anonymous.get("/suggestions/people", headers={FETCH_HEADER: "1"})
        assert asked.status_code == 401 and asked.content == b""
        # ...and, as RFC 9110 requires, how to authenticate: the API's challenge, which the
        # address accepts too (a browser shows no dialog for it).
        assert asked.headers["www-authenticate"] == "Bearer"
        token = {FETCH_HEADER: "1", "Authorization": f"Bearer {tokens['alice']}"}
        assert anonymous.get("/suggestions/people", headers=token).status_code == 200
        # ...a browser that goes to the address is sent to log in.
        went = anonymous.get("/suggestions/people")
        assert went.status_code == 303 and went.headers["location"].startswith("/login")


def test_the_script_sends_the_header_the_suggestions_answer_to() -> None:
    # static/layout.js is a static asset: the header's name is written there too, and must
    # be the one the address reads (else a script's request after the session has ended is
    # redirected to the login page, which the script refuses to follow, and never told 401).
    from lineofsight.web.assets import STATIC_DIR

    script = (STATIC_DIR / "layout.js").read_text(encoding="utf-8")
    assert re.findall(r'headers: \{ "([^"]+)": "1" \}', script) == [FETCH_HEADER]


def test_owner_suggestions_are_drawn_from_the_definitions_and_kept_across_a_checkin(
    as_user, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from lineofsight.services.scorecards import ScorecardCache
    from lineofsight.web import action_panels

    alice, admin = as_user("alice"), as_user("admin")
    first = alice.get("/suggestions/people").text
    assert '<option value="alice">' in first
    form = admin.get("/kpis/revenue/checkin").text
    saved = admin.post(
        "/kpis/revenue/checkin",
        data={"period": "2026-01", "value": "111", "csrf_token": _token(form)},
    )
    assert saved.status_code == 303, saved.text

    def no_scorecard(*args: object, **kwargs: object) -> None:
        raise AssertionError("the list of people is not read from a scorecard")

    # A check-in changes no person: the list is neither read from a scorecard nor drawn again
    # (drawn again now, it would hold no one).
    monkeypatch.setattr(ScorecardCache, "scorecard", no_scorecard)
    monkeypatch.setattr(action_panels, "MAX_SUGGESTED", 0)
    assert alice.get("/suggestions/people").text == first


def test_a_unit_page_shows_the_actions_of_the_units_below_it(as_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Revenue is owned by Sales, below Acme: it counts on the Acme page, and Acme's briefing
    # book lists its actions; the unit page shows them too, with the KPI's unit.
    admin = as_user("admin")
    page = admin.get("/kpis/revenue", params={"period": "2026-03"})
    added = admin.post(
        "/actions",
        data={
            "csrf_token": _token(page.text),
            "subject_type": "kpi",
            "subject_id": "revenue",
            "title": "Widen the pipeline",
            "owner": "alice",
            "due": "2026-06-30",
            "back": "/kpis/revenue",
        },
    )
    assert added.status_code == 303, added.text
    number = int(added.headers["location"].rsplit("-", 1)[1])
    shown = admin.get("/units/acme", params={"period": "2026-03"}).text
    row = re.search(rf'<tr data-action="{number}".*?</tr>', shown, re.S)
    assert row, shown[shown.find('id="actions"') :][:600]
    assert "Widen the pipeline" in row.group(0) and "(of Sales)" in row.group(0)
    # On its own unit's page it needs no "of".
    own = admin.get("/units/sales").text
    row = re.search(rf'<tr data-action="{number}".*?</tr>', own, re.S)
    assert row and "(of " not in row.group(0)
    # The top of a large organisation draws the first ones and counts the rest.
    from lineofsight.web import action_panels

    listed = len(re.findall(r'<tr data-action="', shown))
    monkeypatch.setattr(action_panels, "MAX_LISTED", listed - 1)
    cut = admin.get("/units/acme", params={"period": "2026-03"}).text
    assert len(re.findall(r'<tr data-action="', cut)) == listed - 1
    assert "And 1 more action on the units below: see their pages." in cut


def test_an_action_form_gives_it_only_to_a_person_of_the_units_one_may_add_actions_in(
    web_app, as_user
) -> None:  # type: ignore[no-untyped-def]
    # A sales editor who reads the whole organisation: the CEO is a person they see.
    store = web_app.state.store
    if accounts.find_user(store, "sales_editor_reading_all") is None:
        grants = (Grant("viewer"), Grant("editor", "sales"))
        accounts.add_user(store, "sales_editor_reading_all", PASSWORD, grants, actor="tests")
    for username, reason in (
        ("sales_editor", "unknown person &#39;ceo&#39;"),
        (
            "sales_editor_reading_all",
            "you may give an action only to yourself or to a person of the units you may add "
            "actions in, and &#39;ceo&#39; is of unit &#39;acme&#39;",
        ),
    ):
        editor = as_user(username)
        page = editor.get("/kpis/revenue")
        before = _action_ids(editor.get("/units/sales").text)
        form = {
            "csrf_token": _token(page.text),
            "subject_type": "kpi",
            "subject_id": "revenue",
            "title": "Ask the board",
            "owner": "ceo",
            "back": "/kpis/revenue",
        }
        answer = editor.post("/actions", data=form)
        assert answer.status_code == 422, answer.text
        assert reason in answer.text and 'id="action-owner-error"' in answer.text
        assert _action_ids(editor.get("/units/sales").text) == before
        # Given within sales, then passed on to the CEO in its edit form: refused alike.
        made = editor.post("/actions", data={**form, "owner": "alice"})
        assert made.status_code == 303, made.text
        number = made.headers["location"].rsplit("#action-", 1)[1]
        changed = editor.post(f"/actions/{number}", data={**form, "status": "open"})
        assert changed.status_code == 422 and reason in changed.text
        kept = re.search(
            rf'<li id="action-{number}".*?</li>', editor.get("/kpis/revenue").text, re.S
        )
        assert kept and "Alice Seller" in kept.group(0)
