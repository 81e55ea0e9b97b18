"""`los check`: the alignment rules over a strategy file, or over the store with its data."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lineofsight.checks.base import ConfigError, Finding
from lineofsight.checks.context import Observation
from lineofsight.checks.runner import CheckReport, build_selection, run_checks
from lineofsight.domain import model as m
from lineofsight.domain.periods import start_of
from lineofsight.errors import Problem, UsageError
from lineofsight.spec.files import read_strategy
from lineofsight.store import tables as t
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization


def parse_options(pairs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`CODE.name=value` pairs from the command line, values read as numbers."""
    options: dict[str, dict[str, Any]] = defaultdict(dict)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        code, dot, name = key.partition(".")
        if not sep or not dot or not code or not name:
            raise UsageError(f"--option {pair!r}: write CODE.name=value, e.g. OW02.max=4")
        value: Any
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        options[code.strip().upper()][name.strip()] = value
    return dict(options)


def read_observations(store: Store) -> dict[str, list[Observation]]:
    """Every stored value, by KPI, as the rules look at them (ratios already divided)."""
    meas, kpis = t.measurements, t.kpis
    scales = {}
    found: dict[str, list[Observation]] = defaultdict(list)
    with store.reading() as conn:
        for kpi_id, scale in conn.execute(select(kpis.c.id, kpis.c.ratio_scale)):
            scales[kpi_id] = scale
        query = select(
            meas.c.kpi_id,
            meas.c.unit_id,
            meas.c.period,
            meas.c.period_end,
            meas.c.value,
            meas.c.numerator,
            meas.c.denominator,
        )
        for kpi_id, unit_id, period, end, value, numerator, denominator in conn.execute(query):
            scale = scales.get(kpi_id)
            if scale is not None and numerator is not None:
                value = scale * numerator / denominator if denominator else None
            found[kpi_id].append(Observation(unit_id, start_of(period, end), end, value))
    return dict(found)


def check(
    *,
    file: Path | None,
    store: Store | None,
    as_of: dt.date,
    select_codes: Iterable[str] = (),
    ignore_codes: Iterable[str] = (),
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> CheckReport:
    """Check a strategy file (no measurements), or the store with its measurements."""
    measurements: dict[str, list[Observation]] | None = None
    org: m.Organization | None
    if file is not None:
        org = read_strategy(file)
        source = str(file)
    else:
        assert store is not None
        with store.reading() as conn:
            org = read_organization(conn)
        if org is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
        measurements = read_observations(store)
        source = "the store"
    try:
        selection = build_selection(org.checks, select_codes, ignore_codes, options)
    except ConfigError as exc:
        raise UsageError(
            f"{source}: bad check settings", [Problem(source, 0, msg) for msg in exc.messages]
        ) from None
    report = run_checks(org, as_of, measurements, selection)
    if file is None:
        # The store keeps absolute paths; show them as the user would type them from here.
        report.findings = [_relative(f) for f in report.findings]
    return report


def _relative(finding: Finding) -> Finding:
    if finding.location is None:
        return finding
    path = Path(finding.location.file)
    try:
        shown = str(path.relative_to(Path.cwd()))
    except ValueError:
        return finding
    return replace(finding, location=m.Location(shown, finding.location.line))
