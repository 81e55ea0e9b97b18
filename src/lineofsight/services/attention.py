"""The attention list (SPEC section 8): what needs a person now, or a unit's lead over the
unit's subtree, each item with the sentence that says why and a link into the app.

What is on it (`KINDS`, most pressing first; `rank` is the position of the kind there):

| kind | what | item |
|---|---|---|
| `turned_red` | a KPI red in its evaluation period that was not red in the period before | kpi |
| `still_red` | a KPI red in its evaluation period and in the one before | kpi |
| `action_overdue` | an open action or one of its milestones past its due date | action |
| `action_new` | an open action given to a person by another in the app or API in 7 days | action |
| `no_action` | a KPI red in its evaluation period with no open action on it | kpi |
| `overdue` | a KPI's values due and not in, at any unit, earlier ones too (`engine.gaps`) | kpi |
| `deadline_near` | an open objective, not green, due within 30 days or past due | objective |
| `turned_amber` | a KPI amber in its period that was green or had no value before | kpi |
| `off_track` | a KPI (not red) the engine's forecast calls off track for its final target | kpi |
| `finding` | a finding of `los check` on the item (errors before warnings) | finding |
| `due_soon` | a hand-entered KPI whose next value falls due within the reminder window | kpi |

Within a kind: items of units higher in the tree first (a company's KPI before a team's),
then the lower score, then by name. Scores, statuses and periods are the scorecard's that
`los status` keeps (`services.snapshots`), not scored again.

Whose items: a person's list holds the items they own, and when they lead units, every item
of those units' subtrees (items of their units, and items owned by the people who work there).
A unit's list is the same for that unit's subtree. `readable` cuts a list to the units an
account may read (`services.permissions.readable_units`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError, parse_date
from lineofsight.domain.text import did_you_mean, plural
from lineofsight.engine.calendar import period_for
from lineofsight.errors import UsageError
from lineofsight.gcpause import paused_gc
from lineofsight.services import attention_rules as rules
from lineofsight.services.attention_actions import action_items, without_action_findings
from lineofsight.services.attention_findings import findings_in_scope
from lineofsight.services.attention_scope import EVERYTHING, Organisation, Scope
from lineofsight.services.sources import source_failures
from lineofsight.store.attention_reads import Responsibilities, read_responsibilities
from lineofsight.store.database import Store

if TYPE_CHECKING:
    from lineofsight.services.attention_offtrack import OffTrackItems

__all__ = [
    "DEFAULT_REMINDER_DAYS",
    "KINDS",
    "AttentionBoard",
    "AttentionItem",
    "Inbox",
    "attention_board",
    "attention_for",
    "attention_lists",
    "empty_reason",
    "grouped",
    "inbox",
    "item_plain",
    "sort_key",
]

KINDS = (
    "turned_red",
    "still_red",
    "action_overdue",
    "action_new",
    "no_action",
    "overdue",
    "deadline_near",
    "turned_amber",
    "off_track",
    "finding",
    "due_soon",
)
RANKS = {kind: rank for rank, kind in enumerate(KINDS)}
# The reminder window when the strategy file's `notifications:` sets none.
DEFAULT_REMINDER_DAYS = 7
_SEVERITY = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class AttentionItem:
    """One thing that needs someone: what (`item_type`, `item_id`, `name`), where (`unit`),
    whose (`owner`), why (`kind`, `reason`), how it stands (`status`, `value`, `target`,
    `score` in `period`; a KPI's `unit_of_measure`), by when (`due`), where to look (`link`,
    app-relative, keeping the period) and how pressing (`rank`, lower first: the kind's place
    in `KINDS`)."""

    kind: str
    reason: str
    item_type: str
    item_id: str
    name: str
    unit: str
    owner: str | None
    status: str | None
    value: float | None
    period: str | None
    due: dt.date | None
    link: str
    rank: int
    unit_name: str | None = None
    owner_name: str | None = None
    target: float | None = None
    score: float | None = None
    depth: int = 0  # of the unit in the tree (0: a root)
    code: str | None = None  # a finding's rule
    severity: str | None = None  # a finding's severity
    subject: str | None = None  # what a finding is about: kpi, objective, unit or person
    unit_of_measure: str | None = None  # a KPI's, that its value and target are written with
    given_at: dt.datetime | None = None  # an action_new's: when its owner was given it
    # An overdue item's periods whose values are not in, oldest first (`period` is the last).
    missing: tuple[str, ...] = ()


def sort_key(item: AttentionItem) -> tuple[Any, ...]:
    """The ranking: kind, then (findings) severity, the unit's depth, the score (lowest
    first; none before any), the name and the id."""
    score = -1.0 if item.score is None or math.isnan(item.score) else item.score
    return (
        item.rank,
        _SEVERITY.get(item.severity or "", 0),
        item.depth,
        score,
        item.name,
        item.item_id,
    )


def item_plain(item: AttentionItem) -> dict[str, Any]:
    """An item as JSON-ready values (dates as ISO text), for `los inbox` and the API."""
    plain: dict[str, Any] = {}
    for name in AttentionItem.__slots__:
        value = getattr(item, name)
        plain[name] = value.isoformat() if isinstance(value, dt.date) else value
    return plain


@dataclass
class AttentionBoard:
    """Every item of a scope as of a date, in ranking order, indexed by owner and unit so
    that each person's and each unit's list is a cut of it (every list at once, e.g. for
    the digests, costs one scorecard and one forecast)."""

    as_of: dt.date
    items: list[AttentionItem]
    org: Organisation
    reminder_days: int
    _by_owner: dict[str, list[int]] = field(default_factory=dict)
    _by_unit: dict[str, list[int]] = field(default_factory=dict)
    _locals: dict[str, list[int]] = field(default_factory=dict)

    def _index(self) -> None:
        """Index the items by owner and unit, at the first cut (one list, `inbox`, takes
        the items as they are)."""
        if self._by_unit or not self.items:
            return
        for index, item in enumerate(self.items):
            if item.owner is not None:
                self._by_owner.setdefault(item.owner, []).append(index)
            self._by_unit.setdefault(item.unit, []).append(index)

    def _local(self, unit: str) -> list[int]:
        """The items of one unit and of the people who work there (kept: a unit is in the
        subtree of every lead above it)."""
        found = self._locals.get(unit)
        if found is None:
            self._index()
            found = list(self._by_unit.get(unit, ()))
            for person in self.org.people_in.get(unit, ()):
                found += self._by_owner.get(person, ())
            self._locals[unit] = found
        return found

    def for_person(self, person: str, led: Collection[str] | None = None) -> list[AttentionItem]:
        """The person's list: what they own, and the subtrees of the units they lead (`led`:
        those units, when the caller has them already)."""
        led = self.org.led_units(person) if led is None else led
        self._index()
        if not led:
            return [self.items[i] for i in self._by_owner.get(person, ())]
        found = set(self._by_owner.get(person, ()))
        for unit in led:
            found.update(self._local(unit))
        return [self.items[i] for i in sorted(found)]

    def for_unit(self, unit: str) -> list[AttentionItem]:
        """The list of a unit's subtree (its units' items and its people's)."""
        found: set[int] = set()
        for member in self.org.subtree(unit):
            found.update(self._local(member))
        return [self.items[i] for i in sorted(found)]


