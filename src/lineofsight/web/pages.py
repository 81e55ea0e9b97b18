"""The server-rendered pages of `los serve`, and the chart library they load.

    /                 home: strategy, strategic objectives, KPI counts, what changed
    /map              the strategy map (?unit=, ?period=)
    /units/{id}       a unit's scorecard
    /kpis/{id}        a KPI: chart, forecast, what changed, line of sight, history
    /people/{id}, /me a person's KPIs, what is due, how it rolls up
    /alignment        the findings of `los check` (?rule=, ?severity=, ?unit=)
    /kpis/{id}/checkin, /upload   entering data
    /objectives/{id}  an objective: score, items, worst item, its KPIs, commentary, actions
    /actions, /commentary         the forms of actions and commentary (pages_actions)

Every page needs a logged-in account and checks it with the shared permission function.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from lineofsight.web import pages_actions, pages_detail, pages_entry, pages_overview

router = APIRouter()
router.include_router(pages_overview.router)
router.include_router(pages_detail.router)
router.include_router(pages_entry.router)
router.include_router(pages_actions.router)


def plotly_path() -> Path:
    """plotly.js as the installed `plotly` Python package ships it (never fetched online)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:  # pragma: no cover - a broken install
        return Path("plotly-is-not-installed")
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"


@router.get("/vendor/plotly.min.js", include_in_schema=False)
def plotly_js() -> Response:
    path = plotly_path()
    if not path.is_file():  # pragma: no cover - a broken install
        return Response("plotly.min.js is missing from the plotly package", status_code=404)
    return FileResponse(
        path,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
