"""The shape of a catalogue entry, as written in the catalogue's YAML files."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z][a-z0-9_]*$"

Function = Literal[
    "finance",
    "sales",
    "marketing",
    "customer_service",
    "operations",
    "supply_chain",
    "hr",
    "it",
    "product",
    "esg",
]
Industry = Literal[
    "all",
    "healthcare",
    "manufacturing",
    "software",
    "retail",
    "financial_services",
    "public_sector",
    "logistics",
]
# The names the Literals allow, in their order, for messages, filters and menus.
FUNCTIONS: tuple[str, ...] = get_args(Function)
INDUSTRIES: tuple[str, ...] = tuple(i for i in get_args(Industry) if i != "all")

Direction = Literal["increase", "decrease", "range"]
Aggregation = Literal["sum", "mean", "last", "min", "max"]
Frequency = Literal["daily", "weekly", "monthly", "quarterly", "yearly"]
Level = Literal["strategic", "tactical", "operational"]
KpiType = Literal["leading", "lagging"]
Effect = Literal["positive", "negative"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


class RatioMeasure(_Strict):
    """A ratio of two counted quantities, described in words."""

    numerator: str
    denominator: str
    scale: float = 1.0

    @field_validator("numerator", "denominator")
    @classmethod
    def _nonempty(cls, value: str) -> str:
        return _text(value)


class Measure(_Strict):
    """How the KPI is measured: exactly one of a formula, a ratio or a method."""

    formula: str | None = None
    ratio: RatioMeasure | None = None
    method: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Measure:
        given = [name for name in ("formula", "ratio", "method") if getattr(self, name) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of formula, ratio or method (found: {found})")
        if self.method is not None and not self.method.strip():
            raise ValueError("method must not be empty")
        return self

    @property
    def kind(self) -> str:
        """Which of formula, ratio or method this is."""
        if self.formula is not None:
            return "formula"
        return "ratio" if self.ratio is not None else "method"


class RangeSpec(_Strict):
    """The band a range KPI should stay in."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if self.low > self.high:
            raise ValueError(f"range low {self.low:g} is above high {self.high:g}")
        return self


class Driver(_Strict):
    """A KPI that drives this one, and whether it pushes it up (positive) or down."""

    kpi: str = Field(pattern=ID_PATTERN)
    effect: Effect


class Entry(_Strict):
    """One KPI of the catalogue."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    abbreviations: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    description: str
    measure: Measure
    unit_of_measure: str
    direction: Direction
    range: RangeSpec | None = None
    aggregation: Aggregation
    frequency: Frequency
    level: Level
    type: KpiType
    function: Function
    industries: tuple[Industry, ...]
    drivers: tuple[Driver, ...] = ()

    @field_validator("name", "description", "unit_of_measure")
    @classmethod
    def _nonempty(cls, value: str) -> str:
        return _text(value)

    @field_validator("abbreviations", "synonyms")
    @classmethod
    def _nonempty_items(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_text(value) for value in values)

    @field_validator("industries")
    @classmethod
    def _industries(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if not values:
            raise ValueError("list at least one industry, or [all]")
        if "all" in values and len(values) > 1:
            raise ValueError("[all] stands alone: list either all or named industries")
        if len(set(values)) != len(values):
            raise ValueError("an industry is listed twice")
        return values

    @model_validator(mode="after")
    def _range(self) -> Entry:
        if self.direction == "range" and self.range is None:
            raise ValueError("direction range needs range: {low: ..., high: ...}")
        if self.direction != "range" and self.range is not None:
            raise ValueError(f"range is only for direction range, not {self.direction}")
        return self

    def fits_industry(self, industry: str) -> bool:
        """Whether the entry is for this industry (cross-industry entries fit every one)."""
        return "all" in self.industries or industry in self.industries
