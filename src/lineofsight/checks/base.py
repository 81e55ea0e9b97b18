"""What every alignment rule is: its code, name, severity, options, and the findings it makes.

A rule lives in its own module under `rules/`, named `<code>_<name>.py` (e.g.
`al01_kpi_without_objective.py`); the code and the kebab-case name are derived from that
module name, so the file, the code and the documentation cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from lineofsight.domain.model import Location


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for errors, 1 for warnings, 2 for info: sorts the most serious first."""
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class SubjectKind(StrEnum):
    KPI = "kpi"
    OBJECTIVE = "objective"
    UNIT = "unit"
    PERSON = "person"


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of an alignment check."""

    code: str
    name: str
    severity: Severity
    subject: Subject
    message: str
    location: Location | None = None

    def sort_key(self) -> tuple[str, int, str, str, str]:
        file = self.location.file if self.location else ""
        line = self.location.line if self.location else 0
        return (file, line, self.code, self.subject.id, self.message)


@dataclass
class CheckReport:
    """The findings of a check, the rules run and skipped, and how many were suppressed."""

    as_of: dt.date
    findings: list[Finding]
    rules_run: list[str]
    skipped: list[str] = field(default_factory=list)  # data rules without measurements
    suppressed: int = 0
    # The subjects (kind, id) of findings with no place in the strategy file, and why: they
    # were changed since it was applied ("changed in the web app by ed on 2026-12-07").
    changed: dict[tuple[str, str], str] = field(default_factory=dict)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


def finding_plain(f: Finding) -> dict[str, Any]:
    """`{"code", "name", "severity", "subject": {"kind", "id"}, "message", "location"}`: the
    location `{"file", "line"}` as the specification shapes it, each null when not known (a
    file of null: the strategy file does not have the item, changed in the web app since)."""
    return {
        "code": f.code,
        "name": f.name,
        "severity": f.severity.value,
        "subject": {"kind": f.subject.kind.value, "id": f.subject.id},
        "message": f.message,
        "location": {
            "file": f.location.file if f.location else None,
            "line": f.location.line if f.location and f.location.line else None,
        },
    }


class ConfigError(ValueError):
    """Bad rule selection or options; the messages name the setting and the reason."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True, slots=True)
class Option:
    """A setting of a rule: a whole number or a decimal, with a lower bound."""

    name: str
    default: int | float
    description: str
    minimum: int | float = 0
    integer: bool = True

    def parse(self, code: str, value: Any) -> int | float:
        kind = "a whole number" if self.integer else "a number"
        ok_type = isinstance(value, int) if self.integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            raise ConfigError([f"{code}.{self.name} must be {kind}, got {value!r}"])
        if value < self.minimum:
            raise ConfigError(
                [f"{code}.{self.name} must be at least {self.minimum}, got {value!r}"]
            )
        return float(value) if not self.integer else int(value)


_MODULE = re.compile(r"^(?P<code>[a-z]{2}\d{2})_(?P<name>[a-z0-9_]+)$")


class Rule:
    """Base of the alignment rules; subclasses set `severity`, `options` and `check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    options: ClassVar[tuple[Option, ...]] = ()
    needs_data: ClassVar[bool] = False  # uses measurements: skipped when checking a bare file
    # Looks at measurements when there are any (without them it uses what the file gives).
    reads_data: ClassVar[bool] = False
    # Options that, when not given, each item sets for itself (left out of the resolved ones).
    item_defaults: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        module = cls.__module__.rsplit(".", 1)[-1]
        match = _MODULE.match(module)
        if match is None:
            raise TypeError(f"rule module {module!r} is not named <code>_<name>")
        cls.code = match["code"].upper()
        cls.name = match["name"].replace("_", "-")

    def resolve(self, given: Mapping[str, Any]) -> dict[str, int | float]:
        """The rule's options with the given values checked and defaults filled in."""
        known = {option.name: option for option in self.options}
        errors: list[str] = []
        values: dict[str, int | float] = {o.name: o.default for o in self.options}
        for key, value in given.items():
            option = known.get(key)
            if option is None:
                names = ", ".join(known) or "none"
                errors.append(f"{self.code} has no option {key!r} (options: {names})")
                continue
            try:
                values[key] = option.parse(self.code, value)
            except ConfigError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ConfigError(errors)
        return values

    def check(self, ctx: Any, options: Mapping[str, int | float]) -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        """The first paragraph of the rule's docstring, on one line."""
        first = (cls.__doc__ or "").strip().split("\n\n", 1)[0]
        return " ".join(first.split())


@dataclass
class Selection:
    """Which rules run, and their options."""

    select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def wants(self, code: str) -> bool:
        if self.select and code not in self.select:
            return False
        return code not in self.ignore
