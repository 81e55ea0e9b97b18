"""Where a stored value came from is shown as the user named it: a loaded file by its name,
never the folder it was loaded from on the server, on the KPI page and in the API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from lineofsight.services.kpi_detail import kpi_history
from tests.web.conftest import log_in


def _loaded_from(web_app: object) -> Path:
    """The file the store's values were loaded from, as the load was given it: a server path."""
    store = web_app.state.store  # type: ignore[attr-defined]
    (source,) = {row["source"] for row in kpi_history(store, "revenue")}
    assert Path(source).is_absolute() and Path(source).name == "data.csv"
    return Path(source)


def test_the_kpi_page_names_the_loaded_file_without_its_folder(
    client: TestClient, web_app: object
) -> None:
    folder = _loaded_from(web_app).parent
    assert log_in(client, "viewer").status_code == 303
    page = client.get("/kpis/revenue")
    assert page.status_code == 200
    log = page.text.split('<td class="note">', 1)[1]
    assert "data.csv" in log
    assert str(folder) not in page.text and folder.name not in page.text


def test_the_api_names_the_loaded_file_without_its_folder(api_as, web_app: object) -> None:  # type: ignore[no-untyped-def]
    folder = _loaded_from(web_app).parent
    answer = api_as("viewer").get("/kpis/revenue/measurements")
    assert answer.status_code == 200
    rows = answer.json()["measurements"]
    assert rows and {row["source"] for row in rows} == {"data.csv"}
    assert str(folder) not in answer.text and folder.name not in answer.text
