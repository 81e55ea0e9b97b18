"""The Alembic migrations create exactly the tables the code uses, on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from lineofsight.store.database import SCHEMA_REVISION, Store
from lineofsight.store.dialects import on_database
from lineofsight.store.tables import metadata


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A store with no schema at all: every test here runs the migrations itself (from none,
    or from an older schema), not the copy of a migrated store the other tests get."""
    return empty_db_url


def test_migrated_schema_matches_tables(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            # What the model has on PostgreSQL only (its foreign keys) is compared there alone.
            context = MigrationContext.configure(
                conn, opts={"include_object": on_database(store.dialect)}
            )
            assert context.get_current_revision() == SCHEMA_REVISION
            assert compare_metadata(context, metadata) == []
            assert set(inspect(conn).get_table_names()) >= set(metadata.tables)
    finally:
        store.close()


def test_opening_twice_does_not_migrate_again(db_url: str) -> None:
    Store(db_url).close()
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == SCHEMA_REVISION
    finally:
        store.close()


def test_schema_revision_constant_is_alembic_head() -> None:
    from alembic.script import ScriptDirectory

    from lineofsight.store.database import SCHEMA_REVISION, _alembic_config

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head == SCHEMA_REVISION


def _at(store: Store, revision: str, *, down: bool = False) -> None:
    from alembic import command

    from lineofsight.store.database import _alembic_config

    cfg = _alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


_COLUMNS = ["id", "kpi", "unit", "period", "grain", "start", "end", "value", "revision", "at"]
_OLD_ROWS = [
    (1, "dio", "ti", "2026-01", 2, "2026-01-01", "2026-01-31", 45.0, 2, "2026-02-03 10:00:00"),
    (2, "dio", "ti", "2026-02", 2, "2026-02-01", "2026-02-28", 46.0, 1, "2026-02-03 10:00:00"),
    (3, "dpo", "ti", "2026-Q1", 3, "2026-01-01", "2026-03-31", 30.0, 1, "2026-04-02 09:00:00"),
]
_SOURCES = ["a.csv", "a.csv", None]


def _dates(store: Store, row: tuple[object, ...]) -> dict[str, object]:
    """PostgreSQL takes dates as dates; SQLite keeps them as the text it was given."""
    if store.dialect != "postgresql":
        return {}
    return {"start": dt.date.fromisoformat(str(row[5])), "end": dt.date.fromisoformat(str(row[6]))}


def test_measurements_and_revisions_survive_the_move_to_keys_by_period(db_url: str) -> None:
    from sqlalchemy import text

    from lineofsight.store.measurements import read_measurements, read_revisions

    store = Store(db_url, migrate=False)
    try:
        _at(store, "0004")
        with store.engine.begin() as conn:
            for row, source in zip(_OLD_ROWS, _SOURCES, strict=True):
                conn.execute(
                    text(
                        "INSERT INTO measurements (id, kpi_id, unit_id, period, grain, "
                        "period_start, period_end, value, revision, recorded_at, source) VALUES "
                        "(:id, :kpi, :unit, :period, :grain, :start, :end, :value, :revision, "
                        ":at, :source)"
                    ),
                    dict(zip(_COLUMNS, row, strict=True), source=source) | _dates(store, row),
                )
            conn.execute(
                text(
                    "INSERT INTO measurement_revisions (id, measurement_id, revision, value, "
                    "recorded_at, source, replaced_at) VALUES (7, 1, 1, 44.0, "
                    "'2026-02-01 08:00:00', 'first.csv', '2026-02-03 10:00:00')"
                )
            )
        store.migrate()
        with store.reading() as conn:
            rows = read_measurements(conn)
            revisions = read_revisions(conn, "dio", "ti", "2026-01")
            loads = conn.execute(text("SELECT id, source FROM loads ORDER BY id")).all()
        assert [
            (r["kpi_id"], r["period"], r["period_end"], r["value"], r["revision"], r["source"])
            for r in rows
        ] == [
            ("dio", "2026-01", dt.date(2026, 1, 31), 45.0, 2, "a.csv"),
            ("dio", "2026-02", dt.date(2026, 2, 28), 46.0, 1, "a.csv"),
            ("dpo", "2026-Q1", dt.date(2026, 3, 31), 30.0, 1, None),
        ]
        assert rows[0]["recorded_at"].replace(tzinfo=None) == dt.datetime(2026, 2, 3, 10)
        assert [(r["revision"], r["value"], r["source"]) for r in revisions] == [
            (1, 44.0, "first.csv")
        ]
        assert [source for _, source in loads] == ["a.csv", None]  # one per write, oldest first
        # The old layout comes back on the way down, ids and revisions joined up again.
        _at(store, "0004", down=True)
        with store.reading() as conn:
            back = conn.execute(
                text("SELECT kpi_id, period, value, source FROM measurements ORDER BY id")
            ).all()
            joined = conn.execute(
                text(
                    "SELECT m.period, r.value FROM measurement_revisions r "
                    "JOIN measurements m ON m.id = r.measurement_id"
                )
            ).all()
        assert [tuple(r) for r in back] == [
            ("dio", "2026-01", 45.0, "a.csv"),
            ("dio", "2026-02", 46.0, "a.csv"),
            ("dpo", "2026-Q1", 30.0, None),
        ]
        assert [tuple(r) for r in joined] == [("2026-01", 44.0)]
    finally:
        store.close()


def test_accounts_survive_the_move_to_ids_never_reused(db_url: str) -> None:
    from sqlalchemy import text

    store = Store(db_url, migrate=False)
    at = "2026-01-05 10:00:00"
    try:
        _at(store, "0005")
        with store.engine.begin() as conn:
            for uid, name in ((1, "ada"), (2, "bo")):
                conn.execute(
                    text(
                        "INSERT INTO users (id, username, name, password_hash, created_at) "
                        "VALUES (:id, :name, :display, 'hash', :at)"
                    ),
                    {"id": uid, "name": name, "display": name, "at": at},
                )
                conn.execute(
                    text(
                        "INSERT INTO user_grants (user_id, position, role, unit_id) "
                        "VALUES (:id, 0, 'viewer', NULL), (:id, 1, 'editor', 'sales')"
                    ),
                    {"id": uid},
                )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, user_id, token_hash, label, created_at) "
                    "VALUES (5, 2, :hash, 'ci', :at)"
                ),
                {"hash": "f" * 64, "at": at},
            )
            if store.dialect == "postgresql":
                for table in ("users", "api_tokens"):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT MAX(id) FROM {table}))"
                        )
                    )
        store.migrate()

        def accounts_rows() -> list[Any]:
            with store.reading() as conn:
                return [
                    conn.execute(text(sql)).all()
                    for sql in (
                        "SELECT id, username FROM users ORDER BY id",
                        "SELECT user_id, position, role, unit_id FROM user_grants "
                        "ORDER BY user_id, position",
                        "SELECT id, user_id, label FROM api_tokens ORDER BY id",
                    )
                ]

        kept = accounts_rows()
        assert [list(map(tuple, rows)) for rows in kept] == [
            [(1, "ada"), (2, "bo")],
            [(1, 0, "viewer", None), (1, 1, "editor", "sales"),
             (2, 0, "viewer", None), (2, 1, "editor", "sales")],
            [(5, 2, "ci")],
        ]  # fmt: skip
        # The newest user and token go; the next ones take new ids, not theirs.
        from lineofsight.services import accounts

        accounts.remove_user(store, "bo", actor="tests")
        accounts.add_user(store, "cy", "a long password", [accounts.Grant("viewer")], actor="tests")
        accounts.create_token(store, "cy", actor="tests")
        new_ids = accounts_rows()
        assert new_ids[0][-1][0] == 3 and new_ids[2][-1][0] == 6
        _at(store, "0005", down=True)
        with store.reading() as conn:
            names = set(inspect(conn).get_table_names())
        assert "web_sessions" not in names and "login_failures" not in names
        assert accounts_rows() == new_ids
    finally:
        store.close()


