"""Each rule of the attention list on an organisation made to trip it once, on SQLite and
PostgreSQL: what is listed, why, with which link, and in which order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineofsight.errors import UsageError
from lineofsight.services.apply import apply_file
from lineofsight.services.attention import KINDS, attention_for, inbox
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store

STRATEGY = """\
version: 1
organization:
  name: Rules
  units:
    - {id: top, name: Top, level: company, lead: boss}
    - {id: team, name: Team, level: team, parent: top, lead: tess}
  people:
    - {id: boss, name: Bo Boss, unit: top}
    - {id: tess, name: Tess Lead, unit: team}
    - {id: otto, name: Otto Owner, unit: team}
objectives:
  - {id: near, title: Ship it, level: strategic, unit: top, owner: boss, deadline: 2026-05-01}
  - {id: far, title: Grow, level: strategic, unit: top, owner: boss, deadline: 2027-12-31}
kpis:
  - {id: red_now, name: Red now, unit: team, owner: otto, frequency: monthly,
     direction: increase, due_days: 10, target: {value: 100, by: 2026-12-31},
     supports: [{objective: near}]}
  - {id: red_long, name: Red long, unit: team, owner: otto, frequency: monthly,
     direction: increase, due_days: 10, target: {value: 100, by: 2026-12-31},
     supports: [{objective: far}]}
  - {id: amber_now, name: Amber now, unit: team, owner: tess, frequency: monthly,
     direction: increase, due_days: 10, target: {value: 100, by: 2026-12-31},
     supports: [{objective: far}]}
  - {id: late, name: Late, unit: team, owner: otto, frequency: monthly,
     direction: increase, due_days: 10, target: {value: 100, by: 2026-12-31},
     supports: [{objective: far}]}
  - {id: soon, name: Soon, unit: top, owner: boss, frequency: monthly,
     direction: increase, due_days: 25, target: {value: 100, by: 2026-12-31},
     supports: [{objective: far}]}
  - {id: flat, name: Flat, unit: top, owner: boss, frequency: monthly,
     direction: increase, due_days: 10, target: {value: 200, by: 2026-12-31},
     targets: {2026-01: 100, 2026-02: 100, 2026-03: 100}, supports: [{objective: far}]}
  - {id: loose, name: Loose, unit: team, owner: otto, frequency: monthly,
     direction: increase, due_days: 10, target: {value: 1, by: 2026-12-31}}
