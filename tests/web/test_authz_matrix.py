"""Every role against every write endpoint of the API: allowed or denied, as the table says.

Roles (see tests/web/conftest.py): admin (whole organisation), sales_admin (admin of sales),
editor, sales_editor, alice (owner in sales, owns revenue), bob (owner in ops, owns
defects), viewer, sales_viewer, and anonymous (None). A denied write changes nothing: the
audit log has no new row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.services.audit import read_audit
from tests.web.conftest import PASSWORD, STRATEGY

ROLES = [
    "admin", "sales_admin", "editor", "sales_editor", "alice", "bob", "viewer", "sales_viewer",
    None,
]  # fmt: skip
_counter = itertools.count()


def _victim(store: Any, unit: str) -> str:
    """A fresh user (a viewer of `unit`) for the user and token endpoints to act on."""
    name = f"victim{next(_counter)}"
    accounts.add_user(store, name, PASSWORD, [Grant("viewer", unit)], actor="tests")
    return name


def _measurement(kpi: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        value = float(next(_counter))
        return api.request("POST", "/measurements",
                           json={"kpi": kpi, "period": "2026-05", "value": value})  # fmt: skip

    return call


def _upload(kpi: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        body = f"kpi,period,value\n{kpi},2026-06,{next(_counter)}\n".encode()
        return api.request("POST", "/measurements/upload",
                           files={"file": ("data.csv", body, "text/csv")})  # fmt: skip

    return call


def _strategy(api: Any, store: Any) -> Any:
    text = STRATEGY.replace("Sell good things.", f"Sell good things ({next(_counter)}).")
    # `force`: the matrix's other calls change the strategy in the app between these.
    return api.request("PUT", "/strategy", content=text, params={"force": "true"},
                       headers={"Content-Type": "application/yaml"})  # fmt: skip


def _add_user(unit: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        return api.request("POST", "/users", json={
            "username": f"new{next(_counter)}", "password": PASSWORD, "roles": [f"viewer:{unit}"]
        })  # fmt: skip

    return call


def _remove_user(unit: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        return api.request("DELETE", f"/users/{_victim(store, unit)}")

    return call


def _make_token(unit: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        return api.request("POST", f"/users/{_victim(store, unit)}/tokens", json={})

    return call


def _revoke_token(unit: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        victim = _victim(store, unit)
        accounts.create_token(store, victim, actor="tests")
        token_id = accounts.list_tokens(store, victim)[-1].id
        return api.request("DELETE", f"/tokens/{token_id}")

    return call


def _refresh(api: Any, store: Any) -> Any:
    # The source feeds no KPI: the refresh reads nothing, and is still started and audited.
    return api.request("POST", "/sources/warehouse/refresh?wait=true")


def _review(api: Any, store: Any) -> Any:
    body = {"unit": "sales", "period": "2026-02", "decisions": ["Hire two sellers"]}
    return api.request("POST", "/reviews", json=body)


def _new_action(store: Any, kpi: str, owner: str | None = None) -> int:
    """A fresh action on the KPI (with a milestone), made by the tests, for a call to change."""
    from lineofsight.domain.actions import Milestone
    from lineofsight.services.actions import create_action

    made = create_action(
        store,
        "tests",
        subject_type="kpi",
        subject_id=kpi,
        title="Set up",
        owner=owner,
        milestones=[Milestone("First", None, False)],
    )
    return made.id


def _add_action(kpi: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        body = {"subject": {"kind": "kpi", "id": kpi}, "title": f"Act {next(_counter)}"}
        return api.request("POST", "/actions", json=body)

    return call


def _change_action(kpi: str, owner: str | None = None) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        number = _new_action(store, kpi, owner)
        return api.request("PATCH", f"/actions/{number}", json={"status": "done"})

    return call


def _add_milestone(kpi: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        number = _new_action(store, kpi)
        return api.request("POST", f"/actions/{number}/milestones", json={"title": "Next"})

    return call


def _tick_milestone(kpi: str, owner: str | None = None) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        number = _new_action(store, kpi, owner)
        return api.request("PATCH", f"/actions/{number}/milestones/1", json={"done": True})

    return call


def _failed_message(store: Any) -> int:
    """A message of the outbox whose sending failed: its number."""
    import datetime as dt

    from lineofsight.store import notifications as stored

    key = f"turned_red|victim|kpi:revenue|2026-{next(_counter)}"
    at = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
    row = {
        "key": key, "kind": "turned_red", "channel": "email", "recipient": "victim",
        "address": "victim@example.com", "item": "kpi:revenue", "period": "2026-10",
        "subject": "Revenue turned red", "reason": "you own it", "payload": "{}",
        "state": "failed", "attempts": 3, "created_at": at, "next_attempt_at": at,
        "last_error": "refused",
    }  # fmt: skip
    with store.transaction() as conn:
        stored.insert_new(conn, [row])
    with store.reading() as conn:
        return next(r.id for r in stored.read_outbox(conn) if r.key == key)


def _resend(api: Any, store: Any) -> Any:
    return api.request("POST", f"/notifications/{_failed_message(store)}/resend")


def _comment(path: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, store: Any) -> Any:
        body = {"analysis": f"Why {next(_counter)}", "recommendation": "Next"}
        return api.request("PUT", path + "/commentary/2026-03", json=body)

    return call


A, D = True, False
# Columns: admin, sales_admin, editor, sales_editor, alice, bob, viewer, sales_viewer
# (anonymous is always denied, with 401).
MATRIX: dict[str, tuple[Callable[[Any, Any], Any], tuple[bool, ...]]] = {
    "POST measurements, revenue (alice's)": (_measurement("revenue"), (A, A, D, D, A, D, D, D)),
    "POST measurements, defects (bob's)": (_measurement("defects"), (A, D, D, D, D, A, D, D)),
    "POST measurements/upload, sales rows": (_upload("revenue"), (A, A, D, D, D, D, D, D)),
    "POST measurements/upload, ops rows": (_upload("defects"), (A, D, D, D, D, D, D, D)),
    "PUT strategy": (_strategy, (A, D, A, D, D, D, D, D)),
    "POST users, a viewer of sales": (_add_user("sales"), (A, A, D, D, D, D, D, D)),
    "POST users, a viewer of ops": (_add_user("ops"), (A, D, D, D, D, D, D, D)),
    "DELETE users, a viewer of sales": (_remove_user("sales"), (A, A, D, D, D, D, D, D)),
    "DELETE users, a viewer of ops": (_remove_user("ops"), (A, D, D, D, D, D, D, D)),
    "POST tokens for a viewer of sales": (_make_token("sales"), (A, A, D, D, D, D, D, D)),
    "DELETE tokens of a viewer of sales": (_revoke_token("sales"), (A, A, D, D, D, D, D, D)),
    "DELETE tokens of a viewer of ops": (_revoke_token("ops"), (A, D, D, D, D, D, D, D)),
    "POST sources/warehouse/refresh": (_refresh, (A, D, A, D, D, D, D, D)),
    "POST reviews of sales": (_review, (A, A, A, A, D, D, D, D)),
    "POST notifications/resend": (_resend, (A, D, D, D, D, D, D, D)),
    "POST actions, on revenue (alice's)": (_add_action("revenue"), (A, A, A, A, A, D, D, D)),
    "POST actions, on defects (bob's)": (_add_action("defects"), (A, D, A, D, D, A, D, D)),
    "PATCH actions, on revenue": (_change_action("revenue"), (A, A, A, A, A, D, D, D)),
    "PATCH actions, bob's on defects": (_change_action("defects", "bob"), (A, D, A, D, D, A, D, D)),
    "POST actions/milestones, revenue": (_add_milestone("revenue"), (A, A, A, A, A, D, D, D)),
    "PATCH actions/milestones, defects": (_tick_milestone("defects"), (A, D, A, D, D, A, D, D)),
    "PUT kpis/revenue/commentary": (_comment("/kpis/revenue"), (A, A, A, A, A, D, D, D)),
    "PUT objectives/grow/commentary": (_comment("/objectives/grow"), (A, D, A, D, D, D, D, D)),
    "PUT objectives/sell_more/commentary": (
        _comment("/objectives/sell_more"), (A, A, A, A, A, D, D, D)
    ),
}  # fmt: skip
# A unit, KPI or objective the role may not even read is answered as one that does not exist
# (as a page of it is), so that a scoped account cannot tell which ids exist by writing to
# them: 404 for one named in the path, 422 naming the field for one named in the body.
OPS_OUTSIDE = ("sales_admin", "sales_editor", "alice", "sales_viewer")  # read sales only
HIDDEN = {
    ("POST reviews of sales", "bob"): 404,
    ("POST actions, on revenue (alice's)", "bob"): 422,
    ("POST measurements, revenue (alice's)", "bob"): 422,
    ("PUT kpis/revenue/commentary", "bob"): 404,
    ("PUT objectives/sell_more/commentary", "bob"): 404,
    ("PUT objectives/grow/commentary", "bob"): 404,
    **{("POST actions, on defects (bob's)", role): 422 for role in OPS_OUTSIDE},
    **{("POST measurements, defects (bob's)", role): 422 for role in OPS_OUTSIDE},
    **{("PUT objectives/grow/commentary", role): 404 for role in OPS_OUTSIDE},
    # An action on an item the account may not read is answered as one that does not exist.
    ("PATCH actions, on revenue", "bob"): 404,
    ("POST actions/milestones, revenue", "bob"): 404,
    **{("PATCH actions, bob's on defects", role): 404 for role in OPS_OUTSIDE},
    **{("PATCH actions/milestones, defects", role): 404 for role in OPS_OUTSIDE},
    # A user outside a unit admin's units is not found: asking cannot tell who exists there.
    ("DELETE users, a viewer of ops", "sales_admin"): 404,
}

CASES = [
    pytest.param(endpoint, role, allowed, id=f"{endpoint} as {role or 'anonymous'}")
    for endpoint, (_, expected) in MATRIX.items()
    for role, allowed in zip(ROLES, (*expected, False), strict=True)
]


@pytest.mark.parametrize(("endpoint", "role", "allowed"), CASES)
def test_role_against_write_endpoint(
    api_as, web_app, endpoint: str, role: str | None, allowed: bool
) -> None:  # type: ignore[no-untyped-def]
    store = web_app.state.store
    call, _ = MATRIX[endpoint]
    audited = len(read_audit(store, limit=100_000))
    response = call(api_as(role), store)
    if allowed:
        assert response.status_code in (200, 201), response.text
        assert len(read_audit(store, limit=100_000)) > audited
        return
    expected = 401 if role is None else HIDDEN.get((endpoint, role), 403)
    assert response.status_code == expected, response.text
    assert response.json()["error"]["status"] == expected
    if expected == 422:
        assert "unknown" in response.json()["error"]["message"], response.text
    # Setting up a case (a victim user, a token) writes audit rows of its own; the caller
    # must have written none.
    entries = read_audit(store, limit=100_000)
    new = entries[: len(entries) - audited]
    assert [e for e in new if e.actor == role] == []


def test_the_matrix_covers_every_write_endpoint(web_app) -> None:  # type: ignore[no-untyped-def]
    paths = web_app.openapi()["paths"]
    writes = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in paths.items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }
    covered = {
        ("POST", "/measurements"), ("POST", "/measurements/upload"), ("PUT", "/strategy"),
        ("POST", "/users"), ("DELETE", "/users/{username}"),
        ("POST", "/users/{username}/tokens"), ("DELETE", "/tokens/{token_id}"),
        ("POST", "/sources/{name}/refresh"), ("POST", "/reviews"),
        ("POST", "/notifications/{message_id}/resend"),
        ("POST", "/sources/{name}/refresh"),
        ("POST", "/actions"), ("PATCH", "/actions/{action_id}"),
        ("POST", "/actions/{action_id}/milestones"),
        ("PATCH", "/actions/{action_id}/milestones/{number}"),
        ("PUT", "/kpis/{item_id}/commentary/{period}"),
        ("PUT", "/objectives/{item_id}/commentary/{period}"),
    }  # fmt: skip
    assert writes == covered