def test_the_store_revision_never_comes_back_after_a_move_down_and_up(db_url: str) -> None:
    # A reader (the web app's caches) holding a revision must never meet it again for other
    # data: the activity counter is carried over a move down and up, not started again at 0.
    from lineofsight.store.organization import bump_activity, read_revision

    store = Store(db_url)
    try:

        def bumped() -> tuple[int, ...]:
            with store.transaction() as conn:
                bump_activity(conn)
            with store.reading() as conn:
                return read_revision(conn)

        seen = [bumped() for _ in range(3)]
        _at(store, "0019", down=True)
        _at(store, SCHEMA_REVISION)
        again = [bumped() for _ in range(4)]
        assert not set(again) & set(seen)
        assert again[0][-1] > seen[-1][-1]
    finally:
        store.close()


def test_a_store_whose_file_a_web_change_replaced_names_the_file_last_applied_again(
    db_url: str, tmp_path: Any
) -> None:
    from sqlalchemy import text

    from lineofsight.services.apply import apply_file
    from lineofsight.services.export import stored_organization
    from lineofsight.services.strategy_edit import Edit, item_plain, save_edit

    file = tmp_path / "strategy.yaml"
    file.write_text(
        "version: 1\norganization:\n  name: Co\n"
        "  units:\n    - {id: co, name: Co, level: company}\n"
        "kpis:\n  - {id: rev, name: Revenue, unit: co, frequency: monthly, direction: increase}\n",
        encoding="utf-8",
    )
    store = Store(db_url)
    try:
        apply_file(store, file)
        item = item_plain(stored_organization(store), "kpi", "rev")
        assert item is not None
        save_edit(store, Edit("kpi", "rev", {**item, "name": "Sales"}), actor="ed")
        _at(store, "0024", down=True)
        with store.engine.begin() as conn:
            # What a change approved in the web app wrote before revision 0025.
            conn.execute(text("UPDATE organization SET source_file = 'the web app (ed)'"))
            applied = conn.execute(
                text("SELECT max(id) FROM definition_changes WHERE source = :f"),
                {"f": str(file.resolve())},
            ).scalar()
        _at(store, SCHEMA_REVISION)
        with store.engine.begin() as conn:
            row = conn.execute(
                text("SELECT source_file, source_digest, applied_change FROM organization")
            ).one()
        assert tuple(row) == (str(file.resolve()), None, applied)
    finally:
        store.close()