"""

VALUES = """\
kpi,period,value
red_now,2026-02,100
red_now,2026-03,50
red_long,2026-02,50
red_long,2026-03,50
amber_now,2026-02,100
amber_now,2026-03,95
late,2026-02,100
soon,2026-02,100
flat,2026-01,100
flat,2026-02,100
flat,2026-03,100
loose,2026-03,1
"""

AS_OF = dt.date(2026, 4, 20)


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    (tmp_path / "s.yaml").write_text(STRATEGY)
    (tmp_path / "v.csv").write_text(VALUES)
    found = Store(db_url)
    try:
        apply_file(found, tmp_path / "s.yaml")
        load_file(found, tmp_path / "v.csv")
        yield found
    finally:
        found.close()


def _kinds(items: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(i.kind, i.item_id) for i in items]


def test_each_rule_lists_its_item_in_the_ranking_order(store: Store) -> None:
    items = attention_for(store, as_of=AS_OF)
    found = [k for k in _kinds(items) if k[0] != "finding"]
    assert found == [
        ("turned_red", "red_now"),
        ("still_red", "red_long"),
        ("no_action", "red_long"),
        ("no_action", "red_now"),
        ("overdue", "late"),
        ("deadline_near", "near"),
        ("turned_amber", "amber_now"),
        ("off_track", "flat"),
        ("due_soon", "soon"),
    ]
    assert ("finding", "loose") in _kinds(items)  # AL01: supports no objective
    ranks = [KINDS.index(i.kind) for i in items]
    assert ranks == sorted(ranks)
    by = {(i.kind, i.item_id): i for i in items}
    red = by[("turned_red", "red_now")]
    assert red.reason == "turned red in 2026-03: 50 against a target of 100 (was green in 2026-02)"
    assert red.link == "/kpis/red_now?period=2026-03" and red.owner == "otto"
    assert red.status == "red" and red.value == 50 and red.period == "2026-03"
    late = by[("overdue", "late")]
    assert late.due == dt.date(2026, 4, 10)
    assert late.reason == "the value for 2026-03 was due on 2026-04-10 (10 days ago) and is not in"
    soon = by[("due_soon", "soon")]
    assert soon.due == dt.date(2026, 4, 25) and soon.period == "2026-03"
    assert soon.link == "/kpis/soon/checkin?period=2026-03"
    near = by[("deadline_near", "near")]
    assert near.item_type == "objective" and near.due == dt.date(2026, 5, 1)
    assert near.reason.startswith("is due on 2026-05-01 (in 11 days); its score is")
    assert near.link == "/objectives/near?period=2026-04"
    assert by[("off_track", "flat")].reason.startswith(
        "off track: forecast at 100 for 2026-12 against a target of 200"
    )


def test_whose_items(store: Store) -> None:
    otto = _kinds(attention_for(store, person="otto", as_of=AS_OF))
    assert {k for k in otto if k[0] != "finding"} == {
        ("turned_red", "red_now"),
        ("still_red", "red_long"),
        ("no_action", "red_now"),
        ("no_action", "red_long"),
        ("overdue", "late"),
    }
    # Tess leads the team: her own amber KPI and everything Otto's.
    tess = _kinds(attention_for(store, person="tess", as_of=AS_OF))
    assert set(otto) | {("turned_amber", "amber_now")} == set(tess)
    assert tess == _kinds(attention_for(store, unit="team", as_of=AS_OF))
    # The boss leads the top unit: all of it.
    assert _kinds(attention_for(store, person="boss", as_of=AS_OF)) == _kinds(
        attention_for(store, as_of=AS_OF)
    )
    # The boss within the team: the team's items only.
    assert set(_kinds(attention_for(store, person="boss", unit="team", as_of=AS_OF))) == set(tess)
    # What a role may read: the team's units only.
    cut = attention_for(store, person="boss", as_of=AS_OF, readable={"team"})
    assert cut and all(i.unit == "team" for i in cut)


def test_a_window_and_dates(store: Store) -> None:
    # Five days before the due date of `soon` it is listed; twelve days before, not.
    assert ("due_soon", "soon") in _kinds(attention_for(store, as_of=AS_OF))
    early = dt.date(2026, 4, 13)
    assert ("due_soon", "soon") not in _kinds(attention_for(store, as_of=early))
    found = inbox(store, person="boss", as_of="2026-04-20")
    assert found.window == 7 and found.whose == "Bo Boss's"


def test_unknown_names_are_usage_errors(store: Store) -> None:
    with pytest.raises(UsageError, match="unknown person 'ot'"):
        attention_for(store, person="ot")
    with pytest.raises(UsageError, match="unknown unit 'tem'"):
        attention_for(store, unit="tem")
    with pytest.raises(UsageError, match="--as-of '2026-04-31'"):
        attention_for(store, as_of="2026-04-31")


def test_the_kept_forecast_makes_the_same_calls_as_one_made_for_a_few_kpis(
    store: Store, tmp_path: Path
) -> None:
    from lineofsight.services.attention_forecast import off_track

    everything = off_track(store, AS_OF)  # forecast for every KPI, and kept
    assert everything["id"].to_list() == ["flat"]
    kept = off_track(store, AS_OF, ["flat", "soon"])  # read back from the store
    alone = off_track(store, dt.date(2026, 4, 21), ["flat", "soon"])  # none kept: made alone
    assert kept.drop("deadline").rows() == alone.drop("deadline").rows()
    # New values make the kept calls stale: the next list forecasts again (a steep climb
    # before the flat months: on track now).
    (tmp_path / "more.csv").write_text("kpi,period,value\nflat,2025-12,10\nflat,2025-11,5\n")
    load_file(store, tmp_path / "more.csv")
    assert off_track(store, AS_OF).is_empty()


def test_a_kpi_fed_by_a_source_has_no_check_in_reminder(db_url: str, tmp_path: Path) -> None:
    # `fed` falls due as `soon` does, but its values come from a file source: its refresh
    # brings them, so nobody is reminded to enter one (a failed refresh is said on its
    # overdue item instead).
    fed = STRATEGY.replace(
        "  - {id: flat,",
        "  - {id: fed, name: Fed, unit: top, owner: boss, frequency: monthly,\n"
        "     direction: increase, due_days: 25, target: {value: 100, by: 2026-12-31},\n"
        "     supports: [{objective: far}], source: {kind: file, path: data/fed.csv}}\n"
        "  - {id: flat,",
    )
    (tmp_path / "s.yaml").write_text(fed)
    (tmp_path / "v.csv").write_text(VALUES + "fed,2026-02,100\n")
    store = Store(db_url)
    try:
        apply_file(store, tmp_path / "s.yaml")
        load_file(store, tmp_path / "v.csv")
        found = _kinds(attention_for(store, as_of=AS_OF))
    finally:
        store.close()
    assert ("due_soon", "soon") in found
    assert not [k for k in found if k[1] == "fed" and k[0] == "due_soon"]
