"""The package's bytecode kept compiled before a benchmark times fresh `los` processes, as an
install keeps it (`make install` compiles it; a wheel's install does too). Without it a checkout
run where PYTHONDONTWRITEBYTECODE is set (or whose sources changed since they were last
compiled) compiles each changed module again at every process's start: tens to hundreds of
milliseconds of CPU that no user's installed copy spends."""

from __future__ import annotations

import compileall
import importlib.util
from pathlib import Path

import lineofsight


def keep_compiled() -> str:
    """Compile the package's modules whose bytecode is missing or older than their source
    (untimed); say how many were."""
    package = Path(lineofsight.__file__).parent
    sources = sorted(package.rglob("*.py"))
    stale = [p for p in sources if not _current(p)]
    if stale:
        compileall.compile_dir(package, quiet=1)
    return (
        f"lineofsight's bytecode: {len(stale)} of {len(sources)} modules compiled before timing "
        "(kept compiled, as an install keeps them)"
    )


def _current(source: Path) -> bool:
    cached = Path(importlib.util.cache_from_source(str(source)))
    return cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime


__all__ = ["keep_compiled"]
