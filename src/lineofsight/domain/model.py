"""The organisation's strategy as typed, immutable objects: units, people, objectives, KPIs.

Nothing here reads files, the store or the clock. The spec layer builds these objects from a
strategy file and the store layer from its tables; both hand the same `Organization` on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lineofsight.domain.actions import DeclaredAction
from lineofsight.domain.notifications import NotificationSettings

if TYPE_CHECKING:
    # Only for the annotation: domain.reviews reads periods, which read this module.
    from lineofsight.domain.reviews import ReviewCadence


class UnitLevel(StrEnum):
    """Where a unit sits in the organisation tree."""

    COMPANY = "company"
    BUSINESS_UNIT = "business_unit"
    DEPARTMENT = "department"
    TEAM = "team"


class Level(StrEnum):
    """The level of an objective or KPI in the cascade, from the top down."""

    STRATEGIC = "strategic"
    TACTICAL = "tactical"
    OPERATIONAL = "operational"

    @property
    def rank(self) -> int:
        """0 for strategic, 1 for tactical, 2 for operational: higher is lower in the cascade."""
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.STRATEGIC: 0, Level.TACTICAL: 1, Level.OPERATIONAL: 2}


class KpiType(StrEnum):
    """Whether a KPI predicts (leading) or records (lagging) an outcome."""

    LEADING = "leading"
    LAGGING = "lagging"


class Frequency(StrEnum):
    """How often a KPI is measured and evaluated."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Direction(StrEnum):
    """Which way is good for a KPI."""

    INCREASE = "increase"
    DECREASE = "decrease"
    RANGE = "range"


class Aggregation(StrEnum):
    """How values within one period are combined."""

    SUM = "sum"
    MEAN = "mean"
    LAST = "last"
    MIN = "min"
    MAX = "max"


class AcrossUnits(StrEnum):
    """How a unit's value derives from its child units when it has none of its own."""

    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    NONE = "none"


# SPEC 3: sums and last values add up across units, other aggregations do not. A KPI with
# one of these aggregations and no `across_units` sums its child units; any other, none
# (`Kpi.effective_across_units`, and `engine.frame_values.across_units` on a frame of KPIs).
ADDS_UP_ACROSS_UNITS = frozenset({Aggregation.SUM, Aggregation.LAST})


class Effect(StrEnum):
    """The sign of a `contributes_to` link: does raising this KPI raise or lower its parent."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class Perspective(StrEnum):
    """Balanced-scorecard perspective of an objective."""

    FINANCIAL = "financial"
    CUSTOMER = "customer"
    INTERNAL = "internal"
    LEARNING = "learning"


class ObjectiveStatus(StrEnum):
    """Whether an objective is still pursued."""

    ACTIVE = "active"
    CLOSED = "closed"


class SourceKind(StrEnum):
    """Where a KPI's measurements come from."""

    MANUAL = "manual"
    CSV = "csv"  # a file (the name of format version 1's first releases; `file` is the same)
    FILE = "file"
    SQL = "sql"
    SPARK = "spark"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a definition was written: a file and a 1-based line (0 when unknown)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class Calendar:
    """The organisation's calendar; fiscal years are named by the calendar year they end in."""

    fiscal_year_start: int = 1
    # Days after a period ends by which its value is due (a KPI's own `due_days` wins).
    due_days: int = 30


@dataclass(frozen=True, slots=True)
class Lint:
    """Per-item suppression of alignment rules."""

    ignore: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    name: str
    level: UnitLevel
    parent: str | None = None
    lead: str | None = None
    function: str | None = None
    lint: Lint = Lint()
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    unit: str
    title: str | None = None
    email: str | None = None
    lint: Lint = Lint()
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Strategy:
    mission: str | None = None
    vision: str | None = None
    values: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    obstacles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Objective:
    id: str
    title: str
    level: Level
    unit: str
    owner: str | None = None
    parent: str | None = None
    weight: float = 1.0
    perspective: Perspective | None = None
    description: str | None = None
    start: dt.date | None = None
    deadline: dt.date | None = None
    status: ObjectiveStatus = ObjectiveStatus.ACTIVE
    lint: Lint = Lint()
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Support:
    """A KPI measures an objective, with a weight in the objective's score."""

    objective: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Contribution:
    """A KPI drives another KPI: no arithmetic, used for the tree, conflicts and explanations."""

    kpi: str
    weight: float = 1.0
    effect: Effect = Effect.POSITIVE


@dataclass(frozen=True, slots=True)
class PeriodValue:
    """A value for a named period (a baseline)."""

    period: str
    value: float


@dataclass(frozen=True, slots=True)
class FinalTarget:
    value: float
    by: dt.date