def _day(as_of: dt.date | str | None) -> dt.date:
    if as_of is None:
        return dt.date.today()
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return parse_date(as_of)
    except PeriodError as exc:
        raise UsageError(f"--as-of {as_of!r}: {exc}") from None


def reminder_days(store: Store) -> int:
    """The reminder window in days: the longest of the strategy file's reminders
    (`notifications: reminder_days`) when it has them, else DEFAULT_REMINDER_DAYS."""
    from lineofsight.services.notify_settings import read_settings

    with store.reading() as conn:
        settings = read_settings(conn)
    found = settings.reminder_days if settings.enabled else None
    return max(found) if found else DEFAULT_REMINDER_DAYS


@dataclass(frozen=True, slots=True)
class Inbox:
    """An attention list with what it was made for: `whose` names it in sentences ("Claire
    Dubois's", "Customer Service's", "the organisation's"), `window` the reminder days."""

    as_of: dt.date
    person: str | None
    unit: str | None
    whose: str
    window: int
    items: list[AttentionItem]

    def plain(self) -> dict[str, Any]:
        """The list as JSON-ready values, for `los inbox --format json` and the API."""
        return {
            "as_of": self.as_of.isoformat(),
            "person": self.person,
            "unit": self.unit,
            "reminder_days": self.window,
            "items": [item_plain(i) for i in self.items],
        }


