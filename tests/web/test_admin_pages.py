"""The admin page (users, roles, API tokens), a person's own password and the audit log as a
page, through the in-process client on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.services.audit import read_audit
from lineofsight.store.database import Store
from tests.web.conftest import PASSWORD, log_in
from tests.web.formparse import form_values


def test_only_admins_reach_the_users_page_and_a_unit_admin_sees_their_units(
    client: TestClient,
) -> None:
    for name in ("viewer", "editor", "alice"):
        log_in(client, name)
        assert client.get("/admin/users").status_code == 403
        assert client.get("/admin/audit").status_code == 403
        assert 'href="/admin/users"' not in client.get("/").text
    log_in(client, "sales_admin")
    page = client.get("/admin/users").text
    assert 'id="user-sales_editor"' in page and 'id="user-alice"' in page
    assert 'id="user-admin"' not in page and 'id="user-bob"' not in page
    assert 'id="approval-form"' not in page, "the setting is the whole organisation's"
    assert 'href="/admin/audit"' not in page, "no link that answers 403"
    assert client.get("/admin/audit").status_code == 403
    token = form_values(page, "add-user")["csrf_token"]
    assert client.post("/admin/users/bob/password", data={"csrf_token": token,
                       "password": "x" * 12}).status_code == 403  # fmt: skip


def test_adding_a_user_shows_every_problem_then_adds_them(client: TestClient, web_url: str) -> None:
    log_in(client, "admin")
    form = form_values(client.get("/admin/users").text, "add-user")
    bad = {**form, "username": "-bad name", "password": "short", "roles": "boss, owner:mars",
           "person": ""}  # fmt: skip
    answer = client.post("/admin/users", data=bad)
    assert answer.status_code == 422
    # Every problem of the submission at once, each at its field.
    errors = dict(re.findall(r'id="new-([a-z]+)-error">([^<]*)', answer.text))
    assert set(errors) == {"username", "password", "roles", "person"}
    assert "unknown role &#39;boss&#39;" in errors["roles"]
    assert "unknown unit &#39;mars&#39;" in errors["roles"]
    assert "an owner must be linked to a person" in errors["person"]
    assert "--" not in answer.text[answer.text.index('id="add-errors"') :].split("</div>")[0]
    assert 'value="-bad name"' in answer.text and 'value="short"' not in answer.text
    good = {**form, "username": "carol", "name": "Carol", "password": "long enough pw",
            "roles": "viewer:ops, editor:sales_east", "person": ""}  # fmt: skip
    done = client.post("/admin/users", data=good)
    assert done.status_code == 303
    assert "Added user carol." in client.get(done.headers["location"]).text
    store = Store(web_url)
    try:
        carol = accounts.find_user(store, "carol")
        assert carol is not None
        assert [str(g) for g in carol.grants] == ["viewer:ops", "editor:sales_east"]
        assert read_audit(store, subject="user:carol", limit=1)[0].action == "user.add"
    finally:
        store.close()


def test_roles_tokens_and_a_reset_password(client: TestClient, web_url: str) -> None:
    log_in(client, "admin")
    page = client.get("/admin/users").text
    token = form_values(page, "add-user")["csrf_token"]
    made = client.post("/admin/users/bob/tokens", data={"csrf_token": token, "label": "ci"})
    assert made.status_code == 201
    secret = re.search(r'id="new-token">(los_[A-Za-z0-9_-]+)<', made.text)
    assert secret, made.text
    assert made.headers["cache-control"] == "no-store"
    api = client.get("/api/v1/kpis/defects", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert api.status_code == 200
    assert secret.group(1) not in client.get("/admin/users").text, "shown once"
    token_id = re.search(r'action="/admin/tokens/(\d+)/revoke"', client.get("/admin/users").text)
    assert token_id
    revoked = client.post(f"/admin/tokens/{token_id.group(1)}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    api = client.get("/api/v1/kpis/defects", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert api.status_code == 401
    # Roles: a bad one is named, nothing changes; a good one is kept.
    answer = client.post(
        "/admin/users/sales_viewer/roles",
        data={"csrf_token": token, "roles": "viewer:nowhere", "person": ""},
    )
    assert answer.status_code == 422 and "unknown unit &#39;nowhere&#39;" in answer.text
    answer = client.post(
        "/admin/users/sales_viewer/roles",
        data={"csrf_token": token, "roles": "viewer:sales_east", "person": ""},
    )
    assert answer.status_code == 303
    store = Store(web_url)
    try:
        user = accounts.find_user(store, "sales_viewer")
        assert user is not None and [str(g) for g in user.grants] == ["viewer:sales_east"]
    finally:
        store.close()
    short = client.post("/admin/users/bob/password", data={"csrf_token": token, "password": "x"})
    assert short.status_code == 422 and "shorter than 8" in short.text
    assert client.post("/admin/users/admin/remove", data={"csrf_token": token}).status_code == 409


def test_a_person_changes_their_own_password(client: TestClient) -> None:
    log_in(client, "bob")
    page = client.get("/account/password").text
    form = form_values(page, "password-form")
    wrong = client.post(
        "/account/password", data={**form, "current": "nope", "new": "short", "repeat": "other"}
    )
    assert wrong.status_code == 422
    for field in ("current", "new", "repeat"):
        assert f'id="pw-{field}-error"' in wrong.text, field
    new_password = "a much better password"
    done = client.post(
        "/account/password",
        data={**form, "current": PASSWORD, "new": new_password, "repeat": new_password},
    )
    assert done.status_code == 303
    assert 'id="password-changed"' in client.get(done.headers["location"]).text, "still in"
    fresh = TestClient(client.app, follow_redirects=False)
    assert log_in(fresh, "bob").status_code == 401, "the old password no longer works"
    assert log_in(fresh, "bob", new_password).status_code == 303


def test_the_audit_log_is_paged_and_filtered(client: TestClient, web_url: str) -> None:
    store = Store(web_url)
    try:
        for number in range(55):
            accounts.create_token(store, "viewer", actor="auditor", label=f"t{number}")
    finally:
        store.close()
    log_in(client, "admin")
    first = client.get("/admin/audit?actor=auditor").text
    assert first.count("<td>auditor</td>") == 50
    older = re.search(r'href="(/admin/audit\?[^"]+)" rel="next"', first)
    assert older, "a next page"
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert second.count("<td>auditor</td>") == 5 and 'rel="prev"' in second
    assert 'rel="next"' not in second
    users = client.get("/admin/audit?action=user").text
    assert "<td>user.add</td>" in users and "<td>token.add</td>" not in users
    empty = client.get("/admin/audit?q=no-such-subject").text
    assert "No entry matches these filters." in empty
    assert client.get("/admin/audit?page=-3").status_code == 200


def test_every_form_needs_its_csrf_token(client: TestClient) -> None:
    log_in(client, "admin")
    for path, data in (
        ("/admin/users", {"username": "mallory", "password": "long enough pw", "roles": "admin"}),
        ("/admin/users/viewer/password", {"password": "long enough pw"}),
        ("/admin/users/viewer/remove", {}),
        ("/admin/users/viewer/tokens", {"label": "x"}),
        ("/admin/approval", {"require_approval": "on"}),
        ("/account/password", {"current": PASSWORD, "new": "long enough pw", "repeat": "x"}),
        ("/edit/kpi/revenue", {"name": "Forged", "op": "save"}),
        ("/edit/pending/1/approve", {}),
        ("/checkin", {"value_0": "1"}),
    ):
        assert client.post(path, data=data).status_code == 403, path
    assert client.get("/admin/users").status_code == 200
    assert 'id="user-viewer"' in client.get("/admin/users").text, "nothing was removed"


def test_the_edit_box_with_nothing_in_it_goes_back_to_the_index(client: TestClient) -> None:
    log_in(client, "editor")
    assert client.get("/edit/go").headers["location"] == "/edit"
    assert client.get("/edit/go?kind=kpi&id=revenue").headers["location"] == "/edit/kpi/revenue"
    assert client.get("/edit/go?kind=planet&id=x").status_code == 404


def test_odd_input_on_the_users_page_is_a_message_never_a_server_error(
    client: TestClient,
) -> None:
    log_in(client, "admin")
    token = form_values(client.get("/admin/users").text, "add-user")["csrf_token"]
    odd = ["admin:", ":sales", "viewer,,", "owner:sales", "x" * 500, "viewer:acme:extra", "-"]
    for roles in odd:
        for path in ("/admin/users", "/admin/users/sales_viewer/roles"):
            data = {"csrf_token": token, "username": roles, "password": roles, "roles": roles,
                    "person": roles}  # fmt: skip
            answer = client.post(path, data=data)
            assert answer.status_code in (403, 422), (path, roles, answer.status_code)
            assert 'class="error"' in answer.text, (path, roles)
    assert client.post("/admin/users/nobody/remove", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/tokens/999999/revoke", data={"csrf_token": token}).status_code == 404
    assert client.get("/admin/audit?page=many").status_code == 422
