"""The Python API, for notebooks and scripts: open a workspace, get the engine's results as frames.

    >>> import lineofsight as los
    >>> ws = los.Workspace.open("demo")            # a folder, or a database URL
    >>> card = ws.scorecard(as_of="2026-11-22")    # or period="2026-Q3"
    >>> card.kpis                                  # a Polars DataFrame
    >>> card.to_pandas()["objectives"]             # pandas, with the pandas extra
    >>> card                                       # in Jupyter: a coloured scorecard

Every result comes from the services the `los` command uses (one engine); errors name the
method's arguments (`period: ...`), not the command's options.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from lineofsight.domain.model import Organization
from lineofsight.domain.periods import PeriodError, parse_date
from lineofsight.domain.text import did_you_mean
from lineofsight.engine.forecast import NO_FORECAST, NotRequested
from lineofsight.errors import UsageError
from lineofsight.results import Explanation, Forecasts, Scorecard, Table
from lineofsight.services import check as check_service
from lineofsight.services.arguments import PARAMETERS
from lineofsight.services.checkin import measurement_history
from lineofsight.services.evaluate import load_organization, read_kpi_frame, read_measurement_frame
from lineofsight.services.explain import explain_change
from lineofsight.services.forecast import forecast_store
from lineofsight.services.history import definition_history
from lineofsight.services.kpi_detail import kpi_history
from lineofsight.services.scorecard_frames import STATUS, scorecard_frames
from lineofsight.services.shapes import residual
from lineofsight.services.workspace import find_workspace_url, resolve_url
from lineofsight.store.database import Store, sqlite_path
from lineofsight.store.labels import Labels, read_labels, read_organization_name

SEVERITY = pl.Enum(["info", "warning", "error"])  # ordered: error > warning > info


def _existing_store(url: str) -> Store:
    """The store at `url`; FileNotFoundError for an SQLite file that does not exist, which
    opening would create empty (a mistyped path), as the `los` commands refuse to."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"no store at {path}: run `los init` to create one")
    return Store(url)


