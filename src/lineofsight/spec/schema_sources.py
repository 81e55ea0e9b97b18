"""The strategy file's data sources: named connections (`sources:`) and a KPI's `source:`.

Cross-references (an unknown source, a query missing for a SQL source) are checked in
`validate.py`, which knows the whole file.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from lineofsight.domain.model import SourceKind
from lineofsight.domain.schedules import parse_schedule
from lineofsight.domain.secrets import NAME_RULE, env_name, is_reference, secret_parameters
from lineofsight.spec.schema_base import Id, Text, _Model

# A secret is never written in the file: a URL with a password in it is refused, and
# `env:NAME` names the environment variable that holds it (read only when a source runs).
_PASSWORD_IN_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@?#]*:[^/@?#]*@")
SECRET_REFUSED = (
    "holds a password; a secret is never written in the strategy file: put the URL in an "
    "environment variable and write env:NAME"
)
PARAMETER_REFUSED = (
    "its parameter {name} holds a secret; a secret is never written in the strategy file: put "
    "the URL in an environment variable and write env:NAME"
)


def _no_secret(value: str | None) -> str | None:
    """The setting itself, unless it writes a password out (the error never repeats it)."""
    if value is None:
        return value
    if is_reference(value):
        if env_name(value) is None:
            raise ValueError(NAME_RULE)
        return value
    if _PASSWORD_IN_URL.match(value):
        raise ValueError(SECRET_REFUSED)
    found = secret_parameters(value)
    if found:
        raise ValueError(PARAMETER_REFUSED.format(name=found[0][0]))
    return value


# A setting that may hold a secret: an `env:NAME` reference or a URL without a password.
SecretText = Annotated[
    str,
    StringConstraints(min_length=1),
    AfterValidator(_no_secret),
    Field(description="A URL without a password, or env:NAME (read from the environment)."),
]
LOOK_BACK_MAX = 1000
TIMEOUT_MAX = 24 * 3600.0
LookBack = Annotated[
    int,
    Field(
        ge=0,
        le=LOOK_BACK_MAX,
        description="Periods before the last refreshed one that a refresh reads again; default 2.",
    ),
]
Timeout = Annotated[
    float,
    Field(gt=0, le=TIMEOUT_MAX, description="Seconds a query may run; default 300."),
]


class NamedSourceSpec(_Model):
    """A named connection in `sources:`: a SQL database, a Spark cluster or a set of files."""

    kind: SourceKind = Field(
        SourceKind.SQL, description="sql (default), spark or file (csv is file's old name)."
    )
    url: SecretText | None = Field(None, description="kind sql: a SQLAlchemy URL, or env:NAME.")
    master: SecretText | None = Field(
        None, description="kind spark: local[*], a cluster master or sc:// URL, or env:NAME."
    )
    path: Text | None = Field(None, description="kind file: a CSV or XLSX path or glob.")
    query: Text | None = Field(
        None,
        description="kind sql or spark: one query giving the values of many KPIs: kpi, "
        "period, value[, unit] (or numerator, denominator), its kpi column naming each row's "
        "KPI by its key:; a KPI of this source without a query of its own takes its rows here.",
    )
    look_back: LookBack | None = None
    timeout: Timeout | None = None

    @model_validator(mode="after")
    def _consistent(self) -> NamedSourceSpec:
        kind = self.kind
        problems = []
        if kind is SourceKind.MANUAL:
            problems.append("a named source is sql, spark or file (manual is a KPI's own)")
        if kind is SourceKind.SQL and self.url is None:
            problems.append("kind sql needs url: (a SQLAlchemy URL, or env:NAME)")
        if kind in (SourceKind.FILE, SourceKind.CSV) and self.path is None:
            problems.append("kind file needs path: (a CSV or XLSX file, or a glob)")
        for key, allowed in (
            ("url", SourceKind.SQL),
            ("master", SourceKind.SPARK),
            ("path", SourceKind.FILE),
        ):
            kinds = {allowed, SourceKind.CSV} if allowed is SourceKind.FILE else {allowed}
            if getattr(self, key) is not None and kind not in kinds:
                problems.append(f"{key} is only for kind {allowed.value}")
        if self.query is not None and kind not in (SourceKind.SQL, SourceKind.SPARK):
            problems.append("query is only for kinds sql and spark")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SourceSpec(_Model):
    """Where a KPI's values come from: `from:` a named source with a `query:`, or a `kind:
    file` with a `path:`; refreshed on its `schedule:`."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    kind: SourceKind | None = Field(
        None,
        description="manual, file, sql or spark; default: the named source's kind, else "
        "sql with url, file with path, manual otherwise.",
    )
    from_: Id | None = Field(None, alias="from", description="A source named in `sources:`.")
    url: SecretText | None = Field(None, description="kind sql: a SQLAlchemy URL, or env:NAME.")
    query: Text | None = Field(
        None,
        description="SQL returning period, value[, unit] (or numerator, denominator); "
        ":since is the first day a refresh reads.",
    )
    path: Text | None = Field(None, description="kind file: a CSV or XLSX path or glob.")
    key: Text | None = Field(
        None,
        description="The value of the kpi column that marks this KPI's rows in the query of "
        "its source (from:); default: the KPI's id.",
    )
    schedule: Text | None = Field(
        None, description="hourly, daily, weekly, monthly or a cron expression."
    )
    look_back: LookBack | None = None
    timeout: Timeout | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule_reads(cls, value: str | None) -> str | None:
        if value is not None:
            parse_schedule(value)  # its ValueError says what is wrong
        return value

    @property
    def effective_kind(self) -> SourceKind | None:
        """The kind written or implied; None when it is the named source's (`from:`)."""
        if self.kind is not None:
            return SourceKind.FILE if self.kind is SourceKind.CSV else self.kind
        if self.from_ is not None:
            return None
        if self.url is not None:
            return SourceKind.SQL
        if self.path is not None:
            return SourceKind.FILE
        return SourceKind.MANUAL

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        problems = []
        kind = self.effective_kind
        if self.from_ is not None:
            if self.url is not None or self.path is not None:
                problems.append("give from: (a named source) or url:/path:, not both")
            if self.kind is not None:
                problems.append("the kind is the named source's: leave kind: out with from:")
        elif kind is SourceKind.SQL and self.url is None:
            problems.append("kind sql needs url:, or from: a named source")
        elif kind is SourceKind.SPARK:
            problems.append("kind spark needs from: a named source of kind spark")
        elif kind is SourceKind.FILE and self.path is None:
            problems.append("kind file needs path: (a CSV or XLSX file, or a glob)")
        if kind is SourceKind.FILE and self.query is not None:
            problems.append("a file source has no query")
        if self.key is not None and (self.from_ is None or self.query is not None):
            problems.append(
                "key: marks this KPI's rows in the query of its source (from:): "
                "a KPI with a query of its own takes no key"
            )
        if kind is SourceKind.SQL and self.url is not None and self.query is None:
            problems.append("a sql source needs query:")
        if kind is SourceKind.MANUAL and any(
            value is not None
            for value in (self.url, self.query, self.path, self.schedule, self.look_back)
        ):
            problems.append("a manual source takes no url, query, path, schedule or look_back")
        if kind is not SourceKind.SQL and self.url is not None and self.from_ is None:
            problems.append("url is only for kind sql")
        if kind is not SourceKind.FILE and self.path is not None and self.from_ is None:
            problems.append("path is only for kind file")
        if problems:
            raise ValueError("; ".join(problems))
        return self
