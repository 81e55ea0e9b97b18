"""The server-rendered pages of `los serve` (their assets: web/assets.py).

    /                 home: strategy, strategic objectives, KPI counts, what changed
    /map              the strategy map (?unit=, ?period=)
    /units/{id}       a unit's scorecard
    /kpis/{id}        a KPI: chart, forecast, what changed, line of sight, history
    /people/{id}, /me a person's KPIs, what is due, how it rolls up
    /lists/{kind}     red, amber, overdue, off track (?unit=, ?period=)
    /heatmap          units against their objectives or KPIs (?unit=, ?by=, ?period=)
    /alignment        the findings of `los check` (?rule=, ?severity=, ?unit=)
    /kpis/{id}/checkin, /upload   entering data
    /checkin          an owner's every due value on one page
    /edit...          changing the strategy: forms, preview, approval (pages_edit*)
    /admin/users, /admin/audit, /account/password   users and tokens, the audit log, one's password
    /units/{id}/brief, /units/{id}/reviews/new   a unit's briefing book, a review's record
    /objectives/{id}  an objective: score, items, worst item, its KPIs, commentary, actions
    /actions, /commentary         the forms of actions and commentary (pages_actions)

Every page needs a logged-in account and checks it with the shared permission function.
"""

from __future__ import annotations

from fastapi import APIRouter

from lineofsight.web import (
    pages_actions,
    pages_admin,
    pages_admin_audit,
    pages_brief,
    pages_detail,
    pages_edit,
    pages_edit_review,
    pages_entry,
    pages_entry_due,
    pages_heatmap,
    pages_lists,
    pages_overview,
)

router = APIRouter()
router.include_router(pages_overview.router)
router.include_router(pages_detail.router)
router.include_router(pages_entry.router)
router.include_router(pages_entry_due.router)
router.include_router(pages_lists.router)
router.include_router(pages_heatmap.router)
# The waiting changes' paths before the edit form's /edit/{kind}/{id}, which would match them.
router.include_router(pages_edit_review.router)
router.include_router(pages_edit.router)
router.include_router(pages_admin.router)
router.include_router(pages_admin_audit.router)
router.include_router(pages_brief.router)
router.include_router(pages_actions.router)
