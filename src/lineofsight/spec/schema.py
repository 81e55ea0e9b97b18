"""The strategy file format, version 1, as pydantic models (unknown keys are errors).

These models check each value in isolation (types, enums, id and period syntax, formula
syntax). Checks that need the whole file (unknown ids, duplicates, targets per frequency) are
in `validate.py`. `los schema` publishes the JSON Schema generated from these models.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from lineofsight.domain.formula import FormulaError, parse_formula
from lineofsight.domain.limits import number_problem
from lineofsight.domain.model import (
    AcrossUnits,
    Aggregation,
    Direction,
    Effect,
    Frequency,
    KpiType,
    Level,
    ObjectiveStatus,
    Perspective,
    UnitLevel,
)
from lineofsight.domain.notifications import SmtpSecurity, WebhookKind
from lineofsight.domain.periods import PeriodError, check_date, parse_period
from lineofsight.domain.secrets import env_name
from lineofsight.spec.schema_actions import ActionSpec, MilestoneSpec
from lineofsight.spec.schema_base import ID_PATTERN, Id, Text, _Model
from lineofsight.spec.schema_reviews import ReviewSpec
from lineofsight.spec.schema_sources import NamedSourceSpec, SourceSpec

# The period names `parse_period` reads, for editors and validators that see only the schema
# (a test holds the two to the same names). Q, W and FY may be written in lower case.
PERIOD_PATTERN = (
    r"^(?:[0-9]{4}(?:-[Qq][1-4]|-[Ww](?:0[1-9]|[1-4][0-9]|5[0-3])"
    r"|-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12][0-9]|3[01]))?)?"
    r"|[Ff][Yy][0-9]{4}(?:-[Qq][1-4])?)$"
)
__all__ = [
    "ID_PATTERN",
    "ActionSpec",
    "Id",
    "MilestoneSpec",
    "NamedSourceSpec",
    "SourceSpec",
    "Text",
]

SCHEMA_ID = "urn:lineofsight:strategy-file:1"
RULE_CODE_PATTERN = r"^[A-Z]{2}[0-9]{2}$"

RuleCode = Annotated[str, StringConstraints(pattern=RULE_CODE_PATTERN)]


def _period_text(value: Any) -> Any:
    """YAML reads `2026` as a number and `2026-07-15` as a date: both are period names."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _check_period(value: str) -> str:
    label = _period_label(value)
    if isinstance(label, PeriodError):
        raise ValueError(str(label)) from None
    return label


@lru_cache(maxsize=4096)
def _period_label(value: str) -> str | PeriodError:
    # A large file names the same few periods a hundred thousand times: read each once.
    try:
        return parse_period(value).label
    except PeriodError as exc:
        return exc


PERIOD_DESCRIPTION = "A period: 2026, 2026-Q3, 2026-07, 2026-W05, 2026-07-15, FY2027 or FY2027-Q1."
PeriodText = Annotated[
    str,
    BeforeValidator(_period_text),
    AfterValidator(_check_period),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": PERIOD_PATTERN},
                {"type": "integer", "minimum": 1000, "maximum": 9999},  # YAML reads 2026 so
            ],
            "description": PERIOD_DESCRIPTION,
            "examples": ["2026-Q3"],
        }
    ),
]
# Per-period targets: a mapping whose keys are period names.
PERIOD_KEYS: JsonDict = {"propertyNames": {"pattern": PERIOD_PATTERN}}


def _check_day(value: dt.date) -> dt.date:
    try:
        return check_date(value)
    except PeriodError as exc:
        raise ValueError(str(exc)) from None


def _check_number(value: float) -> float:
    problem = number_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# A date in the supported years (`domain.periods.MIN_YEAR`..`MAX_YEAR`).
Day = Annotated[dt.date, AfterValidator(_check_day)]
# A number no KPI bounds govern (weights, scales, tolerances): within `domain.limits`.
Number = Annotated[float, AfterValidator(_check_number)]


