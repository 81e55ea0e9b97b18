"""The organisation's definitions as rows: from domain objects to rows, and back.

Each item and link is a tuple of column values, in its table's column order: the form in which
an apply writes them in bulk, reads them back, and compares them to find what changed. Rows
hold values as the database holds them (`bulk.select_rows(native=True)`): JSON as its text,
dates as ISO text on SQLite.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table

from lineofsight.domain import model as m
from lineofsight.store import tables as t
from lineofsight.store.bulk import select_rows

#
# Each item and link is a tuple of column values, in the order of these column lists: the form
# in which they are written in bulk, read back, and compared to find what an apply changes.


def columns_of(table: Table) -> tuple[str, ...]:
    return tuple(table.c.keys())


# Item rows follow their table's columns, place first: id, position, source_line, ...
UNIT_COLUMNS = columns_of(t.units)
PERSON_COLUMNS = columns_of(t.people)
OBJECTIVE_COLUMNS = columns_of(t.objectives)
KPI_COLUMNS = columns_of(t.kpis)
# The links of a KPI, each read in the order of KPI and position.
CHILD_COLUMNS: dict[Table, tuple[str, ...]] = {
    table: columns_of(table)
    for table in (
        t.kpi_supports,
        t.kpi_contributions,
        t.kpi_influences,
        t.kpi_unit_targets,
        t.kpi_period_targets,
    )
}
# Where an item was written (position, source line) is not part of its definition.
PLACE = slice(1, 3)
LINE = 2  # the source line, within PLACE
ItemRow = tuple[Any, ...]


@dataclass(frozen=True)
class Kind:
    """One kind of item: its name in the history, its table and its columns."""

    name: str
    table: Table
    columns: tuple[str, ...]


UNIT = Kind("unit", t.units, UNIT_COLUMNS)
PERSON = Kind("person", t.people, PERSON_COLUMNS)
OBJECTIVE = Kind("objective", t.objectives, OBJECTIVE_COLUMNS)
KPI = Kind("kpi", t.kpis, KPI_COLUMNS)
KINDS = (UNIT, PERSON, OBJECTIVE, KPI)


@dataclass
class DefinitionRows:
    """The rows of every item, by kind and id, and each KPI's link rows by table."""

    items: dict[str, dict[str, ItemRow]] = field(default_factory=dict)
    links: dict[Table, dict[str, list[ItemRow]]] = field(default_factory=dict)

    def definition(self, kind: str, item_id: str) -> tuple[Any, ...] | None:
        """What defines an item (its row without its place, and a KPI's links); None if absent."""
        row = self.items[kind].get(item_id)
        if row is None:
            return None
        own = row[:1] + row[3:]
        if kind != KPI.name:
            return own
        return (own, *(tuple(self.links[table].get(item_id, ())) for table in CHILD_COLUMNS))


def _line(location: m.Location | None) -> int | None:
    return location.line if location is not None and location.line else None


def _lint_json(lint: m.Lint) -> str:
    return json.dumps({"ignore": list(lint.ignore)}) if lint.ignore else "null"


def _value(enum: Any) -> Any:
    return None if enum is None else enum._value_


Day = Callable[[dt.date | None], Any]


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _same(day: dt.date | None) -> dt.date | None:
    return day


def unit_row(u: m.Unit, position: int, day: Day = _same) -> ItemRow:
    return (
        u.id, position, _line(u.location), u.name, u.level._value_, u.parent, u.lead, u.function,
        _lint_json(u.lint),
    )  # fmt: skip


def person_row(p: m.Person, position: int, day: Day = _same) -> ItemRow:
    return (
        p.id, position, _line(p.location), p.name, p.unit, p.title, p.email, _lint_json(p.lint),
    )  # fmt: skip


def objective_row(o: m.Objective, position: int, day: Day = _same) -> ItemRow:
    return (
        o.id, position, _line(o.location), o.title, o.level._value_, o.unit, o.owner, o.parent,
        o.weight, _value(o.perspective), o.description, day(o.start), day(o.deadline),
        o.status._value_, _lint_json(o.lint),
    )  # fmt: skip


