"""The store's revision (`organization.read_revision`), which keys every cache of the web app
and the kept scorecards: it changes with every write a page shows (values, definitions,
actions, commentary, reviews), and on PostgreSQL it never claims a write whose predecessors a
reader misses, with writers running at the same time."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lineofsight.services import actions
from lineofsight.services.apply import apply_file
from lineofsight.services.checkin import record_measurement
from lineofsight.services.commentary import add_comment, write_comment
from lineofsight.services.measurements import load_file
from lineofsight.services.reviews import record_review
from lineofsight.services.scorecards import ScorecardCache, store_revision
from lineofsight.store.database import Store
from lineofsight.store.organization import definitions_revision, values_revision
from tests.services.test_attention_rules import STRATEGY, VALUES

# A bound on every wait of the threads below: never reached when the store behaves.
WAIT = 60.0


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


def test_every_write_a_page_shows_changes_the_revision(store: Store) -> None:
    seen = [store_revision(store)]

    def changed() -> None:
        now = store_revision(store)
        assert now != seen[-1]
        # Actions, commentary and reviews are not what a scorecard reads.
        assert values_revision(now) == values_revision(seen[-1])
        assert definitions_revision(now) == definitions_revision(seen[-1])
        seen.append(now)

    made = actions.create_action(
        store, "t", subject_type="kpi", subject_id="red_now", title="Fix it", owner="otto"
    )
    changed()
    actions.update_action(store, "t", made.id, status="done")
    changed()
    write_comment(
        store,
        "t",
        subject_type="kpi",
        subject_id="red_now",
        period="2026-03",
        analysis="Fell by half",
        recommendation="Call the customers",
    )
    changed()
    record_review(store, "t", unit="team", period="2026-03", held_on="2026-04-10")
    changed()
    with store.transaction() as conn:
        gone = actions.get_action(store, made.id)
        assert gone is not None
        actions.remove_action(conn, "t", gone)
    changed()
    # A value is what a scorecard reads: its part of the revision moves.
    record_measurement(store, kpi_id="late", unit_id=None, period="2026-03", value=5, actor="t")
    assert values_revision(store_revision(store)) != values_revision(seen[-1])


def test_findings_kept_by_the_web_app_follow_a_new_action(store: Store) -> None:
    # AC01 (red for two periods without an open action) looks at the actions: the findings
    # the web app keeps per revision are made again after an action is created.
    cache = ScorecardCache(store)
    day = dt.date(2026, 4, 20)

    def red_without_action() -> set[str]:
        return {f.subject.id for f in cache.findings(day).findings if f.code == "AC01"}

    assert "red_long" in red_without_action()
    actions.create_action(
        store, "t", subject_type="kpi", subject_id="red_long", title="Fix it", owner="otto"
    )
    assert "red_long" not in red_without_action()


def _waiting_for_the_write_lock(url: str) -> bool:
    """Whether a transaction of the store's database waits for an advisory lock."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
    return bool(found and found[0])


def test_concurrent_writers_on_postgresql_commit_in_revision_order(
    store: Store, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("two writers at once: PostgreSQL (SQLite has one writer by design)")
    before = store_revision(store)
    wrote = threading.Event()
    commit = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        # A comment, held open (uncommitted) until told to commit.
        try:
            with store.transaction() as conn:
                add_comment(
                    conn,
                    "t",
                    subject_type="kpi",
                    subject_id="red_now",
                    period="2026-03",
                    analysis="Fell by half",
                    recommendation="Call the customers",
                )
                wrote.set()
                assert commit.wait(WAIT)
        except BaseException as exc:
            errors.append(exc)
            wrote.set()

    def second() -> None:
        # A value checked in while the first write is open.
        try:
            record_measurement(
                store, kpi_id="late", unit_id=None, period="2026-03", value=5, actor="t"
            )
        except BaseException as exc:
            errors.append(exc)

    one = threading.Thread(target=first)
    one.start()
    assert wrote.wait(WAIT)
    # The first write is not committed: a reader sees the store as it was.
    assert store_revision(store) == before
    two = threading.Thread(target=second)
    two.start()
    # The second write queues behind the first for the store's write lock: its load id is
    # handed out after the first has committed, so ids follow the order of the commits.
    for _ in range(int(WAIT * 20)):
        if _waiting_for_the_write_lock(store.url) or not two.is_alive():
            break
        threading.Event().wait(0.05)
    assert two.is_alive() and _waiting_for_the_write_lock(store.url)
    assert store_revision(store) == before
    commit.set()
    one.join(WAIT)
    two.join(WAIT)
    assert not errors, errors
    after = store_revision(store)
    # Both writes are in the revision: the comment (nothing a scorecard reads) and the value.
    assert after != before
    assert after[len(values_revision(after)) :] != before[len(values_revision(before)) :]
    assert values_revision(after) != values_revision(before)


def test_an_apply_that_only_moves_lines_changes_the_revision(store: Store, tmp_path: Path) -> None:
    # The findings name the file's lines: an apply that only moves items down the file (in
    # the same order) adds no definition change, but the findings the web app keeps must show
    # the new lines.
    cache = ScorecardCache(store)
    day = dt.date(2026, 4, 20)

    def loose_line() -> int:
        found = [f for f in cache.findings(day).findings if f.subject.id == "loose"]
        assert found
        location = found[0].location
        assert location is not None
        return location.line

    before, line = store_revision(store), loose_line()
    (tmp_path / "s.yaml").write_text(STRATEGY.replace("kpis:\n", "kpis:\n  # measured\n\n"))
    assert apply_file(store, tmp_path / "s.yaml").plan.empty
    assert values_revision(store_revision(store)) == values_revision(before)
    assert store_revision(store) != before
    assert loose_line() == line + 2