class LintSpec(_Model):
    """Suppress alignment rules for this item."""

    ignore: list[RuleCode] = Field(default_factory=list, description="Rule codes to ignore.")


# Two years: a longer lag is a typo, and would make a scorecard look that far back.
DUE_DAYS_MAX = 731


class CalendarSpec(_Model):
    fiscal_year_start: int = Field(
        1, ge=1, le=12, description="Month the fiscal year starts in; 1 = calendar year."
    )
    due_days: int = Field(
        30,
        ge=0,
        le=DUE_DAYS_MAX,
        description="Days after a period ends by which its value is due (reporting lag).",
    )


class UnitSpec(_Model):
    """An organisational unit."""

    id: Id
    name: Text
    level: UnitLevel
    parent: Id | None = None
    lead: Id | None = Field(None, description="The person who leads the unit.")
    function: Text | None = Field(
        None, description="The business function, e.g. finance, sales, operations."
    )
    lint: LintSpec | None = None


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class PersonNotificationsSpec(_Model):
    """What this person receives (each person may change it in the web app too)."""

    email: bool = Field(True, description="Emails: reminders, overdue, turned red, digest.")
    webhook: bool = Field(True, description="Their items in the chat channels' messages.")
    digest: bool = Field(True, description="The digest of their attention list.")
    digest_day: Weekday | None = Field(None, description="Default: notifications.digest_day.")


class PersonSpec(_Model):
    """Someone who owns objectives and KPIs."""

    id: Id
    name: Text
    unit: Id
    title: Text | None = None
    email: Text | None = None
    notifications: PersonNotificationsSpec | None = None
    lint: LintSpec | None = None


class OrganizationSpec(_Model):
    name: Text
    calendar: CalendarSpec | None = None
    units: list[UnitSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)


class StrategySpec(_Model):
    mission: Text | None = None
    vision: Text | None = None
    values: list[Text] = Field(default_factory=list)
    methods: list[Text] = Field(default_factory=list)
    obstacles: list[Text] = Field(default_factory=list)


class ObjectiveSpec(_Model):
    """A SMART goal at one level of the cascade."""

    id: Id
    title: Text
    level: Level
    unit: Id
    owner: Id | None = None
    parent: Id | None = Field(None, description="The objective this one serves.")
    weight: Number = Field(1.0, description="Weight in the parent objective's score.")
    perspective: Perspective | None = None
    description: Text | None = None
    start: Day | None = None
    deadline: Day | None = None
    status: ObjectiveStatus = ObjectiveStatus.ACTIVE
    lint: LintSpec | None = None

    @model_validator(mode="after")
    def _start_before_deadline(self) -> ObjectiveSpec:
        if self.start and self.deadline and self.start > self.deadline:
            raise ValueError(f"start {self.start} is after deadline {self.deadline}")
        return self


def _objective_shorthand(value: Any) -> Any:
    return {"objective": value} if isinstance(value, str) else value


def _kpi_shorthand(value: Any) -> Any:
    return {"kpi": value} if isinstance(value, str) else value


class SupportSpec(_Model):
    objective: Id
    weight: Number = 1.0


class ContributionSpec(_Model):
    kpi: Id
    weight: Number = 1.0
    effect: Effect = Effect.POSITIVE


class BaselineSpec(_Model):
    period: PeriodText
    value: float


class TargetSpec(_Model):
    value: float
    by: Day = Field(description="The date the target is due.")


class UnitTargetSpec(_Model):
    value: float
    by: Day
    baseline: BaselineSpec | None = None
    targets: dict[PeriodText, float] = Field(default_factory=dict, json_schema_extra=PERIOD_KEYS)


class RatioSpec(_Model):
    numerator: Text = Field(description="What the numerator counts.")
    denominator: Text = Field(description="What the denominator counts.")
    scale: Number = Field(1.0, description="Multiplier, e.g. 100 for a percentage.")

    @field_validator("scale")
    @classmethod
    def _scale_not_zero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("scale must not be 0")
        return value


