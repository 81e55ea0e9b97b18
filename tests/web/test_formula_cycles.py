"""A formula cycle made in the browser is refused as `los apply` refuses it in a file: the
same validation, its message beside the formula box, nothing saved. On SQLite and PostgreSQL,
through the in-process client."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from lineofsight.services.export import export_strategy
from lineofsight.store.database import Store
from tests.web.conftest import log_in
from tests.web.formparse import form_values


def _preview(client: TestClient, path: str, **changes: str):  # type: ignore[no-untyped-def]
    form = form_values(client.get(path).text, "edit-form")
    form.update(changes)
    return client.post(path, data=form)


def test_a_formula_that_reads_itself_is_refused_beside_the_formula(
    client: TestClient, web_url: str
) -> None:
    store = Store(web_url)
    try:
        before = export_strategy(store)
        log_in(client, "admin")
        answer = _preview(client, "/edit/kpi/revenue", formula="defects + revenue")
        assert answer.status_code == 422, answer.text
        error = re.search(r'id="f-formula-error">([^<]*)<', answer.text)
        assert error, answer.text
        assert "reads &#39;revenue&#39; itself, so it would never have a value" in error.group(1)
        # Through another formula: the cycle is named, KPI by KPI.
        answer = _preview(client, "/edit/kpi/defects", formula="revenue * 2")
        assert answer.status_code == 200, answer.text
        saved = client.post(
            "/edit/kpi/defects", data={**form_values(answer.text, "save-form"), "op": "save"}
        )
        assert saved.status_code == 303, saved.text
        answer = _preview(client, "/edit/kpi/revenue", formula="defects / 2")
        assert answer.status_code == 422, answer.text
        assert "formulas form a cycle: revenue -&gt; defects -&gt; revenue" in answer.text
        assert "formula: defects / 2" not in export_strategy(store)
        assert "formula: revenue * 2" in export_strategy(store)
        assert before != export_strategy(store)
    finally:
        store.close()
