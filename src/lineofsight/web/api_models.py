"""The JSON API's answers as typed models, for the OpenAPI document (/api/openapi.json).

The endpoints write their JSON themselves (the same shapes as the command line's
`--format json`, from services/shapes.py and friends), so these models describe rather than
build the answers; the schemathesis test (tests/web/test_openapi.py) checks every answer
against them (tests/web/test_openapi_answers.py the full answers for every id of the worked
example). A field that may be null is typed `X | None` and is always present; a field that an
answer has only when it applies (a formula KPI's `formula`) has a default, so it is not
required.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Plain = dict[str, Any]  # a part whose shape is the strategy file's (see `los schema`)


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# --- errors (web/errors.py) ---


class ErrorDetail(_Out):
    """What was wrong where: a field and a reason, or a file's row or line and a reason."""

    reason: str
    field: str | None = Field(None, description="A form, query or body field.")
    file: str | None = Field(None, description="An uploaded file's name.")
    row: int | None = Field(None, description="The file's row (1 is the header).")
    line: int | None = Field(None, description="The file's line.")


class Error(_Out):
    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(description="not_found, forbidden, invalid, busy, unauthenticated, ...")
    message: str
    details: list[ErrorDetail]


class ErrorBody(_Out):
    """Every error the API answers, whatever its status."""

    error: Error


# --- scores ---


class Counts(_Out):
    green: int
    amber: int
    red: int
    no_data: int
    no_target: int


class Worst(_Out):
    id: str
    kind: str = Field(description="kpi or objective")
    status: str
    score: float | None


class KpiRow(_Out):
    """A KPI's value, target, score and status in one unit and period."""

    id: str
    name: str
    unit: str = Field(description="The unit the KPI is scored at.")
    unit_name: str
    period: str | None
    period_end: str | None = Field(description="The period's last day (YYYY-MM-DD).")
    actual: float | None
    target: float | None
    unit_of_measure: str | None
    miss: float | None
    score: float | None
    status: str = Field(description="green, amber, red, no_data or no_target")
    achievement: float | None
    due: str | None = Field(description="When the period's value is due (YYYY-MM-DD).")
    data: str | None = Field(description="reported, awaited, late or missing")
    last_value: float | None
    last_period: str | None


class ObjectiveRow(_Out):
    id: str
    name: str = Field(description="The objective's title.")
    unit: str = Field(description="The unit the objective belongs to.")
    unit_name: str
    score: float | None
    status: str
    coverage: float | None
    counts: Counts
    worst: Worst | None


class UnitRow(_Out):
    id: str
    name: str
    unit: str = Field(
        description="The unit's own id, as a KPI's and an objective's row name theirs."
    )
    score: float | None
    status: str
    counts: Counts
    worst: Worst | None


class Status(_Out):
    """`los status --format json`."""

    as_of: str
    kpis: list[KpiRow]
    objectives: list[ObjectiveRow]
    units: list[UnitRow]


class TargetPoint(_Out):
    period: str
    end: str
    target: float | None


class KpiAnswer(_Out):
    as_of: str
    kpi: Plain = Field(description="The KPI as the strategy file defines it.")
    values: list[KpiRow]
    target_path: list[TargetPoint]


class Measurement(_Out):
    unit: str
    period: str
    start: str
    end: str
    value: float | None
    numerator: float | None
    denominator: float | None
    note: str | None
    revision: int
    recorded_at: str | None
    source: str | None
    revisions: list[Plain]


class Measurements(_Out):
    kpi: str
    measurements: list[Measurement]


class ForecastPoint(_Out):
    period: str
    value: float | None
    low: float | None
    high: float | None


class ValueRange(_Out):
    low: float
    high: float


class KpiForecast(_Out):
    id: str
    unit: str
    projected: float | None
    target: float | None
    deadline: str | None
    on_track: bool | None
    probability: float | None
    method: str | None
    models: str | None = Field(
        description="A seasonal projection's two averaged models, joined by '+' (ari1+ari2); "
        "null for another method."
    )
    points: int
    period: str | None
    direction: str
    first_period: str | None
    last_period: str | None
    path: list[ForecastPoint]
    range: ValueRange | None = Field(None, description="A range KPI's band; only for those.")
    clamped: bool = Field(
        False, description="true when values were held at the KPI's bounds; only then present."
    )
    reason: str | None = Field(None, description="Why there is no forecast; only then present.")


class Forecasts(_Out):
    as_of: str
    kpis: list[KpiForecast]


class PeriodValue(_Out):
    period: str
    value: float | None


class Contribution(_Out):
    model_config = ConfigDict(extra="allow")  # a unit's or an input KPI's, by method

    contribution: float | None


class Explanation(_Out):
    """`los explain --format json`: what drove a KPI's change between two periods."""

    kpi: str
    unit: str | None
    from_: PeriodValue = Field(alias="from")
    to: PeriodValue
    change: float | None
    method: str
    exact: bool
    formula: str | None = Field(None, description="The KPI's formula; only for a formula KPI.")
    across_units: str | None = Field(
        None,
        description="How the child units' values combine (sum, mean, min, max); only for a "
        "KPI taken from its child units.",
    )
    contributions: list[Contribution]
    residual: float | None


