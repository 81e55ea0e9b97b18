"""Keep a scorecard computed in full in the store from a second process, so that the process
that computed it (a `los status` whose output is written) can end at once.

The first process encodes the scorecard (`snapshot_card.encode`), writes it to a file that
has no name anywhere (`_nameless`: in memory on Linux, else a temporary file made without a
name, or unlinked at once) behind a one-line JSON header (the date, the mode, what the
scorecard covers, the payload's length and its SHA-256, so that a payload cut short or changed
on the way is refused, never stored) and starts this module with that file as its standard
input and the store's file as its argument; this process saves it as `services.snapshots`
would have
(`store.scorecards.save_snapshot`: never over a scorecard that covers more, never waiting
behind a write). Nothing is ever left in the temporary folder, whatever becomes of either
process. Only a plain SQLite file is kept this way: the process needs no URL, password or
SQLAlchemy, only the file's path; it opens the file only if it is still there (a store moved
or deleted meanwhile is not made again).

A save given up because the store is busy or read-only is dropped, as the first process would
drop it (a later status computes the scorecard again). Any other failure (a damaged or short
input, a full disk, a store of another release) is written to a note in the temporary folder,
keyed on the store's file and the user: the next `los status` of the store says it on
standard error (`take_failures`) and deletes the note.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from lineofsight.errors import StoreError
from lineofsight.store.database import Store, sqlite_url
from lineofsight.store.scorecards import KeptDefinitions, Marks, cannot_keep, save_snapshot


def keep_aside(
    store: Store,
    day: dt.date,
    lag: bool,
    marks: Marks,
    pieces: list[bytes],
    *,
    ahead: bool,
    definitions: KeptDefinitions | None = None,
) -> bool:
    """Hand the encoded scorecard (`snapshot_card.encode_pieces`) to a second process that
    saves it (`definitions`: with its definitions and labels, see `save_snapshot`); False
    when the store is not a plain SQLite file or the process could not be started (the
    caller saves it)."""
    if store.sqlite_file is None:
        return False
    header = {
        "as_of": day.isoformat(),
        "lag": lag,
        "marks": [marks.definitions, marks.load_id, marks.revision_id],
        "definitions": None
        if definitions is None
        else {
            "key": list(definitions.key),
            "head": definitions.head.decode(),
            "ranges": definitions.ranges,
        },
        "ahead": ahead,
        "size": sum(len(piece) for piece in pieces),
        "sha256": "0" * 64,  # a hexadecimal digest's length: its place, filled in after
    }
    line = json.dumps(header).encode() + b"\n"
    try:
        # Nameless: the child reads it from its standard input; its memory (or disk space)
        # is freed when both have closed it.
        with _nameless() as handed, ThreadPoolExecutor(max_workers=1) as pool:
            # The checksum worked out in a second thread while the pieces are written behind
            # the header's place (both leave Python's lock free: half the time of one after
            # the other, tens of milliseconds the process ends sooner).
            digest = pool.submit(_sha256, pieces)
            handed.seek(len(line))
            handed.writelines(pieces)
            header["sha256"] = digest.result()
            handed.seek(0)
            handed.write(json.dumps(header).encode() + b"\n")  # as long as `line`
            handed.flush()
            handed.seek(0)
            # The package's own location first: the second process runs this release's
            # code; -P: the working folder is not on its module path (a hashlib.py there is
            # not run).
            package = str(Path(__file__).resolve().parents[2])
            subprocess.Popen(
                [sys.executable, "-P", "-c", _RUN, package, str(Path(store.sqlite_file).resolve())],
                stdin=handed,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,  # not stopped with this process's terminal or group
            )
    except OSError:
        return False
    return True


def _sha256(pieces: list[bytes]) -> str:
    """The SHA-256 of the pieces one after the other, in hexadecimal."""
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


def _nameless() -> BinaryIO:
    """A file for the scorecard handed over, with no name anywhere: in memory where the
    system makes such files (Linux's memfd: tens of megabytes written in a fifth of the time
    of a new file's, which the system may hold back while it writes other files' pages to
    disk), else a temporary file (mode 0600, made without a name or unlinked at once)."""
    make = getattr(os, "memfd_create", None)
    if make is not None:
        try:
            return os.fdopen(make("los-keep", getattr(os, "MFD_CLOEXEC", 0)), "w+b")
        except OSError:
            pass  # not allowed here (a sandbox): the temporary folder then
    return tempfile.TemporaryFile(prefix="los-keep-", suffix=".scorecard")


_RUN = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from lineofsight.services.snapshot_keeper import main; "
    "raise SystemExit(main(sys.argv[2], sys.stdin.buffer))"
)


def main(file: str, handed: BinaryIO) -> int:
    """Save into the SQLite file `file` the scorecard that `keep_aside` hands over on
    `handed`; a failure other than a busy or read-only store is left in the store's note
    (`take_failures`). 0 when saved, 1 when not (busy, a newer one kept, the store gone), 2
    on a failure (noted)."""
    try:
        header = json.loads(handed.readline())
        as_of = dt.date.fromisoformat(header["as_of"])
        marks = Marks(*header["marks"])
        given = header.get("definitions")
        definitions = None
        if given is not None:
            key, ranges = given["key"], given["ranges"]
            definitions = KeptDefinitions(
                (int(key[0]), int(key[1])),
                str(given["head"]).encode(),
                [(int(start), int(end)) for start, end in ranges],
            )
        size = int(header["size"])
        expected = str(header["sha256"])
        payload = handed.read(size + 1)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        _note_failure(file, "", cannot_keep(f"the scorecard handed over is damaged ({exc})"))
        return 2
    if len(payload) != size:
        reason = f"the scorecard handed over is {len(payload):,} bytes, not {size:,}"
        _note_failure(file, header["as_of"], cannot_keep(reason))
        return 2
    if hashlib.sha256(payload).hexdigest() != expected:
        # Changed on the way (a damaged disk, another program writing to it): never stored.
        reason = "the scorecard handed over is damaged (its SHA-256 checksum does not match)"
        _note_failure(file, header["as_of"], cannot_keep(reason))
        return 2
    try:
        store = Store(sqlite_url(Path(file)), migrate=False, create=False)
        try:
            if store.sqlite_file is None:
                return 1  # a path that is no plain file name: not one a status hands over
            saved = save_snapshot(
                store,
                as_of,
                bool(header["lag"]),
                marks,
                payload,
                ahead=bool(header["ahead"]),
                definitions=definitions,
            )
        finally:
            store.close()
    except Exception as exc:  # nobody sees this process: its reason is noted
        if not Path(file).is_file():
            return 1  # the store was moved or deleted meanwhile: none is made
        reason = str(exc) if isinstance(exc, StoreError) else cannot_keep(exc)
        _note_failure(file, header["as_of"], reason)
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
            of = f" of {entry['as_of']}" if entry["as_of"] else ""
            said.append(f"an earlier status{of}: {entry['reason']}")
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short (a full disk): the others are still said
    return said
