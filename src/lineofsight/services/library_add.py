"""`library add`: a catalogue KPI, and the formula inputs the strategy lacks, into file and store.

Two ways in, one planning step (services.library_plan):

- `add` (the command line) edits the strategy file as text (every other line kept),
  applies it to the store in one transaction, and only then writes the file (atomically).
  A crash between the two leaves the store ahead of the file, and the same command run
  again completes the file; a file ahead of the store (written by an older version, or by
  hand) is completed the other way, by applying it.
- `add_to_store` (the web app) adds exactly the catalogue items to the store's current
  definitions, never to whatever the file on disk holds, checks the change with the
  caller's permission rule, applies it credited to the user, and then edits the file only
  when the file still matches the store (otherwise it leaves it alone and says so).

Both hold a lock so that two additions at once cannot lose one another.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lineofsight.domain import model as m
from lineofsight.errors import UsageError
from lineofsight.library.catalogue import default_catalogue
from lineofsight.library.model import Entry
from lineofsight.services.library_plan import AddedKpi as AddedKpi
from lineofsight.services.library_plan import Addition, describe, plan_addition
from lineofsight.services.library_plan import AddResult as AddResult
from lineofsight.spec.dump import dump_organization
from lineofsight.spec.files import parse_strategy
from lineofsight.store.database import Store, StoreConnection
from lineofsight.store.definitions import AppliedFile
from lineofsight.store.organization import read_source_file

if TYPE_CHECKING:
    from lineofsight.services.apply import Plan


def _stored_source(store: Store) -> str | None:
    with store.reading() as conn:
        return read_source_file(conn)


def strategy_source(store: Store, workspace: Path | None = None) -> Path:
    """The strategy file the store last applied; UsageError when it is not a file here, or
    lies outside `workspace`, the workspace folder the command runs in (when it found the
    store there): another file applied to it (a trial, a copy) is not what a user of the
    workspace expects a change written to, and the workspace's own file applied whole would
    undo what that one changed, so the user says which (--file)."""
    source = _stored_source(store)
    if not source:
        raise UsageError(
            "the store does not know its strategy file: give --file PATH "
            "(or run `los apply FILE` first)"
        )
    if not Path(source).is_file():
        # Applied through the web API, or from a file since moved: nothing here to edit.
        raise UsageError(
            f"the strategy was last applied from {source!r}, which is not a file here: "
            "apply the strategy file with `los apply FILE`, or give --file PATH"
        )
    path = Path(source)
    if workspace is not None and not path.resolve().is_relative_to(workspace.resolve()):
        raise UsageError(
            f"the store was last applied from {path}, which is not in this workspace "
            f"({workspace}): give --file PATH to say which strategy file to add the KPI to "
            f"(it is applied whole: --file {path} keeps what the store holds)"
        )
    return path


def _stored_organization(store: Store) -> m.Organization | None:
    from lineofsight.store.definitions import read_organization

    with store.reading() as conn:
        return read_organization(conn)


def add(
    store: Store,
    kpi_id: str,
    *,
    unit: str,
    owner: str,
    supports: str | None = None,
    file: Path | None = None,
    actor: str | None = None,
    workspace: Path | None = None,
) -> AddResult:
    """Add a catalogue KPI, and the formula inputs the strategy lacks, to file and store.

    The file is edited as text (everything else in it kept) and validated as a whole; the
    store is written first, in one transaction, then the file is replaced in one step. Run
    again after a crash between the two, the same command completes what is missing.
    Without `file`, the file the store last applied (`strategy_source`, within `workspace`).
    """
    from lineofsight.services.library import entry

    cat = default_catalogue()
    item = entry(kpi_id)
    path = file if file is not None else strategy_source(store, workspace)
    with _locked(path):
        text = _read(path)
        org = parse_strategy(text, str(path))
        if item.id in {k.id for k in org.kpis}:
            return _complete_store(store, org, item, path, unit, owner, actor)
        addition = plan_addition(org, cat, item, str(path), unit, owner, supports)
        new_text, new_org = _insert(text, addition, path)
        _apply(store, new_org, _file(path, new_text), actor, None, whole=True)
        # The store holds the addition now; a crash before the next line leaves the file
        # behind it, and running the command again writes it (the store has nothing to do).
        _write(path, new_text)
    return describe(org, new_org, item, addition, str(path))


def _complete_store(
    store: Store,
    org: m.Organization,
    item: Entry,
    path: Path,
    unit: str,
    owner: str,
    actor: str | None,
) -> AddResult:
    """The file has the KPI already: when the store lacks it (a crash after the file was
    written), apply the file to complete the addition; otherwise there is nothing to do."""
    stored = _stored_organization(store)
    kpi = next(k for k in org.kpis if k.id == item.id)
    if stored is not None and any(k.id == item.id for k in stored.kpis):
        raise UsageError(f"the strategy has a KPI '{item.id}' already ({path}); nothing written")
    if kpi.unit != unit or kpi.owner != owner:
        raise UsageError(
            f"{path} has a KPI '{item.id}' already (unit '{kpi.unit}', owner "
            f"'{kpi.owner}'), which the store does not have: apply the file with "
            "`los apply`, or remove the KPI from it"
        )
    from lineofsight.spec.digest import file_digest

    # The file is left as it is: what is kept of it is its bytes (held by the lock).
    _apply(store, org, AppliedFile(str(path.resolve()), file_digest(path)), actor, None, whole=True)
    supported = kpi.supports[0].objective if kpi.supports else None
    added = (AddedKpi(item.id, kpi.name, "requested", kpi.direction.value),)
    return AddResult(
        str(path),
        added,
        (),
        supported,
        False,
        file_note=f"{path} had '{item.id}' already and the store did not: applied the file "
        "to the store to complete the addition",
    )


def add_to_store(
    store: Store,
    kpi_id: str,
    *,
    unit: str,
    owner: str,
    supports: str | None = None,
    actor: str | None = None,
    authorize: Callable[[m.Organization, m.Organization], None] | None = None,
    also: Callable[[StoreConnection, Plan], None] | None = None,
) -> AddResult:
    """Add a catalogue KPI to the store's definitions as they are, then to the file if it
    still matches the store.

    `authorize(before, after)` sees the change before anything is written and raises to
    refuse it; `actor` and `also` go to the apply (who made the change, and what to write
    in the same transaction: the web app's audit row). Edits of the file that were never
    applied are never applied by this: a file that differs from the store is left alone.
    """
    from lineofsight.services.library import entry

    cat = default_catalogue()
    item = entry(kpi_id)
    source = _stored_source(store)
    path = Path(source) if source and Path(source).is_file() else None
    with _locked(path):
        before = _stored_organization(store)
        if before is None:
            raise UsageError("the store has no strategy yet: apply a strategy file first")
        addition = plan_addition(before, cat, item, "the strategy", unit, owner, supports)
        _, added_org = _insert(dump_organization(before), addition, None)
        new_kpis = tuple(replace(k, location=None) for k in added_org.kpis[len(before.kpis) :])
        new_org = replace(before, kpis=before.kpis + new_kpis)
        if authorize is not None:
            authorize(before, new_org)
        file_text = _matching_file(path, before)
        file_org = None
        if path is not None and file_text is not None:
            new_text, file_org = _insert(file_text, addition, path)
            if file_org != new_org:  # pragma: no cover - the same items into the same model
                file_text, file_org = None, None
        # Into the file too: the store is the file's again; else a change of the store alone.
        written = _file(path, new_text) if path is not None and file_org is not None else None
        _apply(store, file_org or new_org, written, actor, _guard(new_kpis, also))
        note = None
        if path is not None and file_text is not None:
            _write(path, new_text)
        elif path is not None:
            note = (
                f"the strategy file {path.name} was left as it is: it differs from the "
                f"store (edits not applied yet), so add '{item.id}' to it by hand, or the "
                "next `los apply` of it takes the KPI away again"
            )
    name = path.name if path is not None else "the store"
    result = describe(before, new_org, item, addition, name)
    return replace(result, file_written=file_text is not None, file_note=note)


def _guard(
    new_kpis: tuple[m.Kpi, ...], also: Callable[[StoreConnection, Plan], None] | None
) -> Callable[[StoreConnection, Plan], None]:
    """Inside the apply's transaction: the change must be the addition and nothing else.

    The definitions were read before the transaction; a write in between (an apply from the
    command line, another web request) would otherwise be undone by this one. Raising here
    rolls the whole apply back.
    """
    ids = {k.id for k in new_kpis}

    def check(conn: StoreConnection, plan: Plan) -> None:
        if any(r.kind != "kpi" or r.item_id not in ids or r.action != "add" for r in plan.records):
            raise UsageError(
                "the strategy changed while the KPI was being added: nothing was written; try again"
            )
        if also is not None:
            also(conn, plan)

    return check


def _matching_file(path: Path | None, stored: m.Organization) -> str | None:
    """The strategy file's text when it defines exactly what the store holds, else None."""
    from lineofsight.errors import InputError

    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
        return text if parse_strategy(text, str(path)) == stored else None
    except (OSError, InputError):
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the strategy file {path}: {exc.strerror or exc}") from None


def _file(path: Path, text: str) -> AppliedFile:
    """The strategy file `path` as it is once `text` is written to it (`_write`)."""
    from lineofsight.spec.digest import bytes_digest

    return AppliedFile(str(path.resolve()), bytes_digest(text.encode("utf-8")))


def _apply(
    store: Store,
    org: m.Organization,
    file: AppliedFile | None,
    actor: str | None,
    also: Callable[[StoreConnection, Plan], None] | None,
    *,
    whole: bool = False,
) -> None:
    """Apply `org`, the strategy `file` (None: the web app's change of the store alone).
    `whole`: the file as it is on disk, whatever the store holds (the command line's), which
    is refused when it would undo a change made in the web app since it was applied."""
    from lineofsight.services.apply import apply_organization
    from lineofsight.services.strategy_edit import source_of

    source = file.path if file is not None else source_of(actor or "unknown")
    force = False if whole else None
    apply_organization(store, org, source=source, file=file, actor=actor, also=also, force=force)


def _insert(text: str, addition: Addition, path: Path | None) -> tuple[str, m.Organization]:
    """The strategy text with the addition's KPIs appended, and what it defines."""
    from lineofsight.library.addition import NotInsertable, insert_kpis

    where = str(path) if path is not None else "strategy.yaml"
    try:
        new_text = insert_kpis(text, addition.items)
    except NotInsertable as exc:
        raise UsageError(f"{where}: {exc}; add the KPI by hand") from None
    return new_text, parse_strategy(new_text, where)


_thread_lock = threading.Lock()


@contextmanager
def _locked(path: Path | None) -> Iterator[None]:
    """Hold the strategy file for one addition: read, edit, write and apply as one step.

    Two additions at once (two web requests, a command and the web app) would otherwise
    both read the old file, and the second write would drop the first one's KPIs. A lock
    file in the temporary folder, named by the strategy file's path, serialises processes
    (where the system has `fcntl`) without leaving anything next to the user's file; the
    thread lock serialises the web app's worker threads.
    """
    with _thread_lock:
        if path is None:  # no file to edit: the store's transaction is the only shared thing
            yield
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: one process at a time is assumed
            yield
            return
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        lock_path = Path(tempfile.gettempdir()) / f"lineofsight-strategy-{digest}.lock"
        try:
            handle = lock_path.open("a")
        except OSError:  # pragma: no cover - no usable temporary folder: threads only
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _write(path: Path, text: str) -> None:
    """Replace the file's text in one step (a crash leaves the old or the new file whole)."""
    temporary = path.with_name(f".{path.name}.los-tmp")
    temporary.write_text(text, encoding="utf-8", newline="")
    os.replace(temporary, path)
