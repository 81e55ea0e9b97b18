"""The server-rendered pages of `los serve` (their assets: web/assets.py).

    /                 home: strategy, strategic objectives, KPI counts, what changed
    /map              the strategy map (?unit=, ?period=)
    /units/{id}       a unit's scorecard
    /kpis/{id}        a KPI: chart, forecast, what changed, line of sight, history
    /people/{id}, /me a person's KPIs, what is due, how it rolls up
    /alignment        the findings of `los check` (?rule=, ?severity=, ?unit=)
    /kpis/{id}/checkin, /upload   entering data

Every page needs a logged-in account and checks it with the shared permission function.
"""

from __future__ import annotations

from fastapi import APIRouter

from lineofsight.web import pages_detail, pages_entry, pages_overview

router = APIRouter()
router.include_router(pages_overview.router)
router.include_router(pages_detail.router)
router.include_router(pages_entry.router)
