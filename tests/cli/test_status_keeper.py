"""A status computed in full written to a pipe leaves keeping its scorecard to a second
process and ends: the scorecard is kept all the same (the next status reads it and gives the
same bytes), and the second process leaves no file behind."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from lineofsight.store.database import Store
from lineofsight.store.scorecards import (
    read_activity,
    read_kept_definitions,
    read_marks,
    read_snapshot_marks,
)
from tests.conftest import Los
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_example,
    postgresql_examples,
    sqlite_examples,
)

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


def test_a_status_in_full_is_kept_by_a_second_process(
    request: pytest.FixtureRequest, tmp_path: Path, workdir: Path
) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    copy_example(request, url, "techinnovate")  # as `los init --example` leaves it
    conn = sqlite3.connect(path)
    with conn:  # no scorecard kept for any date: the status computes it in full
        conn.execute("DELETE FROM scorecard_snapshots")
        conn.execute("DELETE FROM scorecard_patches")
        conn.execute("DELETE FROM kept_definitions")
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
            # With the definitions it was scored with, for the next status in full.
            key = (read_marks(plain).definitions, read_activity(plain))
            assert read_kept_definitions(plain, key) is not None
    finally:
        store.close()
    # The next status reads the kept scorecard: the same bytes.
    again = Los(url)("status", "--as-of", AS_OF, "--format", "json")
    assert again.exit_code == 0
    assert again.stdout_bytes == done.stdout


def test_a_failure_of_the_second_process_is_said_by_the_next_status(
    request: pytest.FixtureRequest, tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.services import snapshot_keeper
    from lineofsight.services.snapshots import scorecard

    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    copy_example(request, url, "techinnovate")  # as `los init --example` leaves it
    conn = sqlite3.connect(path)
    with conn:  # nothing kept, and a save that fails for a reason other than a busy store
        conn.execute("DELETE FROM scorecard_snapshots")
        conn.execute("DELETE FROM scorecard_patches")
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON scorecard_snapshots "
            "BEGIN SELECT RAISE(ABORT, 'the disk quota is reached'); END"
        )
    conn.close()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    started: list[list[str]] = []

    handed: list[bytes] = []

    class Recorded:
        def __init__(self, args: list[str], *, stdin: Any, **_: object) -> None:
            started.append(args)
            handed.append(stdin.read())

    real = subprocess.Popen
    monkeypatch.setattr(snapshot_keeper.subprocess, "Popen", Recorded)
    store = Store(url)
    try:
        card = scorecard(store, None, AS_OF, later=True)
        card.keep(aside=True)
    finally:
        store.close()
    assert len(started) == 1
    monkeypatch.setattr(subprocess, "Popen", real)
    # The second process's own command, run to its end here (its output goes nowhere).
    env = {**os.environ, "TMPDIR": str(temporary), "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(started[0], env=env, input=handed[0], capture_output=True, timeout=120)
    assert done.returncode == 2
    assert not _kept(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TRIGGER refuse")
    conn.close()
    first = Los(url)("status", "--as-of", AS_OF, "--format", "json")
    assert first.exit_code == 0
    assert first.stdout.startswith('{"as_of": "2026-11-22"')
    assert first.stderr.count("warning:") == 1
    assert (
        "an earlier status of 2026-11-22: the scorecard could not be kept in the store: "
        "the disk quota is reached" in " ".join(first.stderr.split())
    )
    assert not any(temporary.iterdir())  # the note is gone once said
    again = Los(url)("status", "--as-of", AS_OF)
    assert again.exit_code == 0
    assert "warning" not in again.stderr


def test_a_busy_store_is_not_noted_as_a_failure(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.services import snapshot_keeper

    path = tmp_path / "store.db"
    copy_example(request, f"sqlite:///{path}", "techinnovate")  # as `los init --example` leaves it
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another write holds the store
    try:
        assert snapshot_keeper.main(str(path), _handed(b"payload")) == 1
    finally:
        holder.rollback()
        holder.close()
    store = Store(f"sqlite:///{path}")
    try:
        assert snapshot_keeper.take_failures(store) == []
    finally:
        store.close()


def _handed(payload: bytes, size: int | None = None, checked: bytes | None = None) -> io.BytesIO:
    """What a status hands over to the keeper: the header line (with the checksum of
    `checked`, default the payload), then the payload."""
    header = {
        "as_of": AS_OF,
        "lag": True,
        "marks": [0, 0, 0],
        "ahead": False,
        "size": len(payload) if size is None else size,
        "sha256": hashlib.sha256(payload if checked is None else checked).hexdigest(),
    }
    return io.BytesIO(json.dumps(header).encode() + b"\n" + payload)


def test_a_module_in_the_working_folder_does_not_stop_the_keeper(
    request: pytest.FixtureRequest, tmp_path: Path, workdir: Path
) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    copy_example(request, url, "techinnovate")  # as `los init --example` leaves it
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM scorecard_snapshots")
        conn.execute("DELETE FROM scorecard_patches")
    conn.close()
    # A folder where a user runs `los`, holding a module named as one of the standard library's.
    (workdir / "hashlib.py").write_text("raise SystemExit(7)\n", encoding="utf-8")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary), "LOS_DATABASE_URL": ""}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    # -P: as the `los` command runs (its script's folder first, not the working folder).
    done = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "lineofsight",
            "status",
            "--as-of",
            AS_OF,
            "--format",
            "json",
            "--db",
            url,
        ],
        capture_output=True,
        env=env,
        cwd=workdir,
        check=True,
        timeout=120,
    )
    assert done.stdout.startswith(b'{"as_of": "2026-11-22", "kpis": [')
    assert not any(temporary.iterdir())  # nothing handed over through a named file
    deadline = time.monotonic() + 120
    while not _kept(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _kept(path)
    assert not any(temporary.iterdir())


def test_a_changed_hand_over_is_refused_by_its_checksum_never_stored(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payload of the right length whose bytes changed on the way (one flipped), or a
    header without the checksum: refused, noted with the reason, nothing kept."""
    from lineofsight.services import snapshot_keeper

    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    copy_example(request, url, "techinnovate")  # as `los init --example` leaves it
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM scorecard_snapshots")
    conn.close()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sent = b'{"as_of": "2026-11-22", "kpis": []}'
    changed = sent.replace(b"kpis", b"kpiz")
    assert snapshot_keeper.main(str(path), _handed(changed, checked=sent)) == 2
    unchecked = json.dumps({"as_of": AS_OF, "lag": True, "marks": [0, 0, 0], "size": 4})
    assert snapshot_keeper.main(str(path), io.BytesIO(unchecked.encode() + b"\nabcd")) == 2
    assert not _kept(path)
    store = Store(url)
    try:
        said = snapshot_keeper.take_failures(store)
    finally:
        store.close()
    assert said[0] == (
        "an earlier status of 2026-11-22: the scorecard could not be kept in the store: "
        "the scorecard handed over is damaged (its SHA-256 checksum does not match)"
    )
    assert said[1].startswith(
        "an earlier status: the scorecard could not be kept in the store: "
        "the scorecard handed over is damaged"
    )
    assert len(said) == 2


