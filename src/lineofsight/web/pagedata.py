"""What the pages show, gathered once per store version and as-of date and then indexed.

The scores, statuses and forecasts come from the services (the engine underneath); this module
only looks them up and arranges them: by unit, by owner, down the cascade. A snapshot is kept
per (store version, as-of date), so a page request after the first costs dictionary look-ups,
never a re-evaluation; any write to the store changes the version. After a write that changed
no definitions, the next snapshot is the last one with only the rows that changed made again
(the organisation's indexes are kept).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.graph import OrgGraph, PerOrganisation, organisation_graph
from lineofsight.services.permissions import UnitTree
from lineofsight.services.scorecards import ScorecardCache
from lineofsight.services.shapes import items_text
from lineofsight.store.organization import Revision, values_revision

T = TypeVar("T")

STATUSES = ("green", "amber", "red", "no_data", "no_target")


@dataclass(frozen=True, slots=True)
class Row:
    """A scored item (KPI at a unit, objective or unit) as the templates read it."""

    id: str
    status: str
    score: float | None = None
    unit: str | None = None
    period: str | None = None
    actual: float | None = None
    target: float | None = None
    coverage: float | None = None
    own_unit: bool = True
    data: str | None = None  # reported, overdue or awaiting (KPI rows)
    due: dt.date | None = None
    last_value: float | None = None
    last_period: str | None = None
    counts: dict[str, int] | None = None  # objective and unit rows: statuses of direct items
    worst: dict[str, Any] | None = None

    @property
    def items(self) -> str:
        """The statuses of a roll-up's direct items, worst first ("2 red, 5 green")."""
        return items_text(self.counts)


@dataclass
class Snapshot:
    """The organisation and its scorecard as of one date, indexed for the pages."""

    org: m.Organization
    as_of: dt.date
    version: Hashable
    kpi_rows: dict[tuple[str, str], Row]
    objective_rows: dict[str, Row]
    unit_rows: dict[str, Row]
    kpis: dict[str, m.Kpi] = field(init=False)
    units: dict[str, m.Unit] = field(init=False)
    people: dict[str, m.Person] = field(init=False)
    objectives: dict[str, m.Objective] = field(init=False)
    child_units: dict[str | None, list[str]] = field(init=False)
    child_objectives: dict[str | None, list[str]] = field(init=False)
    supporters: dict[str, list[str]] = field(init=False)
    feeders: dict[str, list[str]] = field(init=False)
    formula_users: dict[str, list[str]] = field(init=False)  # input KPI -> formulas using it
    kpi_units: dict[str, list[str]] = field(init=False)  # KPI -> the units it has rows at
    rows_by_unit: dict[str, list[Row]] = field(init=False)
    kpis_by_owner: dict[str, list[str]] = field(init=False)
    objectives_by_unit: dict[str, list[str]] = field(init=False)
    unit_tree: UnitTree | None = field(default=None, init=False)
    graph: OrgGraph = field(init=False)
    evaluation: Any = field(default=None, init=False, repr=False)  # the rows made from

    def __post_init__(self) -> None:
        # The organisation's indexes are made once per organisation and shared by the
        # snapshots of every date (the home page reads two; they are never changed).
        index = _org_index(self.org)
        self.unit_tree = None
        self.graph = index.graph
        self.kpis = self.graph.kpis
        self.units = self.graph.units
        self.people = index.people
        self.objectives = self.graph.objectives
        self.child_units = index.child_units
        self.child_objectives = index.child_objectives
        self.objectives_by_unit = index.objectives_by_unit
        self.supporters = index.supporters
        self.feeders = index.feeders
        self.formula_users = index.formula_users
        self.kpis_by_owner = index.kpis_by_owner
        self.rows_by_unit = {}
        # A KPI page looks up its rows at other units and the formulas its values feed: by
        # index, not by a scan of 100,000 rows per request. (An update of rows keeps their
        # keys: see _updated.)
        self.kpi_units = {}
        for (kpi_id, unit_id), row in self.kpi_rows.items():
            self.rows_by_unit.setdefault(row.unit or "", []).append(row)
            self.kpi_units.setdefault(kpi_id, []).append(unit_id)

    def kpi_row(self, kpi_id: str, unit: str | None = None) -> Row | None:
        """The KPI's scorecard row at `unit` (its own unit by default)."""
        kpi = self.kpis.get(kpi_id)
        if kpi is None:
            return None
        return self.kpi_rows.get((kpi_id, unit or kpi.unit))

    def subtree(self, unit_id: str) -> set[str]:
        """The unit and every unit below it."""
        return set(self.graph.subtree(unit_id))

    def ancestors(self, unit_id: str) -> list[str]:
        """The units above `unit_id`, from the top down (not the unit itself)."""
        chain: list[str] = []
        current = self.units[unit_id].parent if unit_id in self.units else None
        while current is not None and current in self.units and current not in chain:
            chain.append(current)
            current = self.units[current].parent
        return chain[::-1]

    def name(self, kind: str, item_id: str) -> str:
        """The display name of a KPI, objective, unit or person (its id when unknown)."""
        if kind == "kpi" and item_id in self.kpis:
            return self.kpis[item_id].name
        if kind == "objective" and item_id in self.objectives:
            return self.objectives[item_id].title
        if kind == "unit" and item_id in self.units:
            return self.units[item_id].name
        if kind == "person" and item_id in self.people:
            return self.people[item_id].name
        return item_id


