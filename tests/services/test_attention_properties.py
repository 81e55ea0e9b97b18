"""Properties of the attention lists over generated organisations (random unit trees, people,
leads, owners, targets and values), each applied and loaded into a real SQLite store:

- every KPI red in `los status` and owned by P is in P's list (turned or still red);
- nothing outside P's scope: each item is P's own, or of a unit P leads (with its subtree),
  or owned by someone who works there;
- a unit's list holds the items of every person who works in its subtree, and only items of
  its subtree's units and people;
- the order is the ranking (`sort_key`), kinds in `KINDS` order;
- one person's list is the same computed alone or cut from every person's board.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineofsight.services.apply import apply_file
from lineofsight.services.attention import (
    KINDS,
    Organisation,
    attention_board,
    attention_for,
    attention_lists,
    sort_key,
)
from lineofsight.services.measurements import load_file
from lineofsight.services.scorecard_frames import scorecard_frames
from lineofsight.store.attention_reads import read_responsibilities
from lineofsight.store.database import Store

AS_OF = dt.date(2026, 4, 20)
MONTHS = ["2026-01", "2026-02", "2026-03"]


@st.composite
def organisations(draw: st.DrawFn) -> tuple[str, str]:
    """A strategy file and a measurements file."""
    n_units = draw(st.integers(1, 6))
    parents = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n_units)]
    n_people = draw(st.integers(1, 6))
    homes = [draw(st.integers(0, n_units - 1)) for _ in range(n_people)]
    leads = [draw(st.none() | st.integers(0, n_people - 1)) for _ in range(n_units)]
    lines = ["version: 1", "organization:", "  name: Generated", "  units:"]
    levels = ["company", "business_unit", "department", "team"]
    for i, parent in enumerate(parents):
        extra = "" if parent is None else f", parent: u{parent}"
        extra += "" if leads[i] is None else f", lead: p{leads[i]}"
        lines.append(f"    - {{id: u{i}, name: Unit {i}, level: {levels[min(i, 3)]}{extra}}}")
    lines.append("  people:")
    for i, home in enumerate(homes):
        lines.append(f"    - {{id: p{i}, name: Person {i}, unit: u{home}}}")
    lines.append("objectives:")
    n_objectives = draw(st.integers(1, 4))
    for i in range(n_objectives):
        unit = draw(st.integers(0, n_units - 1))
        owner = draw(st.none() | st.integers(0, n_people - 1))
        days = draw(st.integers(-20, 90))
        lines.append(
            f"  - {{id: o{i}, title: Objective {i}, level: tactical, unit: u{unit}"
            + ("" if owner is None else f", owner: p{owner}")
            + f", deadline: {AS_OF + dt.timedelta(days=days)}}}"
        )
    lines.append("kpis:")
    rows = ["kpi,period,value"]
    for i in range(draw(st.integers(1, 8))):
        unit = draw(st.integers(0, n_units - 1))
        owner = draw(st.none() | st.integers(0, n_people - 1))
        lines += [
            f"  - id: k{i}",
            f"    name: KPI {i}",
            f"    unit: u{unit}",
            "    frequency: monthly",
            "    direction: increase",
            f"    supports: [{{objective: o{draw(st.integers(0, n_objectives - 1))}}}]",
            "    target: {value: 100, by: 2026-12-31}",
            f"    due_days: {draw(st.sampled_from([5, 10, 30]))}",
        ]
        if owner is not None:
            lines.append(f"    owner: p{owner}")
        for month in MONTHS:
            value = draw(st.none() | st.sampled_from([50, 85, 95, 100, 120]))
            if value is not None:
                rows.append(f"k{i},{month},{value}")
    return "\n".join(lines) + "\n", "\n".join(rows) + "\n"


def _store(strategy: str, values: str, folder: Path) -> Store:
    (folder / "strategy.yaml").write_text(strategy)
    (folder / "values.csv").write_text(values)
    store = Store(f"sqlite:///{folder / 'los.db'}")
    apply_file(store, folder / "strategy.yaml")
    if values.count("\n") > 1:
        load_file(store, folder / "values.csv")
    return store


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_attention_lists_hold_what_they_must_and_nothing_else(files: tuple[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(*files, Path(tmp))
        try:
            _check(store)
        finally:
            store.close()


def _check(store: Store) -> None:
    resp = read_responsibilities(store)
    org = Organisation.of(resp)
    owner_of = dict(resp.kpis.select("id", "owner_id").iter_rows())
    card = scorecard_frames(store, as_of=AS_OF.isoformat())
    red = card.kpis.filter(pl.col("own_unit") & (pl.col("status").cast(pl.String) == "red"))
    board = attention_board(store, AS_OF)
    assert [sort_key(i) for i in board.items] == sorted(sort_key(i) for i in board.items)
    # Every list at once: cut before the forecast's items, which are placed last.
    lists = attention_lists(store, AS_OF)
    assert set(lists) == set(org.people)
    for person in org.people:
        items = attention_for(store, person=person, as_of=AS_OF)
        # The same list alone as cut from the whole organisation's board.
        assert items == board.for_person(person) == lists[person]
        ranks = [KINDS.index(i.kind) for i in items]
        assert ranks == sorted(ranks) and [i.rank for i in items] == ranks
        shown = {(i.kind, i.item_id) for i in items}
        for kpi in red["id"].to_list():
            if owner_of[kpi] == person:
                assert ("turned_red", kpi) in shown or ("still_red", kpi) in shown
        led = org.led_units(person)
        workers = {p for u in led for p in org.people_in.get(u, ())}
        for item in items:
            assert item.owner == person or item.unit in led or item.owner in workers, item
    for unit in org.units:
        subtree = org.subtree(unit)
        workers = {p for u in subtree for p in org.people_in.get(u, ())}
        listed = attention_for(store, unit=unit, as_of=AS_OF)
        assert listed == board.for_unit(unit)
        for item in listed:
            assert item.unit in subtree or item.owner in workers, item
        for person in workers:
            own = {i for i in board.for_person(person) if i.owner == person}
            assert own <= set(listed)