class Workspace:
    """A Line of Sight store, opened from a workspace folder or a database URL."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, where: str | Path | None = None) -> Workspace:
        """Open a workspace: a folder (or one inside it), a database URL, or, with nothing
        given, what `los` would use here (`LOS_DATABASE_URL` or the nearest workspace)."""
        if where is not None and not isinstance(where, str | Path):
            raise UsageError(
                f"where {where!r}: give a workspace folder, a database URL, or nothing (the"
                " workspace `los` would use here)"
            )
        if where is None:
            try:
                url = resolve_url(None)
            except UsageError:  # no workspace here nor above, and no URL set
                raise FileNotFoundError(
                    f"no Line of Sight workspace at or above {Path.cwd()}"
                ) from None
            return cls(_existing_store(url))
        text = str(where)
        if "://" in text:
            return cls(_existing_store(text))
        found = find_workspace_url(Path(text).resolve())
        if found is None:
            raise FileNotFoundError(f"no Line of Sight workspace at or above {text}")
        return cls(_existing_store(found))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {self.store.display_url}>"

    @property
    def organization(self) -> Organization:
        """The definitions in the store, as domain objects."""
        return load_organization(self.store)

    def scorecard(
        self,
        as_of: dt.date | str | None = None,
        period: str | None = None,
        unit: str | None = None,
    ) -> Scorecard:
        """Every KPI, objective and unit scored as of a date (default today, with reporting
        lag) or as a report of a period; `unit` keeps that unit and the units below it."""
        day = _iso(as_of)
        _text("period", period)
        _text("unit", unit)
        card = scorecard_frames(self.store, period, day, unit, PARAMETERS)
        first = pl.lit(card.as_of, pl.Date).alias("as_of")
        with self.store.reading() as conn:
            name = read_organization_name(conn)
        return Scorecard(
            organization=name,
            as_of=card.as_of,
            kpis=card.kpis.select(first, pl.all()),
            objectives=card.objectives.select(first, pl.all()),
            units=card.units.select(first, pl.all()),
        )

    def measurements(self, kpi: str | Iterable[str] | None = None) -> Table:
        """The current stored values (every unit) of one KPI, some, or all: kpi, name, unit,
        unit_name, period_start, period_end, value, numerator, denominator,
        unit_of_measure."""
        labels = self._labels()
        if kpi is None:
            frame = read_measurement_frame(self.store)
        else:
            if not isinstance(kpi, str | Iterable):
                raise UsageError(f"kpi {kpi!r}: give a KPI id, a list of them, or None (all)")
            ids = [kpi] if isinstance(kpi, str) else list(kpi)
            for kpi_id in ids:
                _text("kpi", kpi_id)
                _known("kpi", "KPI", kpi_id, labels.kpis)
            frame = read_kpi_frame(self.store, ids)
        frame = (
            frame.rename({"kpi_id": "kpi", "unit_id": "unit"})
            .join(_names(labels.kpis, "kpi"), on="kpi", how="left", maintain_order="left")
            .join(_unit_names(labels), on="unit", how="left", maintain_order="left")
            .sort("kpi", "unit", "period_end", maintain_order=True)
            .select(
                "kpi",
                "name",
                "unit",
                "unit_name",
                "period_start",
                "period_end",
                "value",
                "numerator",
                "denominator",
                "unit_of_measure",
            )
        )
        return Table(frame, "Measurements")

    def revisions(self, kpi: str, period: str | None = None, unit: str | None = None) -> Table:
        """Every value the KPI's measurements have had, oldest first: the current one
        (`current` true) and each it replaced (with `replaced_at`). `period` (and `unit`,
        default the KPI's own) narrows to one measurement, deleted ones included."""
        _text("kpi", kpi, required="a KPI id")
        for argument, value in (("period", period), ("unit", unit)):
            _text(argument, value)
        labels = self._labels()
        _known("kpi", "KPI", kpi, labels.kpis)
        rows: list[dict[str, Any]] = []
        if period is not None:
            unit_id, label, values = measurement_history(
                self.store, kpi_id=kpi, unit_id=unit, period=period
            )
            rows = [
                {
                    "kpi": kpi,
                    "unit": unit_id,
                    "period": label,
                    **{k: getattr(v, k) for k in _VALUE_FIELDS},
                    "recorded_at": _utc(v.recorded_at),
                    "replaced_at": _utc(v.replaced_at),
                }
                for v in values
            ]
        else:
            if unit is not None:
                _known("unit", "unit", unit, labels.units)
            for r in kpi_history(self.store, kpi):
                if unit is not None and r["unit"] != unit:
                    continue
                key = {"kpi": kpi, "unit": r["unit"], "period": r["period"]}
                for old in r["revisions"]:
                    rows.append(
                        {
                            **key,
                            **old,
                            "recorded_at": _utc(old["recorded_at"]),
                            "replaced_at": _utc(old["replaced_at"]),
                        }
                    )
                current = {k: r[k] for k in _VALUE_FIELDS}
                rows.append({**key, **current, "recorded_at": _utc(r["recorded_at"])})
                rows[-1]["replaced_at"] = None
        frame = pl.DataFrame(rows, schema=_REVISION_SCHEMA, orient="row").with_columns(
            current=pl.col("replaced_at").is_null()
        )
        return Table(frame.select(*_REVISION_SCHEMA, "current"), "Revisions")

    def forecasts(self, as_of: dt.date | str | None = None) -> Forecasts:
        """Each targeted KPI (and unit target) projected to its target date from the values
        up to `as_of` (default today), with the method, the path and its 80% interval; a KPI
        with nothing to forecast (no target, or a range without a target date) has a row of
        its own, method `no_forecast` and the `reason`, as in `los forecast`."""
        day = _date(as_of)
        report = forecast_store(self.store, day)
        kpis = report.org.kpis_by_id()
        unit_names = {u.id: u.name for u in report.org.units}
        rows, path = [], []
        for f in report.rows():
            kpi = kpis.get(f.id)
            row = {
                "as_of": report.as_of,
                "id": f.id,
                "name": kpi.name if kpi else None,
                "unit": f.unit,
                "unit_name": unit_names.get(f.unit),
                "unit_of_measure": kpi.unit_of_measure if kpi else None,
                "reason": f.reason,
            }
            if isinstance(f, NotRequested):  # nothing to forecast, and why (as `los forecast`)
                rows.append({**row, "method": NO_FORECAST, "points": 0})
                continue
            rows.append(
                {
                    **row,
                    "method": f.method,
                    "projected": f.projected,
                    # The 80% interval in the target's period (the path's last).
                    "low": f.path_low[-1] if f.path_low else None,
                    "high": f.path_high[-1] if f.path_high else None,
                    "target": f.target,
                    "deadline": f.deadline,
                    "period": f.target_period.label,
                    "on_track": f.on_track,
                    "probability": f.probability,
                    "points": f.points,
                    "last_period": f.last_period.label if f.last_period else None,
                }
            )
            path += [
                (f.id, f.unit, p.label, p.end, value, low, high)
                for p, value, low, high in zip(
                    f.path_periods, f.path_values, f.path_low, f.path_high, strict=True
                )
            ]
        return Forecasts(
            as_of=report.as_of,
            kpis=pl.DataFrame(rows, schema=_FORECAST_SCHEMA, orient="row"),
            path=pl.DataFrame(path, schema=_PATH_SCHEMA, orient="row"),
        )

    def explain(
        self,
        kpi: str,
        from_period: str,
        to_period: str,
        depth: int = 1,
        unit: str | None = None,
    ) -> Explanation:
        """Why a KPI moved from one of its periods to another: the change split into
        contributions of its formula's inputs (Shapley values) or of its child units, that
        add up to the change; `depth` also splits inputs that are formulas."""
        _count("depth", depth)
        for argument, value, what in (
            ("kpi", kpi, "a KPI id"),
            ("from_period", from_period, "a period"),
            ("to_period", to_period, "a period"),
        ):
            _text(argument, value, required=what)
        _text("unit", unit)
        result = explain_change(
            self.store, kpi, from_period, to_period, depth=depth, unit=unit, names=PARAMETERS
        )
        e, org = result.explanation, result.org
        kpis = org.kpis_by_id()
        unit_names = {u.id: u.name for u in org.units}
        summary = pl.DataFrame(
            [
                {
                    "kpi": e.kpi,
                    "name": kpis[e.kpi].name,
                    "unit": e.unit,
                    "unit_name": unit_names.get(e.unit),
                    "unit_of_measure": kpis[e.kpi].unit_of_measure,
                    "from_period": e.from_period.label,
                    "from_value": e.from_value,
                    "to_period": e.to_period.label,
                    "to_value": e.to_value,
                    "change": e.change,
                    "method": e.method.value,
                    "exact": e.exact,
                    "residual": residual(e),
                }
            ]
        )
        rows: list[tuple[Any, ...]] = []

        def walk(explanation: Any, level: int) -> None:
            for c in explanation.contributions:
                name = kpis[c.id].name if c.kind == "kpi" and c.id in kpis else unit_names.get(c.id)
                rows.append(
                    (
                        level,
                        explanation.kpi,
                        c.kind,
                        c.id,
                        name,
                        c.from_value,
                        c.to_value,
                        c.contribution,
                    )
                )
                if c.breakdown is not None:
                    walk(c.breakdown, level + 1)

        walk(e, 1)
        return Explanation(
            summary=summary,
            contributions=pl.DataFrame(rows, schema=_CONTRIBUTION_SCHEMA, orient="row"),
        )

    def history(self, item: str | None = None, limit: int = 50) -> Table:
        """The newest `limit` changes of the definitions (oldest first), optionally of one
        unit, person, objective or KPI: who changed what, when, the value before and after
        (as JSON text)."""
        _count("limit", limit)
        _text("item", item)
        records = definition_history(self.store, item, limit)
        frame = pl.DataFrame(
            [
                (
                    _utc(r.changed_at),
                    r.actor,
                    r.source,
                    r.kind,
                    r.item_id,
                    r.action,
                    r.field,
                    _json(r.before),
                    _json(r.after),
                )
                for r in records
            ],
            schema=_HISTORY_SCHEMA,
            orient="row",
        )
        return Table(frame, "Definition history")

    def check(
        self,
        as_of: dt.date | str | None = None,
        select: str | Iterable[str] = (),
        ignore: str | Iterable[str] = (),
    ) -> Table:
        """The alignment findings on the store (as `los check`), as of a date (default today):
        code, name, severity (ordered: error > warning > info), kind, id, message, file,
        line. `select` and `ignore` take a rule's code or several (a list, or "OW02,AL01")."""
        day = _date(as_of)
        report = check_service.check(
            file=None,
            store=self.store,
            as_of=day,
            select_codes=select,
            ignore_codes=ignore,
            names=PARAMETERS,
        )
        frame = pl.DataFrame(
            [
                (
                    f.code,
                    f.name,
                    f.severity.value,
                    f.subject.kind.value,
                    f.subject.id,
                    f.message,
                    f.location.file if f.location else None,
                    f.location.line if f.location and f.location.line else None,
                )
                for f in report.findings
            ],
            schema=_FINDING_SCHEMA,
            orient="row",
        ).with_columns(pl.col("severity").cast(SEVERITY))
        return Table(frame, f"Findings as of {day}")

    def _labels(self) -> Labels:
        return read_labels(self.store)


_VALUE_FIELDS = (
    "revision",
    "value",
    "numerator",
    "denominator",
    "note",
    "recorded_at",
    "source",
)
_REVISION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "kpi": pl.String,
    "unit": pl.String,
    "period": pl.String,
    "revision": pl.Int64,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "note": pl.String,
    "recorded_at": pl.Datetime("us", "UTC"),
    "source": pl.String,
    "replaced_at": pl.Datetime("us", "UTC"),
}
_FORECAST_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "as_of": pl.Date,
    "id": pl.String,
    "name": pl.String,
    "unit": pl.String,
    "unit_name": pl.String,
    "unit_of_measure": pl.String,
    "method": pl.String,
    "projected": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
    "target": pl.Float64,
    "deadline": pl.Date,
    "period": pl.String,
    "on_track": pl.Boolean,
    "probability": pl.Float64,
    "points": pl.Int64,
    "last_period": pl.String,
    "reason": pl.String,
}
_PATH_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.String,
    "unit": pl.String,
    "period": pl.String,
    "period_end": pl.Date,
    "value": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
}
_CONTRIBUTION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "level": pl.Int64,
    "parent": pl.String,
    "kind": pl.String,
    "id": pl.String,
    "name": pl.String,
    "value_from": pl.Float64,
    "value_to": pl.Float64,
    "contribution": pl.Float64,
}
_HISTORY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "changed_at": pl.Datetime("us", "UTC"),
    "actor": pl.String,
    "source": pl.String,
    "kind": pl.String,
    "item_id": pl.String,
    "action": pl.String,
    "field": pl.String,
    "before": pl.String,
    "after": pl.String,
}
_FINDING_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "code": pl.String,
    "name": pl.String,
    "severity": pl.String,
    "kind": pl.String,
    "id": pl.String,
    "message": pl.String,
    "file": pl.String,
    "line": pl.Int64,
}


