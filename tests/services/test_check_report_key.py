"""What identifies the code that made a kept `los check` report: the release, and the record
of an installed wheel or the files of a source checkout, known without reading any source."""

from __future__ import annotations

import builtins
import io
import os
from pathlib import Path
from typing import Any

import pytest

from lineofsight.services import check_reports
from lineofsight.services.check_reports import code_identity


def _package(root: Path) -> Path:
    package = root / "lineofsight"
    (package / "checks" / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("VERSION = 1\n")
    (package / "checks" / "rule.py").write_text("LIMIT = 3\n")
    (package / "checks" / "__pycache__" / "rule.cpython-311.pyc").write_bytes(b"\0")
    (package / "README.txt").write_text("not code\n")
    return package


def _touch(path: Path, text: str, moved: int) -> None:
    """Write `text` with a time of last change `moved` seconds after the one it had."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + moved * 10**9, before + moved * 10**9))


def test_the_key_of_the_running_code_reads_no_source_file(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    real_open, real_read_bytes = builtins.open, Path.read_bytes

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        read.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_read_bytes(self: Path) -> bytes:
        read.append(str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(Path, "read_bytes", spy_read_bytes)
    key = check_reports._release.__wrapped__()  # type: ignore[attr-defined]
    assert [name for name in read if name.endswith(".py")] == []
    assert key == check_reports._release.__wrapped__()  # type: ignore[attr-defined]


def test_a_source_checkout_is_known_by_its_files(tmp_path: Path) -> None:
    package = _package(tmp_path)
    first = code_identity(package, "1.0")
    assert code_identity(package, "1.0") == first
    assert code_identity(package, "1.1") != first
    rule = package / "checks" / "rule.py"
    _touch(rule, "LIMIT = 4\n", 1)  # an edited rule, of the same size
    edited = code_identity(package, "1.0")
    assert edited != first
    (package / "checks" / "new_rule.py").write_text("")
    added = code_identity(package, "1.0")
    assert added not in (first, edited)
    # Compiled files and other files are not the code.
    (package / "checks" / "__pycache__" / "rule.cpython-311.pyc").write_bytes(b"\0\0")
    (package / "README.txt").write_text("changed\n")
    assert code_identity(package, "1.0") == added


def test_an_installed_wheel_is_known_by_its_record(tmp_path: Path) -> None:
    package = _package(tmp_path)
    info = tmp_path / "lineofsight-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("lineofsight/__init__.py,sha256=abc,11\n")
    installed = code_identity(package, "1.0")
    assert installed != code_identity(package, "2.0")  # another release: no record of it here
    (info / "RECORD").write_text("lineofsight/__init__.py,sha256=def,11\n")
    assert code_identity(package, "1.0") not in (installed, code_identity(package, "2.0"))