@dataclass
class _OrgIndex:
    """What the pages look up in the organisation, by parent, objective, KPI and owner."""

    graph: OrgGraph
    people: dict[str, m.Person]
    child_units: dict[str | None, list[str]]
    child_objectives: dict[str | None, list[str]]
    objectives_by_unit: dict[str, list[str]]
    supporters: dict[str, list[str]]
    feeders: dict[str, list[str]]
    formula_users: dict[str, list[str]]
    kpis_by_owner: dict[str, list[str]]


def _make_org_index(org: m.Organization) -> _OrgIndex:
    graph = organisation_graph(org)  # shared with permissions and the checks
    units = graph.units
    child_units: dict[str | None, list[str]] = {}
    for unit in org.units:
        parent = unit.parent if unit.parent in units else None
        child_units.setdefault(parent, []).append(unit.id)
    child_objectives: dict[str | None, list[str]] = {}
    objectives_by_unit: dict[str, list[str]] = {}
    for objective in org.objectives:
        above = objective.parent if objective.parent in graph.objectives else None
        child_objectives.setdefault(above, []).append(objective.id)
        objectives_by_unit.setdefault(objective.unit, []).append(objective.id)
    supporters: dict[str, list[str]] = {}
    feeders: dict[str, list[str]] = {}
    formula_users: dict[str, list[str]] = {}
    kpis_by_owner: dict[str, list[str]] = {}
    inputs = graph.formula_inputs  # parsed once per organisation
    for kpi in org.kpis:
        for support in kpi.supports:
            supporters.setdefault(support.objective, []).append(kpi.id)
        for link in kpi.contributes_to:
            feeders.setdefault(link.kpi, []).append(kpi.id)
        if kpi.owner is not None:
            kpis_by_owner.setdefault(kpi.owner, []).append(kpi.id)
        for input_id in inputs.get(kpi.id, ()):
            if input_id not in feeders.get(kpi.id, ()):
                feeders.setdefault(kpi.id, []).append(input_id)
            if kpi.formula is not None:
                formula_users.setdefault(input_id, []).append(kpi.id)
    return _OrgIndex(
        graph,
        {p.id: p for p in org.people},
        child_units,
        child_objectives,
        objectives_by_unit,
        supporters,
        feeders,
        formula_users,
        kpis_by_owner,
    )


# The organisation's indexes for the pages, made once per organisation.
_org_index = PerOrganisation(_make_org_index)


class _Lru:
    """A small thread-safe least-recently-used cache (uvicorn serves pages from threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        # One lock per key being made, and the keys each thread is making: a value made
        # inside another's making (a fragment of a fragment) goes ahead instead of waiting
        # for a lock its own thread holds.
        self._building: dict[Hashable, threading.Lock] = {}
        self._making = threading.local()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                found: T = self._items[key]
                return found
            building = self._building.setdefault(key, threading.Lock())
        making: set[Hashable] = self._making.__dict__.setdefault("keys", set())
        if key in making:
            raise RuntimeError(f"{key!r} is needed to make itself")
        # One build per key at a time: 32 requests arriving together after a write wait for
        # the first one's result instead of each drawing the same page (the GIL would
        # serialise them anyway, so nothing is lost). Other keys are made meanwhile.
        with building:
            with self._lock:
                if key in self._items:
                    found = self._items[key]
                    return found
            making.add(key)
            try:
                value = make()
                self.put(key, value)
            finally:
                making.discard(key)
                with self._lock:
                    self._building.pop(key, None)
        return value

    def peek(self, key: Hashable) -> Any:
        """The item kept under `key`, if any (not made)."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _lru(cache: ScorecardCache, name: str, size: int) -> _Lru:
    """An LRU kept on the app's scorecard cache, so that two apps (two stores) never share."""
    found = cache.__dict__.get(name)
    if found is None:
        found = cache.__dict__.setdefault(name, _Lru(size))
    return found  # type: ignore[no-any-return]


