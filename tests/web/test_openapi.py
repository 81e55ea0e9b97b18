"""The OpenAPI document says what the API does: typed answers, the bearer-token scheme, and
errors in the shape the API really answers (`{"error": {...}}`). A bounded schemathesis run,
as an admin and as a viewer scoped to one unit, sends generated requests to every operation
and finds no server error and no answer that breaks the document."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lineofsight.services import accounts

EXAMPLES = 12  # generated requests per operation and account: a bounded run, not a soak
# Generated ids rarely name a real item, so each operation is also called once with ids and
# queries of tests/web/conftest.py's organisation: its full answers are checked too. That
# organisation has few kinds of item (its one KPI with an explanation is summed across units,
# its forecasts are never seasonal): tests/web/test_openapi_answers.py checks the answers for
# every id of the worked example.
REAL_IDS = {
    "kpi_id": "revenue",
    "item_id": "revenue",
    "unit_id": "sales",
    "person_id": "alice",
    "name": "warehouse",
    "username": "alice",
    "token_id": 999999,
    "review_id": 999999,
    "objective_id": "sell_more",
    "action_id": 1,
    "number": 1,
    "period": "2026-03",
}
REAL_QUERIES = {
    "/api/v1/kpis/{kpi_id}/explain": {"from": "2026-01", "to": "2026-03"},
    "/api/v1/inbox": {"unit": "sales"},
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_document_has_typed_answers_security_and_the_real_error_shape(
    client: Any,
) -> None:
    doc = client.get("/api/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    error = doc["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # FastAPI's {"detail"}
    operations = [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/v1/")
    ]
    assert len(operations) >= 20
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert {"bearerToken": []} in op["security"], where
        successes = [code for code in op["responses"] if code.startswith("2")]
        assert successes, where
        for code in successes:
            schema = op["responses"][code]["content"]["application/json"]["schema"]
            assert "$ref" in schema, f"{where} {code}: untyped answer {schema}"
        for code in ("401", "403", "404", "422", "503", "default"):
            content = op["responses"][code]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorBody"}, (where, code)
    # The document's error shape is the one the API answers.
    answer = client.get("/api/v1/status")
    assert answer.status_code == 401 and set(answer.json()) == {"error"}


class Scan:
    """Calls for one account: its token, made again if a generated request revoked it."""

    def __init__(self, store: Any, username: str) -> None:
        self.store, self.username = store, username
        self.token = accounts.create_token(store, username, actor="tests")
        self.calls = 0
        self.statuses: dict[int, int] = {}

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def after(self, case: Any, status: int) -> None:
        self.calls += 1
        if (
            case.method.upper() == "DELETE"
            and case.path.startswith("/api/v1/tokens")
            and status < 300
        ):
            self.token = accounts.create_token(self.store, self.username, actor="tests")


def _path_params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


@pytest.mark.parametrize("username", ["admin", "sales_viewer"])
def test_generated_requests_meet_no_server_error_and_answers_match_the_document(
    web_app: Any, username: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", web_app)
    scan = Scan(web_app.state.store, username)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,  # the same requests on every run
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(headers=scan.headers())
            scan.after(case, response.status_code)
            scan.statuses[response.status_code] = scan.statuses.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # each failure listed, the run goes on
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:600]}")

        run()
        if operation.method.upper() == "GET":
            params = {name: REAL_IDS[name] for name in _path_params(operation.path)}
            query = REAL_QUERIES.get(operation.path, {})
            case = operation.Case(path_parameters=params, query=query)
            response = case.call(headers=scan.headers())
            scan.after(case, response.status_code)
            scan.statuses[response.status_code] = scan.statuses.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:600]}")
    assert scan.calls >= len(operations) * 2
    assert scan.statuses.get(200, 0) >= 10, scan.statuses  # full answers were checked too
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:15])
