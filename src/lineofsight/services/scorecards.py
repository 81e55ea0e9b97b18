"""A cache of scorecards and other whole-store views for the web app.

Evaluating a large organisation takes a good part of a second; a web app answers many requests
for the same scorecard. Each view is computed once per *store revision* (and per as-of date)
and kept: the revision is read from the store at every request, so a write from anywhere (the
web app, `los load` or `los apply` in another process) is seen by the next request.

The revision is the highest row id of the tables every write adds to: measurements (a new
value), measurement revisions (a replaced value) and definition changes (an apply), and a
counter that writes of actions, commentary and reviews bump (see
`store.organization.read_revision`). A scorecard is kept by the first part only; the check
findings (which look at actions) by the whole.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import polars as pl

from lineofsight.domain import model as m
from lineofsight.engine.frames import DefinitionFrames, FrameEvaluation
from lineofsight.services import shapes
from lineofsight.services.as_of import resolve_as_of
from lineofsight.services.evaluate import load_organization, read_names
from lineofsight.services.permissions import UnitTree
from lineofsight.services.scorecard_frames import ScorecardFrames, labelled
from lineofsight.store import organization
from lineofsight.store.database import Store
from lineofsight.store.labels import Labels
from lineofsight.store.organization import Revision, read_calendar, read_revision

T = TypeVar("T")


def store_revision(store: Store) -> Revision:
    """A value that changes whenever anything a scorecard reads was written."""
    with store.reading() as conn:
        return read_revision(conn)


def definitions_revision(revision: Revision) -> Revision:
    """The part of a store revision that only an apply changes: what the organisation, its
    unit tree and names are kept by, so that a check-in does not read them again."""
    return organization.definitions_revision(revision)


def status_json(ev: FrameEvaluation) -> bytes:
    """The status JSON of the specification (section 5), as the API sends it."""
    return shapes.status_json(ev).encode()


@dataclass
class Scorecard:
    """One evaluation of the store as of a date, with views of it made on demand and kept.

    `evaluation` holds the engine's rows (what the pages read); the API's rows are those of
    `frames`, labelled as `los status --format json` gives them (`scorecard_frames.labelled`:
    names, unit names, units of measure, period ends)."""

    revision: Revision
    as_of: dt.date
    defs: DefinitionFrames
    evaluation: FrameEvaluation
    labels: Labels
    _views: dict[Any, Any] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def _view(self, key: Any, make: Callable[[], T]) -> T:
        found = self._views.get(key)
        if found is None:
            with self._lock:
                found = self._views.get(key)
                if found is None:
                    found = make()
                    self._views[key] = found
        return found

    def frames(self) -> ScorecardFrames:
        """The rows with their labels, as `los status --format json` writes them."""
        return self._view("frames", lambda: labelled(self.evaluation, self.defs, self.labels))

    def rows(self) -> FrameEvaluation:
        """The labelled rows, status as text: the rows every API answer shows."""
        return self._view("rows", lambda: self.frames().evaluation())

    def for_units(self, units: Collection[str] | None) -> FrameEvaluation:
        """The labelled rows of these units (None: all): their KPI rows, their objectives,
        the units themselves."""
        if units is None:
            return self.rows()
        key = ("units", frozenset(units))

        def make() -> FrameEvaluation:
            keep = list(key[1])
            ev = self.rows()
            return replace(
                ev,
                kpis=ev.kpis.filter(pl.col("unit").is_in(keep)),
                objectives=ev.objectives.filter(pl.col("unit").is_in(keep)),
                units=ev.units.filter(pl.col("id").is_in(keep)),
            )

        return self._view(key, make)

    def status_json(self, units: Collection[str] | None = None) -> bytes:
        """The status JSON for these units (None: all), serialised once."""
        key = ("json", None if units is None else frozenset(units))
        return self._view(key, lambda: status_json(self.for_units(units)))

    def kpi_rows(self, kpi_id: str) -> list[dict[str, Any]]:
        """The labelled rows of one KPI: its own unit first, then the others."""
        rows = self._view("by_kpi", lambda: self.rows().kpis.partition_by("id", as_dict=True))
        frame = rows.get((kpi_id,))
        if frame is None:
            return []
        return (
            frame.sort(["own_unit", "unit"], descending=[True, False])
            .drop("own_unit", strict=False)
            .to_dicts()
        )

    def objective_rows(self) -> dict[str, dict[str, Any]]:
        """The labelled row of each objective, by id."""
        return self._view(
            "by_objective", lambda: {r["id"]: r for r in self.rows().objectives.to_dicts()}
        )


class ScorecardCache:
    """Scorecards, the organisation, unit tree, names and check findings of one store, each
    kept until the store's revision changes (a few as-of dates at a time)."""

    def __init__(self, store: Store, *, size: int = 8) -> None:
        self.store = store
        self.size = size
        self._lock = threading.Lock()
        self._compute = threading.RLock()  # a view may be made from another (tree from org)
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        # The last kept scorecard of each as-of date and mode (few: the dates asked for), so
        # that after a check-in the next one puts the changed rows in place in it.
        self._kept: OrderedDict[tuple[dt.date, bool], Any] = OrderedDict()

    def revision(self) -> Revision:
        return store_revision(self.store)

    def _get(self, key: Any, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]  # type: ignore[no-any-return]
        # One computation at a time: 32 requests arriving together for a new revision wait
        # for the first one's result instead of each evaluating the store.
        with self._compute:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]  # type: ignore[no-any-return]
            value = make()
            with self._lock:
                self._entries[key] = value
                while len(self._entries) > self.size * 4:
                    self._entries.popitem(last=False)
        return value

    def organization(self, revision: Revision | None = None) -> m.Organization:
        """The organisation's definitions (UsageError when nothing was applied yet)."""
        rev = definitions_revision(revision or self.revision())
        return self._get(("org", rev), lambda: load_organization(self.store))

    def unit_tree(self, revision: Revision | None = None) -> UnitTree:
        rev = revision or self.revision()
        return self._get(
            ("tree", definitions_revision(rev)), lambda: UnitTree.of(self.organization(rev))
        )

    def names(self, revision: Revision | None = None) -> dict[str, dict[str, str]]:
        """Names of KPIs and units, titles of objectives, by id."""
        rev = definitions_revision(revision or self.revision())
        return self._get(("names", rev), lambda: read_names(self.store))

    def as_of(
        self, period: str | None = None, as_of: str | None = None, revision: Revision | None = None
    ) -> dt.date:
        """The as-of date as `los status` takes it: --period, --as-of, else today."""
        if period is None and as_of is None:
            return dt.date.today()
        calendar = self._get(("calendar", revision or self.revision()), self._calendar)
        return resolve_as_of(m.Organization(name="", calendar=calendar), period, as_of)

    def _calendar(self) -> m.Calendar:
        with self.store.reading() as conn:
            return read_calendar(conn)

    def scorecard(self, period: str | None = None, as_of: str | None = None) -> Scorecard:
        """The scorecard as of the date `los status` would use for these options."""
        rev = self.revision()
        day = self.as_of(period, as_of, rev)

        lag = period is None  # a period report shows each KPI's period, value or not

        def make() -> Scorecard:
            # The scorecard kept in the store, brought up to date: after a check-in only the
            # KPIs written since are scored again (see `services.snapshots`).
            from lineofsight.services.snapshots import scorecard

            previous = self._kept.get((day, lag))
            if lag:
                card = scorecard(self.store, None, day.isoformat(), previous=previous)
            else:
                card = scorecard(self.store, period, None, previous=previous)
            card.forget_joined()  # the pages write rows of their own
            with self._lock:
                self._kept[(day, lag)] = card
                self._kept.move_to_end((day, lag))
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
            return Scorecard(rev, day, card.defs, card.evaluation, card.labels)

        # Kept by what it reads: a write of actions or commentary does not score it again.
        return self._get(("scorecard", organization.values_revision(rev), day, lag), make)

    def findings(self, as_of: dt.date | None = None) -> Any:
        """The alignment check report (`los check`) as of a date, default today."""
        from lineofsight.services.check import applied_stamp, check

        rev = self.revision()
        day = as_of or dt.date.today()
        # Made again when the strategy file changes too: its lines are named while it is
        # as applied.
        key = ("check", rev, day, applied_stamp(self.store))
        return self._get(key, lambda: check(file=None, store=self.store, as_of=day))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._kept.clear()
