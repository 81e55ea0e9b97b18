"""What the rules look at, as columns: the definitions as frames (one row per item, in file
order, or per link, each KPI's in their order), the few KPIs some rule needs whole, and what
the stored values say.

A store of 100,000 KPIs is checked from its columns: building every KPI object would cost more
than all the rules. A strategy file (already objects) is turned into the same frames.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.graph import reachable_in

if TYPE_CHECKING:
    from lineofsight.domain.formula import Expr

TEXT, NUMBER, WHOLE = pl.String, pl.Float64, pl.Int64

SCHEMAS: dict[str, dict[str, Any]] = {
    "units": {"id": TEXT, "line": WHOLE, "parent": TEXT, "lint": TEXT},
    "people": {"id": TEXT, "line": WHOLE, "lint": TEXT},
    "objectives": {
        "id": TEXT,
        "line": WHOLE,
        "level": TEXT,
        "unit": TEXT,
        "owner": TEXT,
        "parent": TEXT,
        "weight": NUMBER,
        "deadline": pl.Date,
        "status": TEXT,
        "lint": TEXT,
    },
    "kpis": {
        "id": TEXT,
        "line": WHOLE,
        "name": TEXT,
        "level": TEXT,
        "type": TEXT,
        "unit": TEXT,
        "owner": TEXT,
        "frequency": TEXT,
        "direction": TEXT,
        "aggregation": TEXT,
        "across_units": TEXT,
        "formula": TEXT,
        "ratio_numerator": TEXT,
        "ratio_denominator": TEXT,
        "ratio_scale": NUMBER,
        "baseline_period": TEXT,
        "baseline_value": NUMBER,
        "target_value": NUMBER,
        "target_by": pl.Date,
        "source": TEXT,
        "due_days": WHOLE,
        "lint": TEXT,
        "tolerance": NUMBER,
        "tolerance_abs": NUMBER,
        "range_low": NUMBER,
        "range_high": NUMBER,
    },
    "supports": {"kpi_id": TEXT, "objective": TEXT, "weight": NUMBER},
    "contributions": {"kpi_id": TEXT, "kpi": TEXT, "weight": NUMBER, "effect": TEXT},
    # Targets by period ("" for the KPI's own unit) and by unit, each KPI's in their order.
    "period_targets": {"kpi_id": TEXT, "unit": TEXT, "period": TEXT, "value": NUMBER},
    "unit_targets": {
        "kpi_id": TEXT,
        "unit": TEXT,
        "value": NUMBER,
        "by": pl.Date,
        "baseline_period": TEXT,
        "baseline_value": NUMBER,
    },
    # Actions on KPIs and objectives: the file's (`actions:`), or every stored one.
    "actions": {
        "key": TEXT,
        "line": WHOLE,
        "subject_type": TEXT,
        "subject_id": TEXT,
        "title": TEXT,
        "owner": TEXT,
        "due": pl.Date,
        "status": TEXT,
    },
}

# The kinds of item a finding can be about, and their frame.
FRAME_OF = {"kpi": "kpis", "objective": "objectives", "unit": "units", "person": "people"}


@dataclass
class CheckData:
    """An organisation as the rules see it.

    `frames` hold the columns of `SCHEMAS`; `location` says where an item (kind, id, line) was
    written. `declared_lines`, on a store: the line of each action the strategy file applied
    declares, by id, while the file is as applied (the store keeps none); asked for only
    when a finding is about such an action.
    """

    calendar: m.Calendar
    checks: m.ChecksConfig
    frames: dict[str, pl.DataFrame]
    location: Callable[[str, str, int | None], m.Location | None]
    declared_lines: Callable[[], Mapping[str, int]] | None = None

    @cached_property
    def action_lines(self) -> Mapping[str, int]:
        """The line of each declared action, by id: the file's own, else `declared_lines`."""
        actions = self.frames["actions"].filter(pl.col("key").is_not_null())
        found = {
            key: line for key, line in actions.select("key", "line").iter_rows() if line is not None
        }
        if len(found) < actions.height and self.declared_lines is not None:
            found = {**self.declared_lines(), **found}
        return found

    @cached_property
    def formulas(self) -> dict[str, Expr]:
        """The parsed formula of each formula KPI, in file order (one that does not parse,
        never in a validated file, is left out)."""
        from lineofsight.domain.formula import FormulaError, parse_formula

        found: dict[str, Expr] = {}
        formulas = self.kpis.filter(pl.col("formula").is_not_null()).select("id", "formula")
        for kpi_id, text in formulas.iter_rows():
            try:
                found[kpi_id] = parse_formula(text)
            except FormulaError:
                continue
        return found

    @cached_property
    def formula_inputs(self) -> dict[str, tuple[str, ...]]:
        """For each formula KPI, the KPI ids its formula reads (known KPIs only)."""
        from lineofsight.domain.formula import references

        refs = {kpi_id: references(expr) for kpi_id, expr in self.formulas.items()}
        named = pl.Series([r for each in refs.values() for r in each], dtype=pl.String)
        known = set(named.filter(named.is_in(self.kpis["id"].implode())).to_list())
        return {kpi_id: tuple(ref for ref in each if ref in known) for kpi_id, each in refs.items()}

    @cached_property
    def formula_leaves(self) -> dict[str, frozenset[str]]:
        """For each formula KPI, the measured KPIs its value comes from, through nested
        formulas (asked by the reading of the values and by DA01: worked out once)."""
        inputs = self.formula_inputs
        return {
            kpi_id: frozenset(k for k in reachable_in([kpi_id], inputs) if k not in inputs)
            for kpi_id in inputs
        }

    @cached_property
    def whole(self) -> dict[str, m.Kpi]:
        """The KPIs some rule looks at as a whole (their formula, targets, baseline, unit
        targets), by id: those with a formula, those formulas read, and those with targets by
        period or by unit. A few of many: the others are looked at as columns only.

        Each is a KPI with what those rules read; its description, range, bounds, benchmark,
        source and links are left out."""
        wanted = set(self.formulas)
        wanted.update(i for inputs in self.formula_inputs.values() for i in inputs)
        wanted.update(self.frames["period_targets"]["kpi_id"].to_list())
        wanted.update(self.frames["unit_targets"]["kpi_id"].to_list())
        return whole_kpis(self.frames, wanted)

    @property
    def kpis(self) -> pl.DataFrame:
        return self.frames["kpis"]

    @property
    def objectives(self) -> pl.DataFrame:
        return self.frames["objectives"]

    @property
    def units(self) -> pl.DataFrame:
        return self.frames["units"]

    @property
    def people(self) -> pl.DataFrame:
        return self.frames["people"]

    @property
    def supports(self) -> pl.DataFrame:
        return self.frames["supports"]

    @property
    def contributions(self) -> pl.DataFrame:
        return self.frames["contributions"]

    @cached_property
    def lines(self) -> dict[str, dict[str, int | None]]:
        """Each item's source line, by kind and id (made on the first finding of a kind)."""
        return _LazyLines(self.frames)

    @cached_property
    def ignored(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """The rule codes each item suppresses (`lint: {ignore: [...]}`), by kind and id."""
        found: dict[str, dict[str, tuple[str, ...]]] = {}
        for kind, name in FRAME_OF.items():
            rows = self.frames[name].filter(
                pl.col("lint").is_not_null() & (pl.col("lint") != "null")
            )
            found[kind] = {}
            for item_id, text in rows.select("id", "lint").iter_rows():
                value = json.loads(text)
                codes = tuple(value.get("ignore", ())) if value else ()
                if codes:
                    found[kind][item_id] = codes
        return found


class _LazyLines(dict[str, dict[str, int | None]]):
    """Source lines by kind and id, each kind's made when first asked for."""

    def __init__(self, frames: Mapping[str, pl.DataFrame]) -> None:
        super().__init__()
        self._frames = frames

    def __missing__(self, kind: str) -> dict[str, int | None]:
        frame = self._frames[FRAME_OF[kind]]
        lines = dict(zip(frame["id"].to_list(), frame["line"].to_list(), strict=True))
        self[kind] = lines
        return lines


def whole_kpis(frames: Mapping[str, pl.DataFrame], kpi_ids: Iterable[str]) -> dict[str, m.Kpi]:
    """These KPIs (known ones) as objects, with what the target and formula rules read."""
    wanted = pl.Series(sorted(set(kpi_ids)), dtype=pl.String).implode()
    mine = pl.col("kpi_id").is_in(wanted)
    periods: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for kpi_id, unit, period, value in frames["period_targets"].filter(mine).iter_rows():
        periods.setdefault(kpi_id, {}).setdefault(unit, []).append((period, value))
    units: dict[str, list[tuple[str, m.UnitTarget]]] = {}
    for kpi_id, unit, value, by, b_period, b_value in (
        frames["unit_targets"].filter(mine).iter_rows()
    ):
        baseline = m.PeriodValue(b_period, b_value) if b_period is not None else None
        by_period = tuple(periods.get(kpi_id, {}).get(unit, ()))
        units.setdefault(kpi_id, []).append(
            (unit, m.UnitTarget(value=value, by=by, baseline=baseline, targets=by_period))
        )
    kpis = frames["kpis"].filter(pl.col("id").is_in(wanted))
    found = {}
    for (
        kpi_id, name, unit, frequency, direction, level, kind, owner, aggregation, across,
        formula, baseline_period, baseline_value, target_value, target_by, due_days,
    ) in kpis.select(_WHOLE).iter_rows():  # fmt: skip
        found[kpi_id] = m.Kpi(
            id=kpi_id,
            name=name,
            unit=unit,
            frequency=_FREQUENCY[frequency],
            direction=_DIRECTION[direction],
            level=_LEVEL[level],
            type=_KPI_TYPE[kind],
            owner=owner,
            aggregation=_AGGREGATION[aggregation],
            across_units=_ACROSS[across],
            formula=formula,
            baseline=m.PeriodValue(baseline_period, baseline_value)
            if baseline_period is not None
            else None,
            target=m.FinalTarget(target_value, target_by) if target_value is not None else None,
            targets=tuple(periods.get(kpi_id, {}).get("", ())),
            unit_targets=tuple(units.get(kpi_id, ())),
            due_days=due_days,
        )
    return found


_WHOLE = (
    "id", "name", "unit", "frequency", "direction", "level", "type", "owner", "aggregation",
    "across_units", "formula", "baseline_period", "baseline_value", "target_value",
    "target_by", "due_days",
)  # fmt: skip


def _members(kind: Any) -> dict[str | None, Any]:
    """An enum's members by value (None for none): a look-up per KPI instead of a call."""
    return {None: None, **{member.value: member for member in kind}}


_FREQUENCY = _members(m.Frequency)
_DIRECTION = _members(m.Direction)
_LEVEL = _members(m.Level)
_KPI_TYPE = _members(m.KpiType)
_AGGREGATION = _members(m.Aggregation)
_ACROSS = _members(m.AcrossUnits)


def store_location(file: str | None) -> Callable[[str, str, int | None], m.Location | None]:
    """Where a stored item was written: the file last applied, at the item's line; none for
    an item without a line there (written since by a change made in the web app)."""

    def location(kind: str, item_id: str, line: int | None) -> m.Location | None:
        return m.Location(file, line) if file and line else None

    return location


# ---------------------------------------------------------------- from objects


def _value(enum: Any) -> Any:
    return None if enum is None else enum.value


def _lint(lint: m.Lint) -> str | None:
    return json.dumps({"ignore": list(lint.ignore)}) if lint.ignore else None


def _frame(name: str, columns: Sequence[Sequence[Any]]) -> pl.DataFrame:
    schema = SCHEMAS[name]
    return pl.DataFrame(dict(zip(schema, columns, strict=True)) if columns else None, schema=schema)


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


def data_from_organization(org: m.Organization) -> CheckData:
    """The frames of an organisation held as objects (a strategy file, a test's)."""
    units = [(u.id, _line(u.location), u.parent, _lint(u.lint)) for u in org.units]
    people = [(p.id, _line(p.location), _lint(p.lint)) for p in org.people]
    objectives = [
        (
            o.id,
            _line(o.location),
            o.level.value,
            o.unit,
            o.owner,
            o.parent,
            float(o.weight),
            o.deadline,
            o.status.value,
            _lint(o.lint),
        )
        for o in org.objectives
    ]
    kpis = [
        (
            k.id,
            _line(k.location),
            k.name,
            _value(k.level),
            _value(k.type),
            k.unit,
            k.owner,
            k.frequency.value,
            k.direction.value,
            _value(k.aggregation),
            _value(k.across_units),
            k.formula,
            k.ratio.numerator if k.ratio else None,
            k.ratio.denominator if k.ratio else None,
            float(k.ratio.scale) if k.ratio else None,
            k.baseline.period if k.baseline else None,
            float(k.baseline.value) if k.baseline else None,
            float(k.target.value) if k.target else None,
            k.target.by if k.target else None,
            json.dumps({"kind": k.source.kind.value}) if k.source else None,
            k.due_days,
            _lint(k.lint),
            k.tolerance,
            k.tolerance_abs,
            k.range.low if k.range else None,
            k.range.high if k.range else None,
        )
        for k in org.kpis
    ]
    supports = [(k.id, s.objective, float(s.weight)) for k in org.kpis for s in k.supports]
    contributions = [
        (k.id, c.kpi, float(c.weight), c.effect.value) for k in org.kpis for c in k.contributes_to
    ]
    period_targets = [
        (k.id, unit, period, float(value))
        for k in org.kpis
        for unit, targets in (("", k.targets), *((u, t.targets) for u, t in k.unit_targets))
        for period, value in targets
    ]
    unit_targets = [
        (
            k.id,
            unit,
            float(t.value),
            t.by,
            t.baseline.period if t.baseline else None,
            float(t.baseline.value) if t.baseline else None,
        )
        for k in org.kpis
        for unit, t in k.unit_targets
    ]
    actions = [
        (
            a.key,
            _line(a.location),
            a.subject_type,
            a.subject_id,
            a.title,
            a.owner,
            a.due,
            a.status or "open",
        )
        for a in org.actions or ()
    ]
    frames = {
        name: _frame(name, _columns(rows, len(SCHEMAS[name])))
        for name, rows in (
            ("units", units),
            ("people", people),
            ("objectives", objectives),
            ("kpis", kpis),
            ("supports", supports),
            ("contributions", contributions),
            ("period_targets", period_targets),
            ("unit_targets", unit_targets),
            ("actions", actions),
        )
    }
    places: dict[str, dict[str, m.Location | None]] = {
        "unit": {u.id: u.location for u in org.units},
        "person": {p.id: p.location for p in org.people},
        "objective": {o.id: o.location for o in org.objectives},
        "kpi": {k.id: k.location for k in org.kpis},
    }

    def location(kind: str, item_id: str, line: int | None) -> m.Location | None:
        return places[kind].get(item_id)

    return CheckData(org.calendar, org.checks, frames, location)


def _line(location: m.Location | None) -> int | None:
    return location.line if location is not None else None


# ---------------------------------------------------------------- the stored values


RATIO_SCHEMA = {
    "kpi_id": TEXT,
    "unit_id": TEXT,
    "period": TEXT,
    "numerator": NUMBER,
    "denominator": NUMBER,
}


@dataclass
class CheckValues:
    """What the stored values say, as the data rules ask it.

    `frame`: the values read (kpi_id, unit_id, period_start, period_end, value; a ratio's
    value divided out, null for a zero denominator): those of the recent periods, and older
    ones of the KPIs the recent ones say nothing about (see `services.check`).
    """

    frame: pl.DataFrame
    # The stored ratio rows whose denominator may make no ratio (RATIO_SCHEMA): a zero one
    # under a numerator, or a negative one. Refused at input, they may come from a store
    # written before; each is said (DA02), never dropped.
    ratios: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RATIO_SCHEMA))

    @cached_property
    def measured(self) -> pl.Series:
        """The KPIs with some value (or a ratio's zero denominator)."""
        return self.frame["kpi_id"].unique()

    def latest(self, kpi_units: Mapping[str, str]) -> dict[str, float]:
        """Each of these KPIs' latest value (of the period that ends last) at its unit."""
        if not kpi_units:
            return {}
        wanted = pl.DataFrame(
            {"kpi_id": list(kpi_units), "unit_id": list(kpi_units.values())},
            schema={"kpi_id": TEXT, "unit_id": TEXT},
        )
        rows = (
            self.frame.join(wanted, on=["kpi_id", "unit_id"], how="semi")
            .filter(pl.col("value").is_not_null())
            .sort(
                "kpi_id",
                "period_end",
                "period_start",
                descending=[False, True, True],
                maintain_order=True,
            )
            .group_by("kpi_id", maintain_order=True)
            .first()
        )
        return dict(zip(rows["kpi_id"].to_list(), rows["value"].to_list(), strict=True))


