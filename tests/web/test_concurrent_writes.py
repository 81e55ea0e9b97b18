"""Loads and check-ins at the same time: every write is stored whole, or refused as busy and
stored not at all; none is lost, none half-stored.

The writes start together at one barrier: loads in processes of their own (as `los load`
runs beside a server), an upload and check-ins through the web app's API, a load and
check-ins through the services in this process.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lineofsight.errors import StoreBusy
from lineofsight.services import accounts
from lineofsight.services.checkin import record_measurement
from lineofsight.services.measurements import load_file
from lineofsight.store import tables as t
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.web.conftest import build_store
from tests.writers import CTX, WAIT, Key, WriteLockHolder, start_load, stored_state

# How each write is made.
PROCESS_LOAD = "load in its own process"
WEB_UPLOAD = "upload through the API"
SERVICE_LOAD = "load through the service"
WEB_CHECKIN = "check-in through the API"
SERVICE_CHECKIN = "check-in through the service"
AUDITED = {WEB_UPLOAD, WEB_CHECKIN, SERVICE_CHECKIN}


@dataclass(frozen=True)
class Write:
    """One write of the test: how it is made and the values it stores (its keys are its own)."""

    name: str
    how: str
    values: dict[Key, float]
    path: Path | None = None


def _load_write(name: str, how: str, folder: Path, year: int) -> Write:
    values: dict[Key, float] = {}
    for month in range(1, 13):
        period = f"{year}-{month:02d}"
        values["revenue", "sales", period] = year * 100 + month
        values["revenue", "sales_east", period] = year * 100 + month + 0.5
        values["defects", "ops", period] = month
    path = folder / f"{name}.csv"
    lines = ["kpi,period,value,unit"]
    lines += [f"{kpi},{period},{value},{unit}" for (kpi, unit, period), value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Write(name, how, values, path)


def _writes(folder: Path) -> list[Write]:
    writes = [
        _load_write("load_a", PROCESS_LOAD, folder, 2010),
        _load_write("load_b", PROCESS_LOAD, folder, 2011),
        _load_write("upload", WEB_UPLOAD, folder, 2012),
        _load_write("service_load", SERVICE_LOAD, folder, 2013),
    ]
    for i in range(6):
        how = WEB_CHECKIN if i % 2 else SERVICE_CHECKIN
        values: dict[Key, float] = {("revenue", "sales", f"2020-{i + 1:02d}"): 500.0 + i}
        writes.append(Write(f"checkin_{i}", how, values))
    return writes


@dataclass(frozen=True)
class Shared:
    """A store with the web tests' organisation, its measurements and users; an API token of
    an admin (made beforehand: making one is a write too)."""

    url: str
    token: str


@pytest.fixture
def shared(db_url: str, tmp_path: Path) -> Shared:
    build_store(db_url, tmp_path / "setup")
    store = Store(db_url)
    try:
        return Shared(db_url, accounts.create_token(store, "admin", actor="tests"))
    finally:
        store.close()


def _run_together(
    shared: Shared,
    writes: list[Write],
    busy_timeout: float,
    on_refusal: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Start every write at once; each one's outcome: "stored", "refused" or "error: ...".
    `on_refusal` is called once a first write has been refused."""
    url = shared.url
    app = create_app(url, secret_key="test secret", busy_timeout=busy_timeout)
    auth = {"Authorization": f"Bearer {shared.token}"}
    # Like the server, this process keeps to one SQLite library (see Store.arrow_sqlite).
    service_store = Store(url, busy_timeout=busy_timeout)
    service_store.arrow_sqlite = False
    start = CTX.Barrier(len(writes))
    refused = CTX.Event()
    results = CTX.Queue()
    by_path = {str(w.path): w.name for w in writes if w.how == PROCESS_LOAD}
    processes = [
        start_load(url, w.path, busy_timeout, start, refused, results)
        for w in writes
        if w.how == PROCESS_LOAD and w.path is not None
    ]

    def web(client: TestClient, write: Write) -> str:
        if write.how == WEB_UPLOAD:
            assert write.path is not None
            files = {"file": (write.path.name, io.BytesIO(write.path.read_bytes()), "text/csv")}
            answer = client.post("/api/v1/measurements/upload", files=files, headers=auth)
        else:
            [((kpi, _unit, period), value)] = write.values.items()
            body = {"kpi": kpi, "period": period, "value": value}
            answer = client.post("/api/v1/measurements", json=body, headers=auth)
        if answer.status_code in (200, 201):
            return "stored"
        is_json = answer.headers["content-type"].startswith("application/json")
        error = answer.json().get("error", {}) if is_json else {}
        if answer.status_code == 503 and error.get("code") == "busy":
            assert answer.headers["retry-after"].isdigit()
            assert error["message"].startswith("the store is busy")
            return "refused"
        return f"error: {answer.status_code} {answer.text}"

    def service(write: Write) -> None:
        if write.how == SERVICE_LOAD:
            assert write.path is not None
            load_file(service_store, write.path)
            return
        [((kpi, _unit, period), value)] = write.values.items()
        record_measurement(
            service_store, kpi_id=kpi, unit_id=None, period=period, value=value, actor="tests"
        )

    def run(client: TestClient, write: Write) -> str:
        start.wait(WAIT)
        try:
            if write.how in (WEB_UPLOAD, WEB_CHECKIN):
                outcome = web(client, write)
            else:
                service(write)
                outcome = "stored"
        except StoreBusy:
            outcome = "refused"
        if outcome == "refused":
            refused.set()
        return outcome

    outcomes: dict[str, str] = {}
    in_threads = [w for w in writes if w.how != PROCESS_LOAD]
    try:
        with (
            TestClient(app) as client,  # type: ignore[arg-type]
            ThreadPoolExecutor(max(1, len(in_threads))) as pool,
        ):
            futures = {w.name: pool.submit(run, client, w) for w in in_threads}
            if on_refusal is not None and refused.wait(WAIT):
                on_refusal()
            for name, future in futures.items():
                outcomes[name] = future.result(WAIT)
        for _ in processes:
            path, outcome = results.get(timeout=WAIT)
            outcomes[by_path[path]] = outcome
    finally:
        for process in processes:
            process.join(WAIT)
        service_store.close()
        app.state.store.close()
    return outcomes


