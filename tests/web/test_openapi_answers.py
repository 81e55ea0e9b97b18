"""Every GET operation of the JSON API, called for every real id of the worked example (each
KPI, objective, unit, person, action, review and source, each KPI's last two periods for its
explanation), answers what the OpenAPI document says: the generated requests of
tests/web/test_openapi.py rarely name a real item, so a field the document gets wrong in a
full answer (a type, a field said to be always there) fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lineofsight.services import accounts
from lineofsight.services.export import stored_organization
from lineofsight.web.app import create_app
from tests.web.site import PERIOD, Site, add_action, build_site, drop_url, fresh_url, side_store

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    folder = tmp_path_factory.mktemp(f"answers-{request.param}")
    url = fresh_url(request.param, folder, pg)
    try:
        built = build_site(url, folder / "ws")
        add_action(url)
        yield built
    finally:
        drop_url(url, pg)


@pytest.fixture(scope="module")
def app(site: Site) -> Iterator[Any]:
    application = create_app(site.url, secret_key="answers-test-key")
    yield application
    application.state.store.close()


class Calls:
    """GET calls as the admin, each answer checked against the document."""

    def __init__(self, app: Any, url: str) -> None:
        schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
        self.operations = {
            op.path: op
            for op in (result.ok() for result in schema.get_all_operations())
            if op.method.upper() == "GET"
        }
        store = side_store(url)
        try:
            token = accounts.create_token(store, "admin", actor="tests")
        finally:
            store.close()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = TestClient(app)
        self.called: set[str] = set()
        self.answers = 0
        self.failures: list[str] = []

    def json(self, path: str) -> Any:
        answer = self.client.get("/api/v1" + path, headers=self.headers)
        assert answer.status_code == 200, (path, answer.text[:300])
        return answer.json()

    def check(self, path: str, query: dict[str, Any] | None = None, **params: Any) -> None:
        operation = self.operations["/api/v1" + path]
        self.called.add(operation.path)
        case = operation.Case(path_parameters=params, query=query or {})
        response = case.call(headers=self.headers)
        where = f"GET {case.formatted_path} {query or ''}"
        if response.status_code != 200:
            self.failures.append(f"{where}: {response.status_code} {response.text[:300]}")
            return
        self.answers += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # each failure listed, the calls go on
            self.failures.append(f"{where}: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    """What schemathesis found wrong, and where in the document, in a few lines."""
    lines = [line.strip() for line in str(exc).splitlines()]
    said = [line for line in lines if line.startswith(("- ", "Schema at")) or " is " in line]
    return " / ".join(said[:4]) or str(exc)[:800]


def test_every_get_answer_for_the_examples_ids_matches_the_document(app: Any, site: Site) -> None:
    calls = Calls(app, site.url)
    status = calls.json(f"/status?period={PERIOD}")
    kpis = sorted({row["id"] for row in status["kpis"]})
    objectives = sorted({row["id"] for row in status["objectives"]})
    units = sorted({row["id"] for row in status["units"]})
    assert len(kpis) >= 20 and objectives and len(units) >= 5
    calls.check("/status")
    calls.check("/status", {"period": PERIOD})
    calls.check("/status", {"as_of": "2026-10-31", "unit": units[0]})
    calls.check("/checks", {"as_of": "2026-10-31"})
    calls.check("/users")
    calls.check("/audit")
    calls.check("/sources")
    sources = calls.json("/sources")["sources"]
    for source in sources:
        calls.check("/sources/{name}", name=source["name"])
    for kpi in kpis:
        calls.check("/kpis/{kpi_id}", {"period": PERIOD}, kpi_id=kpi)
        calls.check("/kpis/{kpi_id}/forecast", {"as_of": "2026-10-31"}, kpi_id=kpi)
        calls.check("/trace/{item_id}", item_id=kpi)
        calls.check("/kpis/{item_id}/commentary", item_id=kpi)
        calls.check("/kpis/{kpi_id}/measurements", kpi_id=kpi)
        own = calls.json(f"/kpis/{kpi}")["kpi"]["unit"]
        periods = sorted(
            {m["period"] for m in calls.json(f"/kpis/{kpi}/measurements")["measurements"]}
            | {
                row["period"]
                for row in calls.json(f"/kpis/{kpi}?period={PERIOD}")["values"]
                if row["unit"] == own and row["actual"] is not None
            },
        )
        if len(periods) >= 2:
            query = {"from": periods[-2], "to": periods[-1]}
            calls.check("/kpis/{kpi_id}/explain", query, kpi_id=kpi)
            calls.check("/kpis/{kpi_id}/explain", {**query, "depth": 3}, kpi_id=kpi)
            calls.check("/kpis/{item_id}/commentary/{period}", item_id=kpi, period=periods[-1])
    for objective in objectives:
        calls.check("/objectives/{objective_id}", {"period": PERIOD}, objective_id=objective)
        calls.check("/trace/{item_id}", item_id=objective)
        calls.check("/objectives/{item_id}/commentary", item_id=objective)
        calls.check("/objectives/{item_id}/commentary/{period}", item_id=objective, period=PERIOD)
    for unit in units:
        calls.check("/units/{unit_id}", {"period": PERIOD}, unit_id=unit)
        calls.check("/units/{unit_id}/brief", {"period": PERIOD}, unit_id=unit)
        calls.check("/inbox", {"unit": unit, "as_of": "2026-10-31"})
        calls.check("/reviews", {"unit": unit})
    store = side_store(site.url)
    try:
        people = sorted(p.id for p in stored_organization(store).people)
    finally:
        store.close()
    for person in people:
        calls.check("/people/{person_id}", {"period": PERIOD}, person_id=person)
        calls.check("/inbox", {"person": person, "as_of": "2026-10-31"})
    calls.check("/actions")
    calls.check("/jobs")
    calls.check("/notifications")
    actions = calls.json("/actions")["actions"]
    assert actions
    for action in actions:
        calls.check("/actions/{action_id}", action_id=action["id"])
    reviews = calls.json("/reviews")["reviews"]
    for review in reviews:
        calls.check("/reviews/{review_id}", review_id=review["id"])
    assert not calls.failures, f"{len(calls.failures)} failures:\n" + "\n\n".join(
        calls.failures[:15]
    )
    # Every GET operation was called, but for one item of a kind the example has none of.
    none_in_the_example = {
        "/api/v1/reviews/{review_id}": reviews,
        "/api/v1/sources/{name}": sources,
    }
    unreached = set(calls.operations) - calls.called
    assert all(not none_in_the_example.get(path, [1]) for path in unreached), unreached
    assert calls.answers >= 5 * len(kpis)
