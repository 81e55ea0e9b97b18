"""What every page handler needs: the store, the logged-in account, the as-of date chosen by
`?period=`, permission checks through the shared permission function, and error pages."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

from lineofsight.domain import model as m
from lineofsight.domain.model import Calendar, Frequency
from lineofsight.domain.periods import PeriodError, parse_period
from lineofsight.engine.calendar import evaluation_period
from lineofsight.services.accounts import Account
from lineofsight.services.permissions import (
    UnitTree,
    allows,
    readable_units,
    visible_organization,
)
from lineofsight.services.scorecards import ScorecardCache
from lineofsight.store.database import Store
from lineofsight.store.organization import Revision, read_calendar
from lineofsight.web.errors import ApiError
from lineofsight.web.pagedata import Snapshot, snapshot
from lineofsight.web.templating import chosen_period, remember_period, with_query


def store_of(request: Request) -> Store:
    """The store the app opened at start-up."""
    store: Store = request.app.state.store
    return store


def today() -> dt.date:
    """Today's date (one place, so tests and pages agree on the clock)."""
    return dt.date.today()


@dataclass(frozen=True, slots=True)
class Moment:
    """The period a page is looked at: its label (empty for "latest") and its as-of date."""

    label: str
    as_of: dt.date

    @property
    def ended(self) -> bool:
        """Whether a period is looked at and has ended by today."""
        return bool(self.label) and self.as_of <= today()


def calendar_of(store: Store) -> Calendar:
    """The organisation's calendar (one small query; fiscal periods need it to be parsed)."""
    with store.reading() as conn:
        return read_calendar(conn)


def moment(period: str | None, store: Store) -> Moment:
    """`?period=P` means as of the last day of P; none, as of today. A period that does not
    read is refused (422 naming the parameter and what a period looks like), as any other
    query value a page cannot honour: never today's page as if it had been asked for."""
    label = (period or "").strip()
    if not label:
        return Moment("", today())
    try:
        found = parse_period(label, calendar_of(store))
    except PeriodError as exc:
        # The message names the text and the periods accepted ("'2026-13' is not a valid
        # period: ... (accepted: 2026, 2026-Q3, ...)").
        raise ApiError(
            422, f"period: {exc}", details=[{"field": "period", "reason": str(exc)}]
        ) from None
    return Moment(found.label, found.end)


def checked_moment(request: Request, period: str | None) -> Moment:
    """`moment` of a page's `?period=`; links and redirects built for this request keep the
    checked label (the error page of a bad one keeps none)."""
    request.state.period = ""
    remember_period("")
    when = moment(period, store_of(request))
    request.state.period = when.label
    remember_period(when.label)
    return when


def keep_period(request: Request, path: str, **query: object) -> str:
    """`path` for a redirect or a link built in Python, keeping the period the reader chose
    (and adding `query`; a value of None or "" leaves that parameter out)."""
    return with_query(path, chosen_period(request), query)


def recent_periods(calendar: Calendar, count: int = 12) -> list[str]:
    """Recent month and quarter labels, newest first: suggestions for the period selector."""
    return list(_recent_periods(calendar, today(), count))


