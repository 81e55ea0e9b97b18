"""The JSON API's reads: shapes, permissions by unit, and one error shape everywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Los
from tests.web.conftest import AS_OF


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the API's one error shape with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code
    return error  # type: ignore[no-any-return]


def test_status_has_the_spec_shape_and_engine_scores(api_as) -> None:  # type: ignore[no-untyped-def]
    body = api_as("admin").get("/status", params={"as_of": AS_OF}).json()
    assert body["as_of"] == AS_OF
    assert set(body) >= {"as_of", "kpis", "objectives", "units"}
    rows = {(r["id"], r["unit"]): r for r in body["kpis"]}
    revenue = rows[("revenue", "sales")]
    assert set(revenue) >= {"id", "unit", "period", "actual", "target", "miss", "score", "status"}
    assert revenue["period"] == "2026-03" and revenue["actual"] == 135
    assert rows[("defects", "ops")]["status"] == "amber"
    assert rows[("conversion", "sales")]["actual"] == pytest.approx(3.0)
    assert {o["id"] for o in body["objectives"]} == {"grow", "sell_more"}


def test_status_rows_are_those_of_los_status_json(api_as, web_url: str) -> None:  # type: ignore[no-untyped-def]
    # Every row with its labels (a KPI's name, unit name, unit of measure and period end, an
    # objective's title and unit, a unit's name), as the command line gives them.
    api = api_as("admin")
    for extra in ((), ("--unit", "sales")):
        cli = Los(web_url)("status", "--as-of", AS_OF, "--format", "json", *extra)
        assert cli.exit_code == 0, cli.output
        params = {"as_of": AS_OF, **({"unit": extra[1]} if extra else {})}
        assert api.get("/status", params=params).json() == json.loads(cli.stdout)
    body = api.get("/status", params={"as_of": AS_OF}).json()
    revenue = next(r for r in body["kpis"] if (r["id"], r["unit"]) == ("revenue", "sales"))
    assert (revenue["name"], revenue["unit_name"], revenue["period_end"]) == (
        "Revenue",
        "Sales",
        "2026-03-31",
    )
    sell_more = next(o for o in body["objectives"] if o["id"] == "sell_more")
    assert (sell_more["name"], sell_more["unit"], sell_more["unit_name"]) == (
        "Sell more",
        "sales",
        "Sales",
    )
    ops = next(u for u in body["units"] if u["id"] == "ops")
    assert (ops["name"], ops["unit"]) == ("Operations", "ops")


def test_unit_kpi_objective_and_person_rows_are_those_of_the_status(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("admin")
    status = api.get("/status", params={"as_of": AS_OF}).json()
    kpi_rows = {(r["id"], r["unit"]): r for r in status["kpis"]}
    objective_rows = {r["id"]: r for r in status["objectives"]}
    unit_rows = {r["id"]: r for r in status["units"]}
    unit = api.get("/units/sales", params={"as_of": AS_OF}).json()
    assert unit["score"] == unit_rows["sales"] and unit["score"]["name"] == "Sales"
    assert unit["kpis"] == [kpi_rows[(r["id"], r["unit"])] for r in unit["kpis"]]
    assert {r["id"] for r in unit["kpis"]} == {"revenue", "conversion", "xss"}
    assert unit["objectives"] == [objective_rows["sell_more"]]
    assert unit["objectives"][0]["unit_name"] == "Sales"
    kpi = api.get("/kpis/revenue", params={"as_of": AS_OF}).json()
    assert kpi["values"] == [kpi_rows[("revenue", "sales")], kpi_rows[("revenue", "sales_east")]]
    objective = api.get("/objectives/grow", params={"as_of": AS_OF}).json()
    assert objective["score"] == objective_rows["grow"]
    assert objective["children"] == [objective_rows["sell_more"]]
    assert objective["kpis"] == [kpi_rows[("defects", "ops")]]
    assert objective["kpis"][0]["name"] == "Defects"
    person = api.get("/people/alice", params={"as_of": AS_OF}).json()
    assert [r for r in person["kpis"] if r["id"] == "revenue"] == [kpi_rows[("revenue", "sales")]]
    (owned,) = person["objectives"]
    assert owned["title"] == "Sell more"
    assert {k: owned[k] for k in objective_rows["sell_more"]} == objective_rows["sell_more"]


def test_status_by_period_equals_status_as_of_its_last_day(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("viewer")
    by_period = api.get("/status", params={"period": "2026-03"}).json()
    by_date = api.get("/status", params={"as_of": AS_OF}).json()
    assert by_period == by_date


def test_status_for_a_unit_is_its_subtree(api_as) -> None:  # type: ignore[no-untyped-def]
    body = api_as("admin").get("/status", params={"as_of": AS_OF, "unit": "sales"}).json()
    assert {r["unit"] for r in body["kpis"]} == {"sales", "sales_east"}
    assert {u["id"] for u in body["units"]} == {"sales", "sales_east"}
    assert {o["id"] for o in body["objectives"]} == {"sell_more"}


def test_a_scoped_viewer_sees_only_their_subtree(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("sales_viewer")
    body = api.get("/status", params={"as_of": AS_OF}).json()
    assert {r["unit"] for r in body["kpis"]} == {"sales", "sales_east"}
    # A unit outside the scope is answered as one that does not exist (no probing).
    assert_error(api.get("/status", params={"as_of": AS_OF, "unit": "ops"}), 404, "not_found")
    assert_error(api.get("/kpis/defects"), 404, "not_found")  # as one that does not exist
    assert_error(api.get("/units/ops"), 404, "not_found")
    assert api.get("/units/sales_east").status_code == 200


def test_bad_query_values_name_the_field(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("admin")
    error = assert_error(api.get("/status", params={"period": "2026-13"}), 422, "invalid")
    assert error["details"][0]["field"] == "period"
    error = assert_error(api.get("/status", params={"as_of": "yesterday"}), 422)
    assert error["details"][0]["field"] == "as_of"
    error = assert_error(api.get("/kpis/revenue/explain", params={"from": "2026-01"}), 422)
    assert error["details"][0]["field"] == "to"
    assert_error(api.get("/status", params={"unit": "nowhere"}), 404, "not_found")
    explain = "/kpis/revenue/explain"
    error = assert_error(api.get(explain, params={"from": "2026-01", "to": "2026-13"}), 422)
    assert error["details"][0]["field"] == "to"
    assert error["message"].startswith("to: '2026-13' is not a valid period")
    assert "--" not in error["message"]  # the API's field, not the command line's option
    params = {"from": "2026-01", "to": "2026-03", "unit": "nowhere"}
    error = assert_error(api.get(explain, params=params), 404, "not_found")
    assert error["message"] == "unit 'nowhere' not found"


def test_no_credentials_or_a_bad_token_is_401(api_as, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    assert_error(api_as(None).get("/status"), 401, "unauthenticated")
    bad = client.get("/api/v1/status", headers={"Authorization": "Bearer los_not_a_token"})
    assert_error(bad, 401)


def test_a_login_required_under_api_is_a_401_that_says_how_to_authenticate() -> None:
    # A route under /api/ that reads the account as a page does: JSON 401 with the scheme
    # (RFC 9110 asks a 401 for WWW-Authenticate); a page's path still redirects to /login.
    from fastapi import FastAPI

    from lineofsight.web.errors import install_error_handlers
    from lineofsight.web.security import LoginRequired

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/thing")
    @app.get("/thing")
    def thing() -> None:
        raise LoginRequired("/thing")

    client = TestClient(app)
    answer = client.get("/api/thing")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["error"]["code"] == "unauthenticated"
    page = client.get("/thing", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/thing"
    assert "www-authenticate" not in page.headers


def test_unknown_routes_and_methods_use_the_error_shape(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("admin")
    assert_error(api.get("/no/such/thing"), 404)
    assert_error(api.request("PATCH", "/status"), 405)
    assert_error(api.get("/kpis/nope"), 404, "not_found")
    assert_error(api.get("/people/nobody"), 404)
    assert_error(api.get("/trace/nothing"), 404)


def test_kpi_has_definition_values_and_target_path(api_as) -> None:  # type: ignore[no-untyped-def]
    body = api_as("alice").get("/kpis/revenue", params={"as_of": AS_OF}).json()
    assert body["kpi"]["id"] == "revenue" and body["kpi"]["name"] == "Revenue"
    assert [v["unit"] for v in body["values"]] == ["sales", "sales_east"]
    assert body["values"][0]["actual"] == 135
    path = {p["period"]: p["target"] for p in body["target_path"]}
    assert path["2025-12"] == 100 and path["2026-12"] == 200
    assert path["2026-03"] == pytest.approx(body["values"][0]["target"])


def test_measurements_list_history_with_notes(api_as) -> None:  # type: ignore[no-untyped-def]
    body = api_as("viewer").get("/kpis/revenue/measurements").json()
    rows = [(m["unit"], m["period"], m["value"], m["note"]) for m in body["measurements"]]
    assert ("sales", "2026-01", 110, "January close") in rows
    assert all(m["revision"] == 1 and m["revisions"] == [] for m in body["measurements"])
    # A viewer of sales only does not see values of other units (there are none here).
    assert api_as("sales_viewer").get("/kpis/revenue/measurements").status_code == 200


def test_forecast_explain_and_trace(api_as, web_url: str) -> None:  # type: ignore[no-untyped-def]
    api = api_as("viewer")
    forecast = api.get("/kpis/defects/forecast", params={"as_of": AS_OF}).json()
    (row,) = forecast["kpis"]
    assert row["id"] == "defects" and row["points"] == 3 and row["projected"] is not None
    explained = api.get("/kpis/revenue/explain", params={"from": "2026-01", "to": "2026-03"})
    assert explained.status_code == 200, explained.text
    data = explained.json()
    assert data["change"] == pytest.approx(25)
    # The same numbers as the command line: both come from the engine.
    cli = Los(web_url)(
        "explain", "revenue", "--from", "2026-01", "--to", "2026-03", "--format", "json"
    )
    assert cli.exit_code == 0, cli.output
    assert data == json.loads(cli.stdout)
    cli = Los(web_url)("forecast", "--as-of", AS_OF, "--format", "json")
    expected = [k for k in json.loads(cli.stdout)["kpis"] if k["id"] == "defects"]
    assert row["projected"] == pytest.approx(expected[0]["projected"])
    assert row["probability"] == pytest.approx(expected[0]["probability"])
    assert row["method"] == expected[0]["method"] and row["path"] == expected[0]["path"]
    trace = api.get("/trace/revenue").json()
    assert trace["paths"] == [["revenue", "sell_more", "grow", "mission"]]


def test_checks_filter_by_rule_severity_and_unit(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("admin")
    everything = api.get("/checks", params={"as_of": AS_OF}).json()["findings"]
    assert everything, "the organisation has findings (e.g. AL06 for sales_east)"
    codes = {f["code"] for f in everything}
    code = sorted(codes)[0]
    only = api.get("/checks", params={"as_of": AS_OF, "rule": code}).json()["findings"]
    assert only and {f["code"] for f in only} == {code}
    infos = api.get("/checks", params={"as_of": AS_OF, "severity": "info"}).json()["findings"]
    assert {f["severity"] for f in infos} <= {"info"}
    sales = api.get("/checks", params={"as_of": AS_OF, "unit": "sales"}).json()["findings"]
    assert sales and {f["unit"] for f in sales} <= {"sales", "sales_east"}
    scoped = api_as("sales_viewer").get("/checks", params={"as_of": AS_OF}).json()["findings"]
    assert {f["unit"] for f in scoped} <= {"sales", "sales_east"}
    # A known rule without findings is an empty list; an unknown rule or severity is a 422
    # naming it, never an empty list that reads as "nothing found".
    assert api.get("/checks", params={"rule": "CF04", "severity": "error"}).status_code == 200
    bad = api.get("/checks", params={"rule": f"{code},ZZ99", "severity": "bogus"})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid"
    assert [d["field"] for d in error["details"]] == ["rule", "severity"]
    assert "unknown rule 'ZZ99' (rules: AC01, AC02" in error["details"][0]["reason"]
    assert error["details"][1]["reason"] == "'bogus' is not error, warning or info"


def test_unit_and_person(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("viewer")
    unit = api.get("/units/sales", params={"as_of": AS_OF}).json()
    assert unit["unit"]["name"] == "Sales"
    assert {k["id"] for k in unit["kpis"]} == {"revenue", "conversion", "xss"}
    assert unit["children"] == ["sales_east"]
    assert [o["id"] for o in unit["objectives"]] == ["sell_more"]
    person = api.get("/people/alice", params={"as_of": AS_OF}).json()
    assert {k["id"] for k in person["kpis"]} == {"revenue", "conversion", "xss"}
    assert [o["id"] for o in person["objectives"]] == ["sell_more"]
    # Bob may see his own page though ops is his only unit; not Alice's: read on sales is not
    # his, so she is answered as a person who does not exist.
    assert api_as("bob").get("/people/bob").status_code == 200
    assert_error(api_as("bob").get("/people/alice"), 404, "not_found")


def test_html_in_names_and_notes_is_data_in_json(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("admin")
    assert api.get("/kpis/xss").json()["kpi"]["name"] == "<script>alert(1)</script>"
    notes = [m["note"] for m in api.get("/kpis/revenue/measurements").json()["measurements"]]
    assert "<b>bold</b> <script>alert(2)</script>" in notes


def test_openapi_is_served_and_documents_every_endpoint(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    paths = set(spec["paths"])
    for path in (
        "/api/v1/status",
        "/api/v1/kpis/{kpi_id}",
        "/api/v1/kpis/{kpi_id}/measurements",
        "/api/v1/kpis/{kpi_id}/forecast",
        "/api/v1/kpis/{kpi_id}/explain",
        "/api/v1/trace/{item_id}",
        "/api/v1/checks",
        "/api/v1/units/{unit_id}",
        "/api/v1/people/{person_id}",
        "/api/v1/measurements",
        "/api/v1/measurements/upload",
        "/api/v1/strategy",
        "/api/v1/users",
        "/api/v1/users/{username}",
        "/api/v1/users/{username}/tokens",
        "/api/v1/tokens/{token_id}",
    ):
        assert path in paths
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "/api/v1/status" in docs.text
    assert "http://" not in docs.text.replace("http://testserver", "")
    assert "https://" not in docs.text


def test_responses_carry_security_headers(api_as) -> None:  # type: ignore[no-untyped-def]
    response = api_as("admin").get("/status")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]