def test_actions_entered_before_are_given_when_entered_by_their_user_s_person(
    db_url: str,
) -> None:
    from sqlalchemy import text

    from lineofsight.services.actions import list_actions

    store = Store(db_url, migrate=False)
    at = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    try:
        _at(store, "0026")
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, name, person_id, password_hash, created_at)"
                    " VALUES (1, 'claire', 'Claire', 'cs_head', 'hash', :at)"
                ),
                {"at": at},
            )
            for number, owner, declared, by in (
                (1, "agent", False, "claire"),  # given by claire, the person cs_head
                (2, "agent", False, "root"),  # by a user linked to no person
                (3, "agent", True, "root"),  # declared by the strategy file: given by nobody
                (4, None, False, "claire"),  # no owner: given to nobody
            ):
                conn.execute(
                    text(
                        "INSERT INTO actions (id, key, subject_type, subject_id, title, owner,"
                        " status, declared, created_by, created_at, updated_at) VALUES (:id,"
                        " :key, 'kpi', 'nps', 'Call', :owner, 'open', :declared, :by, :at, :at)"
                    ),
                    {
                        "id": number,
                        "key": f"action_{number}",
                        "owner": owner,
                        "declared": declared,
                        "by": by,
                        "at": at,
                    },
                )
        store.migrate()
        found = sorted(list_actions(store), key=lambda a: a.id)
        assert [(a.given_at, a.given_by, a.given_by_person) for a in found] == [
            (at, "claire", "cs_head"),
            (at, "root", None),
            (None, None, None),
            (None, None, None),
        ]
    finally:
        store.close()
