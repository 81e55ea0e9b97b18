"""The attention list's items about actions: a red KPI with no open action, an open action
past its due date; and AC01/AC02 findings not said twice."""

from __future__ import annotations

import datetime as dt

from lineofsight.services import actions
from lineofsight.services.attention import attention_for
from lineofsight.store.database import Store
from tests.services.test_attention_rules import AS_OF, store  # noqa: F401 (the fixture)


def _kinds(items: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(i.kind, i.item_id) for i in items}


def test_red_without_action_and_overdue_actions(store: Store) -> None:  # noqa: F811
    before = _kinds(attention_for(store, as_of=AS_OF))
    assert {("no_action", "red_now"), ("no_action", "red_long")} <= before
    # An open action takes a red KPI off the no_action list; a done one does not.
    actions.create_action(
        store, "t", subject_type="kpi", subject_id="red_now", title="Fix it", owner="otto"
    )
    done = actions.create_action(
        store, "t", subject_type="kpi", subject_id="red_long", title="Tried", status="done"
    )
    late = actions.create_action(
        store,
        "t",
        subject_type="objective",
        subject_id="near",
        title="Sign the supplier",
        due=AS_OF - dt.timedelta(days=3),
    )
    actions.create_action(
        store,
        "t",
        subject_type="kpi",
        subject_id="flat",
        title="Not yet",
        owner="otto",
        due=AS_OF,
    )
    items = attention_for(store, as_of=AS_OF)
    kinds = _kinds(items)
    assert ("no_action", "red_now") not in kinds and ("no_action", "red_long") in kinds
    assert ("action_overdue", str(late.id)) in kinds and len(
        [k for k in kinds if k[0] == "action_overdue"]
    ) == 1
    item = next(i for i in items if i.kind == "action_overdue")
    assert item.item_type == "action" and item.name == "Sign the supplier"
    assert item.due == AS_OF - dt.timedelta(days=3)
    assert item.reason.endswith("was due 2026-04-17 (3 days ago) and is still open")
    assert item.link == "/objectives/near?period=2026-04#actions"
    assert item.owner == "boss"  # the objective's owner answers for an action without one
    # AC01/AC02 are not repeated as findings beside these items.
    assert not [i for i in items if i.kind == "finding" and (i.code or "").startswith("AC")]
    assert not [i for i in items if i.kind == "finding" and "AC0" in i.reason]
    actions.update_action(store, "t", done.id, status="open")
    assert ("no_action", "red_long") not in _kinds(attention_for(store, as_of=AS_OF))


def test_an_overdue_action_is_on_its_owners_list(store: Store) -> None:  # noqa: F811
    def late(owner: str) -> tuple[str, str]:
        made = actions.create_action(
            store,
            "t",
            subject_type="objective",
            subject_id="far",
            title=f"Write the plan ({owner})",
            owner=owner,
            due=AS_OF - dt.timedelta(days=1),
        )
        return ("action_overdue", str(made.id))

    ottos, tesss = late("otto"), late("tess")
    otto = _kinds(attention_for(store, person="otto", as_of=AS_OF))
    assert ottos in otto and tesss not in otto
    # Tess leads Otto's team, the boss the top unit: they see what their people owe.
    assert {ottos, tesss} <= _kinds(attention_for(store, person="tess", as_of=AS_OF))
    assert {ottos, tesss} <= _kinds(attention_for(store, person="boss", as_of=AS_OF))


def test_a_milestone_past_its_date_makes_its_action_late_on_the_owners_list(
    store: Store,  # noqa: F811
) -> None:
    from lineofsight.domain.actions import Milestone

    steps = (
        Milestone("Draft the roster", AS_OF - dt.timedelta(days=5), True),
        Milestone("Roster", AS_OF - dt.timedelta(days=5), False),
        Milestone("Hire", AS_OF - dt.timedelta(days=1), False),
        Milestone("Train", AS_OF, False),
    )
    made = actions.create_action(
        store,
        "t",
        subject_type="objective",
        subject_id="far",
        title="Add weekend shift",
        owner="otto",
        due=AS_OF + dt.timedelta(days=30),
        milestones=steps,
    )
    key = ("action_overdue", str(made.id))
    items = attention_for(store, person="otto", as_of=AS_OF)
    assert key in _kinds(items)
    item = next(i for i in items if (i.kind, i.item_id) == key)
    assert item.due == AS_OF - dt.timedelta(days=5)
    assert item.reason == (
        "milestone 'Roster' (and 1 more) of the action on objective 'Grow' was due "
        "2026-04-15 (5 days ago) and is not done"
    )
    assert key not in _kinds(attention_for(store, person="tess", as_of=AS_OF - dt.timedelta(5)))
    # Its milestones done, the action is on time again; a dropped action is no one's concern.
    done = tuple(Milestone(s.title, s.due, True) for s in steps)
    actions.update_action(store, "t", made.id, milestones=done)
    assert key not in _kinds(attention_for(store, person="otto", as_of=AS_OF))
    actions.update_action(store, "t", made.id, milestones=steps, status="dropped")
    assert key not in _kinds(attention_for(store, person="otto", as_of=AS_OF))


def test_ac02_names_an_action_made_in_the_app_by_its_title_not_its_stored_key(
    store: Store,  # noqa: F811
) -> None:
    from lineofsight.services.check import check

    late = actions.create_action(
        store,
        "t",
        subject_type="objective",
        subject_id="near",
        title="Sign the supplier",
        due=AS_OF - dt.timedelta(days=3),
    )
    report = check(file=None, store=store, as_of=AS_OF, select_codes=["AC02"])
    [finding] = [f for f in report.findings if f.code == "AC02"]
    assert finding.message == (
        "action 'Sign the supplier' on objective 'near' was due 2026-04-17 and is still open"
    )
    assert late.key not in finding.message


def test_a_late_action_on_a_kpi_links_its_period_and_names_its_earliest_late_date(
    store: Store,  # noqa: F811
) -> None:
    from lineofsight.domain.actions import Milestone

    # Due two days ago, and its milestone ten days ago: the milestone is the earlier.
    made = actions.create_action(
        store,
        "t",
        subject_type="kpi",
        subject_id="red_now",
        title="Hire an agent",
        owner="otto",
        due=AS_OF - dt.timedelta(days=2),
        milestones=(Milestone("Interview", AS_OF - dt.timedelta(days=10), False),),
    )
    items = attention_for(store, person="otto", as_of=AS_OF)
    item = next(i for i in items if (i.kind, i.item_id) == ("action_overdue", str(made.id)))
    assert item.due == AS_OF - dt.timedelta(days=10)
    assert item.reason == (
        "milestone 'Interview' of the action on KPI 'Red now' was due 2026-04-10 (10 days ago) "
        "and is not done; the action itself was due 2026-04-18"
    )
    # The KPI's own period, as its other items link it, not the as-of month (not ended).
    red = next(i for i in items if i.item_type == "kpi" and i.item_id == "red_now")
    assert red.link.startswith("/kpis/red_now?period=2026-03")
    assert item.link == "/kpis/red_now?period=2026-03#actions"
