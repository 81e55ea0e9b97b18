"""`los init --example`: each worked example installs, applies, loads and round-trips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lineofsight.domain.model import Direction
from lineofsight.domain.periods import parse_period
from lineofsight.services.init import list_examples
from lineofsight.spec.files import read_strategy
from lineofsight.store.database import Store
from lineofsight.store.measurements import read_measurements
from tests.conftest import Los

EXAMPLES = ["globalhealth", "manufacturing", "techinnovate"]


def test_the_three_examples_ship() -> None:
    assert list_examples() == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_installs_and_round_trips(name: str, los: Los, workdir: Path, db_url: str) -> None:
    result = los("init", name, "--example", name)
    assert result.exit_code == 0, result.output
    assert f"Created the {name} example in {name}" in result.output
    folder = workdir / name
    strategy = folder / "strategy.yaml"
    again = los("apply", str(strategy))
    assert "No changes" in again.output, again.output
    exported = folder / "exported.yaml"
    assert los("export", str(exported)).exit_code == 0
    assert read_strategy(exported) == read_strategy(strategy)
    reload = los("load", str(folder / "data" / "measurements.csv"))
    assert reload.exit_code == 0
    assert " 0 added, 0 replaced" in reload.output


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_rich_enough(name: str, workdir: Path) -> None:
    """Four unit levels, 25+ owned KPIs with baselines and targets, 24+ months of data."""
    los = Los(None)
    tmp_path = workdir
    result = los("init", "ws", "--example", name)
    assert result.exit_code == 0, result.output
    org = read_strategy(tmp_path / "ws" / "strategy.yaml")
    people = {p.id for p in org.people}
    assert len({u.level for u in org.units}) >= 4
    assert len(org.kpis) >= 25
    assert sum(1 for k in org.kpis if k.owner in people) >= 25
    targeted = [k for k in org.kpis if k.target is not None and k.baseline is not None]
    assert len(targeted) >= 15
    store = Store(f"sqlite:///{tmp_path / 'ws' / '.lineofsight' / 'lineofsight.db'}")
    with store.reading() as conn:
        rows = read_measurements(conn)
    store.close()
    starts = [r["period_start"] for r in rows]
    assert (max(starts) - min(starts)) >= dt.timedelta(days=700)
    assert len({r["kpi_id"] for r in rows}) >= 20


def test_globalhealth_has_ratio_and_range_kpis() -> None:
    org = read_strategy(_example("globalhealth"))
    ratio = [k for k in org.kpis if k.ratio is not None]
    assert any("readmission" in k.id for k in ratio)
    assert any(k.direction is Direction.RANGE and "occupancy" in k.id for k in org.kpis)


def test_manufacturing_has_ccc_formula_and_april_fiscal_year() -> None:
    org = read_strategy(_example("manufacturing"))
    ccc = org.kpi("ccc")
    assert ccc is not None and ccc.formula is not None
    assert ccc.formula.replace(" ", "") == "dio+dso-dpo"
    assert org.calendar.fiscal_year_start == 4
    assert parse_period("FY2027-Q1", org.calendar).start == dt.date(2026, 4, 1)


def test_init_refuses_to_overwrite_a_strategy(los: Los, workdir: Path) -> None:
    (workdir / "strategy.yaml").write_text("version: 1\n")
    result = los("init", ".", "--example", "techinnovate")
    assert result.exit_code == 2
    assert "use --force" in result.output
    assert (workdir / "strategy.yaml").read_text() == "version: 1\n"


def test_unknown_example_lists_the_choices(los: Los) -> None:
    result = los("init", "x", "--example", "nope")
    assert result.exit_code == 2
    assert "choose one of globalhealth, manufacturing, techinnovate" in result.output


def test_plain_init_writes_a_starter_that_applies(los: Los, workdir: Path) -> None:
    result = los("init")
    assert result.exit_code == 0, result.output
    assert (workdir / "data").is_dir()
    assert "No changes" in los("apply", "strategy.yaml").output


def test_commands_find_the_workspace_from_a_subfolder(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    los = Los(None)
    assert los("init").exit_code == 0
    monkeypatch.chdir(workdir / "data")
    result = los("export")
    assert result.exit_code == 0
    assert "grow_revenue" in result.output


def test_no_workspace_says_how_to_make_one(workdir: Path) -> None:
    result = Los(None)("export")
    assert result.exit_code == 2
    assert "no workspace here: run `los init`" in result.output


def _example(name: str) -> Path:
    return Path(__file__).parents[2] / "src" / "lineofsight" / "examples" / name / "strategy.yaml"


def test_init_inside_a_workspace_is_refused(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    los = Los(None)
    assert los("init").exit_code == 0
    # Below the workspace (a folder of it, or a new one): refused, nothing created there.
    monkeypatch.chdir(workdir / "data")
    for target in (".", "nested"):
        result = los("init", target)
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"error: {target} is inside the workspace {workdir}: ")
        words = " ".join(result.output.split())
        assert "run `los init` in a folder outside it, or name" in words
        assert "Traceback" not in result.output
    assert not (workdir / "data" / ".lineofsight").exists()
    assert not (workdir / "data" / "nested").exists()
    # The workspace's own folder is completed as before; one whose store is named is made.
    assert los("init", "named", "--db", f"sqlite:///{workdir / 'named.db'}").exit_code == 0
    monkeypatch.chdir(workdir)
    assert los("init").exit_code == 0


def test_init_where_no_folder_can_be_made_says_why_without_a_traceback(
    los: Los, workdir: Path
) -> None:
    (workdir / "taken").write_text("a file\n")
    (workdir / "ws").mkdir()
    (workdir / "ws" / "data").write_text("a file where the data folder goes\n")
    for folder, reason in (
        ("taken", "error: taken is a file, not a folder"),
        ("taken/sub", "error: cannot make the folder taken/sub: Not a directory"),
        ("ws", "error: ws/data is a file, not a folder"),
    ):
        result = los("init", folder, db=False)
        assert result.exit_code == 2, result.output
        assert reason in result.output
        assert "Traceback" not in result.output
    assert not (workdir / "ws" / ".lineofsight").exists()  # no store made for nothing


def test_init_with_a_store_whose_folder_cannot_be_made_says_why(los: Los, workdir: Path) -> None:
    (workdir / "taken").write_text("a file\n")
    url = f"sqlite:///{workdir / 'taken' / 'store.db'}"
    result = los("init", "ws", "--db", url, db=False)
    assert result.exit_code == 2, result.output
    assert "for the store: a file of that name is in the way" in result.output
    assert "Traceback" not in result.output
    # Nothing is left of a failed init: neither the workspace's folder nor its data folder.
    assert not (workdir / "ws").exists()
    assert los("init", "deep/er/ws", "--db", url, db=False).exit_code == 2
    assert not (workdir / "deep").exists()
    # Only what init made goes: a folder there before stays, with what it held.
    (workdir / "mine").mkdir()
    (workdir / "mine" / "notes.txt").write_text("mine\n")
    for example in ((), ("--example", "techinnovate")):
        result = los("init", "mine", *example, "--db", url, db=False)
        assert result.exit_code == 2, result.output
        assert sorted(p.name for p in (workdir / "mine").iterdir()) == ["notes.txt"]
    # A file where the workspace's own folder goes: said (exit 2), and no store made.
    (workdir / "ws3").mkdir()
    (workdir / "ws3" / ".lineofsight").write_text("")
    elsewhere = workdir / "elsewhere" / "store.db"
    result = los("init", "ws3", "--db", f"sqlite:///{elsewhere}", db=False)
    assert result.exit_code == 2, result.output
    assert ".lineofsight is a file, not a folder" in result.output
    assert "Traceback" not in result.output and not (workdir / "elsewhere").exists()