class Trace(_Out):
    id: str
    kind: str
    paths: list[list[str]]
    ends: list[str]
    truncated: bool


class Subject(_Out):
    kind: str
    id: str


class Location(_Out):
    file: str | None
    line: int | None


class Finding(_Out):
    code: str
    name: str
    severity: str
    subject: Subject
    message: str
    location: Location | None = None
    unit: str | None = None


class Findings(_Out):
    as_of: str
    findings: list[Finding]


class UnitAnswer(_Out):
    as_of: str
    unit: Plain = Field(description="The unit as the strategy file defines it.")
    score: UnitRow | None
    kpis: list[KpiRow]
    objectives: list[ObjectiveRow]
    children: list[str]


class PersonKpi(KpiRow):
    """A KPI the person owns, at its own unit."""


class PersonObjective(ObjectiveRow):
    model_config = ConfigDict(extra="allow")  # the objective as the strategy file defines it

    title: str


class PersonAnswer(_Out):
    as_of: str
    person: Plain = Field(description="The person as the strategy file defines them.")
    kpis: list[PersonKpi]
    objectives: list[PersonObjective]


class InboxItem(_Out):
    kind: str
    reason: str
    item_type: str
    item_id: str
    name: str
    unit: str | None
    owner: str | None
    status: str | None
    value: float | None
    period: str | None
    due: str | None
    link: str | None
    rank: int
    unit_name: str | None
    owner_name: str | None
    target: float | None
    score: float | None
    depth: int
    code: str | None
    severity: str | None
    subject: str | None
    unit_of_measure: str | None = None
    given_at: str | None = None  # an action_new's: when its owner was given it


class Inbox(_Out):
    as_of: str
    person: str | None
    unit: str | None
    reminder_days: int
    items: list[InboxItem]


# --- writes ---


class MeasurementSaved(_Out):
    kpi: str
    unit: str
    period: str
    value: float | None
    numerator: float | None
    denominator: float | None
    note: str | None
    action: str = Field(description="added, replaced or unchanged")
    revision: int
    warnings: list[str] = Field(
        description="For a KPI fed by a data source, that its next refresh replaces the "
        "value; why the value stored looks like a typing slip, if it does: ten times "
        "off the KPI's recent values at the unit, or of a sign they never had (warnings; "
        "the value is stored)."
    )


class UploadSummary(_Out):
    file: str
    rows: int
    added: int
    replaced: int
    unchanged: int
    warnings: list[str] = Field(
        description="One line per stored row whose value looks like a typing slip (file, "
        "row, KPI, unit, period and why); the values are stored."
    )


class Undone(_Out):
    by: str = Field(description="Who made the change in the web app.")
    on: str = Field(description="The day (UTC) it was made.")


class Change(_Out):
    kind: str
    id: str
    action: str
    field: str | None
    before: Any
    after: Any
    undoes: Undone | None = Field(
        description="The change made in the web app since a file was last applied that this "
        "one undoes (null: none)."
    )


class StrategyApplied(_Out):
    dry_run: bool
    added: int
    changed: int
    removed: int
    changes: list[Change]
    more_changes: int = Field(description="Changes not listed (the list stops at 500).")


class Grant(_Out):
    role: str
    unit: str | None


class User(_Out):
    id: int
    username: str
    name: str | None
    person: str | None
    grants: list[Grant]


class Users(_Out):
    users: list[User]


class UserRemoved(_Out):
    removed: str


class TokenMade(_Out):
    id: int
    username: str
    label: str | None
    token: str = Field(description="Shown once: only its hash is kept.")


class TokenRevoked(_Out):
    revoked: int


class AuditEntry(_Out):
    id: int
    at: str
    actor: str | None
    action: str
    subject: str | None
    before: Any
    after: Any


class Audit(_Out):
    entries: list[AuditEntry]


# --- sources ---


class SourceRun(_Out):
    id: int
    state: str
    trigger: str | None
    actor: str | None
    full: bool
    started_at: str | None
    finished_at: str | None
    duration: float | None
    rows_read: int | None
    added: int | None
    replaced: int | None
    unchanged: int | None
    not_ended: int | None = Field(
        description="rows of periods not ended yet, left out for a later refresh "
        "(none kept for runs recorded before it was)"
    )
    error: str | None
    problems: Any
    warnings: list[str] = Field(
        default=[],
        description="values an ok run wrote that look like a slip (each is stored)",
    )


class Source(_Out):
    name: str
    kind: str
    schedules: list[str]
    kpis: list[str]
    settings: dict[str, Any] = Field(description="Connection settings, secrets left out.")
    state: str = Field(description="running, ok, failed or never")
    last_run: SourceRun | None
    next_run: str | None


class Sources(_Out):
    sources: list[Source]


class SourceWithRuns(Source):
    runs: list[SourceRun]


class RefreshStarted(_Out):
    source: str
    state: str


class RefreshSummary(_Out):
    """`los refresh --format json` (when the request waited for the refresh)."""

    source: str
    kind: str
    kpis: list[str]
    state: str
    rows_read: int
    added: int
    replaced: int
    unchanged: int
    not_ended: int
    duration: float
    since: dict[str, str]
    reason: str | None
    error: str | None
    problems: list[str]
    warnings: list[str] = Field(
        default=[], description="values written that look like a slip (each is stored)"
    )