class RangeSpec(_Model):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        return self


class BoundsSpec(_Model):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> BoundsSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


class BenchmarkSpec(_Model):
    value: float
    source: Text | None = None


class KpiSpec(_Model):
    """A persistent, owned, targeted measure."""

    # What `_consistent` checks, said in the schema too, so that an editor flags it.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_enum_values=False,
        json_schema_extra={
            "allOf": [
                {
                    "if": {
                        "properties": {"direction": {"const": "range"}},
                        "required": ["direction"],
                    },
                    "then": {"required": ["range"]},
                    "else": {"not": {"required": ["range"]}},
                },
                {"not": {"required": ["formula", "ratio"]}},
                {"not": {"required": ["tolerance", "tolerance_abs"]}},
            ]
        },
    )

    id: Id
    name: Text
    description: Text | None = None
    unit_of_measure: Text | None = None
    level: Level | None = None
    type: KpiType | None = None
    unit: Id
    owner: Id | None = None
    frequency: Frequency
    direction: Direction
    aggregation: Aggregation | None = Field(None, description="Within a period; default mean.")
    across_units: AcrossUnits | None = Field(
        None, description="From child units; default sum for sum/last aggregation, else none."
    )
    supports: list[
        Annotated[
            SupportSpec,
            BeforeValidator(_objective_shorthand, json_schema_input_type=Id | SupportSpec),
        ]
    ] = Field(default_factory=list, description="Objectives this KPI measures (id or mapping).")
    contributes_to: list[
        Annotated[
            ContributionSpec,
            BeforeValidator(_kpi_shorthand, json_schema_input_type=Id | ContributionSpec),
        ]
    ] = Field(default_factory=list, description="KPIs this KPI drives (id or mapping).")
    influences: list[Id] = Field(default_factory=list)
    formula: Text | None = Field(
        None, description="KPI ids, numbers, + - * /, parentheses, min(), max(), abs()."
    )
    ratio: RatioSpec | None = None
    range: RangeSpec | None = None
    baseline: BaselineSpec | None = None
    target: TargetSpec | None = None
    targets: dict[PeriodText, float] = Field(
        default_factory=dict,
        description="Per-period overrides of the glide path.",
        json_schema_extra=PERIOD_KEYS,
    )
    unit_targets: dict[Id, UnitTargetSpec] = Field(default_factory=dict)
    tolerance: float | None = Field(None, ge=0, description="Amber band, fraction of |target|.")
    tolerance_abs: Number | None = Field(None, ge=0, description="Amber band, absolute.")
    bounds: BoundsSpec | None = None
    benchmark: BenchmarkSpec | None = None
    source: SourceSpec | None = None
    due_days: int | None = Field(
        None,
        ge=0,
        le=DUE_DAYS_MAX,
        description="Days after a period ends by which its value is due; default: the calendar's.",
    )
    lint: LintSpec | None = None

    @field_validator("formula")
    @classmethod
    def _formula_parses(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            parse_formula(value)
        except FormulaError as exc:
            raise ValueError(f"bad formula {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> KpiSpec:
        problems = []
        if self.formula is not None and self.ratio is not None:
            problems.append("a KPI has a formula or a ratio, not both")
        if self.direction is Direction.RANGE and self.range is None:
            problems.append("direction range needs range: {low, high}")
        if self.direction is not Direction.RANGE and self.range is not None:
            problems.append("range is only for direction: range")
        if self.tolerance is not None and self.tolerance_abs is not None:
            problems.append("give tolerance or tolerance_abs, not both")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ScoringSpec(_Model):
    green_at: float = Field(90, ge=0, le=100)
    amber_at: float = Field(50, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> ScoringSpec:
        if self.amber_at > self.green_at:
            raise ValueError(f"amber_at {self.amber_at:g} is above green_at {self.green_at:g}")
        return self


def _check_env_reference(value: str) -> str:
    if env_name(value) is None:
        raise ValueError(
            "a secret is written as env:NAME (the environment variable that holds it), "
            "never in the file"
        )
    return value


SecretRef = Annotated[
    str,
    AfterValidator(_check_env_reference),
    Field(description="env:NAME: the environment variable holding the secret."),
]


class SmtpSpec(_Model):
    host: Text
    port: int = Field(25, ge=1, le=65535)
    security: SmtpSecurity = Field(SmtpSecurity.NONE, description="none | starttls | tls.")
    username: Text | None = None
    password: SecretRef | None = None
    from_address: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")] = Field(
        description="The sender's address."
    )

    @model_validator(mode="after")
    def _login_pair(self) -> SmtpSpec:
        if (self.username is None) != (self.password is None):
            raise ValueError("give username and password together, or neither")
        if (
            self.password is not None
            and self.security is SmtpSecurity.NONE
            and not _loopback(self.host)
        ):
            raise ValueError(
                f"security: none would send the password to {self.host} unencrypted: use "
                "starttls or tls (only a server on this machine, such as localhost, may take "
                "a login without them)"
            )
        return self


def _loopback(host: str) -> bool:
    """Whether `host` names this machine (a login to it never crosses a network)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WebhookSpec(_Model):
    id: Id
    kind: WebhookKind = Field(
        description="slack | teams (a connector's MessageCard) | teams_workflow (a Teams "
        "Workflows webhook: an Adaptive Card)."
    )
    url: SecretRef
    unit: Id | None = Field(None, description="Its channel hears about this unit's subtree only.")


class NotificationsSpec(_Model):
    """Email and chat notifications: reminders, overdue values, turned red, digests."""

    smtp: SmtpSpec | None = None
    base_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")] | None = Field(
        None, description="The web app's address, for links in messages."
    )
    webhooks: list[WebhookSpec] = Field(default_factory=list)
    reminder_days: list[Annotated[int, Field(ge=0, le=366)]] = Field(
        default_factory=lambda: [7, 1, 0],
        description="Days before a value is due to remind its owner (then daily while overdue).",
    )
    digest_day: Weekday = Field("monday", description="The weekday of the weekly digest.")
    copy_unit_leads: bool = Field(True, description="Unit leads get copies of their units' alerts.")


class ChecksSpec(_Model):
    select: list[RuleCode] = Field(default_factory=list, description="Run only these rules.")
    ignore: list[RuleCode] = Field(default_factory=list, description="Skip these rules.")
    options: dict[RuleCode, dict[str, Any]] = Field(
        default_factory=dict, description="Options per rule, e.g. {OW02: {max: 4}}."
    )


class StrategyFile(_Model):
    """A Line of Sight strategy file, format version 1."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Line of Sight strategy file",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    version: Literal[1] = Field(description="Format version; 1.")
    organization: OrganizationSpec
    strategy: StrategySpec | None = None
    objectives: list[ObjectiveSpec] = Field(default_factory=list)
    kpis: list[KpiSpec] = Field(default_factory=list)
    scoring: ScoringSpec | None = None
    checks: ChecksSpec | None = None
    notifications: NotificationsSpec | None = None
    reviews: list[ReviewSpec] = Field(
        default_factory=list, description="Each unit's review meeting and its briefing book."
    )
    sources: dict[Id, NamedSourceSpec] = Field(
        default_factory=dict,
        description="Named connections that KPIs take values `from:`; secrets as env:NAME.",
    )
    actions: list[ActionSpec] | None = Field(
        None,
        description="Actions (initiatives) on KPIs and objectives; more are entered in the app. "
        "Without this section `los apply` leaves the stored actions as they are.",
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the strategy file, for editors and CI validators."""
    schema = StrategyFile.model_json_schema()
    return {"$schema": schema.pop("$schema"), "$id": SCHEMA_ID, **schema}
