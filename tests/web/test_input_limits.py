"""The API refuses input that no team means to send: a strategy file that expands without
bound or is too large, dates outside the supported calendar, values beyond the limits."""

from __future__ import annotations

import pytest

from lineofsight.web import body_limit
from tests.spec.test_read_budget import alias_bomb
from tests.web.conftest import STRATEGY
from tests.web.test_api import assert_error

YAML = {"Content-Type": "application/yaml"}


def test_an_alias_bomb_sent_as_the_strategy_is_a_422(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("editor")
    answer = api.request(
        "PUT", "/strategy", params={"dry_run": True}, content=alias_bomb(), headers=YAML
    )
    error = assert_error(answer, 422, "invalid")
    assert len(error["details"]) == 1
    assert "expands to more than" in error["details"][0]["reason"]
    assert error["details"][0]["file"] == "strategy.yaml"
    # The server is still up and the strategy unchanged.
    assert api.get("/kpis/revenue").status_code == 200


def test_a_strategy_body_over_the_cap_is_a_413(api_as, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(body_limit, "MAX_STRATEGY_BYTES", 1000)
    api = api_as("editor")
    big = STRATEGY + "#" * 2000 + "\n"
    error = assert_error(api.request("PUT", "/strategy", content=big, headers=YAML), 413)
    assert "larger than 1,000 bytes" in error["message"]

    def chunks():  # type: ignore[no-untyped-def]
        yield STRATEGY.encode()
        yield b"#" * 2000 + b"\n"

    # Without Content-Length (chunked), the body is cut off as soon as it passes the cap.
    assert_error(api.request("PUT", "/strategy", content=chunks(), headers=YAML), 413)
    # Under the cap, the body reaches the handler as it was sent.
    monkeypatch.setattr(body_limit, "MAX_STRATEGY_BYTES", 1 << 20)
    dry = api.request("PUT", "/strategy", params={"dry_run": True}, content=big, headers=YAML)
    assert dry.status_code == 200, dry.text