def attention_for(
    store: Store,
    *,
    person: str | None = None,
    unit: str | None = None,
    as_of: dt.date | str | None = None,
    readable: Collection[str] | None = None,
) -> list[AttentionItem]:
    """The attention list of a person (with the subtrees of the units they lead), of a unit's
    subtree, of a person within a unit's subtree (both given), or of the whole organisation
    (neither), as of a date (default today), in ranking order; only items of the units in
    `readable` when it is given. UsageError for an unknown person or unit."""
    return inbox(store, person=person, unit=unit, as_of=as_of, readable=readable).items


def inbox(
    store: Store,
    *,
    person: str | None = None,
    unit: str | None = None,
    as_of: dt.date | str | None = None,
    readable: Collection[str] | None = None,
    organization: m.Organization | None = None,
) -> Inbox:
    """`attention_for` with what the list was made for (see `Inbox`). `organization` (the
    store's, when the caller holds it) spares reading it again to forecast."""
    resp = read_responsibilities(store)
    org = Organisation.of(resp)
    scope = EVERYTHING
    whose = "the organisation's"
    if person is not None:
        if person not in org.people:
            names = list(org.people)
            raise UsageError(f"--person: unknown person '{person}'{did_you_mean(person, names)}")
        scope = org.person_scope(person)
        whose = f"{org.people[person]}'s"
    if unit is not None:
        if unit not in org.units:
            names = list(org.units)
            raise UsageError(f"--unit: unknown unit '{unit}'{did_you_mean(unit, names)}")
        subtree = frozenset(org.subtree(unit))
        # A unit's list: its subtree's units and people; a person's within a unit: their
        # list cut to the items of the subtree's units.
        scope = Scope(scope.units, scope.owners, subtree) if person else org.unit_scope(subtree)
        if person is None:
            whose = f"{org.units[unit]}'s"
    if readable is not None:
        cut = frozenset(readable) if scope.within is None else scope.within & set(readable)
        scope = Scope(scope.units, scope.owners, cut)
    board = attention_board(
        store,
        as_of,
        scope,
        resp=resp,
        org=org,
        explicit=as_of is not None,
        organization=organization,
    )
    return Inbox(board.as_of, person, unit, whose, board.reminder_days, board.items)


def attention_lists(
    store: Store,
    as_of: dt.date | str | None = None,
    people: Iterable[str] | None = None,
    *,
    meanwhile: Callable[[list[AttentionItem]], object] | None = None,
) -> dict[str, list[AttentionItem]]:
    """Every person's attention list (or these people's), from one board of the whole
    organisation: one scorecard, one forecast (kept), one check report.

    Each list is cut from the board of every item but the forecast's first, and the forecast's
    off-track items (made meanwhile, in a second process when nothing is kept) are placed into
    the lists last: their kind has its own rank, so they go between the kinds ranked before
    and after it, in the order a board of every item gives. `meanwhile` is called with the
    board's items but the forecast's before the forecast's are waited for (e.g. to render
    their part of the digests, `notify.prepare_digests`)."""
    # Hundreds of thousands of items and lists, none in a cycle: the cyclic garbage collector
    # would walk them again and again as they pile up (a fifth of the lists' time).
    with paused_gc():
        return _lists(store, as_of, people, meanwhile)


