"""Whoever may decide a waiting strategy change is told on the home page and on /checkin,
an admin without a person as much as a unit's lead; whoever made it, or may not decide it,
is not. On SQLite and PostgreSQL, through the in-process client."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from lineofsight.services import edit_approval
from lineofsight.services.accounts import require_user
from lineofsight.store.database import Store
from tests.web.conftest import log_in
from tests.web.formparse import form_values

NOTICE = r'id="{0}"><a href="/edit">1 strategy change waits for your approval</a>'


def test_a_waiting_change_is_said_to_whoever_may_decide_it(
    client: TestClient, web_url: str
) -> None:
    store = Store(web_url)
    assert edit_approval.set_require_approval(store, True, actor="admin")
    try:
        log_in(client, "editor")
        form = form_values(client.get("/edit/kpi/conversion").text, "edit-form")
        preview = client.post(
            "/edit/kpi/conversion", data={**form, "unit_of_measure": "percent", "op": "preview"}
        )
        sent = client.post(
            "/edit/kpi/conversion", data={**form_values(preview.text, "save-form"), "op": "save"}
        )
        assert sent.status_code == 303, sent.text
        assert 'id="home-approvals"' not in client.get("/").text, "not who made it"
        # The admin has no person; Alice leads Sales, where the change is; Bob leads Ops.
        for username in ("admin", "alice"):
            log_in(client, username)
            assert re.search(NOTICE.format("home-approvals"), client.get("/").text), username
            assert re.search(NOTICE.format("checkin-approvals"), client.get("/checkin").text)
        log_in(client, "bob")
        assert 'id="home-approvals"' not in client.get("/").text
        change_id = int(sent.headers["location"].rsplit("/", 1)[1])
        admin = require_user(store, "admin")
        edit_approval.reject_change(store, change_id, approver=admin, reason="not now")
        log_in(client, "admin")
        assert 'id="home-approvals"' not in client.get("/").text, "decided: no longer waiting"
    finally:
        edit_approval.set_require_approval(store, False, actor="admin")
        store.close()
