"""`los library add` of every formula KPI of the catalogue leaves `los check` clean for it.

Each formula KPI goes into a fresh copy of a small strategy with its inputs; then the checks
run on the store, as `los check` does. A new KPI may only lack what nobody can add for the
user: a target (SM01) and data (SM03, DA01). New formula inputs get the direction their
formula needs (CF01 would report them otherwise).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from lineofsight.library.catalogue import default_catalogue
from lineofsight.services.check import check
from lineofsight.store.database import Store
from tests.conftest import invoke

NUMBERS_MISSING = {"SM01", "SM03", "DA01"}
FORMULA_KPIS = sorted(e.id for e in default_catalogue().entries if e.measure.formula is not None)

# Inputs that two of the added formulas need to move opposite ways, so that no direction
# satisfies both and `add` says so: cost of goods sold divides both days inventory
# outstanding, to fall, and days payable outstanding, to rise. (Revenue under a margin is no
# such case: it feeds the profit above the line too, and CF01 follows it through.)
TWO_WAYS = {"cash_conversion_cycle": "cost_of_goods_sold"}

STRATEGY = """\
# A company with one objective and no KPI yet.
version: 1
organization:
  name: Small Co
  units:
    - {id: co, name: Small Co, level: company, lead: ann}
  people:
    - {id: ann, name: Ann Able, unit: co}
objectives:
  - {id: grow, title: Grow, level: strategic, unit: co, owner: ann, deadline: 2027-12-31}
kpis: []
"""


def test_the_catalogue_has_formula_kpis_to_try() -> None:
    assert len(FORMULA_KPIS) >= 50
    assert set(TWO_WAYS) <= set(FORMULA_KPIS)


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small strategy applied to a new store, once: each test adds its KPI to a copy of
    the store and of the file."""
    folder = tmp_path_factory.mktemp("applied")
    path = folder / "strategy.yaml"
    path.write_text(STRATEGY)
    store = folder / "los.db"
    done = invoke(["apply", str(path), "--db", f"sqlite:///{store}"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    # The store closed is one file, whole (no journal beside it), so a copy is the store.
    assert sorted(p.name for p in folder.iterdir()) == ["los.db", "strategy.yaml"]
    return store


@pytest.mark.parametrize("kpi_id", FORMULA_KPIS)
def test_added_formula_kpi_and_inputs_only_lack_targets_and_data(
    kpi_id: str, tmp_path: Path, applied: Path
) -> None:
    shutil.copyfile(applied, tmp_path / "los.db")
    url = f"sqlite:///{tmp_path / 'los.db'}"
    path = tmp_path / "strategy.yaml"  # the file applied, which `add` edits: this test's own
    path.write_text(STRATEGY)
    result = invoke(
        [
            *("library", "add", kpi_id, "--unit", "co", "--owner", "ann"),
            *("--file", str(path), "--db", url),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    added = {
        line.split()[2] for line in result.output.splitlines() if line.startswith("Added KPI ")
    }
    assert kpi_id in added and len(added) > 1, result.output  # a formula brings its inputs
    store = Store(url)
    try:
        report = check(file=None, store=store, as_of=dt.date(2026, 11, 22))
    finally:
        store.close()
    about_new = [f for f in report.findings if f.subject.id in added]
    left = [(f.code, f.message) for f in about_new if f.code not in NUMBERS_MISSING]
    if kpi_id not in TWO_WAYS:
        assert left == [], result.output
        return
    shared = TWO_WAYS[kpi_id]
    assert left and {f.code for f in about_new if f.code not in NUMBERS_MISSING} == {"CF01"}
    assert {f.subject.id for f in about_new if f.code == "CF01"} == {shared}
    assert "reports CF01 on it whichever way it is to move" in result.output
