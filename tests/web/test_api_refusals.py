"""Requests the API refuses before anything is stored, with the answer a user can act on."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.web.conftest import STRATEGY
from tests.web.test_api import assert_error


def test_a_strategy_whose_checks_name_an_unknown_rule_is_refused_and_not_stored(
    client: TestClient, tokens: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/yaml"}
    bad = STRATEGY + "checks:\n  ignore: [ZZ99]\n"
    for dry_run in ("true", "false"):
        answer = client.put(f"/api/v1/strategy?dry_run={dry_run}", content=bad, headers=headers)
        error = assert_error(answer, 422)
        assert "bad check settings" in error["message"] and "ZZ99" in error["message"]
    # The store's own settings are still good: its checks answer.
    assert client.get("/api/v1/checks", headers=headers).status_code == 200


def test_a_review_for_a_store_with_no_strategy_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'los.db'}"
    store = Store(url)
    try:
        accounts.add_user(store, "admin", "correct horse battery", (Grant("admin"),), actor="t")
    finally:
        store.close()
    app = create_app(url, secret_key="test secret")
    try:
        token = accounts.create_token(app.state.store, "admin", actor="t")
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:
            body = {"unit": "acme", "period": "2026-02"}
            assert_error(
                client.post("/api/v1/reviews", json=body, headers=headers), 404, "no_strategy"
            )
    finally:
        app.state.store.close()
