"""Actions and commentary through their services, on SQLite and PostgreSQL: what is stored,
what the audit log keeps, and bad input refused whole with every problem named by field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineofsight.domain.actions import Milestone
from lineofsight.errors import UsageError
from lineofsight.services import actions, audit, commentary
from lineofsight.services.apply import apply_file
from lineofsight.store.database import Store

STRATEGY = """\
version: 1
organization:
  name: Acme
  calendar: {fiscal_year_start: 4}
  units:
    - {id: acme, name: Acme, level: company}
  people:
    - {id: ceo, name: Casey CEO, unit: acme}
    - {id: ann, name: Ann Analyst, unit: acme}
objectives:
  - {id: grow, title: Grow revenue, level: strategic, unit: acme, owner: ceo}
kpis:
  - {id: revenue, name: Revenue, unit: acme, owner: ann, frequency: monthly,
     direction: increase, supports: [{objective: grow}]}
"""


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    (tmp_path / "strategy.yaml").write_text(STRATEGY, encoding="utf-8")
    opened = Store(db_url)
    apply_file(opened, tmp_path / "strategy.yaml")
    yield opened
    opened.close()


def test_an_action_is_created_listed_changed_and_audited(store: Store) -> None:
    made = actions.create_action(
        store,
        "ann",
        subject_type="kpi",
        subject_id="revenue",
        title="  Call the ten largest customers ",
        owner="ann",
        due=dt.date(2026, 5, 31),
        milestones=[Milestone("List them", dt.date(2026, 4, 15), False)],
        review_id=7,
    )
    assert (made.id, made.key, made.status, made.title) == (
        1,
        "action_1",
        "open",
        "Call the ten largest customers",
    )
    assert made.milestones == (Milestone("List them", dt.date(2026, 4, 15), False),)
    assert made.created_by == "ann" and made.created_at.tzinfo is not None
    other = actions.create_action(
        store, None, subject_type="objective", subject_id="grow", title="Open a second shop"
    )
    assert other.id == 2 and other.due is None and other.milestones == ()

    assert [a.id for a in actions.list_actions(store)] == [1, 2]  # dated first
    assert [a.id for a in actions.list_actions(store, subjects=[("kpi", "revenue")])] == [1]
    assert [a.id for a in actions.list_actions(store, owner="ann")] == [1]
    assert actions.list_actions(store, subjects=[]) == []

    changed = actions.update_action(
        store,
        "ceo",
        1,
        status="done",
        milestones=[Milestone("List them", dt.date(2026, 4, 15), True)],
    )
    assert changed.status == "done" and changed.milestones[0].done
    assert changed.updated_at >= made.updated_at
    assert actions.list_actions(store, status="open") == [actions.get_action(store, 2)]
    same = actions.update_action(store, "ceo", 1, status="done")
    assert same == changed  # nothing to change: nothing written

    log = audit.read_audit(store, subject="action:1")
    assert [e.action for e in log] == ["action.update", "action.create"]
    assert log[0].actor == "ceo"
    assert log[0].before == {
        "status": "open",
        "milestones": [{"title": "List them", "due": "2026-04-15", "done": False}],
    }
    assert log[0].after["status"] == "done"
    assert log[1].after["review"] == 7 and log[1].after["title"] == made.title


def test_bad_actions_list_every_problem_and_store_nothing(store: Store) -> None:
    with pytest.raises(UsageError) as caught:
        actions.create_action(
            store,
            "ann",
            subject_type="kpi",
            subject_id="nope",
            title=" ",
            owner="ghost",
            milestones=[Milestone("", None, False)],
            status="maybe",
        )
    fields = {(p.file, p.message) for p in caught.value.problems}
    assert fields == {
        ("subject_id", "unknown KPI 'nope'"),
        ("title", "is required"),
        ("owner", "unknown person 'ghost'"),
        ("status", "must be one of: open, done, dropped"),
        ("milestones[1].title", "is required"),
    }
    with pytest.raises(UsageError, match="subject_type: must be one of: kpi, objective"):
        actions.create_action(store, "ann", subject_type="unit", subject_id="acme", title="x")
    assert actions.list_actions(store) == []
    assert audit.read_audit(store) == []

    made = actions.create_action(
        store, "ann", subject_type="kpi", subject_id="revenue", title="Fix it"
    )
    with pytest.raises(UsageError, match="created_by: cannot be changed"):
        actions.update_action(store, "ann", made.id, created_by="me")
    with pytest.raises(UsageError, match="owner: unknown person 'ghost'"):
        actions.update_action(store, "ann", made.id, owner="ghost", title="Fixed")
    with pytest.raises(UsageError, match="action: no action 99"):
        actions.update_action(store, "ann", 99, title="x")
    assert actions.get_action(store, made.id) == made


def test_commentary_keeps_every_version_and_returns_the_latest(store: Store) -> None:
    first = commentary.write_comment(
        store,
        "ann",
        subject_type="kpi",
        subject_id="revenue",
        period="2026-03",
        analysis="Two large orders slipped.",
        recommendation="Chase them.",
    )
    assert (first.version, first.period, first.author) == (1, "2026-03", "ann")
    again = commentary.write_comment(
        store,
        "ann",
        subject_type="kpi",
        subject_id="revenue",
        period="2026-03",
        analysis=" Two large orders slipped. ",
        recommendation="Chase them.",
    )
    assert again == first  # the same text: no new version
    second = commentary.write_comment(
        store,
        "ceo",
        subject_type="kpi",
        subject_id="revenue",
        period="2026-03",
        analysis="Two large orders slipped to April.",
        recommendation="",
    )
    assert second.version == 2
    fiscal = commentary.write_comment(
        store,
        "ceo",
        subject_type="objective",
        subject_id="grow",
        period="fy2027-q1",
        analysis="On plan.",
        recommendation="Keep going.",
    )
    assert fiscal.period == "FY2027-Q1"  # the organisation's fiscal calendar, canonical label

    history = commentary.comment_history(store, "kpi", "revenue", "2026-03")
    assert [(c.version, c.author) for c in history] == [(2, "ceo"), (1, "ann")]
    subjects = [("kpi", "revenue"), ("objective", "grow")]
    latest = commentary.comments_for(store, subjects=subjects)
    assert [(c.subject_id, c.period, c.version) for c in latest] == [
        ("revenue", "2026-03", 2),
        ("grow", "FY2027-Q1", 1),
    ]
    assert commentary.comments_for(store, subjects=subjects, period="2026-03") == [second]
    assert commentary.comments_for(store, subjects=[("kpi", "revenue")], period="2026-04") == []
    log = audit.read_audit(store, subject="kpi:revenue")
    assert [e.action for e in log] == ["comment.write", "comment.write"]
    assert log[0].before["version"] == 1 and log[0].after["version"] == 2


def test_bad_commentary_is_refused_with_its_fields(store: Store) -> None:
    with pytest.raises(UsageError) as caught:
        commentary.write_comment(
            store,
            "ann",
            subject_type="kpi",
            subject_id="nope",
            period="2026-13",
            analysis="x" * 20_001,
            recommendation="",
        )
    fields = [p.file for p in caught.value.problems]
    assert fields == ["subject_id", "period", "analysis"]
    assert "month must be 01-12" in caught.value.problems[1].message
    with pytest.raises(UsageError, match="analysis: give an analysis or a recommendation"):
        commentary.write_comment(
            store,
            "ann",
            subject_type="kpi",
            subject_id="revenue",
            period="2026-03",
            analysis=" ",
            recommendation="",
        )
    assert commentary.comments_for(store, subjects=[("kpi", "revenue"), ("kpi", "nope")]) == []


def test_commentary_is_refused_for_a_period_no_page_shows_it_for(store: Store) -> None:
    """A KPI's page shows the commentary of the KPI's own period, once it has ended: a
    quarter of a monthly KPI, a month years ahead or next month would be
    stored and never shown."""
    ahead = (dt.date.today().replace(day=1) + dt.timedelta(days=32)).strftime("%Y-%m")
    cases = {
        "2026-Q1": "2026-Q1 is not a period of 'revenue', which is monthly: give a month such "
        "as 2026-03",
        "2031-05": "2031-05 has not ended yet (it ends on 2031-05-31): commentary explains the "
        "result of a period that has ended",
        ahead: f"{ahead} has not ended yet",
    }
    for period, reason in cases.items():
        with pytest.raises(UsageError) as caught:
            commentary.write_comment(
                store,
                "ann",
                subject_type="kpi",
                subject_id="revenue",
                period=period,
                analysis="A note.",
                recommendation="",
            )
        assert [p.file for p in caught.value.problems] == ["period"], period
        assert caught.value.problems[0].message.startswith(reason), caught.value.problems
    assert commentary.comments_for(store, subjects=[("kpi", "revenue")]) == []


def test_objective_commentary_is_refused_for_a_period_not_begun(store: Store) -> None:
    """An objective's page shows the commentary of the period chosen, the running month by
    default: any period of the calendar that has begun, the running one too; one that has
    not begun (a month years ahead, next month, next fiscal year) would be stored before
    there is anything to say of it."""
    today = dt.date.today()
    month = today.strftime("%Y-%m")
    ahead = (today.replace(day=1) + dt.timedelta(days=32)).strftime("%Y-%m")
    next_fiscal = f"FY{today.year + (2 if today.month >= 4 else 1)}"
    cases = {
        "2031-05": "2031-05 has not begun yet (it starts on 2031-05-01): commentary on an "
        f"objective is of a period that has begun, such as {month}",
        ahead: f"{ahead} has not begun yet",
        next_fiscal: f"{next_fiscal} has not begun yet",
    }
    for period, reason in cases.items():
        with pytest.raises(UsageError) as caught:
            commentary.write_comment(
                store,
                "ceo",
                subject_type="objective",
                subject_id="grow",
                period=period,
                analysis="A note.",
                recommendation="",
            )
        assert [p.file for p in caught.value.problems] == ["period"], period
        assert caught.value.problems[0].message.startswith(reason), caught.value.problems
    assert commentary.comments_for(store, subjects=[("objective", "grow")]) == []
    for period in (month, today.isoformat(), "2026-Q1", "1999"):
        written = commentary.write_comment(
            store,
            "ceo",
            subject_type="objective",
            subject_id="grow",
            period=period,
            analysis=f"Of {period}.",
            recommendation="",
        )
        assert written.period == period


def test_a_pages_panel_reads_the_actions_as_every_other_read(store: Store) -> None:
    """The actions of one KPI (its page's panel, read with plain SQL) are those of the
    other reads: by number, and among several subjects' (days, times and milestones alike)."""
    made = [
        actions.create_action(
            store,
            "ann",
            subject_type="kpi",
            subject_id="revenue",
            title=title,
            owner=owner,
            due=due,
            milestones=steps,
        )
        for title, owner, due, steps in (
            (
                "Call them",
                "ann",
                dt.date(2026, 5, 31),
                [Milestone("List", dt.date(2026, 4, 1), True)],
            ),
            ("Price list", None, None, []),
        )
    ]
    actions.create_action(store, "ceo", subject_type="objective", subject_id="grow", title="Hire")
    alone = actions.list_actions(store, subjects=[("kpi", "revenue")])
    assert [a.id for a in alone] == [m.id for m in made]
    assert alone == [actions.get_action(store, m.id) for m in made]
    both = actions.list_actions(store, subjects=[("kpi", "revenue"), ("objective", "grow")])
    assert [a for a in both if a.subject_type == "kpi"] == alone
    assert alone[0].due == dt.date(2026, 5, 31) and alone[0].created_at.tzinfo is not None
    assert alone[0].milestones == (Milestone("List", dt.date(2026, 4, 1), True),)
