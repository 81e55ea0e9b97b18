"""Read and write the organisation's definitions: units, people, objectives, KPIs and links."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, bindparam, delete, insert, select, update

from lineofsight.domain import model as m
from lineofsight.store import tables as t

CHUNK = 500


@dataclass
class ItemChanges:
    """Ids of one kind of definition to write (added or changed) and to remove."""

    write: set[str] = field(default_factory=set)
    remove: set[str] = field(default_factory=set)


@dataclass
class ChangeRecord:
    """One line of definition history."""

    kind: str
    item_id: str
    action: str
    field: str | None = None
    before: Any = None
    after: Any = None


# ---------------------------------------------------------------- reading


def read_organization(conn: Connection) -> m.Organization | None:
    """The organisation in the store, or None when nothing was applied yet."""
    row = conn.execute(select(t.organization)).mappings().first()
    if row is None:
        return None
    file = row["source_file"]
    strategy = row["strategy"] or {}
    scoring = row["scoring"]
    checks = row["checks"] or {}
    return m.Organization(
        name=row["name"],
        calendar=m.Calendar(row["fiscal_year_start"]),
        units=tuple(_unit(r, file) for r in _ordered(conn, t.units)),
        people=tuple(_person(r, file) for r in _ordered(conn, t.people)),
        strategy=m.Strategy(
            mission=strategy.get("mission"),
            vision=strategy.get("vision"),
            values=tuple(strategy.get("values", ())),
            methods=tuple(strategy.get("methods", ())),
            obstacles=tuple(strategy.get("obstacles", ())),
        ),
        objectives=tuple(_objective(r, file) for r in _ordered(conn, t.objectives)),
        kpis=_read_kpis(conn, file),
        scoring=m.Scoring(**scoring) if scoring else m.Scoring(),
        checks=m.ChecksConfig(
            select=tuple(checks.get("select", ())),
            ignore=tuple(checks.get("ignore", ())),
            options=tuple(
                (code, tuple(opts.items())) for code, opts in checks.get("options", {}).items()
            ),
        ),
    )


def _ordered(conn: Connection, table: Table) -> Sequence[RowMapping]:
    return conn.execute(select(table).order_by(table.c.position)).mappings().all()


def _where(r: RowMapping, file: str | None) -> m.Location | None:
    return m.Location(file, r["source_line"] or 0) if file else None


def _lint(value: Any) -> m.Lint:
    return m.Lint(tuple(value.get("ignore", ()))) if value else m.Lint()


def _unit(r: RowMapping, file: str | None) -> m.Unit:
    return m.Unit(
        id=r["id"],
        name=r["name"],
        level=m.UnitLevel(r["level"]),
        parent=r["parent_id"],
        lead=r["lead_id"],
        function=r["function"],
        lint=_lint(r["lint"]),
        location=_where(r, file),
    )


def _person(r: RowMapping, file: str | None) -> m.Person:
    return m.Person(
        id=r["id"],
        name=r["name"],
        unit=r["unit_id"],
        title=r["title"],
        email=r["email"],
        lint=_lint(r["lint"]),
        location=_where(r, file),
    )


def _objective(r: RowMapping, file: str | None) -> m.Objective:
    return m.Objective(
        id=r["id"],
        title=r["title"],
        level=m.Level(r["level"]),
        unit=r["unit_id"],
        owner=r["owner_id"],
        parent=r["parent_id"],
        weight=r["weight"],
        perspective=m.Perspective(r["perspective"]) if r["perspective"] else None,
        description=r["description"],
        start=r["start_date"],
        deadline=r["deadline"],
        status=m.ObjectiveStatus(r["status"]),
        lint=_lint(r["lint"]),
        location=_where(r, file),
    )


def _group(conn: Connection, table: Table, order: Sequence[str]) -> dict[str, list[RowMapping]]:
    grouped: dict[str, list[RowMapping]] = defaultdict(list)
    columns = [table.c[name] for name in order]
    for row in conn.execute(select(table).order_by(*columns)).mappings():
        grouped[row["kpi_id"]].append(row)
    return grouped


def _read_kpis(conn: Connection, file: str | None) -> tuple[m.Kpi, ...]:
    supports = _group(conn, t.kpi_supports, ["kpi_id", "position"])
    contributions = _group(conn, t.kpi_contributions, ["kpi_id", "position"])
    influences = _group(conn, t.kpi_influences, ["kpi_id", "position"])
    unit_targets = _group(conn, t.kpi_unit_targets, ["kpi_id", "position"])
    period_targets = _group(conn, t.kpi_period_targets, ["kpi_id", "position"])
    result = []
    for r in _ordered(conn, t.kpis):
        kpi_id = r["id"]
        periods: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for p in period_targets.get(kpi_id, ()):
            periods[p["unit_id"]].append((p["period"], p["value"]))
        result.append(
            _kpi(
                r,
                file=file,
                supports=tuple(
                    m.Support(s["objective_id"], s["weight"]) for s in supports.get(kpi_id, ())
                ),
                contributions=tuple(
                    m.Contribution(c["to_kpi_id"], c["weight"], m.Effect(c["effect"]))
                    for c in contributions.get(kpi_id, ())
                ),
                influences=tuple(i["to_kpi_id"] for i in influences.get(kpi_id, ())),
                targets=tuple(periods.get("", ())),
                unit_targets=tuple(
                    (
                        u["unit_id"],
                        m.UnitTarget(
                            value=u["value"],
                            by=u["by_date"],
                            baseline=m.PeriodValue(u["baseline_period"], u["baseline_value"])
                            if u["baseline_period"] is not None
                            else None,
                            targets=tuple(periods.get(u["unit_id"], ())),
                        ),
                    )
                    for u in unit_targets.get(kpi_id, ())
                ),
            )
        )
    return tuple(result)


def _kpi(
    r: RowMapping,
    *,
    file: str | None,
    supports: tuple[m.Support, ...],
    contributions: tuple[m.Contribution, ...],
    influences: tuple[str, ...],
    targets: tuple[tuple[str, float], ...],
    unit_targets: tuple[tuple[str, m.UnitTarget], ...],
) -> m.Kpi:
    source = None
    if r["source"]:
        settings = dict(r["source"])
        kind = m.SourceKind(settings.pop("kind", "manual"))
        source = m.Source(kind=kind, settings=tuple(settings.items()))
    has_bounds = r["bounds_min"] is not None or r["bounds_max"] is not None
    return m.Kpi(
        id=r["id"],
        name=r["name"],
        unit=r["unit_id"],
        frequency=m.Frequency(r["frequency"]),
        direction=m.Direction(r["direction"]),
        description=r["description"],
        unit_of_measure=r["unit_of_measure"],
        level=m.Level(r["level"]) if r["level"] else None,
        type=m.KpiType(r["type"]) if r["type"] else None,
        owner=r["owner_id"],
        aggregation=m.Aggregation(r["aggregation"]) if r["aggregation"] else None,
        across_units=m.AcrossUnits(r["across_units"]) if r["across_units"] else None,
        supports=supports,
        contributes_to=contributions,
        influences=influences,
        formula=r["formula"],
        ratio=m.Ratio(r["ratio_numerator"], r["ratio_denominator"], r["ratio_scale"])
        if r["ratio_numerator"] is not None
        else None,
        range=m.Range(r["range_low"], r["range_high"]) if r["range_low"] is not None else None,
        baseline=m.PeriodValue(r["baseline_period"], r["baseline_value"])
        if r["baseline_period"] is not None
        else None,
        target=m.FinalTarget(r["target_value"], r["target_by"])
        if r["target_value"] is not None
        else None,
        targets=targets,
        unit_targets=unit_targets,
        tolerance=r["tolerance"],
        tolerance_abs=r["tolerance_abs"],
        bounds=m.Bounds(r["bounds_min"], r["bounds_max"]) if has_bounds else None,
        benchmark=m.Benchmark(r["benchmark_value"], r["benchmark_source"])
        if r["benchmark_value"] is not None
        else None,
        source=source,
        lint=_lint(r["lint"]),
        location=_where(r, file),
    )


# ---------------------------------------------------------------- writing


def _line(location: m.Location | None) -> int | None:
    return location.line if location is not None and location.line else None


def _lint_json(lint: m.Lint) -> dict[str, Any] | None:
    return {"ignore": list(lint.ignore)} if lint.ignore else None


def _unit_row(u: m.Unit, position: int) -> dict[str, Any]:
    return {
        "id": u.id,
        "position": position,
        "source_line": _line(u.location),
        "name": u.name,
        "level": u.level.value,
        "parent_id": u.parent,
        "lead_id": u.lead,
        "function": u.function,
        "lint": _lint_json(u.lint),
    }


def _person_row(p: m.Person, position: int) -> dict[str, Any]:
    return {
        "id": p.id,
        "position": position,
        "source_line": _line(p.location),
        "name": p.name,
        "unit_id": p.unit,
        "title": p.title,
        "email": p.email,
        "lint": _lint_json(p.lint),
    }


def _objective_row(o: m.Objective, position: int) -> dict[str, Any]:
    return {
        "id": o.id,
        "position": position,
        "source_line": _line(o.location),
        "title": o.title,
        "level": o.level.value,
        "unit_id": o.unit,
        "owner_id": o.owner,
        "parent_id": o.parent,
        "weight": o.weight,
        "perspective": o.perspective.value if o.perspective else None,
        "description": o.description,
        "start_date": o.start,
        "deadline": o.deadline,
        "status": o.status.value,
        "lint": _lint_json(o.lint),
    }


def _kpi_row(k: m.Kpi, position: int) -> dict[str, Any]:
    return {
        "id": k.id,
        "position": position,
        "source_line": _line(k.location),
        "name": k.name,
        "description": k.description,
        "unit_of_measure": k.unit_of_measure,
        "level": k.level.value if k.level else None,
        "type": k.type.value if k.type else None,
        "unit_id": k.unit,
        "owner_id": k.owner,
        "frequency": k.frequency.value,
        "direction": k.direction.value,
        "aggregation": k.aggregation.value if k.aggregation else None,
        "across_units": k.across_units.value if k.across_units else None,
        "formula": k.formula,
        "ratio_numerator": k.ratio.numerator if k.ratio else None,
        "ratio_denominator": k.ratio.denominator if k.ratio else None,
        "ratio_scale": k.ratio.scale if k.ratio else None,
        "range_low": k.range.low if k.range else None,
        "range_high": k.range.high if k.range else None,
        "baseline_period": k.baseline.period if k.baseline else None,
        "baseline_value": k.baseline.value if k.baseline else None,
        "target_value": k.target.value if k.target else None,
        "target_by": k.target.by if k.target else None,
        "tolerance": k.tolerance,
        "tolerance_abs": k.tolerance_abs,
        "bounds_min": k.bounds.min if k.bounds else None,
        "bounds_max": k.bounds.max if k.bounds else None,
        "benchmark_value": k.benchmark.value if k.benchmark else None,
        "benchmark_source": k.benchmark.source if k.benchmark else None,
        "source": {"kind": k.source.kind.value, **dict(k.source.settings)} if k.source else None,
        "lint": _lint_json(k.lint),
    }


def _kpi_child_rows(kpis: Iterable[m.Kpi]) -> dict[Table, list[dict[str, Any]]]:
    rows: dict[Table, list[dict[str, Any]]] = defaultdict(list)
    for k in kpis:
        for i, s in enumerate(k.supports):
            rows[t.kpi_supports].append(
                {"kpi_id": k.id, "position": i, "objective_id": s.objective, "weight": s.weight}
            )
        for i, c in enumerate(k.contributes_to):
            rows[t.kpi_contributions].append(
                {
                    "kpi_id": k.id,
                    "position": i,
                    "to_kpi_id": c.kpi,
                    "weight": c.weight,
                    "effect": c.effect.value,
                }
            )
        for i, other in enumerate(k.influences):
            rows[t.kpi_influences].append({"kpi_id": k.id, "position": i, "to_kpi_id": other})
        position = 0
        for period, value in k.targets:
            rows[t.kpi_period_targets].append(
                {
                    "kpi_id": k.id,
                    "unit_id": "",
                    "period": period,
                    "position": position,
                    "value": value,
                }
            )
            position += 1
        for i, (unit_id, ut) in enumerate(k.unit_targets):
            rows[t.kpi_unit_targets].append(
                {
                    "kpi_id": k.id,
                    "unit_id": unit_id,
                    "position": i,
                    "value": ut.value,
                    "by_date": ut.by,
                    "baseline_period": ut.baseline.period if ut.baseline else None,
                    "baseline_value": ut.baseline.value if ut.baseline else None,
                }
            )
            for period, value in ut.targets:
                rows[t.kpi_period_targets].append(
                    {
                        "kpi_id": k.id,
                        "unit_id": unit_id,
                        "period": period,
                        "position": position,
                        "value": value,
                    }
                )
                position += 1
    return rows


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(ids)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _delete(conn: Connection, table: Table, ids: Iterable[str], column: str = "id") -> None:
    for chunk in _chunks(ids):
        conn.execute(delete(table).where(table.c[column].in_(chunk)))


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)


def _sync_places(
    conn: Connection, table: Table, wanted: dict[str, tuple[int, int | None]], skip: set[str]
) -> None:
    """Update the order and source line of items whose definition did not change."""
    query = select(table.c.id, table.c.position, table.c.source_line)
    current = {row.id: (row.position, row.source_line) for row in conn.execute(query)}
    moved = [
        {"item": item_id, "new_position": place[0], "new_line": place[1]}
        for item_id, place in wanted.items()
        if item_id not in skip and current.get(item_id) != place
    ]
    if moved:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("item"))
            .values(position=bindparam("new_position"), source_line=bindparam("new_line")),
            moved,
        )


def save_organization(
    conn: Connection,
    org: m.Organization,
    changes: Mapping[str, ItemChanges],
    source: str | None = None,
) -> None:
    """Write the organisation: only the items named in `changes` are rewritten.

    `changes` maps "unit", "person", "objective" and "kpi" to the ids to write and remove;
    the caller runs this inside one transaction.
    """
    conn.execute(delete(t.organization))
    conn.execute(
        insert(t.organization),
        {
            "key": 1,
            "name": org.name,
            "fiscal_year_start": org.calendar.fiscal_year_start,
            "strategy": {
                "mission": org.strategy.mission,
                "vision": org.strategy.vision,
                "values": list(org.strategy.values),
                "methods": list(org.strategy.methods),
                "obstacles": list(org.strategy.obstacles),
            },
            "scoring": {"green_at": org.scoring.green_at, "amber_at": org.scoring.amber_at}
            if org.scoring != m.Scoring()
            else None,
            "source_file": source,
            "checks": {
                "select": list(org.checks.select),
                "ignore": list(org.checks.ignore),
                "options": {code: dict(opts) for code, opts in org.checks.options},
            }
            if org.checks != m.ChecksConfig()
            else None,
        },
    )
    plans: list[tuple[str, Table, Sequence[Any], Any]] = [
        ("unit", t.units, org.units, _unit_row),
        ("person", t.people, org.people, _person_row),
        ("objective", t.objectives, org.objectives, _objective_row),
        ("kpi", t.kpis, org.kpis, _kpi_row),
    ]
    for kind, table, items, to_row in plans:
        change = changes.get(kind, ItemChanges())
        _delete(conn, table, change.remove | change.write)
        positions = {item.id: i for i, item in enumerate(items)}
        written = [item for item in items if item.id in change.write]
        _insert(conn, table, [to_row(item, positions[item.id]) for item in written])
        if kind == "kpi":
            for child, rows in _kpi_child_rows(written).items():
                _insert(conn, child, rows)
        places = {item.id: (i, _line(item.location)) for i, item in enumerate(items)}
        _sync_places(conn, table, places, change.write)


def record_changes(
    conn: Connection,
    records: Sequence[ChangeRecord],
    *,
    batch: str,
    actor: str,
    source: str | None,
    at: dt.datetime,
) -> None:
    """Append definition history rows."""
    _insert(
        conn,
        t.definition_changes,
        [
            {
                "batch": batch,
                "changed_at": at,
                "actor": actor,
                "source": source,
                "kind": r.kind,
                "item_id": r.item_id,
                "action": r.action,
                "field": r.field,
                "before": r.before,
                "after": r.after,
            }
            for r in records
        ],
    )


def read_history(
    conn: Connection, kind: str | None = None, item_id: str | None = None
) -> list[dict[str, Any]]:
    """Definition history, oldest first, optionally for one item."""
    query = select(t.definition_changes).order_by(t.definition_changes.c.id)
    if kind is not None:
        query = query.where(t.definition_changes.c.kind == kind)
    if item_id is not None:
        query = query.where(t.definition_changes.c.item_id == item_id)
    return [dict(r) for r in conn.execute(query).mappings()]
