"""The PostgreSQL schema a BI tool reads: foreign keys between the definitions, `jsonb`
documents, a comment on every table and column; and an apply that rewrites or removes items
still works under the keys (on SQLite too, which has none)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from lineofsight.store.database import Store
from lineofsight.store.tables import metadata
from tests.conftest import Los
from tests.store.test_migrations import _at

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

FOREIGN_KEYS = {
    ("units", "parent_id", "units"),
    ("units", "lead_id", "people"),
    ("people", "unit_id", "units"),
    ("objectives", "unit_id", "units"),
    ("objectives", "parent_id", "objectives"),
    ("kpis", "unit_id", "units"),
    ("kpi_supports", "objective_id", "objectives"),
    ("kpi_contributions", "to_kpi_id", "kpis"),
    ("kpi_influences", "to_kpi_id", "kpis"),
    ("kpi_unit_targets", "unit_id", "units"),
    # These were there before, on both databases.
    ("kpi_supports", "kpi_id", "kpis"),
    ("kpi_contributions", "kpi_id", "kpis"),
    ("kpi_influences", "kpi_id", "kpis"),
    ("kpi_unit_targets", "kpi_id", "kpis"),
    ("kpi_period_targets", "kpi_id", "kpis"),
    ("measurements", "load_id", "loads"),
    ("user_grants", "user_id", "users"),
    ("api_tokens", "user_id", "users"),
    ("web_sessions", "user_id", "users"),
}
JSONB = {
    ("organization", "strategy"),
    ("organization", "scoring"),
    ("units", "lint"),
    ("people", "lint"),
    ("objectives", "lint"),
    ("kpis", "lint"),
    ("definition_changes", "before"),
    ("definition_changes", "after"),
}


def _foreign_keys(store: Store) -> set[tuple[str, str, str]]:
    with store.reading() as conn:
        inspector = inspect(conn)
        return {
            (table, fk["constrained_columns"][0], fk["referred_table"])
            for table in inspector.get_table_names()
            for fk in inspector.get_foreign_keys(table)
        }


def _json_types(store: Store) -> dict[tuple[str, str], str]:
    with store.reading() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type IN ('json', 'jsonb')"
            )
        ).all()
    return {(table, column): kind for table, column, kind in rows}


def _example(los: Los, workdir: Path) -> Path:
    result = los("init", "ws", "--example", "techinnovate")
    assert result.exit_code == 0, result.output
    return workdir / "ws"


@POSTGRESQL
def test_definitions_have_foreign_keys_and_jsonb(db_url: str) -> None:
    store = Store(db_url)
    try:
        assert _foreign_keys(store) == FOREIGN_KEYS
        types = _json_types(store)
        assert {key for key, kind in types.items() if kind == "jsonb"} == JSONB
        # Maps in the user's order stay `json`: jsonb would sort their keys.
        assert {key for key, kind in types.items() if kind == "json"} == {
            ("organization", "checks"),
            ("organization", "sources"),
            ("kpis", "source"),
        }
    finally:
        store.close()


@POSTGRESQL
def test_every_table_and_column_has_its_comment(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.reading() as conn:
            inspector = inspect(conn)
            for name, table in metadata.tables.items():
                assert table.comment, f"the model gives {name} no comment"
                assert inspector.get_table_comment(name)["text"] == table.comment, name
                stored = {c["name"]: c.get("comment") for c in inspector.get_columns(name)}
                for column in table.columns:
                    assert column.comment, f"the model gives {name}.{column.name} no comment"
                    assert stored[column.name] == column.comment, f"{name}.{column.name}"
    finally:
        store.close()


@POSTGRESQL
def test_an_orphan_row_is_rejected_when_the_transaction_commits(
    los: Los, workdir: Path, db_url: str
) -> None:
    _example(los, workdir)
    store = Store(db_url)
    orphans = [
        "INSERT INTO people (id, position, name, unit_id) VALUES ('ghost', 99, 'G', 'no_unit')",
        "INSERT INTO kpi_supports (kpi_id, position, objective_id, weight) "
        "SELECT id, 99, 'no_objective', 1 FROM kpis LIMIT 1",
        "DELETE FROM units WHERE id = 'customer_success'",  # people and KPIs are in it
    ]
    try:
        for statement in orphans:
            with pytest.raises(IntegrityError, match="foreign key"), store.transaction() as conn:
                conn.execute(text(statement))  # deferred: accepted here ...
            # ... and refused at the commit, which rolled everything back.
            with store.reading() as conn:
                assert conn.execute(text("SELECT count(*) FROM people")).scalar() == 20
                assert conn.execute(text("SELECT count(*) FROM units")).scalar() == 19
    finally:
        store.close()


def test_apply_rewrites_and_removes_items_under_the_keys(
    los: Los, workdir: Path, db_url: str
) -> None:
    """A changed unit is deleted and written again in the apply's transaction while its
    people, objectives and KPIs point to it; a removed KPI keeps its measurements."""
    folder = _example(los, workdir)
    strategy = folder / "strategy.yaml"
    original = strategy.read_text(encoding="utf-8")
    unit = "{id: customer_success, name: Customer Success,"
    assert unit in original
    changed = original.replace(unit, "{id: customer_success, name: Customer Care,")
    start = changed.index("  - id: social_followers\n")
    end = changed.find("\n  - id:", start + 1)
    changed = changed[:start] + (changed[end + 1 :] if end != -1 else "")
    strategy.write_text(changed, encoding="utf-8")
    result = los("apply", str(strategy))
    assert result.exit_code == 0, result.output
    assert "~ unit customer_success: name: Customer Success -> Customer Care" in result.output
    assert "- kpi social_followers" in result.output
    store = Store(db_url)
    try:
        with store.reading() as conn:
            kept = conn.execute(
                text("SELECT count(*) FROM measurements WHERE kpi_id = 'social_followers'")
            ).scalar()
            name = conn.execute(text("SELECT name FROM units WHERE id = 'customer_success'"))
            assert name.scalar() == "Customer Care"
        assert kept and kept > 0
    finally:
        store.close()
    strategy.write_text(original, encoding="utf-8")
    back = los("apply", str(strategy))
    assert back.exit_code == 0, back.output
    assert "+ kpi social_followers" in back.output


@POSTGRESQL
def test_the_migration_moves_a_store_with_data_down_and_up(
    los: Los, workdir: Path, db_url: str
) -> None:
    folder = _example(los, workdir)
    store = Store(db_url, migrate=False)
    try:
        counts = _counts(store)
        _at(store, "0006", down=True)
        assert set(_json_types(store).values()) == {"json"}
        assert not {fk for fk in _foreign_keys(store) if fk[1] in ("unit_id", "parent_id")}
        assert _comments(store) == 0
        # The kept scorecards', the scheduled jobs', the notifications' and the actions' tables
        # come with later migrations: moving down drops them.
        later = {"scorecard_snapshots", "scorecard_patches", "scheduled_jobs"}
        later |= {"notification_settings", "notification_preferences", "notification_outbox"}
        later |= {"source_runs", "source_marks", "source_writes"}
        later |= {"actions", "action_milestones", "commentary"}
        later |= {"edit_settings", "pending_changes"}
        later |= {"review_cadences", "reviews", "review_actions"}
        later |= {"store_activity", "kept_definitions", "kept_forecasts"}
        assert _counts(store) == {k: v for k, v in counts.items() if k not in later}
        store.migrate()
        assert set(_json_types(store).values()) == {"json", "jsonb"}
        assert _foreign_keys(store) == FOREIGN_KEYS
        assert _comments(store) > 100
        # The kept scorecards (and the definitions kept beside them) are made again from the
        # values (the first status or write after the move keeps one): moving down and up
        # drops them like the kept check reports.
        kept = {"scorecard_snapshots", "scorecard_patches", "kept_definitions"}
        assert counts["scorecard_snapshots"] > 0
        assert _counts(store) == {k: (0 if k in kept else v) for k, v in counts.items()}
    finally:
        store.close()
    again = los("apply", str(folder / "strategy.yaml"))
    assert "No changes" in again.output, again.output


def _counts(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        present = set(inspect(conn).get_table_names())  # tables of later migrations: not yet
        return {
            name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in metadata.tables
            # The reports `los check` keeps are not data: moving down drops them.
            if name in present and name != "check_results"
        }


def _comments(store: Store) -> int:
    with store.reading() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_description d JOIN pg_class c ON c.oid = d.objoid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
            )
        ).scalar_one()
