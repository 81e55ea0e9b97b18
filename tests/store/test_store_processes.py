"""Several real processes on one SQLite store at once, as the product runs: loads (`los
load`, through ADBC), statuses (`los status`, which keep scorecards), checks (`los check`,
which keep reports) and the scheduler's scorecard keeper with its lease renewals on another
thread. Afterwards SQLite finds the file whole, every value each loader wrote is there, and
the kept scorecard is the one a full computation gives."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from polars.testing import assert_frame_equal

import lineofsight
import lineofsight.engine.frames as frames
from lineofsight.services.evaluate import (
    frame_window,
    older_measurements,
    read_definition_frames,
    read_measurement_frame,
)
from lineofsight.services.init import init_workspace
from lineofsight.services.snapshots import scorecard
from lineofsight.store.database import Store, sqlite_url
from tests.store.store_worker import DAY, loaded_value

ROOT = Path(__file__).resolve().parents[2]
LOADERS = [
    ("arr_musd", "techinnovate"),
    ("release_frequency", "apps_team"),
    ("defect_escape_rate_pct", "rnd"),
]
ROUNDS = 6


def _env() -> dict[str, str]:
    src = str(Path(lineofsight.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([src, str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("LOS_DATABASE_URL", None)
    return env


def _run_all(url: str, folder: Path, workers: list[list[str]]) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store.store_worker", role, url, str(folder), *rest],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for role, *rest in workers
    ]
    try:
        deadline = time.monotonic() + 300
        # Bounded wait until every process is ready, so that all of them run at once.
        while len(list(folder.glob("ready-*"))) < len(procs):
            assert all(p.poll() is None for p in procs), [p.communicate()[0] for p in procs]
            assert time.monotonic() < deadline, "the workers never got ready"
            time.sleep(0.05)
        (folder / "go").touch()
        outputs = [p.communicate(timeout=600)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failures = [
        (w, p.returncode, out)
        for w, p, out in zip(workers, procs, outputs, strict=True)
        if p.returncode
    ]
    assert not failures, failures


def test_loads_statuses_checks_and_the_keeper_in_several_processes(tmp_path: Path) -> None:
    path = tmp_path / "store" / "los.db"
    url = sqlite_url(path)
    init_workspace(tmp_path / "ws", example="techinnovate", db=url)
    folder = tmp_path / "run"
    folder.mkdir()
    workers: list[list[str]] = [
        ["load", str(ROUNDS), kpi, unit, str(i)] for i, (kpi, unit) in enumerate(LOADERS)
    ]
    workers += [["status", str(ROUNDS), "0"], ["status", str(ROUNDS), "1"]]
    workers += [["check", "3", "0"], ["keeper", str(ROUNDS), "0"]]
    _run_all(url, folder, workers)

    conn = sqlite3.connect(path)
    try:
        assert [r[0] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for i, (kpi, unit) in enumerate(LOADERS):
            stored = dict(
                conn.execute(
                    "SELECT period, value FROM measurements WHERE kpi_id = ? AND unit_id = ? "
                    "AND period LIKE '2026-0%'",
                    (kpi, unit),
                ).fetchall()
            )
            for r in range(ROUNDS):
                assert stored[f"2026-{r + 1:02d}"] == loaded_value(i, r)
    finally:
        conn.close()

    store = Store(url)
    try:
        _kept_is_full(store, DAY)
    finally:
        store.close()


def _kept_is_full(store: Store, day: dt.date) -> None:
    """The scorecard of `day` as a status reads it (kept, brought up to date) equals a full
    computation from the stored values."""
    defs = read_definition_frames(store)
    measured = read_measurement_frame(store, frame_window(defs, day, True))
    scored = frames.score_kpis(defs, measured, day, True, older=older_measurements(store))
    want = frames.rollup(defs, scored, day)
    got = scorecard(store, as_of=day.isoformat(), save=False).evaluation
    assert_frame_equal(got.kpis, want.kpis)
    assert_frame_equal(got.objectives, want.objectives)
