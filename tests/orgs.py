"""Hypothesis strategies for random but valid organisations."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.domain.periods import grain_of, parse_period

IDS = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip() != "")
NUMBER = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
NONZERO = NUMBER.filter(lambda x: x != 0)
DATES = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))

PERIODS = {
    m.Frequency.DAILY: st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)).map(dt.date.isoformat),
    m.Frequency.WEEKLY: st.tuples(st.integers(2025, 2027), st.integers(1, 52)).map(
        lambda t: f"{t[0]}-W{t[1]:02d}"
    ),
    m.Frequency.MONTHLY: st.tuples(st.integers(2025, 2027), st.integers(1, 12)).map(
        lambda t: f"{t[0]}-{t[1]:02d}"
    ),
    m.Frequency.QUARTERLY: st.tuples(st.integers(2025, 2027), st.integers(1, 4)).map(
        lambda t: f"{t[0]}-Q{t[1]}"
    ),
    m.Frequency.YEARLY: st.integers(2025, 2027).map(str),
}


def _maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


LINT = st.builds(
    m.Lint, st.lists(st.sampled_from(["AL01", "SM01", "OW02"]), unique=True).map(tuple)
)


@st.composite
def organizations(draw: st.DrawFn) -> m.Organization:
    ids = draw(st.lists(IDS, min_size=3, max_size=24, unique=True))
    n_units = draw(st.integers(1, max(1, min(5, len(ids) - 2))))
    unit_ids, rest = ids[:n_units], ids[n_units:]
    n_people = draw(st.integers(0, min(3, len(rest))))
    person_ids, rest = rest[:n_people], rest[n_people:]
    n_objectives = draw(st.integers(0, min(4, len(rest))))
    objective_ids, kpi_ids = rest[:n_objectives], rest[n_objectives:]

    units = []
    for i, uid in enumerate(unit_ids):
        units.append(
            m.Unit(
                id=uid,
                name=draw(TEXT),
                level=draw(st.sampled_from(m.UnitLevel)),
                parent=draw(st.sampled_from(unit_ids[:i])) if i else None,
                lead=draw(_maybe(st.sampled_from(person_ids))) if person_ids else None,
                function=draw(_maybe(TEXT)),
                lint=draw(LINT),
            )
        )
    people = [
        m.Person(
            id=pid,
            name=draw(TEXT),
            unit=draw(st.sampled_from(unit_ids)),
            title=draw(_maybe(TEXT)),
            email=draw(_maybe(st.emails())),
            lint=draw(LINT),
        )
        for pid in person_ids
    ]
    owners = st.none() | st.sampled_from(person_ids) if person_ids else st.none()
    objectives = []
    for i, oid in enumerate(objective_ids):
        start = draw(_maybe(DATES))
        deadline = draw(_maybe(DATES))
        if start and deadline and start > deadline:
            start, deadline = deadline, start
        objectives.append(
            m.Objective(
                id=oid,
                title=draw(TEXT),
                level=draw(st.sampled_from(m.Level)),
                unit=draw(st.sampled_from(unit_ids)),
                owner=draw(owners),
                parent=draw(_maybe(st.sampled_from(objective_ids[:i]))) if i else None,
                weight=draw(st.sampled_from([1.0, 0.5, 2.0, 3.0])),
                perspective=draw(_maybe(st.sampled_from(m.Perspective))),
                description=draw(_maybe(TEXT)),
                start=start,
                deadline=deadline,
                status=draw(st.sampled_from(m.ObjectiveStatus)),
                lint=draw(LINT),
            )
        )
    frequencies = {kid: draw(st.sampled_from(m.Frequency)) for kid in kpi_ids}
    kpis = [
        draw(_kpi(kid, kpi_ids, unit_ids, objective_ids, owners, frequencies)) for kid in kpi_ids
    ]
    return m.Organization(
        name=draw(TEXT),
        calendar=m.Calendar(draw(st.integers(1, 12)), draw(st.integers(0, 731))),
        units=tuple(units),
        people=tuple(people),
        strategy=m.Strategy(
            mission=draw(_maybe(TEXT)),
            vision=draw(_maybe(TEXT)),
            values=tuple(draw(st.lists(TEXT, max_size=3))),
        ),
        objectives=tuple(objectives),
        kpis=tuple(kpis),
        scoring=draw(st.sampled_from([m.Scoring(), m.Scoring(85, 40)])),
        checks=draw(
            st.sampled_from(
                [
                    m.ChecksConfig(),
                    m.ChecksConfig(ignore=("AL06",), options=(("OW02", (("max", 4),)),)),
                ]
            )
        ),
    )


@st.composite
def _kpi(draw, kid, kpi_ids, unit_ids, objective_ids, owners, frequencies):  # type: ignore[no-untyped-def]
    frequency = frequencies[kid]
    direction = draw(st.sampled_from(m.Direction))
    # A formula reads only KPIs declared after it (a file may name a KPI before declaring it),
    # so that formulas never form a cycle (a file error), and no coarser than itself (a finer
    # one would never have a value).
    others = list(kpi_ids[kpi_ids.index(kid) + 1 :])
    readable = [k for k in others if grain_of(frequencies[k]) <= grain_of(frequency)]
    kind = draw(st.sampled_from(["plain", "formula", "ratio"] if readable else ["plain", "ratio"]))
    formula = None
    if kind == "formula":
        inputs = draw(st.lists(st.sampled_from(readable), min_size=1, max_size=3, unique=True))
        formula = " + ".join(inputs) if len(inputs) > 1 else f"{inputs[0]} * 2"
    tolerance_abs = draw(_maybe(st.floats(0, 100, allow_nan=False)))
    tolerance = None if tolerance_abs is not None else draw(_maybe(st.floats(0.01, 1)))
    value = NONZERO if tolerance_abs is None else NUMBER
    periods = PERIODS[frequency]
    low = draw(NUMBER)
    high = draw(NUMBER.filter(lambda x: x >= low))
    if direction is m.Direction.RANGE and tolerance_abs is None and low + high == 0:
        high = high + 1
    baseline = draw(_maybe(st.builds(m.PeriodValue, periods, NUMBER)))
    return m.Kpi(
        id=kid,
        name=draw(TEXT),
        unit=draw(st.sampled_from(unit_ids)),
        frequency=frequency,
        direction=direction,
        description=draw(_maybe(TEXT)),
        unit_of_measure=draw(_maybe(TEXT)),
        level=draw(_maybe(st.sampled_from(m.Level))),
        type=draw(_maybe(st.sampled_from(m.KpiType))),
        owner=draw(owners),
        aggregation=draw(_maybe(st.sampled_from(m.Aggregation))),
        across_units=draw(_maybe(st.sampled_from(m.AcrossUnits))),
        supports=tuple(
            m.Support(o, draw(st.sampled_from([1.0, 2.0, 0.5])))
            for o in draw(st.lists(st.sampled_from(objective_ids), unique=True, max_size=2))
        )
        if objective_ids
        else (),
        contributes_to=tuple(
            m.Contribution(k, draw(st.sampled_from([1.0, 0.25])), draw(st.sampled_from(m.Effect)))
            for k in draw(st.lists(st.sampled_from(others), unique=True, max_size=2))
        )
        if others
        else (),
        influences=tuple(draw(st.lists(st.sampled_from(others), unique=True, max_size=2)))
        if others
        else (),
        formula=formula,
        ratio=m.Ratio(draw(TEXT), draw(TEXT), draw(st.sampled_from([1.0, 100.0])))
        if kind == "ratio"
        else None,
        range=m.Range(low, high) if direction is m.Direction.RANGE else None,
        baseline=baseline,
        target=draw(_maybe(st.builds(m.FinalTarget, value, _dates_after(baseline)))),
        targets=tuple(draw(st.dictionaries(periods, value, max_size=3)).items()),
        unit_targets=tuple(
            draw(
                st.dictionaries(
                    st.sampled_from(unit_ids),
                    _maybe(st.builds(m.PeriodValue, periods, NUMBER)).flatmap(
                        lambda unit_baseline: st.builds(
                            m.UnitTarget,
                            value,
                            _dates_after(unit_baseline),
                            st.just(unit_baseline),
                            st.dictionaries(periods, value, max_size=2).map(
                                lambda d: tuple(d.items())
                            ),
                        )
                    ),
                    max_size=2,
                )
            ).items()
        ),
        tolerance=tolerance,
        tolerance_abs=tolerance_abs,
        bounds=draw(
            st.sampled_from(
                [None, m.Bounds(-1e12, None), m.Bounds(None, 1e12), m.Bounds(-1e12, 1e12)]
            )
        ),
        benchmark=draw(_maybe(st.builds(m.Benchmark, NUMBER, _maybe(TEXT)))),
        source=draw(
            st.sampled_from(
                [None, m.Source(), m.Source(m.SourceKind.CSV, (("path", "data/x.csv"),))]
            )
        ),
        lint=draw(LINT),
        due_days=draw(_maybe(st.integers(0, 731))),
    )


def _dates_after(baseline: m.PeriodValue | None) -> st.SearchStrategy[dt.date]:
    """A target's date: after its baseline's period, as a strategy file must have it."""
    if baseline is None:
        return DATES
    return st.dates(parse_period(baseline.period).end + dt.timedelta(days=1), dt.date(2030, 12, 31))
