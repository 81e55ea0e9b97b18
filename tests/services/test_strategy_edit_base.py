"""An edit validated against the kept strategy (only the edited item validated and built anew)
gives the organisation, or the problems, that the whole strategy file's validation gives; and
the findings a preview says appear or go are the difference of a whole `los check` before and
after the save. On the worked example, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineofsight.domain import model as m
from lineofsight.errors import SpecError
from lineofsight.services import strategy_edit
from lineofsight.services.apply import apply_file
from lineofsight.services.check import check
from lineofsight.services.export import stored_organization
from lineofsight.services.init import init_workspace
from lineofsight.services.strategy_edit import Edit, edited_organization, item_plain
from lineofsight.services.strategy_edit_base import edit_base
from lineofsight.store.database import Store

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    init_workspace(tmp_path / "ws", example="techinnovate", db=db_url)
    opened = Store(db_url)
    apply_file(opened, tmp_path / "ws" / "strategy.yaml")
    yield opened
    opened.close()


def _item(org: m.Organization, kind: str, item_id: str, **fields: Any) -> Edit:
    item = item_plain(org, kind, item_id)
    assert item is not None, item_id
    return Edit(kind, item_id, {**item, **fields})


def _edits(org: m.Organization) -> list[tuple[str, Edit]]:
    """Edits of every kind: sound ones, and ones only the whole validation may judge."""
    kpi = next(k for k in org.kpis if k.supports and k.target is not None)
    leaf = next(k for k in org.kpis if not any(k.id in o.influences for o in org.kpis))
    top = next(o for o in org.objectives if o.parent is None)
    child = next(o for o in org.objectives if o.parent is not None)
    unit = next(u for u in org.units if u.parent is not None)
    person = org.people[0]
    other_unit = next(u for u in org.units if u.id != kpi.unit)
    return [
        ("rename a KPI", _item(org, "kpi", kpi.id, name="Renamed")),
        ("a KPI supports nothing", _item(org, "kpi", kpi.id, supports=[])),
        ("a KPI moves unit", _item(org, "kpi", kpi.id, unit=other_unit.id)),
        (
            "unit targets",
            _item(org, "kpi", kpi.id, unit_targets={unit.id: {"value": 3, "by": "2027-12-31"}}),
        ),
        ("unchanged", _item(org, "kpi", kpi.id)),
        ("bad frequency", _item(org, "kpi", kpi.id, frequency="sometimes")),
        ("unknown owner", _item(org, "kpi", kpi.id, owner="nobody")),
        ("formula on itself", _item(org, "kpi", kpi.id, formula=f"{kpi.id} + 1")),
        ("remove a leaf KPI", Edit("kpi", leaf.id, None)),
        (
            "a new KPI",
            Edit(
                "kpi",
                "brand_new",
                {
                    "id": "brand_new",
                    "name": "New",
                    "unit": unit.id,
                    "frequency": "monthly",
                    "direction": "increase",
                },
                new=True,
            ),
        ),
        ("an objective under its child", _item(org, "objective", top.id, parent=child.id)),
        ("an objective's title", _item(org, "objective", child.id, title="Better")),
        ("remove a parent objective", Edit("objective", top.id, None)),
        ("a unit above itself", _item(org, "unit", unit.id, parent=unit.id)),
        ("a unit renamed", _item(org, "unit", unit.id, name="Renamed unit")),
        ("a person moves", _item(org, "person", person.id, unit=unit.id, title="Lead")),
        ("a person's bad email", _item(org, "person", person.id, email=12)),
    ]


def _result(before: m.Organization, edit: Edit, base: Any) -> Any:
    try:
        after = edited_organization(before, edit, base)
    except SpecError as exc:
        return ("problems", [p.message for p in exc.problems])
    lines = {
        attr: [(item.id, item.location) for item in getattr(after, attr)]
        for attr in ("units", "people", "objectives", "kpis")
    }
    return ("organisation", after, lines)


def test_the_kept_strategy_gives_what_the_whole_validation_gives(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = edit_base(store)
    before = base.before
    assert base.model is not None, "the stored example validates as a document"
    parsed = []
    whole = strategy_edit.parse_document

    def counted(*args: Any, **kw: Any) -> Any:
        parsed.append(1)
        return whole(*args, **kw)

    monkeypatch.setattr(strategy_edit, "parse_document", counted)
    quick = 0
    for name, edit in _edits(before):
        expected = _result(before, edit, None)
        parsed.clear()
        got = _result(before, edit, base)
        assert got == expected, name
        if expected[0] == "organisation":
            quick += not parsed
    assert quick >= 9, "the sound edits take the short way"
    assert base.document == edit_base(store).document, "the kept document is never changed"


def _finding_keys(store: Store) -> set[tuple[str, str, str]]:
    return {
        (f.code, f.subject.id, f.message)
        for f in check(file=None, store=store, as_of=AS_OF).findings
    }


def test_the_findings_that_appear_or_go_are_those_of_a_whole_check(store: Store) -> None:
    org = stored_organization(store)
    kpi = next(k for k in org.kpis if len(k.supports) == 1 and k.target is not None)
    for edit in (
        _item(org, "kpi", kpi.id, supports=[], name="Alone"),
        _item(org, "kpi", kpi.id, supports=[{"objective": kpi.supports[0].objective}]),
        _item(org, "kpi", kpi.id, target=None),
    ):
        preview = strategy_edit.preview_edit(store, edit, actor="ed", as_of=AS_OF)
        before = _finding_keys(store)
        strategy_edit.save_edit(store, edit, actor="ed")
        after = _finding_keys(store)
        assert {(f.code, f.subject.id, f.message) for f in preview.appeared} == after - before
        assert {(f.code, f.subject.id, f.message) for f in preview.gone} == before - after
    assert preview.appeared or preview.gone, "the last edit changes the findings"


def test_after_a_save_the_kept_strategy_is_the_stored_one(store: Store, db_url: str) -> None:
    from lineofsight.services.apply import jsonable
    from lineofsight.spec import schema
    from lineofsight.spec.dump import organization_to_plain

    org = stored_organization(store)
    kpi = org.kpis[3]
    strategy_edit.save_edit(store, _item(org, "kpi", kpi.id, name="Saved name"), actor="ed")
    kept = edit_base(store)
    stored = stored_organization(store)
    assert kept.before == stored and any(k.name == "Saved name" for k in kept.before.kpis)
    assert kept.document == jsonable(organization_to_plain(stored))
    assert kept.model == schema.StrategyFile.model_validate(kept.document)
    # Another process's write (here another store object on the same database): the next
    # edit sees the store's revision moved and reads the strategy afresh.
    other = Store(db_url)
    try:
        objective = stored.objectives[0]
        strategy_edit.save_edit(
            other, _item(stored, "objective", objective.id, title="Apart"), actor="cli"
        )
    finally:
        other.close()
    fresh = edit_base(store)
    assert fresh is not kept and fresh.before == stored_organization(store)
    assert any(o.title == "Apart" for o in fresh.before.objectives)
