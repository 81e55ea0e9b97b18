"""Create a workspace: a store, a strategy file and a data folder, optionally a worked example."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from lineofsight.errors import Problem, UsageError
from lineofsight.examples import example_names
from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import LoadResult, load_file
from lineofsight.services.workspace import (
    CONFIG_FILE,
    DATABASE_FILE,
    ENV_URL,
    WORKSPACE_DIR,
    enclosing_workspace,
    read_config_url,
    write_config,
)
from lineofsight.store.database import Store, sqlite_path, sqlite_url
from lineofsight.store.definitions import read_settings

STRATEGY_FILE = "strategy.yaml"
DATA_DIR = "data"

STARTER = """\
# Line of Sight strategy file, format version 1. `los schema` prints its JSON Schema.
# Edit it, then run `los apply strategy.yaml`; load measurements with `los load data/*.csv`.
version: 1
organization:
  name: My Organization
  calendar: {fiscal_year_start: 1}
  units:
    - {id: company, name: My Organization, level: company, lead: ceo}
  people:
    - {id: ceo, name: Chief Executive, unit: company, title: CEO}
strategy:
  mission: What we exist to do.
  vision: Where we want to be.
  values: [Customer focus]
objectives:
  - id: grow_revenue
    title: Grow revenue by 20% by the end of next year
    level: strategic
    unit: company
    owner: ceo
    perspective: financial
    deadline: 2027-12-31
kpis:
  - id: revenue
    name: Revenue
    unit_of_measure: EUR
    level: strategic
    type: lagging
    unit: company
    owner: ceo
    frequency: monthly
    direction: increase
    aggregation: sum
    supports: [{objective: grow_revenue}]
    target: {value: 1200000, by: 2027-12-31}
"""


@dataclass
class InitResult:
    folder: Path
    url: str
    strategy: Path
    created_strategy: bool
    example: str | None = None
    loads: list[LoadResult] = field(default_factory=list)
    added: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    existed: bool = False  # the store held a strategy before: a workspace already there


def _examples_root() -> Traversable:
    return resources.files("lineofsight") / "examples"


def list_examples() -> list[str]:
    """The names of the worked examples shipped with Line of Sight."""
    return example_names()


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name.startswith((".", "__")):
            continue
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        else:
            with resources.as_file(entry) as real:
                shutil.copyfile(real, target / entry.name)


def _make_folder(folder: Path) -> None:
    """Make the workspace's folder (and those above it); UsageError naming it and why when it
    cannot be made (a file of that name, a folder that cannot hold one)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        reason = f"{folder} is a file, not a folder: the workspace needs a folder there"
        raise UsageError(reason, [Problem("DIR", 0, reason)]) from None
    except OSError as exc:
        reason = f"cannot make the folder {folder}: {exc.strerror or exc}"
        raise UsageError(reason, [Problem("DIR", 0, reason)]) from None


def _missing_from(path: Path) -> Path | None:
    """The highest of `path` and the folders above it that does not exist yet: what making
    `path` creates (None when it exists)."""
    top = None
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):  # never raises (a file where a folder is named)
            # Below a file nothing can be made.
            return top if candidate.is_dir() else None
        top = candidate
    return top


def _fresh_paths(folder: Path, example: str | None, url: str) -> list[Path]:
    """What an init in `folder` may make that is not there yet (the highest new folder of
    each): the folders, the strategy file, an example's files, the config and an SQLite
    store with its side files."""
    folder = folder.absolute()
    wanted = [folder, folder / DATA_DIR, folder / STRATEGY_FILE, folder / WORKSPACE_DIR]
    if example is not None:
        wanted += [folder / entry.name for entry in (_examples_root() / example).iterdir()]
    store = sqlite_path(url)
    if store is not None:
        store = store.absolute()
        wanted += [store.with_name(store.name + end) for end in ("", "-wal", "-shm", "-journal")]
    found = (_missing_from(path) for path in wanted)
    return list(dict.fromkeys(path for path in found if path is not None))


def _remove(path: Path) -> None:
    """Remove a file or folder that a failed init made (gone already: nothing to do)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def init_workspace(
    folder: Path, *, example: str | None = None, db: str | None = None, force: bool = False
) -> InitResult:
    """Create (or complete) a workspace in `folder`; with `example`, fill it with that example."""
    if example is not None and example not in list_examples():
        raise UsageError(f"unknown example {example!r}: choose one of {', '.join(list_examples())}")
    around = enclosing_workspace(folder) if db is None else None
    if around is not None:
        # A workspace inside another gets a store of its own, which the commands run in its
        # folders use instead of the one around it: rarely what was meant, unless its store
        # is named (--db).
        reason = (
            f"{folder} is inside the workspace {around}: a workspace there would get a new "
            f"store of its own; work in {around}, run `los init` in a folder outside it, or "
            "name the new workspace's store with --db"
        )
        raise UsageError(reason, [Problem("DIR", 0, reason)])
    strategy = folder / STRATEGY_FILE
    if example is not None and strategy.exists() and not force:
        raise UsageError(
            f"{strategy} exists: an example would replace it (use --force to overwrite)"
        )
    config = folder / WORKSPACE_DIR / CONFIG_FILE
    default = sqlite_url((folder / WORKSPACE_DIR / DATABASE_FILE).resolve())
    url = (
        db
        or os.environ.get(ENV_URL)
        or (read_config_url(config) if config.is_file() else None)
        or default
    )
    fresh = _fresh_paths(folder, example, url)
    try:
        return _fill(folder, example, url, default, strategy)
    except BaseException:
        # A failed init leaves nothing behind: what it made goes, what was there stays.
        for path in fresh:
            _remove(path)
        raise


def _fill(folder: Path, example: str | None, url: str, default: str, strategy: Path) -> InitResult:
    """Make the workspace's folders, store, config and strategy file, and apply it."""
    _make_folder(folder)
    _make_folder(folder / DATA_DIR)  # before the store is made: nothing made for nothing
    if url != default:
        _make_folder(folder / WORKSPACE_DIR)  # where the config goes (a file in the way said)
    store = Store(url)
    try:
        if url != default:
            # The next command in this folder finds the store here (its password is not kept).
            write_config(folder, url)
        created = False
        if example is not None:
            _copy_tree(_examples_root() / example, folder)
            created = True
        elif not strategy.exists():
            strategy.write_text(STARTER, encoding="utf-8")
            created = True
        result = InitResult(folder, store.display_url, strategy, created, example)
        with store.reading() as conn:
            result.existed = read_settings(conn) is not None
        applied = apply_file(store, strategy)
        result.added = applied.plan.count("add")
        org = applied.organization
        result.counts = {
            "unit levels": len({u.level for u in org.units}),
            "units": len(org.units),
            "people": len(org.people),
            "objectives": len(org.objectives),
            "KPIs": len(org.kpis),
        }
        if example is not None:
            for data_file in sorted((folder / DATA_DIR).glob("*.csv")):
                result.loads.append(load_file(store, data_file, allow_future=True))
        return result
    finally:
        store.close()
