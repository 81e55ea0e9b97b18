"""A person given an action in the app or the API is told so, once, by email (a real SMTP
server): the action is on their attention list for its first days, and the outbox sends its
key once. Nobody else gets a copy, and an action entered long ago or written in the strategy
file by its people is not news. An action passed on to another person is news to them, once
each time, and no longer to the one before; nobody is told of an action they gave
themselves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from lineofsight.services import notify
from lineofsight.services.actions import create_action, update_action
from lineofsight.services.attention import inbox
from lineofsight.store.action_tables import actions as actions_table
from lineofsight.store.database import Store
from lineofsight.store.notification_tables import notification_outbox
from tests.notify_org import SECRET, build
from tests.notify_servers import SmtpSink

SUBJECT = "[Line of Sight] A new action is yours: "


@pytest.fixture
def store(db_url: str, workdir: Path, smtp: SmtpSink) -> Iterator[Store]:
    opened = build(db_url, workdir, smtp.port)
    yield opened
    opened.close()


def _news(smtp: SmtpSink) -> list[tuple[list[str], str]]:
    return [
        (r.recipients, str(r.message["Subject"]))
        for r in smtp.messages
        if str(r.message["Subject"]).startswith(SUBJECT)
    ]


def test_a_new_action_is_told_to_its_owner_once(store: Store, smtp: SmtpSink) -> None:
    due = dt.date(2027, 1, 31)
    given = create_action(
        store,
        "claire",
        subject_type="kpi",
        subject_id="nps",
        title="Call back every detractor",
        owner="agent",
        due=due,
    )
    old = create_action(
        store, "claire", subject_type="kpi", subject_id="csat", title="Old plan", owner="agent"
    )
    entered = given.created_at.astimezone(dt.UTC)
    with store.transaction() as conn:  # entered eight days before the first one
        conn.execute(
            update(actions_table)
            .where(actions_table.c.id == old.id)
            .values(
                created_at=entered - dt.timedelta(days=8), given_at=entered - dt.timedelta(days=8)
            )
        )
    day = entered.date()
    listed = inbox(store, person="agent", as_of=day)
    new = [i for i in listed.items if i.kind == "action_new"]
    assert [i.name for i in new] == ["Call back every detractor"]
    assert new[0].reason == (
        "new action on KPI 'Net Promoter Score', given to them by Claire Dubois"
        f" on {day}, due {due}"
    )
    # The unit's lead sees it on her list (she leads the unit) but is not emailed about it.
    assert any(i.kind == "action_new" for i in inbox(store, person="cs_head", as_of=day).items)

    notify.send_due(store, entered + dt.timedelta(hours=1), secret=SECRET, as_of=day)
    assert _news(smtp) == [(["sam@example.com"], SUBJECT + "Call back every detractor")]
    told = next(r for r in smtp.messages if str(r.message["Subject"]).startswith(SUBJECT))
    assert "given to them by Claire Dubois" in told.text and "Open it: " in told.text
    assert "You receive this as the item's owner." in told.text
    assert "no value" not in told.text  # an action is a task, not a measure

    # The next days it is still on the list, and never told again.
    for later in (1, 3, 6):
        moment = entered + dt.timedelta(days=later)
        notify.send_due(store, moment, secret=SECRET, as_of=moment.date())
    assert len(_news(smtp)) == 1
    # After its first week it is no longer new.
    week_on = (entered + dt.timedelta(days=7)).date()
    assert not [
        i for i in inbox(store, person="agent", as_of=week_on).items if i.kind == "action_new"
    ]


def _new_items(store: Store, person: str, day: dt.date) -> list[str]:
    return [i.name for i in inbox(store, person=person, as_of=day).items if i.kind == "action_new"]


def test_an_action_given_to_oneself_is_not_news(store: Store, smtp: SmtpSink) -> None:
    # sam is the person agent: an action he takes on himself, in the app or the API.
    mine = create_action(
        store, "sam", subject_type="kpi", subject_id="nps", title="My own plan", owner="agent"
    )
    # claire (cs_head) gives one to agent, and one to herself.
    create_action(
        store, "claire", subject_type="kpi", subject_id="csat", title="Yours", owner="agent"
    )
    create_action(
        store, "claire", subject_type="kpi", subject_id="csat", title="Mine", owner="cs_head"
    )
    entered = mine.created_at.astimezone(dt.UTC)
    day = entered.date()
    assert _new_items(store, "agent", day) == ["Yours"]
    assert "Mine" not in _new_items(store, "cs_head", day)
    notify.send_due(store, entered + dt.timedelta(hours=1), secret=SECRET, as_of=day)
    assert _news(smtp) == [(["sam@example.com"], SUBJECT + "Yours")]


def test_an_action_passed_on_is_news_to_its_new_owner_only(store: Store, smtp: SmtpSink) -> None:
    action = create_action(
        store, "claire", subject_type="kpi", subject_id="nps", title="Call back", owner="agent"
    )
    entered = action.created_at.astimezone(dt.UTC)
    day = entered.date()
    # The first sending fails (the mail server asks to try again later): agent's news waits.
    smtp.refuse = 1000
    notify.send_due(store, entered + dt.timedelta(minutes=1), secret=SECRET, as_of=day)
    assert smtp.messages == []
    smtp.refuse = 0

    # claire passes the action on to cfo (Omar Haddad): his news; agent's is withdrawn.
    passed = update_action(store, "claire", action.id, owner="cfo")
    assert passed.given_by_person == "cs_head"
    assert _new_items(store, "agent", day) == []
    assert _new_items(store, "cfo", day) == ["Call back"]
    with store.reading() as conn:
        rows = conn.execute(
            notification_outbox.select().where(notification_outbox.c.kind == "action_new")
        ).all()
    assert [(r.recipient, r.state) for r in rows] == [("agent", "withdrawn")]

    later = entered + dt.timedelta(hours=3)  # past the failed sends' first retry
    notify.send_due(store, later, secret=SECRET, as_of=day)
    assert _news(smtp) == [(["omar@example.com"], SUBJECT + "Call back")]
    told = next(r for r in smtp.messages if str(r.message["Subject"]).startswith(SUBJECT))
    assert "given to them by Claire Dubois" in told.text

    # Given back to agent: news to him again, once; claire taking it on herself is not news.
    update_action(store, "admin", action.id, owner="agent")
    assert _new_items(store, "agent", day) == ["Call back"]
    notify.send_due(store, later + dt.timedelta(minutes=1), secret=SECRET, as_of=day)
    notify.send_due(store, later + dt.timedelta(minutes=2), secret=SECRET, as_of=day)
    assert _news(smtp)[1:] == [(["sam@example.com"], SUBJECT + "Call back")]
    update_action(store, "claire", action.id, owner="cs_head")
    assert _new_items(store, "cs_head", day) == []
    notify.send_due(store, later + dt.timedelta(minutes=3), secret=SECRET, as_of=day)
    assert len(_news(smtp)) == 2


def test_an_old_action_passed_on_is_news_to_its_new_owner(store: Store, smtp: SmtpSink) -> None:
    action = create_action(
        store, "claire", subject_type="kpi", subject_id="nps", title="Old plan", owner="agent"
    )
    now = action.created_at.astimezone(dt.UTC)
    month_ago = now - dt.timedelta(days=30)
    with store.transaction() as conn:  # entered a month ago: no longer news to agent
        conn.execute(
            update(actions_table)
            .where(actions_table.c.id == action.id)
            .values(created_at=month_ago, given_at=month_ago)
        )
    assert _new_items(store, "agent", now.date()) == []
    update_action(store, "admin", action.id, owner="cfo")
    assert _new_items(store, "cfo", now.date()) == ["Old plan"]
    notify.send_due(store, now + dt.timedelta(minutes=1), secret=SECRET, as_of=now.date())
    assert _news(smtp) == [(["omar@example.com"], SUBJECT + "Old plan")]
    told = next(r for r in smtp.messages if str(r.message["Subject"]).startswith(SUBJECT))
    assert f"given to them by Avery Chen on {now.date()}" in told.text