@functools.lru_cache(maxsize=16)
def _recent_periods(calendar: Calendar, day: dt.date, count: int) -> tuple[str, ...]:
    # Every page shows them: worked out once a day, not per request.
    labels = []
    for frequency in (Frequency.MONTHLY, Frequency.QUARTERLY):
        period = evaluation_period(frequency, day, calendar)
        for _ in range(count if frequency is Frequency.MONTHLY else count // 3):
            labels.append(period.label)
            period = evaluation_period(frequency, period.start - dt.timedelta(days=1), calendar)
    return tuple(labels)


def cache_of(request: Request) -> ScorecardCache:
    """The app's shared scorecard cache."""
    cache: ScorecardCache = request.app.state.scorecards
    return cache


def page_revision(request: Request) -> Revision:
    """The store's revision, read once per reading request (a page that shows two dates reads
    it once); a write request reads it at each call, as it may have changed it."""
    if request.method not in ("GET", "HEAD"):
        return cache_of(request).revision()
    found: Revision | None = getattr(request.state, "revision", None)
    if found is None:
        found = request.state.revision = cache_of(request).revision()
    return found


def page_snapshot(request: Request, as_of: dt.date, period: str | None = None) -> Snapshot:
    """The indexed scorecard as of a date (with reporting lag), or the period report of
    `period` (ending on `as_of`), through the shared cache."""
    return snapshot(cache_of(request), as_of, period, page_revision(request))


def page_view(request: Request, period: str | None) -> tuple[Moment, Snapshot]:
    """What a page's `?period=` names, and the scorecard as of it."""
    when = checked_moment(request, period)
    request.state.as_of = when.as_of
    return when, page_snapshot(request, when.as_of, when.label or None)


def due_view(request: Request, when: Moment, snap: Snapshot) -> Snapshot:
    """The scorecard that says which values are overdue on a page of `when`: as of the
    period's last day, or today while the period runs (what falls due later is not overdue
    yet), as the attention list and the briefing book of the period read it. A period report
    evaluates each KPI at the period's own slot, value or not, so an earlier value that fell
    due by then is overdue only in the scorecard as of that day (SPEC section 3)."""
    if not when.label:
        return snap
    return page_snapshot(request, min(when.as_of, today()))


def unit_tree(snap: Snapshot) -> UnitTree:
    """The unit tree for permission checks, built once per snapshot."""
    if snap.unit_tree is None:
        snap.unit_tree = UnitTree.of(snap.org)
    return snap.unit_tree


def can(
    account: Account | None,
    action: str,
    snap: Snapshot,
    unit_id: str | None,
    kpi_owner: str | None = None,
) -> bool:
    """The shared permission check, on the snapshot's unit tree."""
    return allows(account, action, unit_id=unit_id, kpi_owner=kpi_owner, org=unit_tree(snap))


def readable(account: Account | None, snap: Snapshot) -> set[str] | None:
    """The units the account may read (None: every unit)."""
    return readable_units(account, unit_tree(snap))


def may_read(units: set[str] | None, unit_id: str) -> bool:
    return units is None or unit_id in units


def item_unit(snap: Snapshot, kind: str, item_id: str) -> str | None:
    """The unit a KPI, objective, person or unit belongs to (None: not in the snapshot)."""
    if kind == "kpi" and item_id in snap.kpis:
        return snap.kpis[item_id].unit
    if kind == "objective" and item_id in snap.objectives:
        return snap.objectives[item_id].unit
    if kind == "person" and item_id in snap.people:
        return snap.people[item_id].unit
    if kind == "unit" and item_id in snap.units:
        return item_id
    return None


def seer(snap: Snapshot, units: set[str] | None) -> Callable[[str, str], bool]:
    """`see(kind, id)`: whether an item lies in the units the account may read. Pages name
    linked items (the objective a KPI supports, a driver, an owner's KPIs) only through it."""

    def see(kind: str, item_id: str) -> bool:
        if units is None:
            return True
        unit = item_unit(snap, kind, item_id)
        return unit is not None and unit in units

    return see


def visible_org(snap: Snapshot, units: set[str] | None) -> m.Organization:
    """The organisation cut to what the account may read (for traces and maps)."""
    return visible_organization(snap.org, units)


def require(allowed: bool, what: str = "this page") -> None:
    """403 unless allowed."""
    if not allowed:
        raise HTTPException(status_code=403, detail=f"you may not see {what}")


def not_found(kind: str, item_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no {kind} '{item_id}'")


def require_seen(allowed: bool, kind: str, item_id: str) -> None:
    """404 `no KIND 'ID'` unless the reader may see the item: a KPI, objective or person
    outside the reader's units is answered as one that does not exist (see `readable_unit`),
    before any other refusal."""
    if not allowed:
        raise not_found(kind, item_id)


def requested_unit(
    snap: Snapshot, unit: str | None, default: str, units: set[str] | None = None
) -> str:
    """The unit a page's `unit` query or form field names, else `default` (the item's own
    unit); 404 for a unit that does not exist: never shown or entered at another unit, whose
    numbers would pass for the one asked for. `units`: the units the reader may read (None:
    all), see `readable_unit`."""
    if not unit:
        return default
    return readable_unit(snap, unit, units)


def readable_unit(snap: Snapshot, unit: str, units: set[str] | None) -> str:
    """`unit`, when it exists and lies in `units` (the units the reader may read, None: all);
    else the same 404 whether it does not exist or lies outside the reader's scope, so that
    a scoped reader cannot tell which units exist outside it by asking for them."""
    if unit not in snap.units or not may_read(units, unit):
        raise not_found("unit", unit)
    return unit


def requested_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """A query value that must be one of `choices`; 422 naming the value and the choices
    otherwise (a page never silently shows something other than what was asked for)."""
    if value not in choices:
        allowed = " or ".join(f"'{c}'" for c in choices)
        raise HTTPException(
            status_code=422, detail=f"'{value}' is not a choice for {name}: give {allowed}"
        )
    return value
