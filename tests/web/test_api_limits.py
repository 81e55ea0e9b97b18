"""The API refuses input that no team means to send: a strategy file that expands without
bound or is too large, dates outside the supported calendar, values beyond the limits."""

from __future__ import annotations

import pytest

from tests.spec.test_read_budget import alias_bomb, text_bomb
from tests.web.conftest import STRATEGY
from tests.web.test_api import assert_error

YAML = {"Content-Type": "application/yaml"}


@pytest.mark.parametrize("bomb", [alias_bomb, text_bomb], ids=["nested", "long-text"])
def test_an_alias_bomb_sent_as_the_strategy_is_a_422(api_as, bomb) -> None:  # type: ignore[no-untyped-def]
    api = api_as("editor")
    answer = api.request("PUT", "/strategy", params={"dry_run": True}, content=bomb(), headers=YAML)
    assert len(answer.content) < 5000
    error = assert_error(answer, 422, "invalid")
    assert len(error["details"]) == 1
    assert "expands to more than" in error["details"][0]["reason"]
    assert error["details"][0]["file"] == "strategy.yaml"
    # The server is still up and the strategy unchanged.
    assert api.get("/kpis/revenue").status_code == 200


def test_a_strategy_body_over_the_cap_is_a_413(client, api_as) -> None:  # type: ignore[no-untyped-def]
    # The one cap on request bodies (LOS_MAX_UPLOAD_MB) holds for the strategy file too.
    client.app.state.max_upload_bytes = 1000
    api = api_as("editor")
    big = STRATEGY + "#" * 2000 + "\n"
    error = assert_error(api.request("PUT", "/strategy", content=big, headers=YAML), 413)
    assert "larger than the limit" in error["message"]

    def chunks():  # type: ignore[no-untyped-def]
        yield STRATEGY.encode()
        yield b"#" * 2000 + b"\n"

    # Without Content-Length (chunked), the body is cut off as soon as it passes the cap.
    assert_error(api.request("PUT", "/strategy", content=chunks(), headers=YAML), 413)
    # Under the cap, the body reaches the handler as it was sent.
    client.app.state.max_upload_bytes = 1 << 20
    dry = api.request("PUT", "/strategy", params={"dry_run": True}, content=big, headers=YAML)
    assert dry.status_code == 200, dry.text


@pytest.mark.parametrize(
    ("path", "params", "field", "reason"),
    [
        ("/status", {"as_of": "9999-12-31"}, "as_of", "outside the supported dates"),
        ("/status", {"as_of": "0001-01-01"}, "as_of", "outside the supported dates"),
        ("/status", {"period": "9999-Q4"}, "period", "year 9999 is outside 1900..2200"),
        ("/checks", {"as_of": "9999-12-31"}, "as_of", "outside the supported dates"),
        ("/kpis/revenue", {"as_of": "0001-01-01"}, "as_of", "outside the supported dates"),
        ("/kpis/revenue/forecast", {"as_of": "9999-12-31"}, "as_of", "outside the supported"),
        ("/kpis/revenue/explain", {"from": "0001-01", "to": "2026-03"}, "from", "1900..2200"),
        ("/units/sales", {"as_of": "9999-12-31"}, "as_of", "outside the supported dates"),
    ],
)
def test_dates_outside_the_calendar_are_a_422(  # type: ignore[no-untyped-def]
    api_as, path: str, params: dict[str, str], field: str, reason: str
) -> None:
    error = assert_error(api_as("admin").get(path, params=params), 422, "invalid")
    assert any(d.get("field") == field and reason in d["reason"] for d in error["details"]), error


@pytest.mark.parametrize(
    ("period", "status"),
    [("1900-01", 200), ("1900", 200), ("2200-12", 200), ("2200", 200), ("9999-12", 422)],
)
def test_pages_at_and_past_the_edges_of_the_calendar_answer(
    client, period: str, status: int
) -> None:  # type: ignore[no-untyped-def]
    """At the calendar's edges a page answers; past them it refuses the period, naming it."""
    from tests.web.conftest import log_in

    log_in(client, "admin")
    for path in ("/", "/map", "/units/sales", "/kpis/revenue", "/alignment"):
        answer = client.get(path, params={"period": period})
        assert answer.status_code == status, (path, period, answer.text[-500:])
        if status == 422:
            assert f"&#39;{period}&#39; is not a valid period" in answer.text


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ('{"kpi": "revenue", "period": "2026-04", "value": 1.7e308}', "value", "beyond 1e+15"),
        ('{"kpi": "revenue", "period": "2026-04", "value": 1e999}', "value", "not a finite"),
        ('{"kpi": "revenue", "period": "2026-04", "value": NaN}', "value", "not a finite"),
        ('{"kpi": "revenue", "period": "9999-04", "value": 1}', "period", "outside 1900..2200"),
    ],
)
def test_a_checkin_beyond_the_limits_is_a_422(  # type: ignore[no-untyped-def]
    api_as, body: str, field: str, reason: str
) -> None:
    api = api_as("admin")
    answer = api.request(
        "POST", "/measurements", content=body, headers={"Content-Type": "application/json"}
    )
    error = assert_error(answer, 422)
    assert any(d.get("field") == field and reason in d["reason"] for d in error["details"]), error


def test_an_upload_beyond_the_limits_is_a_422_naming_the_row(api_as) -> None:  # type: ignore[no-untyped-def]
    data = b"kpi,period,value\nrevenue,2026-04,1.7e308\nrevenue,2026-05,12\n"
    answer = api_as("admin").request(
        "POST", "/measurements/upload", files={"file": ("big.csv", data, "text/csv")}
    )
    error = assert_error(answer, 422)
    assert error["details"][0]["row"] == 2 and "beyond 1e+15" in error["details"][0]["reason"]