def snapshot(
    cache: ScorecardCache,
    as_of: dt.date,
    period: str | None = None,
    revision: Revision | None = None,
) -> Snapshot:
    """The indexed scorecard as of `as_of` (with reporting lag), or the period report of
    `period`, from the shared scorecard cache (so the pages and the API evaluate the store
    once per revision and date). `revision`: the store's, when the caller has just read it."""
    if revision is None:
        revision = cache.revision()
    # Kept by what the scorecard reads: a write of actions, commentary or reviews (which no
    # kept part of a page but the attention list shows: that one is kept by the whole
    # revision) leaves the pages' kept parts in place.
    version = values_revision(revision)

    def build() -> Snapshot:
        org = cache.organization(revision)
        if period:
            ev = cache.scorecard(period=period).evaluation
        else:
            ev = cache.scorecard(as_of=as_of.isoformat()).evaluation
        latest = _lru(cache, "_page_latest", 8)
        previous = latest.peek((as_of, period or None))
        snap = None
        if previous is not None and previous.org is org:
            snap = _updated(previous, version, ev)
        if snap is None:
            snap = Snapshot(
                org,
                as_of,
                version,
                _kpi_rows(ev.kpis),
                {r["id"]: _objective_row(r) for r in ev.objectives.iter_rows(named=True)},
                {r["id"]: _unit_row(r) for r in ev.units.iter_rows(named=True)},
            )
            snap.unit_tree = cache.unit_tree(revision)
        snap.evaluation = ev
        latest.put((as_of, period or None), snap)
        return snap

    return _lru(cache, "_page_snapshots", 8).get((version, as_of, period or None), build)


# The columns of a KPI row in the order of Row's fields (coverage, which KPI rows have not,
# between target and own_unit).
_KPI_COLUMNS = ("id", "status", "score", "unit", "period", "actual", "target")
_KPI_REST = ("own_unit", "data", "due", "last_value", "last_period")


def _kpi_rows(kpis: pl.DataFrame) -> dict[tuple[str, str], Row]:
    """Every KPI row of a scorecard, by KPI and unit, as `_kpi_row` makes each (read as
    tuples in one go: a scorecard has 100,000 and more)."""
    rows: dict[tuple[str, str], Row] = {}
    for r in kpis.select(*_KPI_COLUMNS, *_KPI_REST).iter_rows():
        kpi_id, status, score, unit, period, actual, target = r[:7]
        own_unit, data, due, last_value, last_period = r[7:]
        rows[kpi_id, unit] = Row(
            kpi_id, status, score, unit, period, actual, target, None, bool(own_unit), data, due,
            last_value, last_period,
        )  # fmt: skip
    return rows


def _kpi_row(r: dict[str, Any]) -> Row:
    return Row(
        id=r["id"],
        unit=r["unit"],
        period=r["period"],
        actual=r["actual"],
        target=r["target"],
        score=r["score"],
        status=r["status"],
        own_unit=bool(r["own_unit"]),
        data=r["data"],
        due=r["due"],
        last_value=r["last_value"],
        last_period=r["last_period"],
    )


def _objective_row(r: dict[str, Any]) -> Row:
    return Row(
        id=r["id"],
        score=r["score"],
        status=r["status"],
        coverage=r["coverage"],
        counts=r["counts"],
        worst=r["worst"],
    )


def _unit_row(r: dict[str, Any]) -> Row:
    return Row(
        id=r["id"], score=r["score"], status=r["status"], counts=r["counts"], worst=r["worst"]
    )


