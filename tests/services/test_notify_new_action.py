"""A person given an action in the app or the API is told so, once, by email (a real SMTP
server): the action is on their attention list for its first days, and the outbox sends its
key once. Nobody else gets a copy, and an action entered long ago or written in the strategy
file by its people is not news."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from lineofsight.services import notify
from lineofsight.services.actions import create_action
from lineofsight.services.attention import inbox
from lineofsight.store.action_tables import actions as actions_table
from lineofsight.store.database import Store
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
            .values(created_at=entered - dt.timedelta(days=8))
        )
    day = entered.date()
    listed = inbox(store, person="agent", as_of=day)
    new = [i for i in listed.items if i.kind == "action_new"]
    assert [i.name for i in new] == ["Call back every detractor"]
    assert new[0].reason == (
        f"new action on KPI 'Net Promoter Score', given to them by claire on {day}, due {due}"
    )
    # The unit's lead sees it on her list (she leads the unit) but is not emailed about it.
    assert any(i.kind == "action_new" for i in inbox(store, person="cs_head", as_of=day).items)

    notify.send_due(store, entered + dt.timedelta(hours=1), secret=SECRET, as_of=day)
    assert _news(smtp) == [(["sam@example.com"], SUBJECT + "Call back every detractor")]
    told = next(r for r in smtp.messages if str(r.message["Subject"]).startswith(SUBJECT))
    assert "given to them by claire" in told.text and "Open it: " in told.text
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