def kpi_row(k: m.Kpi, position: int, day: Day = _same) -> ItemRow:
    ratio, range_, baseline, target = k.ratio, k.range, k.baseline, k.target
    bounds, benchmark, source = k.bounds, k.benchmark, k.source
    return (
        k.id, position, _line(k.location), k.name, k.description, k.unit_of_measure,
        _value(k.level), _value(k.type), k.unit, k.owner, k.frequency._value_,
        k.direction._value_, _value(k.aggregation), _value(k.across_units), k.formula,
        ratio.numerator if ratio else None,
        ratio.denominator if ratio else None,
        ratio.scale if ratio else None,
        range_.low if range_ else None,
        range_.high if range_ else None,
        baseline.period if baseline else None,
        baseline.value if baseline else None,
        target.value if target else None,
        day(target.by) if target else None,
        k.tolerance, k.tolerance_abs,
        bounds.min if bounds else None,
        bounds.max if bounds else None,
        benchmark.value if benchmark else None,
        benchmark.source if benchmark else None,
        json.dumps({"kind": source.kind._value_, **dict(source.settings)}) if source else "null",
        _lint_json(k.lint),
        k.due_days,
    )  # fmt: skip


ROW_OF: dict[str, Any] = {
    UNIT.name: unit_row,
    PERSON.name: person_row,
    OBJECTIVE.name: objective_row,
    KPI.name: kpi_row,
}


def _period_value(value: m.PeriodValue | None) -> tuple[str | None, float | None]:
    return (value.period, value.value) if value is not None else (None, None)


def _add_links(k: m.Kpi, links: dict[Table, dict[str, list[ItemRow]]], day: Day) -> None:
    kid = k.id
    if k.supports:
        links[t.kpi_supports][kid] = [
            (kid, i, s.objective, s.weight) for i, s in enumerate(k.supports)
        ]
    if k.contributes_to:
        links[t.kpi_contributions][kid] = [
            (kid, i, c.kpi, c.weight, c.effect.value) for i, c in enumerate(k.contributes_to)
        ]
    if k.influences:
        links[t.kpi_influences][kid] = [(kid, i, other) for i, other in enumerate(k.influences)]
    if k.unit_targets:
        links[t.kpi_unit_targets][kid] = [
            (kid, unit_id, i, ut.value, day(ut.by), *_period_value(ut.baseline))
            for i, (unit_id, ut) in enumerate(k.unit_targets)
        ]
    if k.targets or k.unit_targets:
        periods = [(kid, "", period, 0, value) for period, value in k.targets]
        for unit_id, ut in k.unit_targets:
            periods += [(kid, unit_id, period, 0, value) for period, value in ut.targets]
        links[t.kpi_period_targets][kid] = [
            (*row[:3], position, row[4]) for position, row in enumerate(periods)
        ]


def organization_rows(org: m.Organization, dialect: str) -> DefinitionRows:
    """The rows that store `org`'s items and links, as `dialect`'s database holds them."""
    day = _iso if dialect == "sqlite" else _same
    rows = DefinitionRows(links={table: {} for table in CHILD_COLUMNS})
    every: tuple[Sequence[Any], ...] = (org.units, org.people, org.objectives, org.kpis)
    for kind, items in zip(KINDS, every, strict=True):
        to_row = ROW_OF[kind.name]
        rows.items[kind.name] = {
            item.id: _unsigned(to_row(item, i, day)) for i, item in enumerate(items)
        }
    for k in org.kpis:
        _add_links(k, rows.links, day)
    for links in rows.links.values():
        for kpi_id, kpi_links in links.items():
            links[kpi_id] = [_unsigned(row) for row in kpi_links]
    return rows


def _unsigned(row: ItemRow) -> ItemRow:
    """A row with its zeros written without sign: a target written -0.0 kept its sign on
    PostgreSQL (SQLite writes a whole REAL as an integer) and showed as "-0". IEEE 754:
    -0.0 + 0.0 is 0.0, every other number stays as it is (migration 0022 rewrites the
    numbers stored before)."""
    return tuple(0.0 + v if isinstance(v, float) else v for v in row)


def read_rows(conn: Connection, kpi_ids: Collection[str] | None = None) -> DefinitionRows:
    """The rows of every item and link in the store, as `organization_rows` makes them: values
    as the database holds them (JSON as text; dates as text on SQLite).

    `kpi_ids`: only these KPIs (with their links) and the units, no people nor objectives:
    what a computation over a few KPIs needs (a forecast), without the whole organisation."""
    # Read in the table's order and put in order of position here: the rows mostly are in
    # that order already, which Python's sort finds in one pass, where the database would
    # sort them all again (and walk a link table along its index).
    rows = DefinitionRows()
    for kind in KINDS:
        if kpi_ids is not None and kind in (PERSON, OBJECTIVE):
            rows.items[kind.name] = {}
            continue
        some = ("id", kpi_ids) if kpi_ids is not None and kind is KPI else None
        found = select_rows(conn, kind.table, kind.columns, native=True, where_in=some)
        found.sort(key=itemgetter(kind.columns.index("position")))
        rows.items[kind.name] = {row[0]: row for row in found}
    for table, columns in CHILD_COLUMNS.items():
        grouped: dict[str, list[ItemRow]] = defaultdict(list)
        some = (columns[0], kpi_ids) if kpi_ids is not None else None
        links = select_rows(conn, table, columns, native=True, where_in=some)
        links.sort(key=itemgetter(columns.index("position")))  # each KPI's in its order
        for row in links:
            grouped[row[0]].append(row)
        rows.links[table] = dict(grouped)
    return rows


