"""Keep a scorecard computed in full in the store from a second process, so that the process
that computed it (a `los status` whose output is written) can end at once.

The first process encodes the scorecard (`snapshot_card.encode`), writes it to a private
temporary file behind a one-line JSON header (the store's file, the date, the mode and what
the scorecard covers) and starts this module on it; this process saves it as
`services.snapshots` would have (`store.scorecards.save_snapshot`: never over a scorecard that
covers more, never waiting behind a write) and deletes the file. Only a plain SQLite file is
kept this way: the process needs no URL, password or SQLAlchemy, only the file's path.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from lineofsight.store.database import Store
from lineofsight.store.scorecards import Marks, save_snapshot


def keep_aside(
    store: Store, day: dt.date, lag: bool, marks: Marks, pieces: list[bytes], *, ahead: bool
) -> bool:
    """Hand the encoded scorecard (`snapshot_card.encode_pieces`) to a second process that
    saves it; False when the store is not a plain SQLite file or the process could not be
    started (the caller saves it)."""
    if store.sqlite_file is None:
        return False
    header = {
        "file": str(Path(store.sqlite_file).resolve()),
        "as_of": day.isoformat(),
        "lag": lag,
        "marks": [marks.definitions, marks.load_id, marks.revision_id],
        "ahead": ahead,
    }
    fd, path = tempfile.mkstemp(prefix="los-keep-", suffix=".scorecard")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(json.dumps(header).encode() + b"\n")
            out.writelines(pieces)
        # The package's own location first: the second process runs this release's code.
        package = str(Path(__file__).resolve().parents[2])
        subprocess.Popen(
            [sys.executable, "-c", _RUN, package, path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,  # not stopped with this process's terminal or group
        )
    except OSError:
        Path(path).unlink(missing_ok=True)
        return False
    return True


_RUN = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from lineofsight.services.snapshot_keeper import main; raise SystemExit(main(sys.argv[2]))"
)


def main(path: str) -> int:
    """Save the scorecard of the file `keep_aside` wrote, and delete the file."""
    try:
        with open(path, "rb") as source:
            header = json.loads(source.readline())
            payload = source.read()
    finally:
        Path(path).unlink(missing_ok=True)
    if not Path(header["file"]).is_file():
        return 1  # the store was moved or deleted meanwhile: none is made
    store = Store(f"sqlite:///{header['file']}", migrate=False)
    try:
        saved = save_snapshot(
            store,
            dt.date.fromisoformat(header["as_of"]),
            bool(header["lag"]),
            Marks(*header["marks"]),
            payload,
            ahead=bool(header["ahead"]),
        )
    finally:
        store.close()
    return 0 if saved else 1
