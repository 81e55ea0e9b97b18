"""`los load` checks its file before it waits for the store: a bad file is refused at once
while another write holds the store, and a good one is checked again against the rules it is
written under when an apply changed them in between."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.services import accounts
from lineofsight.services import measurements as load_service
from lineofsight.services.apply import apply_file
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.conftest import FIXTURES, Los
from tests.web.conftest import build_store
from tests.web.test_api import assert_error
from tests.writers import WriteLockHolder, stored_state

FULL = FIXTURES / "specs" / "valid" / "full.yaml"


@pytest.fixture
def applied(los: Los, workdir: Path) -> Los:
    spec = workdir / "strategy.yaml"
    spec.write_text(FULL.read_text())
    assert los("apply", str(spec)).exit_code == 0
    return los


def test_a_bad_file_is_refused_while_another_write_holds_the_store(
    applied: Los, workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOS_BUSY_TIMEOUT", "0.05")
    bad = workdir / "bad.csv"
    bad.write_text("kpi,period,value\ndpo,2026-01,5\ndpox,2026-01,5\n")
    long_field = workdir / "long.csv"
    long_field.write_text('kpi,period,value,unit,note\ndpo,2026-01,5,,"' + "\n" * 140_000 + '"\n')
    good = workdir / "good.csv"
    good.write_text("kpi,period,value\ndpo,2026-01,5\n")
    before = stored_state(db_url)
    with WriteLockHolder(db_url):
        result = applied("load", str(bad))
        assert result.exit_code == 2, result.output
        assert "bad.csv: row 3: column kpi: unknown KPI 'dpox'" in result.output
        result = applied("load", str(long_field))
        assert result.exit_code == 2, result.output
        assert (
            "long.csv: row 2: a field that starts on this row is longer than 128 KiB"
            in result.output
        )
        # A good file still waits for the store, and is refused as busy when it stays busy.
        result = applied("load", str(good))
        assert result.exit_code == 3, result.output
        assert "the store is busy" in result.output
    assert stored_state(db_url) == before
    result = applied("load", str(good))
    assert result.exit_code == 0, result.output


def test_an_upload_of_a_bad_file_is_refused_while_the_store_is_busy(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_store(db_url, tmp_path / "setup")
    store = Store(db_url)
    token = accounts.create_token(store, "admin", actor="tests")
    store.close()
    monkeypatch.setenv("LOS_WEB_BUSY_TIMEOUT", "0.05")
    client = TestClient(create_app(db_url, secret_key="test secret"))  # type: ignore[arg-type]
    before = stored_state(db_url)
    data = b"kpi,period,value\nrevenue,2026-05,150\nrevenue,2026-13,1\n"
    with WriteLockHolder(db_url), client:
        upload = {"file": ("may.csv", io.BytesIO(data), "text/csv")}
        answer = client.post(
            "/api/v1/measurements/upload",
            files=upload,
            headers={"Authorization": f"Bearer {token}"},
        )
        error = assert_error(answer, 422, "invalid")
        assert any(detail.get("row") == 3 for detail in error["details"]), error
    assert stored_state(db_url) == before


def test_rules_changed_while_a_load_waited_are_checked_again(
    applied: Los, workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between the file's check and the write lock, an apply makes dpo weekly: a month is then
    # coarser than its periods, and the load must not store it.
    weekly = workdir / "weekly.yaml"
    spec = FULL.read_text()
    at = spec.index("  - id: dpo")
    weekly.write_text(spec[:at] + spec[at:].replace("frequency: monthly", "frequency: weekly", 1))
    real_session = load_service.load_session
    applied_between: list[bool] = []

    @contextmanager
    def apply_first(store: Store) -> Iterator[Any]:
        if not applied_between:
            other = Store(db_url)
            apply_file(other, weekly)
            other.close()
            applied_between.append(True)
        with real_session(store) as session:
            yield session

    monkeypatch.setattr(load_service, "load_session", apply_first)
    data = workdir / "months.csv"
    data.write_text("kpi,period,value\ndso,2026-01,4\ndpo,2026-01,5\n")
    result = applied("load", str(data))
    assert applied_between == [True]
    assert result.exit_code == 2, result.output
    assert (
        "months.csv: row 3: column period: 2026-01 is coarser than the KPI's frequency (weekly)"
        in result.output
    )
    assert "row 2" not in result.output
    assert stored_state(db_url)[0] == {}
