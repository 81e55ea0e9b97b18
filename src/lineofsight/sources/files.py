"""File sources: the CSV and XLSX files a path or glob names, found when a source refreshes.

The files are read and checked by the measurement loader (`los load`'s reader and checks);
this module only finds them. A relative pattern is read from the folder of the strategy file.
"""

from __future__ import annotations

import glob
from pathlib import Path

from lineofsight.errors import SourceError

SUFFIXES = (".csv", ".xlsx", ".xlsm")


def matching(pattern: str, base: Path) -> list[tuple[Path, str]]:
    """Each file `pattern` matches (sorted), with its name as the user knows it: the pattern's
    own folder part, never the folder it was resolved from.

    SourceError (kind `files`) when nothing matches.
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
    shown = []
    for path in found:
        try:
            name = str(path.relative_to(base)) if not written.is_absolute() else str(path)
        except ValueError:
            name = str(path)
        shown.append((path, name))
    return shown
