"""Line of Sight: KPI alignment from the mission down to every team and person.

The public Python API is `Workspace` (open a store, score it, check it) and `Scorecard` (the
result, as Polars or pandas data frames and as a rich display in notebooks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Scorecard", "Workspace", "__version__"]

if TYPE_CHECKING:
    from lineofsight.api import Scorecard, Workspace


def __getattr__(name: str) -> Any:
    # Imported on first use so that `import lineofsight` (and the CLI's start) stays light.
    if name in ("Workspace", "Scorecard"):
        from lineofsight import api

        return getattr(api, name)
    raise AttributeError(f"module 'lineofsight' has no attribute {name!r}")
