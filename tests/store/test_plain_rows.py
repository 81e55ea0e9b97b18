"""The store's two shared pieces of small reads: the rows of plain SQL through the driver's
own cursor (`plain_rows`, `?` marks on both databases, in the caller's transaction), and a
KPI's source decoded from its column (`source_of`, for the whole definitions and a refresh's
feeds alike)."""

from __future__ import annotations

from sqlalchemy import text

from lineofsight.domain import model as m
from lineofsight.store.database import Store, plain_rows
from lineofsight.store.definition_rows import source_of


def test_plain_rows_read_in_the_callers_transaction_on_both_databases(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.transaction() as conn:
            conn.execute(text("CREATE TEMPORARY TABLE notes (k TEXT, v TEXT)"))
            conn.execute(text("INSERT INTO notes VALUES ('a', '50% done'), ('b', 'none')"))
            # Not committed: only the same transaction sees the rows.
            rows = plain_rows(conn, "SELECT k, v FROM notes WHERE v LIKE '%done' AND k = ?", ["a"])
            assert [tuple(r) for r in rows] == [("a", "50% done")]
            both = plain_rows(conn, "SELECT k FROM notes WHERE k IN (?, ?) ORDER BY k", ["a", "b"])
            assert [r[0] for r in both] == ["a", "b"]
            assert plain_rows(conn, "SELECT k FROM notes WHERE k = ?", ["zzz"]) == []
    finally:
        store.close()


def test_a_kpis_source_is_decoded_alike_from_text_and_from_json() -> None:
    settings = {"kind": "file", "path": "data/churn.csv"}
    want = m.Source(kind=m.SourceKind.FILE, settings=(("path", "data/churn.csv"),))
    assert source_of('{"kind": "file", "path": "data/churn.csv"}') == want
    assert source_of(settings) == want
    assert settings == {"kind": "file", "path": "data/churn.csv"}  # not changed in place
    assert source_of({"from": "warehouse"}) == m.Source(
        kind=m.SourceKind.MANUAL, settings=(("from", "warehouse"),)
    )
    assert source_of(None) is None
    assert source_of("null") is None
