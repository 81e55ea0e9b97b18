"""A status computed in full written to a pipe leaves keeping its scorecard to a second
process and ends: the scorecard is kept all the same (the next status reads it and gives the
same bytes), and the second process leaves no file behind."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from lineofsight.services.init import init_workspace
from lineofsight.store.database import Store
from lineofsight.store.scorecards import read_marks, read_snapshot_marks
from tests.conftest import Los

AS_OF = "2026-11-22"


def _kept(path: Path) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute(
            "SELECT 1 FROM scorecard_snapshots WHERE as_of = ? AND lag = 1", (AS_OF,)
        ).fetchone()
    finally:
        conn.close()
    return row is not None


def test_a_status_in_full_is_kept_by_a_second_process(tmp_path: Path, workdir: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    init_workspace(tmp_path / "ws", example="techinnovate", db=url)
    conn = sqlite3.connect(path)
    with conn:  # no scorecard kept for any date: the status computes it in full
        conn.execute("DELETE FROM scorecard_snapshots")
        conn.execute("DELETE FROM scorecard_patches")
    conn.close()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary), "LOS_DATABASE_URL": ""}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    db = ["--db", url]
    done = subprocess.run(
        [sys.executable, "-m", "lineofsight", "status", "--as-of", AS_OF, "--format", "json", *db],
        capture_output=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert done.stdout.startswith(b'{"as_of": "2026-11-22", "kpis": [')
    # The second process ends on its own: waited for within a bound, never timed.
    deadline = time.monotonic() + 120
    while not _kept(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _kept(path)
    while any(temporary.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(temporary.iterdir())  # its file deleted once read
    store = Store(url)
    try:
        with store.plain_reading() as plain:
            assert read_snapshot_marks(plain, dt.date.fromisoformat(AS_OF), True) == read_marks(
                plain
            )
    finally:
        store.close()
    # The next status reads the kept scorecard: the same bytes.
    again = Los(url)("status", "--as-of", AS_OF, "--format", "json")
    assert again.exit_code == 0
    assert again.stdout_bytes == done.stdout