def organization_from_rows(row: Any, rows: DefinitionRows) -> m.Organization:
    """The organisation from its `organization` row and the rows of its items."""
    file = row["source_file"]
    strategy = row["strategy"] or {}
    scoring = row["scoring"]
    checks = row["checks"] or {}
    return m.Organization(
        name=row["name"],
        calendar=m.Calendar(row["fiscal_year_start"], row["due_days"]),
        units=tuple(_unit(r, file) for r in rows.items[UNIT.name].values()),
        people=tuple(_person(r, file) for r in rows.items[PERSON.name].values()),
        strategy=m.Strategy(
            mission=strategy.get("mission"),
            vision=strategy.get("vision"),
            values=tuple(strategy.get("values", ())),
            methods=tuple(strategy.get("methods", ())),
            obstacles=tuple(strategy.get("obstacles", ())),
        ),
        objectives=tuple(_objective(r, file) for r in rows.items[OBJECTIVE.name].values()),
        kpis=tuple(kpi_from_rows(r, rows, file) for r in rows.items[KPI.name].values()),
        scoring=m.Scoring(**scoring) if scoring else m.Scoring(),
        checks=m.ChecksConfig(
            select=tuple(checks.get("select", ())),
            ignore=tuple(checks.get("ignore", ())),
            options=tuple(
                (code, tuple(opts.items())) for code, opts in checks.get("options", {}).items()
            ),
        ),
        sources=tuple(_named_source(entry) for entry in row.get("sources") or ()),
    )


def _named_source(entry: dict[str, Any]) -> m.NamedSource:
    settings = dict(entry)
    name = settings.pop("name")
    kind = m.SourceKind(settings.pop("kind", "sql"))
    return m.NamedSource(name, kind, tuple(settings.items()))


def item_from_row(kind: str, row: ItemRow, rows: DefinitionRows, file: str | None) -> Any:
    """The domain object of one stored item."""
    if kind == KPI.name:
        return kpi_from_rows(row, rows, file)
    return {UNIT.name: _unit, PERSON.name: _person, OBJECTIVE.name: _objective}[kind](row, file)


def _where(line: int | None, file: str | None) -> m.Location | None:
    """The item's place in the file last applied; none for an item written since by a change
    made elsewhere (the web app), which has no line there."""
    return m.Location(file, line) if file and line else None


_NO_LINT = m.Lint()


def _json_value(text: Any) -> Any:
    return None if text is None or text == "null" else json.loads(text)


def _lint(text: Any) -> m.Lint:
    if text is None or text == "null":
        return _NO_LINT
    value = _json_value(text)
    return m.Lint(tuple(value.get("ignore", ()))) if value else _NO_LINT


def _day(value: Any) -> Any:
    return _iso_day(value) if isinstance(value, str) else value


@functools.lru_cache(maxsize=4096)  # a few distinct dates among a hundred thousand targets
def _iso_day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _unit(r: ItemRow, file: str | None) -> m.Unit:
    item_id, _position, line, name, level, parent, lead, function, lint = r
    return m.Unit(
        id=item_id,
        name=name,
        level=m.UnitLevel(level),
        parent=parent,
        lead=lead,
        function=function,
        lint=_lint(lint),
        location=_where(line, file),
    )


def _person(r: ItemRow, file: str | None) -> m.Person:
    item_id, _position, line, name, unit, title, email, lint = r
    return m.Person(
        id=item_id,
        name=name,
        unit=unit,
        title=title,
        email=email,
        lint=_lint(lint),
        location=_where(line, file),
    )


def _objective(r: ItemRow, file: str | None) -> m.Objective:
    (item_id, _position, line, title, level, unit, owner, parent, weight, perspective,
     description, start, deadline, status, lint) = r  # fmt: skip
    return m.Objective(
        id=item_id,
        title=title,
        level=m.Level(level),
        unit=unit,
        owner=owner,
        parent=parent,
        weight=weight,
        perspective=m.Perspective(perspective) if perspective else None,
        description=description,
        start=_day(start),
        deadline=_day(deadline),
        status=m.ObjectiveStatus(status),
        lint=_lint(lint),
        location=_where(line, file),
    )