VALUE_SCHEMA = {
    "kpi_id": TEXT,
    "unit_id": TEXT,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "value": NUMBER,
}


def values_from_observations(
    measurements: Mapping[str, Sequence[tuple[str, dt.date, dt.date, float | None]]],
    ratios: Sequence[tuple[str, str, str, float, float]] = (),
) -> CheckValues:
    """The values of observations by KPI (unit, first day, last day, value), with stored
    ratio rows (KPI, unit, period, numerator, denominator) whose denominator may make no
    ratio."""
    rows = [(kpi_id, *row) for kpi_id, rows in measurements.items() for row in rows]
    columns = _columns(rows, len(VALUE_SCHEMA))
    return CheckValues(
        pl.DataFrame(dict(zip(VALUE_SCHEMA, columns, strict=True)), schema=VALUE_SCHEMA),
        pl.DataFrame(
            dict(zip(RATIO_SCHEMA, _columns(list(ratios), len(RATIO_SCHEMA)), strict=True)),
            schema=RATIO_SCHEMA,
        ),
    )


def by_hand(kpis: pl.DataFrame) -> pl.DataFrame:
    """The KPIs measured by hand: no formula, no ratio, no source but a manual one."""
    plain = kpis.filter(pl.col("formula").is_null() & pl.col("ratio_numerator").is_null())
    # Most KPIs have no source: only the others' settings are read (JSON text).
    sourced = plain.filter(pl.col("source").is_not_null() & (pl.col("source") != "null"))
    if sourced.is_empty():
        return plain
    kind = pl.col("source").str.json_path_match("$.kind")
    automatic = sourced.filter(kind.is_not_null() & (kind != m.SourceKind.MANUAL.value))
    return plain.join(automatic.select("id"), on="id", how="anti", maintain_order="left")
