"""File sources: the CSV and XLSX files a path or glob names, found when a source refreshes.

The files are read and checked by the measurement loader (`los load`'s reader and checks);
this module only finds them. A relative pattern is read from the folder of the strategy file.

A file source reads only files inside that folder, or inside a folder that
`LOS_SOURCE_FILE_ROOTS` lists (separated as PATH is): whoever may apply a strategy (an editor,
through the API) must not be able to make the server read, and show the cells of, any file it
can open.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from lineofsight.errors import SourceError

SUFFIXES = (".csv", ".xlsx", ".xlsm")
ROOTS_ENV = "LOS_SOURCE_FILE_ROOTS"


def allowed_roots(base: Path) -> list[Path]:
    """The folders file sources may read: the strategy file's, and those of ROOTS_ENV."""
    listed = [Path(p) for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    return [root.resolve() for root in (base, *listed)]


def matching(pattern: str, base: Path) -> list[tuple[Path, str]]:
    """Each file `pattern` matches (sorted), with its name as the user knows it: the pattern's
    own folder part, never the folder it was resolved from.

    SourceError (kind `files`) when nothing matches, or when a match lies outside the folders
    file sources may read (`allowed_roots`).
    """
    written = Path(pattern).expanduser()
    full = written if written.is_absolute() else base / written
    found = sorted(
        Path(name)
        for name in glob.glob(str(full), recursive=True)
        if Path(name).is_file() and Path(name).suffix.lower() in SUFFIXES
    )
    if not found:
        raise SourceError("files", f"no CSV or XLSX file matches {pattern}")
    roots = allowed_roots(base)
    shown = []
    for path in found:
        try:
            name = str(path.relative_to(base)) if not written.is_absolute() else str(path)
        except ValueError:
            name = str(path)
        real = path.resolve()
        if not any(real.is_relative_to(root) for root in roots):
            raise SourceError(
                "files",
                f"{name} is outside the strategy file's folder: list its folder in "
                f"{ROOTS_ENV} to read it",
            )
        shown.append((path, name))
    return shown