def _lists(
    store: Store,
    as_of: dt.date | str | None,
    people: Iterable[str] | None,
    meanwhile: Callable[[list[AttentionItem]], object] | None,
) -> dict[str, list[AttentionItem]]:
    from lineofsight.services.attention_offtrack import Holders, by_holder, with_off_track

    day, items, org, window, later = _board_parts(
        store, as_of, EVERYTHING, explicit=as_of is not None
    )
    wanted = list(org.people) if people is None else list(people)
    led = {p: org.led_units(p) for p in wanted}
    board = AttentionBoard(day, items, org, window)
    lists = {p: board.for_person(p, led[p]) for p in wanted}
    if meanwhile is not None:
        meanwhile(items)
    # Before the forecast is waited for: whose lists would hold each KPI's off-track item.
    holders = Holders(org)
    held_by = {
        kpi: holders.of(row["unit"], row["owner_id"]) for kpi, row in later.prepare().items()
    }
    for person, found in by_holder(holders, later(), held_by).items():
        if person in lists:
            lists[person] = with_off_track(lists[person], found)
    return lists


def attention_board(
    store: Store,
    as_of: dt.date | str | None = None,
    scope: Scope = EVERYTHING,
    *,
    resp: Responsibilities | None = None,
    org: Organisation | None = None,
    explicit: bool = True,
    organization: m.Organization | None = None,
) -> AttentionBoard:
    """The items of `scope` (default: the whole organisation) as of a date, ranked.

    Links keep the KPI's period (`/kpis/ID?period=2026-10`); links to objectives and other
    items keep the month of the as-of date when one was given (`explicit`)."""
    from lineofsight.services.attention_offtrack import with_off_track

    day, items, org, window, later = _board_parts(
        store, as_of, scope, resp=resp, org=org, explicit=explicit, organization=organization
    )
    return AttentionBoard(day, with_off_track(items, later()), org, window)


def _board_parts(
    store: Store,
    as_of: dt.date | str | None,
    scope: Scope,
    *,
    resp: Responsibilities | None = None,
    org: Organisation | None = None,
    explicit: bool = True,
    organization: m.Organization | None = None,
) -> tuple[dt.date, list[AttentionItem], Organisation, int, OffTrackItems]:
    """What `attention_board` is made of: the date, every item of `scope` but the forecast's
    (ranked), the organisation, the reminder window, and what gives the forecast's off-track
    items, ranked (it waits for the forecast when that is made aside: call it last)."""
    from lineofsight.engine.frame_previous import previous_statuses
    from lineofsight.services.attention_forecast import off_track, off_track_aside
    from lineofsight.services.attention_offtrack import OffTrackItems
    from lineofsight.services.snapshots import scorecard

    day = _day(as_of)
    resp = resp if resp is not None else read_responsibilities(store)
    if scope is EVERYTHING and organization is None:
        # The forecast of every KPI may be made beside the rest (`off_track_aside`): started
        # before the scorecard is read.
        calls_of = off_track_aside(store, day, resp.kpis.height)
    org = org if org is not None else Organisation.of(resp)
    card = scorecard(store, as_of=day.isoformat())
    frames = card.frames()
    calendar = card.defs.calendar
    # The month of the as-of date: a page at `?period=` of it shows that month's end.
    link_period = period_for(day, m.Frequency.MONTHLY, calendar).label if explicit else None
    owners = resp.people.select(pl.col("id").alias("owner_id"), pl.col("name").alias("owner_name"))
    # Every row of a KPI, at its own unit and at the others it has values at: a value is
    # overdue wherever it is asked for (SPEC 3), and its KPI's owner and the unit's lead are
    # asked for it. The other rules are about a KPI as a whole: its own unit's row.
    rows = (
        frames.kpis.join(
            resp.kpis.select(
                "id",
                "owner_id",
                "formula",
                "sourced",
                "frequency",
                pl.col("due_days").fill_null(calendar.due_days),
            ),
            on="id",
            how="left",
        )
        .join(owners, on="owner_id", how="left")
        .filter(scope.mask())
        .with_columns(pl.col("status").cast(pl.String))
    )
    kpis = rows.filter(pl.col("own_unit"))
    objectives = (
        frames.objectives.join(
            resp.objectives.select("id", "owner_id", "deadline", "active"), on="id", how="left"
        )
        .join(owners, on="owner_id", how="left")
        .filter(scope.mask())
    )
    red_amber = kpis.filter(pl.col("status").is_in(["red", "amber"]))
    previous = previous_statuses(card.defs, red_amber, day)
    if not (scope is EVERYTHING and organization is None):
        asked = None if scope is EVERYTHING else kpis["id"].to_list()
        calls = off_track(store, day, asked, organization)
        calls_of = lambda: calls  # noqa: E731
    window = reminder_days(store)
    missing = missing_values(store, rows, day, calendar)
    late = list(rules.overdue_items(rows, day, source_failures(store), missing))
    own = dict(zip(kpis["id"].to_list(), kpis["unit"].to_list(), strict=True))
    before = [
        *rules.status_items(kpis, previous, calendar),
        *late,
        *rules.deadline_items(objectives, day, link_period),
    ]
    after = [
        *rules.due_soon_items(kpis, day, window, calendar),
        *rules.finding_items(
            *rules.without_overdue_findings(
                without_action_findings(
                    findings_in_scope(store, day, kpis, objectives, resp, org, scope)
                ),
                {i["item_id"] for i in late if own.get(i["item_id"]) == i["unit"]},
            ),
            link_period,
        ),
        *action_items(store, day, kpis, resp, org, scope, link_period),
    ]
    depth = org.depth

    def ranked(found: Iterable[dict[str, Any]]) -> list[AttentionItem]:
        items = [
            AttentionItem(rank=RANKS[f["kind"]], depth=depth.get(f["unit"], 0), **f) for f in found
        ]
        items.sort(key=sort_key)
        return items

    later = OffTrackItems(kpis, calls_of, depth)
    return day, ranked([*before, *after]), org, window, later