def _assert_each_stored_whole_or_not_at_all(
    url: str, writes: list[Write], outcomes: dict[str, str], before: tuple[Any, ...]
) -> None:
    values_before, loads_before, audit_before = before
    values, loads, audit = stored_state(url)
    assert set(outcomes.values()) <= {"stored", "refused"}, outcomes
    stored = [w for w in writes if outcomes[w.name] == "stored"]
    for write in writes:
        found = {key: values.get(key) for key in write.values}
        if write in stored:
            assert found == write.values, write.name
        else:
            assert set(found.values()) == {None}, write.name
    # The counts add up exactly: nothing else was written, nothing of a stored write lost.
    assert len(values) == len(values_before) + sum(len(w.values) for w in stored)
    assert {k: values[k] for k in values_before} == values_before
    assert loads == loads_before + len(stored)
    assert audit == audit_before + sum(1 for w in stored if w.how in AUDITED)


def test_writers_take_turns_and_every_write_is_stored(shared: Shared, tmp_path: Path) -> None:
    writes = _writes(tmp_path)
    before = stored_state(shared.url)
    outcomes = _run_together(shared, writes, busy_timeout=WAIT)
    assert outcomes == {w.name: "stored" for w in writes}
    _assert_each_stored_whole_or_not_at_all(shared.url, writes, outcomes, before)


def test_with_a_short_wait_each_write_is_stored_or_refused_and_none_lost(
    shared: Shared, tmp_path: Path
) -> None:
    writes = _writes(tmp_path)
    before = stored_state(shared.url)
    # Another process holds the store until a first write has been refused; the writes wait
    # at most 10 ms, so some are refused, while others may get the store once it is free.
    holder = WriteLockHolder(shared.url).start()
    try:
        outcomes = _run_together(shared, writes, busy_timeout=0.01, on_refusal=holder.release)
    finally:
        holder.release()
    assert "refused" in outcomes.values()
    _assert_each_stored_whole_or_not_at_all(shared.url, writes, outcomes, before)
    # A refused write, sent again, is stored: nothing was lost.
    again = [w for w in writes if outcomes[w.name] == "refused"]
    retried = _run_together(shared, again, busy_timeout=WAIT)
    assert retried == {w.name: "stored" for w in again}
    _assert_each_stored_whole_or_not_at_all(
        shared.url, writes, {w.name: "stored" for w in writes}, before
    )


def test_check_ins_of_one_value_at_once_each_become_a_revision(shared: Shared) -> None:
    key = ("revenue", "sales", "2021-01")
    writes = [
        Write(f"checkin_{i}", WEB_CHECKIN if i % 2 else SERVICE_CHECKIN, {key: 700.0 + i})
        for i in range(6)
    ]
    outcomes = _run_together(shared, writes, busy_timeout=WAIT)
    assert outcomes == {w.name: "stored" for w in writes}
    # Each write read the value before it and replaced it: one current value, the others
    # kept as its revisions, none lost to a write that did not see the one before it.
    ms, rs = t.measurements, t.measurement_revisions
    store = Store(shared.url)
    try:
        with store.reading() as conn:
            where = [ms.c.kpi_id == key[0], ms.c.unit_id == key[1], ms.c.period == key[2]]
            current = conn.execute(select(ms.c.value, ms.c.revision).where(*where)).one()
            where = [rs.c.kpi_id == key[0], rs.c.unit_id == key[1], rs.c.period == key[2]]
            earlier = conn.execute(select(rs.c.value, rs.c.revision).where(*where)).all()
    finally:
        store.close()
    assert current.revision == len(writes)
    assert sorted(r.revision for r in earlier) == list(range(1, len(writes)))
    assert sorted([current.value, *(r.value for r in earlier)]) == [700.0 + i for i in range(6)]
