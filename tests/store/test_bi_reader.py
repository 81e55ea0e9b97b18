"""README's "Connecting a BI tool": its SQL, run as written against the test PostgreSQL server,
makes a role that reads every table (and tables added later) and can write none."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import Los

README = Path(__file__).resolve().parents[2] / "README.md"
POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _section_sql() -> list[str]:
    """The SQL blocks of the README's BI section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Connecting a BI tool", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def _statements(block: str) -> list[str]:
    lines = [line for line in block.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def reader(db_url: str) -> Iterator[str]:
    """A role name of this test's own (roles are shared by the server's databases)."""
    name = f"los_reader_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(_dsn(db_url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            conn.execute(f"DROP OWNED BY {name}")
            conn.execute(f"DROP ROLE {name}")


@POSTGRESQL
def test_the_readme_role_reads_everything_and_writes_nothing(
    los: Los, workdir: Path, db_url: str, reader: str
) -> None:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    setup, example = _section_sql()
    url = make_url(db_url)
    owner, database = str(url.username), str(url.database)
    statements = _statements(setup)
    assert len(statements) == 6
    with psycopg.connect(_dsn(db_url), autocommit=True) as conn:
        for statement in statements:
            # The README's names: the new role, the store's database, the role that owns it.
            statement = statement.replace("los_reader", reader)
            statement = statement.replace("DATABASE lineofsight", f'DATABASE "{database}"')
            statement = statement.replace("FOR ROLE los ", f'FOR ROLE "{owner}" ')
            conn.execute(statement)
    as_reader = {"user": reader, "password": "choose a password"}
    with psycopg.connect(_dsn(db_url), autocommit=True, **as_reader) as conn:
        rows = conn.execute(example).fetchall()
        assert len(rows) == 20
        assert all(r[0] and r[1] and r[2] for r in rows)
        for table in ("units", "people", "objectives", "kpis", "kpi_supports", "loads"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO loads (source, recorded_at) VALUES ('bi', now())")
        # Without the read-only default, the privileges alone refuse every write.
        conn.execute("SET default_transaction_read_only = off")
        for write in (
            "INSERT INTO loads (source, recorded_at) VALUES ('bi', now())",
            "UPDATE kpis SET name = 'changed'",
            "DELETE FROM measurements",
            "CREATE TABLE mine (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(write)
    # A table a later migration adds (as the owner) is readable without another grant.
    with psycopg.connect(_dsn(db_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE later_release (x int)")
        conn.execute("INSERT INTO later_release VALUES (7)")
    with psycopg.connect(_dsn(db_url), **as_reader) as conn:
        assert conn.execute("SELECT x FROM later_release").fetchall() == [(7,)]
    with psycopg.connect(_dsn(db_url), autocommit=True) as conn:
        conn.execute("DROP TABLE later_release")