def test_a_short_or_damaged_hand_over_is_noted_as_a_failure(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.services import snapshot_keeper

    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    copy_example(request, url, "techinnovate")  # as `los init --example` leaves it
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert snapshot_keeper.main(str(path), _handed(b"0123456789", size=100)) == 2
    assert snapshot_keeper.main(str(path), io.BytesIO(b'{"as_of": "2026-11-2\n')) == 2
    assert not _kept(path)
    store = Store(url)
    try:
        said = snapshot_keeper.take_failures(store)
    finally:
        store.close()
    assert len(said) == 2
    assert said[0] == (
        "an earlier status of 2026-11-22: the scorecard could not be kept in the store: "
        "the scorecard handed over is 10 bytes, not 100"
    )
    assert said[1].startswith(
        "an earlier status: the scorecard could not be kept in the store: "
        "the scorecard handed over is damaged"
    )


def test_a_store_deleted_before_the_keeper_saves_is_not_made_again(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.services import snapshot_keeper

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = tmp_path / "gone"
    gone.mkdir()
    path = gone / "store.db"
    copy_example(request, f"sqlite:///{path}", "techinnovate")  # as `los init --example` leaves it
    for file in gone.iterdir():
        file.unlink()
    gone.rmdir()  # the store's folder deleted while the status ended
    assert snapshot_keeper.main(str(path), _handed(b"payload")) == 1
    assert not gone.exists()
    # Its file deleted alone: not made again, empty, either.
    gone.mkdir()
    assert snapshot_keeper.main(str(path), _handed(b"payload")) == 1
    assert list(gone.iterdir()) == []
    assert not list(tmp_path.glob("los-keep-*"))  # and no failure noted


def test_a_scorecard_saved_into_a_store_deleted_meanwhile_makes_no_file(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from lineofsight.errors import StoreError
    from lineofsight.store.scorecards import Marks, save_snapshot

    path = tmp_path / "store.db"
    copy_example(request, f"sqlite:///{path}", "techinnovate")  # as `los init --example` leaves it
    store = Store(f"sqlite:///{path}", migrate=False)
    try:
        path.unlink()  # between the keeper's start and its save
        with pytest.raises(StoreError):
            save_snapshot(store, dt.date(2026, 11, 22), True, Marks(0, 0, 0), b"payload")
    finally:
        store.close()
    assert not path.exists()


def test_the_scorecard_is_handed_over_in_a_file_with_no_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.services.snapshot_keeper import _nameless

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with _nameless() as handed:
        handed.write(b"header\npayload")
        handed.seek(0)
        assert handed.read() == b"header\npayload"
        if hasattr(os, "memfd_create"):  # in memory: no file in any folder
            assert os.readlink(f"/proc/self/fd/{handed.fileno()}").startswith("/memfd:")
        assert not any(tmp_path.iterdir())
    # Where the system makes no file in memory (or refuses to), a temporary file without a
    # name (or unlinked at once) instead.
    monkeypatch.delattr(os, "memfd_create", raising=False)
    with _nameless() as handed:
        handed.write(b"payload")
        handed.seek(0)
        assert handed.read() == b"payload"
        assert not any(tmp_path.iterdir())


def test_a_file_in_memory_refused_falls_back_to_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.services.snapshot_keeper import _nameless

    def refused(*_: object) -> int:
        raise PermissionError("not here")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    with _nameless() as handed:
        handed.write(b"payload")
        handed.seek(0)
        assert handed.read() == b"payload"
    assert not any(tmp_path.iterdir())