@dataclass(frozen=True, slots=True)
class UnitTarget:
    """A per-unit target for a KPI; follows the same rules as the KPI's own target."""

    value: float
    by: dt.date
    baseline: PeriodValue | None = None
    targets: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Ratio:
    numerator: str
    denominator: str
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class Range:
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Bounds:
    min: float | None = None
    max: float | None = None

    def contains(self, value: float) -> bool:
        """Whether a value lies within the bounds (both ends inclusive)."""
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)


@dataclass(frozen=True, slots=True)
class Benchmark:
    value: float
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """Where a KPI's measurements come from; its settings (from, url, query, path, schedule,
    look_back, timeout) are kept as written."""

    kind: SourceKind = SourceKind.MANUAL
    settings: tuple[tuple[str, Any], ...] = ()

    def setting(self, key: str) -> Any:
        """One setting as written, or None."""
        return dict(self.settings).get(key)


@dataclass(frozen=True, slots=True)
class NamedSource:
    """A named connection of the strategy file's `sources:` (a database, a Spark cluster, a
    folder of files), as written: secrets stay `env:NAME` references."""

    name: str
    kind: SourceKind
    settings: tuple[tuple[str, Any], ...] = ()

    def setting(self, key: str) -> Any:
        """One setting as written, or None."""
        return dict(self.settings).get(key)


DEFAULT_TOLERANCE = 0.10


@dataclass(frozen=True, slots=True)
class Kpi:
    id: str
    name: str
    unit: str
    frequency: Frequency
    direction: Direction
    description: str | None = None
    unit_of_measure: str | None = None
    level: Level | None = None
    type: KpiType | None = None
    owner: str | None = None
    aggregation: Aggregation | None = None
    across_units: AcrossUnits | None = None
    supports: tuple[Support, ...] = ()
    contributes_to: tuple[Contribution, ...] = ()
    influences: tuple[str, ...] = ()
    formula: str | None = None
    ratio: Ratio | None = None
    range: Range | None = None
    baseline: PeriodValue | None = None
    target: FinalTarget | None = None
    targets: tuple[tuple[str, float], ...] = ()
    unit_targets: tuple[tuple[str, UnitTarget], ...] = ()
    tolerance: float | None = None
    tolerance_abs: float | None = None
    bounds: Bounds | None = None
    benchmark: Benchmark | None = None
    source: Source | None = None
    lint: Lint = Lint()
    due_days: int | None = None
    location: Location | None = field(default=None, compare=False)

    def due_days_in(self, calendar: Calendar) -> int:
        """Days after a period ends by which this KPI's value is due."""
        return self.due_days if self.due_days is not None else calendar.due_days

    @property
    def effective_aggregation(self) -> Aggregation:
        """The aggregation within a period: as written, else `mean`."""
        return self.aggregation or Aggregation.MEAN

    @property
    def effective_across_units(self) -> AcrossUnits:
        """`across_units` as written, else `sum` for sum/last aggregations and `none` otherwise."""
        if self.across_units is not None:
            return self.across_units
        if self.effective_aggregation in ADDS_UP_ACROSS_UNITS:
            return AcrossUnits.SUM
        return AcrossUnits.NONE


@dataclass(frozen=True, slots=True)
class Scoring:
    green_at: float = 90.0
    amber_at: float = 50.0


@dataclass(frozen=True, slots=True)
class ChecksConfig:
    """Alignment-check settings from the strategy file's `checks:` section."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Organization:
    """A whole strategy: the organisation, its strategy statement, objectives and KPIs."""

    name: str
    calendar: Calendar = Calendar()
    units: tuple[Unit, ...] = ()
    people: tuple[Person, ...] = ()
    strategy: Strategy = Strategy()
    objectives: tuple[Objective, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    scoring: Scoring = Scoring()
    checks: ChecksConfig = ChecksConfig()
    notifications: NotificationSettings = NotificationSettings()  # noqa: RUF009 (frozen)
    sources: tuple[NamedSource, ...] = ()
    reviews: tuple[ReviewCadence, ...] = ()
    # The file's `actions:` section; None: the file has none (the stored ones stay as they are).
    actions: tuple[DeclaredAction, ...] | None = None

    def kpi(self, kpi_id: str) -> Kpi | None:
        """The KPI with this id, or None."""
        for kpi in self.kpis:
            if kpi.id == kpi_id:
                return kpi
        return None

    def kpis_by_id(self) -> dict[str, Kpi]:
        return {k.id: k for k in self.kpis}

    def units_by_id(self) -> dict[str, Unit]:
        return {u.id: u for u in self.units}
