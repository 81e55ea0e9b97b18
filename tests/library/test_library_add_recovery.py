"""`los library add` killed between its two writes (store and file): the same command run
again completes the addition, so file and store agree. On SQLite and PostgreSQL.

The command commits the store first and then replaces the file in one step; a kill in
between leaves the store ahead. A file ahead of the store (written by an older version, or
by another store) is the other half-done state, and a retry completes it too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lineofsight.services import library_add
from lineofsight.services.evaluate import load_organization
from lineofsight.spec.files import read_strategy
from lineofsight.store.database import Store
from tests.conftest import Los

FIXTURES = Path(__file__).parent / "fixtures"
ADD = ("library", "add", "days_sales_outstanding", "--unit", "finance_dept", "--owner", "fay")
NEW = {"days_sales_outstanding", "accounts_receivable"}  # the KPI and its missing input


class Killed(BaseException):
    """The process dying: not an error the command could catch and clean up after."""


@pytest.fixture
def workspace(los: Los, workdir: Path) -> Path:
    path = workdir / "strategy.yaml"
    shutil.copy(FIXTURES / "strategy.yaml", path)
    assert los("apply", str(path)).exit_code == 0
    return path


def _stored(los: Los) -> set[str]:
    store = Store(los.db_url or "")
    try:
        return {k.id for k in load_organization(store).kpis}
    finally:
        store.close()


def _agree(los: Los, path: Path) -> None:
    """The store holds exactly what the file defines."""
    store = Store(los.db_url or "")
    try:
        assert load_organization(store) == read_strategy(path)
    finally:
        store.close()


def test_killed_after_the_store_commits_a_retry_writes_the_file(
    los: Los, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = workspace.read_text()

    def die(path: Path, text: str) -> None:
        raise Killed

    monkeypatch.setattr(library_add, "_write", die)
    with pytest.raises(Killed):
        los(*ADD, "--db", los.db_url or "")
    assert _stored(los) >= NEW  # the store committed
    assert workspace.read_text() == before  # the file was not written
    monkeypatch.undo()
    retry = los(*ADD, "--db", los.db_url or "")
    assert retry.exit_code == 0, retry.output
    assert "Added KPI days_sales_outstanding" in retry.output
    assert "  - id: days_sales_outstanding\n" in workspace.read_text()
    _agree(los, workspace)
    again = los(*ADD, "--db", los.db_url or "")  # done: now it is refused, and nothing moves
    assert again.exit_code == 2 and "has a KPI 'days_sales_outstanding' already" in again.output


def test_killed_while_the_store_writes_nothing_is_half_done(
    los: Los, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = workspace.read_text()
    original = library_add._apply

    def die(*args: object, **kwargs: object) -> None:
        raise Killed

    monkeypatch.setattr(library_add, "_apply", die)
    with pytest.raises(Killed):
        los(*ADD, "--db", los.db_url or "")
    assert workspace.read_text() == before and not NEW & _stored(los)
    monkeypatch.setattr(library_add, "_apply", original)
    assert los(*ADD, "--db", los.db_url or "").exit_code == 0
    _agree(los, workspace)


def test_a_file_ahead_of_the_store_is_completed_by_a_retry(
    los: Los, workspace: Path, tmp_path: Path
) -> None:
    """The file has the KPI and the store has not (the file was written, the store's
    commit never happened): the retry applies the file instead of refusing."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert los("apply", str(workspace), "--db", other, db=False).exit_code == 0
    written = los(*ADD, "--file", str(workspace), "--db", other)
    assert written.exit_code == 0, written.output
    assert not NEW & _stored(los)  # this store never saw the addition
    retry = los(*ADD, "--db", los.db_url or "")
    assert retry.exit_code == 0, retry.output
    assert "applied the file to the store to complete the addition" in retry.output
    assert _stored(los) >= NEW
    _agree(los, workspace)


def test_a_file_with_another_kpi_of_that_id_is_not_taken_for_a_half_done_addition(
    los: Los, workspace: Path, tmp_path: Path
) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert los("apply", str(workspace), "--db", other, db=False).exit_code == 0
    added = los(*ADD, "--file", str(workspace), "--db", other)
    assert added.exit_code == 0, added.output
    before = workspace.read_text()
    retry = los("library", "add", "days_sales_outstanding", "--unit", "sales_dept",
                "--owner", "sam", "--db", los.db_url or "")  # fmt: skip
    assert retry.exit_code == 2
    assert "which the store does not have" in retry.output
    assert workspace.read_text() == before and not NEW & _stored(los)
