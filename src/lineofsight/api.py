"""The Python API, for notebooks and scripts: open a workspace, evaluate it, get data frames.

    >>> import lineofsight as los
    >>> ws = los.Workspace.open("demo")            # a folder, or a database URL
    >>> card = ws.scorecard(as_of="2026-11-22")    # or period="2026-Q3"
    >>> card.kpis                                  # a Polars DataFrame
    >>> card.to_pandas()["objectives"]             # pandas, if you prefer
    >>> card                                       # in Jupyter: a coloured scorecard

Everything comes from the same services as the `los` command.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from lineofsight.checks.runner import CheckReport
from lineofsight.domain.model import Organization
from lineofsight.domain.periods import PeriodError, check_date, parse_date
from lineofsight.engine.calendar import period_named
from lineofsight.engine.frames import FrameEvaluation
from lineofsight.errors import UsageError
from lineofsight.extras import require
from lineofsight.services import check as check_service
from lineofsight.services.evaluate import evaluate_store, load_organization
from lineofsight.services.workspace import find_workspace_url, resolve_url
from lineofsight.store.database import Store

_COLOURS = {
    "green": "#1a7f37",
    "amber": "#9a6700",
    "red": "#cf222e",
    "no_data": "#6e7781",
    "no_target": "#6e7781",
}
_ICONS = {"green": "✓", "amber": "▲", "red": "✗", "no_data": "?", "no_target": "–"}


class Workspace:
    """A Line of Sight store, opened from a workspace folder or a database URL."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, where: str | Path | None = None) -> Workspace:
        """Open a workspace: a folder (or one inside it), a database URL, or, with nothing
        given, what `los` would use here (`LOS_DATABASE_URL` or the nearest workspace)."""
        if where is None:
            return cls(Store(resolve_url(None)))
        text = str(where)
        if "://" in text:
            return cls(Store(text))
        found = find_workspace_url(Path(text).resolve())
        if found is None:
            raise FileNotFoundError(f"no Line of Sight workspace at or above {text}")
        return cls(Store(found))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def organization(self) -> Organization:
        """The definitions in the store, as domain objects."""
        return load_organization(self.store)

    def scorecard(self, as_of: dt.date | str | None = None, period: str | None = None) -> Scorecard:
        """Every KPI, objective and unit scored as of a date (default today) or a period."""
        day = as_of.isoformat() if isinstance(as_of, dt.date) else as_of  # checked on the way
        org, evaluation = evaluate_store(self.store, period, day)
        return Scorecard(org, evaluation)

    def check(self, as_of: dt.date | str | None = None) -> pl.DataFrame:
        """The alignment findings on the store, as a data frame."""
        try:
            day = parse_date(as_of) if isinstance(as_of, str) else as_of and check_date(as_of)
        except PeriodError as exc:
            raise UsageError(f"as_of {as_of!r}: {exc}") from None
        report: CheckReport = check_service.check(
            file=None, store=self.store, as_of=day or dt.date.today()
        )
        return pl.DataFrame(
            [
                {
                    "code": f.code,
                    "name": f.name,
                    "severity": f.severity.value,
                    "kind": f.subject.kind.value,
                    "id": f.subject.id,
                    "message": f.message,
                    "line": f.location.line if f.location else None,
                }
                for f in report.findings
            ],
            schema={
                "code": pl.String,
                "name": pl.String,
                "severity": pl.String,
                "kind": pl.String,
                "id": pl.String,
                "message": pl.String,
                "line": pl.Int64,
            },
        )


@dataclass
class Scorecard:
    """An evaluation with data-frame views and a rich display in notebooks."""

    organization: Organization
    evaluation: FrameEvaluation

    @property
    def as_of(self) -> dt.date:
        return self.evaluation.as_of

    @property
    def kpis(self) -> pl.DataFrame:
        """One row per KPI and unit: period, actual, target, miss, score, status."""
        names = {k.id: k.name for k in self.organization.kpis}
        frame = self.evaluation.kpis
        calendar = self.organization.calendar
        ends = {p: period_named(p, calendar).end for p in frame["period"].unique().to_list()}
        frame = frame.with_columns(
            period_end=pl.col("period").replace_strict(ends, default=None, return_dtype=pl.Date)
        )
        first = ("id", "unit", "period", "period_end")
        rest = [c for c in frame.columns if c not in first]
        return frame.with_columns(
            name=pl.col("id").replace_strict(names, default=None, return_dtype=pl.String)
        ).select("id", "name", *first[1:], *rest)

    @property
    def objectives(self) -> pl.DataFrame:
        titles = {o.id: o.title for o in self.organization.objectives}
        frame = self.evaluation.objectives
        return frame.with_columns(
            title=pl.col("id").replace_strict(titles, default=None, return_dtype=pl.String)
        ).select("id", "title", "score", "status", "coverage")

    @property
    def units(self) -> pl.DataFrame:
        counts = pl.col("counts").struct
        kpis = pl.sum_horizontal(*[counts.field(s) for s in _ICONS]).alias("kpis")
        return self.evaluation.units.select("id", "score", "status", kpis, "counts", "worst")

    def to_pandas(self) -> dict[str, Any]:
        """The three tables as pandas DataFrames (needs the pandas extra: pandas and pyarrow)."""
        require("pandas", "Scorecard.to_pandas()")
        return {
            "kpis": self.kpis.to_pandas(),
            "objectives": self.objectives.to_pandas(),
            "units": self.units.to_pandas(),
        }

    def _repr_html_(self) -> str:
        """A compact scorecard for Jupyter: objectives, then KPIs, status as colour, icon
        and text; every user-written string escaped."""
        parts = [
            f"<div><h4>{html.escape(self.organization.name)}: scorecard as of {self.as_of}</h4>"
        ]
        parts.append(_table(self.objectives, ["title", "score", "coverage", "status"]))
        parts.append(
            _table(
                self.kpis.filter(pl.col("own_unit")),
                ["name", "unit", "period", "actual", "target", "score", "status"],
            )
        )
        parts.append("</div>")
        return "".join(parts)

    def __repr__(self) -> str:
        counts = self.kpis.filter(pl.col("own_unit")).group_by("status").len().sort("status")
        summary = ", ".join(f"{n} {s}" for s, n in counts.iter_rows())
        return f"<Scorecard {self.organization.name!r} as of {self.as_of}: {summary}>"


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "<td>-</td>"
    if column == "status":
        colour = _COLOURS.get(value, "#000")
        icon = _ICONS.get(value, "")
        return f'<td style="color:{colour};font-weight:600">{icon} {html.escape(value)}</td>'
    if isinstance(value, float):
        text = f"{value:.0%}" if column == "coverage" else f"{value:,.4g}"
        return f'<td style="text-align:right">{text}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _table(frame: pl.DataFrame, columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(_cell(c, row[c]) for c in columns) + "</tr>"
        for row in frame.iter_rows(named=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