# Up to how many KPIs' values `missing_values` reads KPI by KPI (more: the window whole).
_FEW_KPIS = 2000


def missing_values(
    store: Store, rows: pl.DataFrame, day: dt.date, calendar: m.Calendar
) -> pl.DataFrame:
    """The due periods without a value (`engine.gaps.MISSING_SCHEMA`) of the scorecard's
    `rows` (with `frequency`, `formula` and `due_days`) that are entered, not computed: the
    one rule of what is missing, for the attention list (the inbox, the home page, the
    overdue email)."""
    from lineofsight.engine.gaps import MISSING_SCHEMA, window_start
    from lineofsight.engine.gaps import missing_values as missing
    from lineofsight.store.scorecard_reads import read_older_measurement_rows, read_value_ends

    entered = rows.filter(~pl.col("formula").fill_null(False)).select(
        "id", "unit", "frequency", "due_days"
    )
    if entered.is_empty():
        return pl.DataFrame(schema=MISSING_SCHEMA)
    ids = entered["id"].unique()
    if ids.len() <= _FEW_KPIS:
        # A few KPIs' values (one person's list) found along the store's key, not every
        # KPI's values of the window read to keep a few.
        found = read_older_measurement_rows(
            store, ids.to_list(), day + dt.timedelta(days=1), window_start(day)
        )
        values = found.select("kpi_id", "unit_id", "period_end")
    else:
        values = read_value_ends(store, window_start(day), day)
    return missing(entered, values, day, calendar)


# What each kind is called where a list is shown grouped (the command line, the home page).
HEADINGS = {
    "turned_red": "Turned red",
    "still_red": "Still red",
    "action_overdue": "Actions overdue",
    "action_new": "New actions given",
    "no_action": "Red without an action",
    "overdue": "Values overdue",
    "deadline_near": "Objective deadlines near",
    "turned_amber": "Turned amber",
    "off_track": "Off track by forecast",
    "finding": "Findings of the alignment check",
    "due_soon": "Check-ins due soon",
}


def grouped(items: Iterable[AttentionItem]) -> list[tuple[str, list[AttentionItem]]]:
    """The items under their kinds' headings, in ranking order."""
    groups: dict[str, list[AttentionItem]] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    return [(HEADINGS.get(kind, kind), found) for kind, found in groups.items()]


def empty_reason(whose: str, as_of: dt.date, window: int) -> str:
    """The sentence shown instead of an empty list: what was looked at and found fine."""
    return (
        f"Nothing needs {whose} attention as of {as_of}: no KPI in scope turned red or amber, "
        f"is still red, has a value overdue or due within {plural(window, 'day')}, or is "
        "forecast off track; no objective in scope is near its deadline and not green; and "
        "`los check` finds nothing on these items."
    )