def _changed(old: pl.DataFrame, new: pl.DataFrame) -> list[int] | None:
    """The numbers of the rows that differ between two scorecards' frames of the same rows;
    None when the rows are not the same ones."""
    if old.columns != new.columns or old.height != new.height:
        return None
    keys = [c for c in ("id", "unit") if c in new.columns]
    if not old.select(keys).equals(new.select(keys)):
        return None
    differ = pl.repeat(False, new.height, eager=True)
    for column in new.columns:
        differ = differ | new[column].ne_missing(old[column])
    return differ.arg_true().to_list()


def _updated(previous: Snapshot, version: Hashable, ev: Any) -> Snapshot | None:
    """`previous` (of the same definitions) with the rows that differ in `ev` made again; None
    when its rows are not the same ones."""
    old = previous.evaluation
    if old is None:
        return None
    kpis, objectives, units = (
        _changed(getattr(old, part), getattr(ev, part)) for part in ("kpis", "objectives", "units")
    )
    if kpis is None or objectives is None or units is None:
        return None
    snap = copy.copy(previous)  # the organisation's indexes are shared, the rows copied
    snap.version = version
    snap.kpi_rows = dict(previous.kpi_rows)
    snap.objective_rows = dict(previous.objective_rows)
    snap.unit_rows = dict(previous.unit_rows)
    snap.rows_by_unit = dict(previous.rows_by_unit)
    for n in kpis:
        found = ev.kpis.row(n, named=True)
        row, key = _kpi_row(found), (found["id"], found["unit"])
        before = snap.kpi_rows[key]
        snap.kpi_rows[key] = row
        unit_rows = list(snap.rows_by_unit[before.unit or ""])
        unit_rows[next(i for i, r in enumerate(unit_rows) if r is before)] = row
        snap.rows_by_unit[before.unit or ""] = unit_rows
    for n in objectives:
        row = _objective_row(ev.objectives.row(n, named=True))
        snap.objective_rows[row.id] = row
    for n in units:
        row = _unit_row(ev.units.row(n, named=True))
        snap.unit_rows[row.id] = row
    return snap


# A unit picker lists every unit the reader may see up to this many; beyond, a list of tens
# of thousands of options (a megabyte of HTML on every page that has one) helps nobody.
ALL_UNITS_UP_TO = 300


def unit_choices(snap: Snapshot, readable: set[str] | None, current: str | None) -> list[m.Unit]:
    """The units a unit picker offers, in the organisation's order: every unit the reader may
    read; in a larger organisation, the top two levels of what they read, and the chosen
    unit with the units above and directly below it (the map's own links reach the rest)."""
    allowed = [u for u in snap.org.units if readable is None or u.id in readable]
    if len(allowed) <= ALL_UNITS_UP_TO:
        return allowed
    ids = {u.id for u in allowed}
    roots = [u.id for u in allowed if u.parent not in ids]
    wanted = set(roots)
    for root in roots:
        wanted.update(snap.child_units.get(root, ()))
    if current in snap.units:
        wanted.update(snap.ancestors(current))
        wanted.add(current)
        wanted.update(snap.child_units.get(current, ()))
    return [u for u in allowed if u.id in wanted]


def cached_fragment(cache: ScorecardCache, key: Iterable[Hashable], make: Callable[[], T]) -> T:
    """A piece of a page (a cascade, sparklines) kept per key; the key must hold the store
    revision, so that a write makes the next request rebuild it."""
    return _lru(cache, "_page_fragments", 64).get(tuple(key), make)


def item_fragment(cache: ScorecardCache, key: Iterable[Hashable], make: Callable[[], T]) -> T:
    """A piece of the page of one KPI (its chart, explanation, line of sight, lower half),
    kept like `cached_fragment` but apart: people who read many KPIs' pages in turn push out
    each other's, never the organisation-wide pieces every page reuses (the map, the lists,
    the owner suggestions), which cost far more to make again."""
    return _lru(cache, "_item_fragments", 256).get(tuple(key), make)


def frame_fragment(cache: ScorecardCache, key: Iterable[Hashable], make: Callable[[], T]) -> T:
    """A piece of a page's frame that is the same for many items (an empty panel, drawn with
    slots for what differs), kept like `cached_fragment` but apart: one per reader's role and
    period, which never push out the organisation's pieces or an item's."""
    return _lru(cache, "_frame_fragments", 128).get(tuple(key), make)
