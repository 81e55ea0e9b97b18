"""Line of Sight: KPI alignment from the mission down to every team and person.

The public Python API: `Workspace` opens a store and gives the engine's results as frames:
`Scorecard`, `Forecasts`, `Explanation`, and `Table` (measurements, revisions, history,
findings). Each is Polars frames, pandas ones with `to_pandas()` (the pandas extra), and a
table for people in notebooks. Errors a user can make raise `UsageError` (an `InputError`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Explanation",
    "Forecasts",
    "InputError",
    "LineOfSightError",
    "Scorecard",
    "Table",
    "UsageError",
    "Workspace",
    "__version__",
]

if TYPE_CHECKING:
    from lineofsight.api import Workspace
    from lineofsight.errors import InputError, LineOfSightError, UsageError
    from lineofsight.results import Explanation, Forecasts, Scorecard, Table

# Where each public name lives; imported on first use so that `import lineofsight` (and the
# command line's start) does not load Polars, SQLAlchemy and the engine.
_HOMES = {
    "Workspace": "lineofsight.api",
    "Scorecard": "lineofsight.results",
    "Forecasts": "lineofsight.results",
    "Explanation": "lineofsight.results",
    "Table": "lineofsight.results",
    "UsageError": "lineofsight.errors",
    "InputError": "lineofsight.errors",
    "LineOfSightError": "lineofsight.errors",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'lineofsight' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})