def _iso(as_of: dt.date | str | None) -> str | None:
    """`as_of` as the text the services read (a date object is always valid)."""
    if as_of is None or isinstance(as_of, str):
        return as_of
    if isinstance(as_of, dt.datetime):
        return as_of.date().isoformat()
    if isinstance(as_of, dt.date):
        return as_of.isoformat()
    raise UsageError(f"as_of {as_of!r}: give a date or text such as '2026-11-22'")


def _text(argument: str, value: object, *, required: str | None = None) -> None:
    """UsageError naming `argument` when it is given and is not text (an id or a period), or
    when it is `required` (what to give, e.g. "a KPI id") and is None."""
    if value is None and required:
        raise UsageError(f"{argument} None: give {required} (it is required)")
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{argument} {value!r}: give text, such as an id or a period")


def _count(argument: str, value: object) -> None:
    """UsageError naming `argument` when it is not a whole number of 1 or more."""
    if isinstance(value, bool) or not isinstance(value, int):
        kind = type(value).__name__
        raise UsageError(f"{argument} {value!r}: give a whole number (1 or more), not {kind}")
    if value < 1:
        raise UsageError(f"{argument} {value!r}: give 1 or more")


def _date(as_of: dt.date | str | None) -> dt.date:
    text = _iso(as_of)
    if text is None:
        return dt.date.today()
    try:
        return parse_date(text)
    except PeriodError as exc:
        raise UsageError(f"as_of {text!r}: {exc}") from None


def _known(argument: str, kind: str, item: str, frame: pl.DataFrame) -> None:
    ids = frame["id"].to_list()
    if item not in ids:
        raise UsageError(f"{argument}: unknown {kind} '{item}'{did_you_mean(item, ids)}")


def _names(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    return frame.rename({"id": key})


def _unit_names(labels: Labels) -> pl.DataFrame:
    return labels.units.select(pl.col("id").alias("unit"), pl.col("name").alias("unit_name"))


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time in UTC (SQLite gives it without a zone, PostgreSQL with one)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


__all__ = ["SEVERITY", "STATUS", "Explanation", "Forecasts", "Scorecard", "Table", "Workspace"]