def _enum_of(kind: Any) -> dict[Any, Any]:
    """An enum's members by value, None for no value: a dict lookup instead of a call of the
    enum, done for every KPI of a large organisation."""
    return {None: None, "": None, **{member._value_: member for member in kind}}


_FREQUENCY = _enum_of(m.Frequency)
_DIRECTION = _enum_of(m.Direction)
_LEVEL = _enum_of(m.Level)
_KPI_TYPE = _enum_of(m.KpiType)
_AGGREGATION = _enum_of(m.Aggregation)
_ACROSS = _enum_of(m.AcrossUnits)
_EFFECT = _enum_of(m.Effect)


def source_of(stored: Any) -> m.Source | None:
    """A KPI's source as the `kpis.source` column keeps it: JSON text (or, read through
    SQLAlchemy's JSON type, the object it decodes to), None when the KPI has none."""
    settings = json.loads(stored) if isinstance(stored, str) else stored
    if not isinstance(settings, dict):
        return None  # none kept (SQL NULL, or JSON null)
    settings = dict(settings)
    kind = m.SourceKind(settings.pop("kind", "manual"))
    return m.Source(kind=kind, settings=tuple(settings.items()))


def kpi_from_rows(r: ItemRow, rows: DefinitionRows, file: str | None) -> m.Kpi:
    """A stored KPI with its links."""
    (item_id, _position, line, name, description, unit_of_measure, level, kpi_type, unit,
     owner, frequency, direction, aggregation, across_units, formula, ratio_numerator,
     ratio_denominator, ratio_scale, range_low, range_high, baseline_period, baseline_value,
     target_value, target_by, tolerance, tolerance_abs, bounds_min, bounds_max,
     benchmark_value, benchmark_source, source_json, lint, due_days) = r  # fmt: skip
    links = rows.links
    period_rows = links[t.kpi_period_targets].get(item_id)
    periods: dict[str, list[tuple[str, float]]] = {}
    if period_rows:
        for _kid, unit_id, period, _pos, value in period_rows:
            periods.setdefault(unit_id, []).append((period, value))
    source = source_of(source_json)
    supports = links[t.kpi_supports].get(item_id)
    contributions = links[t.kpi_contributions].get(item_id)
    influences = links[t.kpi_influences].get(item_id)
    unit_targets = links[t.kpi_unit_targets].get(item_id)
    # Positional, in the order of the Kpi's fields: this runs for every KPI of the store.
    return m.Kpi(
        item_id,
        name,
        unit,
        _FREQUENCY[frequency],
        _DIRECTION[direction],
        description,
        unit_of_measure,
        _LEVEL[level],
        _KPI_TYPE[kpi_type],
        owner,
        _AGGREGATION[aggregation],
        _ACROSS[across_units],
        tuple([m.Support(objective, weight) for _kid, _pos, objective, weight in supports])
        if supports
        else (),
        tuple(
            [
                m.Contribution(to_kpi, weight, _EFFECT[effect])
                for _kid, _pos, to_kpi, weight, effect in contributions
            ]
        )
        if contributions
        else (),
        tuple([to_kpi for _kid, _pos, to_kpi in influences]) if influences else (),
        formula,
        m.Ratio(ratio_numerator, ratio_denominator, ratio_scale)
        if ratio_numerator is not None
        else None,
        m.Range(range_low, range_high) if range_low is not None else None,
        m.PeriodValue(baseline_period, baseline_value) if baseline_period is not None else None,
        m.FinalTarget(target_value, _day(target_by)) if target_value is not None else None,
        tuple(periods[""]) if "" in periods else (),
        tuple(
            (
                unit_id,
                m.UnitTarget(
                    value=value,
                    by=_day(by_date),
                    baseline=m.PeriodValue(b_period, b_value) if b_period is not None else None,
                    targets=tuple(periods.get(unit_id, ())),
                ),
            )
            for _kid, unit_id, _pos, value, by_date, b_period, b_value in unit_targets
        )
        if unit_targets
        else (),
        tolerance,
        tolerance_abs,
        m.Bounds(bounds_min, bounds_max)
        if bounds_min is not None or bounds_max is not None
        else None,
        m.Benchmark(benchmark_value, benchmark_source) if benchmark_value is not None else None,
        source,
        _lint(lint),
        due_days,
        m.Location(file, line or 0) if file else None,
    )
