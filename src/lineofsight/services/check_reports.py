"""The reports `los check` keeps in the store: what identifies one, and its JSON text.

A report is kept for the command line that asked for it (release, as-of date, rules and
options) and reused while the store is as it was (store/check_results.py says when that is).
The text keeps every field of every finding, so a kept report prints byte for byte what
running the rules again prints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import lineofsight
from lineofsight.checks.base import CheckReport, Finding, Severity, Subject, SubjectKind
from lineofsight.domain.model import Location


@cache
def _release() -> str:
    """The release and what identifies its code: a report made by other code (an upgrade, an
    edited rule) is never reused."""
    return code_identity(Path(lineofsight.__file__).parent, lineofsight.__version__)


def code_identity(package: Path, version: str) -> str:
    """A digest of `version` and of what identifies the code in the folder `package`, read
    without reading its source (which cost every `los check` ~10 ms before it could reuse a
    report).

    Installed from a wheel, the package's files are listed with their hashes in the RECORD
    file the installer wrote beside it: another install changes it. Run from a source checkout
    (or an editable install), files change under the same version: each .py file's path, size
    and time of last change identify them.
    """
    digest = hashlib.sha256(version.encode())
    record = package.parent / f"{package.name}-{version}.dist-info" / "RECORD"
    try:
        digest.update(b"installed\0" + record.read_bytes())
        return digest.hexdigest()
    except OSError:
        pass  # not an installed wheel's folder
    for name, size, changed in sorted(_source_files(package, "")):
        digest.update(f"{name}\0{size}\0{changed}\n".encode())
    return digest.hexdigest()


def _source_files(folder: Path | str, prefix: str) -> Iterable[tuple[str, int, int]]:
    """Each .py file under `folder`: its path from there, size and time of last change (ns)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    yield from _source_files(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".py"):
                info = entry.stat()
                yield f"{prefix}{entry.name}", info.st_size, info.st_mtime_ns


def report_key(
    as_of: dt.date,
    select_codes: Iterable[str],
    ignore_codes: Iterable[str],
    options: Mapping[str, Mapping[str, Any]] | None,
) -> str:
    """What identifies a report: the release, the as-of date and the command line's rules
    and options (the store's own `checks:` settings are part of its definitions)."""
    asked = {
        "release": _release(),
        "as_of": as_of.isoformat(),
        "select": sorted({c.strip().upper() for c in select_codes if c.strip()}),
        "ignore": sorted({c.strip().upper() for c in ignore_codes if c.strip()}),
        "options": {code: dict(opts) for code, opts in (options or {}).items()},
    }
    text = json.dumps(asked, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def report_text(report: CheckReport) -> str:
    """The report as JSON text (findings as the rules made them, before paths are shown
    relative to the current folder)."""
    return json.dumps(
        {
            "as_of": report.as_of.isoformat(),
            "rules_run": report.rules_run,
            "skipped": report.skipped,
            "suppressed": report.suppressed,
            "findings": [
                [
                    f.code,
                    f.name,
                    f.severity.value,
                    f.subject.kind.value,
                    f.subject.id,
                    f.message,
                    None if f.location is None else [f.location.file, f.location.line],
                ]
                for f in report.findings
            ],
        },
        separators=(",", ":"),
    )


def report_from_text(text: str) -> CheckReport:
    """The report `report_text` wrote."""
    plain = json.loads(text)
    return CheckReport(
        as_of=dt.date.fromisoformat(plain["as_of"]),
        findings=[
            Finding(
                code=code,
                name=name,
                severity=Severity(severity),
                subject=Subject(SubjectKind(kind), item_id),
                message=message,
                location=None if location is None else Location(location[0], location[1]),
            )
            for code, name, severity, kind, item_id, message, location in plain["findings"]
        ],
        rules_run=plain["rules_run"],
        skipped=plain["skipped"],
        suppressed=plain["suppressed"],
    )
