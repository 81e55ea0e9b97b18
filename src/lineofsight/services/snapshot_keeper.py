"""Keep a scorecard computed in full in the store from a second process, so that the process
that computed it (a `los status` whose output is written) can end at once.

The first process encodes the scorecard (`snapshot_card.encode`), writes it to a private
temporary file behind a one-line JSON header (the store's file, the date, the mode and what
the scorecard covers) and starts this module on it; this process saves it as
`services.snapshots` would have (`store.scorecards.save_snapshot`: never over a scorecard that
covers more, never waiting behind a write) and deletes the file. Only a plain SQLite file is
kept this way: the process needs no URL, password or SQLAlchemy, only the file's path.

A save given up because the store is busy or read-only is dropped, as the first process would
drop it (a later status computes the scorecard again). Any other failure (a damaged file, a
full disk, a store of another release) is written to a note in the temporary folder, keyed on
the store's file and the user: the next `los status` of the store says it on standard error
(`take_failures`) and deletes the note.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from lineofsight.errors import StoreError
from lineofsight.store.database import Store
from lineofsight.store.scorecards import Marks, cannot_keep, save_snapshot


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
    """Save the scorecard of the file `keep_aside` wrote, and delete the file; a failure other
    than a busy or read-only store is left in the store's note (`take_failures`)."""
    try:
        with open(path, "rb") as source:
            header = json.loads(source.readline())
            payload = source.read()
    finally:
        Path(path).unlink(missing_ok=True)
    if not Path(header["file"]).is_file():
        return 1  # the store was moved or deleted meanwhile: none is made
    try:
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
    except Exception as exc:  # nobody sees this process: its reason is noted
        reason = str(exc) if isinstance(exc, StoreError) else cannot_keep(exc)
        _note_failure(header["file"], header["as_of"], reason)
        return 2
    return 0 if saved else 1


def _note_path(file: str) -> Path:
    """Where the failures of saves into the SQLite file `file` are noted for this user."""
    digest = hashlib.sha256(str(Path(file).resolve()).encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"los-keep-{os.getuid()}-{digest}.failed"


def _note_failure(file: str, as_of: str, reason: str) -> None:
    """Add one line (the date and why) to the store's note; a note that cannot be written is
    given up (there is nobody else to tell)."""
    line = json.dumps({"as_of": as_of, "reason": reason}) + "\n"
    # Appended, never through a link, readable by this user only: the folder is shared.
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(_note_path(file), flags, 0o600)
    except OSError:
        return
    with os.fdopen(fd, "a", encoding="utf-8") as note:
        note.write(line)


def take_failures(store: Store) -> list[str]:
    """What the second processes that saved scorecards of `store` could not save since this
    was last asked, one sentence each, oldest first; the note is deleted. Nothing for a store
    that is not a plain SQLite file (none is saved aside)."""
    if store.sqlite_file is None:
        return []
    path = _note_path(store.sqlite_file)
    try:
        owner = path.lstat()
    except OSError:
        return []  # the usual case: no note
    taken = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        if owner.st_uid != os.getuid() or not path.is_file() or path.is_symlink():
            return []
        path.rename(taken)  # a keeper ending now starts a new note, said next time
        lines = taken.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    finally:
        taken.unlink(missing_ok=True)
    said = []
    for line in lines:
        try:
            entry = json.loads(line)
            said.append(f"an earlier status of {entry['as_of']}: {entry['reason']}")
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short (a full disk): the others are still said
    return said
