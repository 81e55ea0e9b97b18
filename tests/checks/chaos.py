"""A generated organisation with defects of every kind the rules look for, for differential
tests of the whole check: the generator of `bench/` makes a clean cascade, and a seeded
random pass breaks it (owners, links, levels, cycles, weights, targets, deadlines, names,
measurements)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import random
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from lineofsight.checks.context import Observation
from lineofsight.domain import model as m
from lineofsight.domain.actions import DeclaredAction
from lineofsight.domain.periods import parse_period
from lineofsight.spec.files import read_strategy

BENCH = Path(__file__).parents[2] / "bench" / "generate.py"


def _generator() -> ModuleType:
    known = sys.modules.get("generate")
    if known is not None:
        return known
    spec = importlib.util.spec_from_file_location("generate", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def generated(folder: Path, kpis: int = 600, units: int = 120) -> tuple[Path, Path]:
    """A clean generated organisation: its strategy file and its measurements CSV."""
    made = _generator().generate(folder, kpis=kpis, units=units, months=14)
    return made.strategy, made.measurements


def observations(path: Path, org: m.Organization) -> dict[str, list[Observation]]:
    """The measurements CSV as the rules see stored values (ratios divided)."""
    scales = {k.id: k.ratio.scale for k in org.kpis if k.ratio is not None}
    found: dict[str, list[Observation]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            period = parse_period(row["period"], org.calendar)
            if row["value"]:
                value: float | None = float(row["value"])
            else:
                denominator = float(row["denominator"])
                value = (
                    scales[row["kpi"]] * float(row["numerator"]) / denominator
                    if denominator
                    else None
                )
            found[row["kpi"]].append(Observation(row["unit"], period.start, period.end, value))
    return dict(found)


def broken(
    org: m.Organization, measured: dict[str, list[Observation]], seed: int = 12
) -> tuple[m.Organization, dict[str, list[Observation]]]:
    """The organisation and its values with seeded defects of every kind."""
    rng = random.Random(seed)
    objectives = list(org.objectives)
    kpis = list(org.kpis)
    ids = [k.id for k in kpis]
    levels = list(m.Level)
    for i, o in enumerate(objectives):
        roll = rng.random()
        if roll < 0.05:
            o = replace(o, owner=None)
        elif roll < 0.08:
            o = replace(o, owner="ghost")
        if rng.random() < 0.08:
            o = replace(o, deadline=None if rng.random() < 0.5 else dt.date(2025, 3, 31))
        if rng.random() < 0.05:
            o = replace(o, level=rng.choice(levels))
        if rng.random() < 0.04:
            o = replace(o, parent=None)
        if rng.random() < 0.03:
            o = replace(o, weight=rng.choice((-1.0, 0.0)))
        objectives[i] = o
    # Two objective cycles: a pair, and one that is its own parent.
    a, b, c = rng.sample(range(1, len(objectives)), 3)
    objectives[a] = replace(objectives[a], parent=objectives[b].id)
    objectives[b] = replace(objectives[b], parent=objectives[a].id)
    objectives[c] = replace(objectives[c], parent=objectives[c].id)
    for i, k in enumerate(kpis):
        roll = rng.random()
        if roll < 0.04:
            k = replace(k, owner=None)
        elif roll < 0.06:
            k = replace(k, owner="nobody_known")
        elif roll < 0.12:
            k = replace(k, owner=kpis[0].owner)  # one person owns too many
        if rng.random() < 0.05:
            k = replace(k, supports=(), contributes_to=())
        if rng.random() < 0.05:
            k = replace(k, level=rng.choice([*levels, None]))
        if rng.random() < 0.04 and k.direction is not m.Direction.RANGE:
            flipped = (
                m.Direction.DECREASE
                if k.direction is m.Direction.INCREASE
                else m.Direction.INCREASE
            )
            k = replace(k, direction=flipped)
        if rng.random() < 0.05:
            k = replace(k, target=None, targets=())
        if rng.random() < 0.3:
            k = replace(k, type=rng.choice((m.KpiType.LAGGING, m.KpiType.LAGGING, None)))
        if rng.random() < 0.03:
            k = replace(k, name=kpis[max(0, i - 1)].name.upper() + ".")
        if rng.random() < 0.02 and k.supports:
            first = k.supports[0]
            k = replace(k, supports=(replace(first, weight=-2.0), *k.supports[1:]))
        if rng.random() < 0.02:
            k = replace(k, due_days=rng.choice((0, 10, 60, 120)))
        if rng.random() < 0.02:
            k = replace(k, contributes_to=(m.Contribution(rng.choice(ids), 1.0),))
        kpis[i] = k
    # A KPI cycle through contributes_to, and every KPI of one unit moved to another.
    x, y = rng.sample(range(len(kpis)), 2)
    kpis[x] = replace(kpis[x], contributes_to=(m.Contribution(kpis[y].id),))
    kpis[y] = replace(kpis[y], contributes_to=(m.Contribution(kpis[x].id),))
    # Objectives nobody measures any more, formula targets their inputs cannot reach, and a
    # strategic objective of its own measured by lagging KPIs only.
    unmeasured = {o.id for o in rng.sample(objectives, 6)}
    for i, k in enumerate(kpis):
        if any(s.objective in unmeasured for s in k.supports):
            kept = tuple(s for s in k.supports if s.objective not in unmeasured)
            kpis[i] = replace(k, supports=kept)
        if k.formula is not None and k.target is not None and rng.random() < 0.5:
            far = 1e9 if k.direction is m.Direction.INCREASE else -1e9
            kpis[i] = replace(k, target=replace(k.target, value=far))
    fed = {c.kpi for k in kpis for c in k.contributes_to}
    loners = [i for i, k in enumerate(kpis) if k.formula is None and k.id not in fed]
    lagging = m.Objective("lagging_only", "Lagging only", m.Level.STRATEGIC, kpis[0].unit)
    objectives.append(lagging)
    for i in rng.sample(loners, 3):
        kpis[i] = replace(
            kpis[i], type=m.KpiType.LAGGING, supports=(m.Support(lagging.id),), contributes_to=()
        )
    emptied = kpis[rng.randrange(len(kpis))].unit
    target = kpis[rng.randrange(len(kpis))].unit
    kpis = [replace(k, unit=target) if k.unit == emptied else k for k in kpis]
    values: dict[str, list[Observation]] = {}
    for kpi_id, rows in measured.items():
        roll = rng.random()
        if roll < 0.05:
            continue  # never measured
        if roll < 0.15:
            rows = rows[:-1]  # the latest period missing
        elif roll < 0.2:
            rows = rows[: len(rows) // 2]
        values[kpi_id] = rows
    # Actions, from a generator of their own so that the defects above stay as recorded:
    # open ones (some overdue), done and dropped ones, on KPIs and objectives.
    acts = random.Random(seed + 1)
    actions = []
    for n, k in enumerate(acts.sample(kpis, 40)):
        status = acts.choice(("open", "open", "open", "done", "dropped"))
        due = dt.date(2026, acts.randrange(6, 13), 15) if acts.random() < 0.8 else None
        actions.append(DeclaredAction(f"act{n}", "kpi", k.id, f"Act on {k.id}", None, due, status))
    for n, o in enumerate(acts.sample(objectives, 5)):
        actions.append(
            DeclaredAction(f"oact{n}", "objective", o.id, "Push", None, dt.date(2026, 7, 1), "open")
        )
    changed = replace(org, objectives=tuple(objectives), kpis=tuple(kpis), actions=tuple(actions))
    return changed, values


def chaos(folder: Path) -> tuple[m.Organization, dict[str, list[Observation]]]:
    """The broken organisation of `folder` (generated there first when missing)."""
    strategy, measurements = generated(folder)
    org = read_strategy(strategy)
    return broken(org, observations(measurements, org))
