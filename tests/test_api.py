"""The Python API on SQLite and PostgreSQL: each `Workspace` method gives the same numbers as
the `los` command that shares its service, as frames; errors name the method's arguments."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import lineofsight
from lineofsight import extras
from tests.conftest import Los

PUBLIC = [
    "Explanation",
    "Forecasts",
    "InputError",
    "LineOfSightError",
    "Scorecard",
    "Table",
    "UsageError",
    "Workspace",
    "__version__",
]


def test_public_names_are_listed_and_shown_by_dir() -> None:
    assert sorted(lineofsight.__all__) == PUBLIC
    shown = [name for name in dir(lineofsight) if not name.startswith("__")]
    assert shown == [name for name in PUBLIC if not name.startswith("__")]
    for name in lineofsight.__all__:
        assert getattr(lineofsight, name) is not None
    with pytest.raises(AttributeError):
        _ = lineofsight.evaluate_store  # type: ignore[attr-defined]


def test_import_stays_light() -> None:
    code = (
        "import sys, lineofsight; "
        "print(sorted(m for m in ('polars', 'sqlalchemy', 'lineofsight.api') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture
def ti(los: Los) -> Los:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    return los


@pytest.fixture
def mf(los: Los) -> Los:
    assert los("init", "ws", "--example", "manufacturing").exit_code == 0
    return los


def test_scorecard_is_the_status_command_as_frames(ti: Los) -> None:
    with lineofsight.Workspace.open(ti.db_url) as ws:
        card = ws.scorecard(as_of="2026-12-05")
    cli = json.loads(ti("status", "--as-of", "2026-12-05", "--format", "json").stdout)
    assert str(card.as_of) == cli["as_of"] == "2026-12-05"
    kpis = card.kpis
    assert kpis.columns[:7] == ["as_of", "id", "name", "unit", "unit_name", "period", "period_end"]
    assert kpis["as_of"].unique().to_list() == [card.as_of]
    # Same rows, same numbers, same order as the command (one engine).
    for row, expected in zip(kpis.iter_rows(named=True), cli["kpis"], strict=True):
        for key in ("id", "unit", "period", "actual", "target", "score", "status", "data"):
            assert row[key] == expected[key], (key, row, expected)
        assert row["period_end"].isoformat() == expected["period_end"]
    meetings = kpis.filter(pl.col("id") == "qualified_meetings_na").row(0, named=True)
    assert meetings["name"] == "Qualified first meetings, North America"
    assert meetings["unit_name"] == "Sales North America"
    assert (meetings["period"], str(meetings["period_end"])) == ("2026-W44", "2026-11-01")
    assert (meetings["status"], meetings["data"]) == ("no_data", "overdue")
    grow = card.objectives.filter(pl.col("id") == "grow_pipeline").row(0, named=True)
    assert grow["counts"] == {"green": 3, "amber": 1, "red": 0, "no_data": 1, "no_target": 0}
    assert grow["worst"]["id"] == "emea_partner_channel"
    assert grow["name"].startswith("Hold qualified pipeline") and grow["unit_name"] == "Sales"
    cli_objectives = {o["id"]: o for o in cli["objectives"]}
    for row in card.objectives.iter_rows(named=True):
        assert row["score"] == cli_objectives[row["id"]]["score"]
        assert row["counts"] == cli_objectives[row["id"]]["counts"]
    units = card.units.filter(pl.col("id") == "support_t2").row(0, named=True)
    assert (units["name"], units["status"], units["worst"]["id"]) == (
        "Tier 2 Support",
        "red",
        "t2_backlog_days",
    )
    # A unit's row names its unit (itself) as the command's JSON does.
    assert card.units.columns[:4] == ["as_of", "id", "name", "unit"]
    assert card.units.select("id", "unit").rows() == [(u["id"], u["unit"]) for u in cli["units"]]


def test_status_is_an_ordered_category(ti: Los) -> None:
    with lineofsight.Workspace.open(ti.db_url) as ws:
        card = ws.scorecard(as_of="2026-12-05")
    kpis = card.kpis
    assert kpis.schema["status"] == pl.Enum(["no_data", "no_target", "red", "amber", "green"])
    good = kpis.filter(pl.col("status") >= "amber")
    assert set(good["status"].cast(pl.String)) == {"amber", "green"}
    worse = kpis.filter(pl.col("status") < "amber")["status"].cast(pl.String)
    assert {"red", "no_data", "no_target"} == set(worse)
    ordered = kpis.sort("status", descending=True)["status"].cast(pl.String).to_list()
    ranks = {"green": 4, "amber": 3, "red": 2, "no_target": 1, "no_data": 0}
    assert [ranks[s] for s in ordered] == sorted((ranks[s] for s in ordered), reverse=True)
    frames = card.to_pandas()
    status = frames["kpis"]["status"]
    assert isinstance(status.dtype, pd.CategoricalDtype) and status.cat.ordered
    assert (status.max(), status.min()) == ("green", "no_data")
    assert list(frames) == ["kpis", "objectives", "units"]
    assert frames["objectives"]["name"].tolist() == card.objectives["name"].to_list()


def test_scorecard_of_a_period_and_a_unit(ti: Los) -> None:
    with lineofsight.Workspace.open(ti.db_url) as ws:
        card = ws.scorecard(period="2026-10", unit="customer_service")
    assert str(card.as_of) == "2026-10-31"
    assert set(card.kpis["unit"]) <= {"customer_service", "support_t1", "support_t2"}
    assert set(card.units["id"]) == {"customer_service", "support_t1", "support_t2"}


def test_measurements_and_revisions(ti: Los, workdir: Path) -> None:
    with lineofsight.Workspace.open(ti.db_url) as ws:
        nps = ws.measurements("nps").frame
        everything = ws.measurements().frame
    assert nps.columns[:4] == ["kpi", "name", "unit", "unit_name"]
    assert nps["value"].to_list() == [29.0, 30.0, 30.0, 32.0, 32.0, 33.0, 34.0, 35.0]
    assert str(nps["period_end"][-1]) == "2026-09-30"
    assert set(nps["unit_of_measure"]) == {"points"}
    assert everything.height > 1000 and set(everything["kpi"]) >= {"nps", "social_followers"}
    change = workdir / "change.csv"
    change.write_text("kpi,period,value,note\nnps,2026-Q3,36,recounted\n")
    assert ti("load", str(change)).exit_code == 0
    with lineofsight.Workspace.open(ti.db_url) as ws:
        one = ws.revisions("nps", period="2026-Q3").frame
        every = ws.revisions("nps").frame
        assert ws.measurements("nps").frame["value"][-1] == 36.0
    assert one["value"].to_list() == [35.0, 36.0]
    assert one["current"].to_list() == [False, True]
    assert one["note"][-1] == "recounted" and one["replaced_at"][0] is not None
    assert one["recorded_at"].dtype == pl.Datetime("us", "UTC")
    q3 = every.filter(pl.col("period") == "2026-Q3")
    assert q3.select("value", "current").rows() == [(35.0, False), (36.0, True)]
    assert every.filter(pl.col("current")).height == 8


def test_forecasts_with_their_path(mf: Los) -> None:
    with lineofsight.Workspace.open(mf.db_url) as ws:
        result = ws.forecasts(as_of="2026-11-22")
    cli = json.loads(mf("forecast", "--as-of", "2026-11-22", "--format", "json").stdout)
    assert result.kpis.height == len(cli["kpis"])
    for row, expected in zip(result.kpis.iter_rows(named=True), cli["kpis"], strict=True):
        for key in ("id", "unit", "projected", "target", "on_track", "probability", "method"):
            assert row[key] == expected[key], key
        assert row["reason"] == expected.get("reason")
        path = result.path.filter((pl.col("id") == row["id"]) & (pl.col("unit") == row["unit"]))
        assert path["period"].to_list() == [p["period"] for p in expected["path"]]
        assert path["value"].to_list() == [p["value"] for p in expected["path"]]
        if path.height:
            assert (path["low"] <= path["value"]).all() and (path["value"] <= path["high"]).all()
            assert path["period"][-1] == row["period"]
            assert path["value"][-1] == pytest.approx(row["projected"])
    assert result.kpis["as_of"].unique().to_list() == [result.as_of]
    assert set(result.kpis["unit_of_measure"].drop_nulls()) >= {"days"}
    on_track = result.kpis["on_track"].fill_null(False).sum()
    called = result.kpis["on_track"].is_not_null().sum()
    shown = repr(result)
    assert shown.startswith(f"Forecasts as of 2026-11-22: {on_track} of {called} on track")
    assert " days " in shown and "e+0" not in shown
    assert "<table>" in result._repr_html_()
    assert set(result.to_pandas()) == {"kpis", "path"}


def test_forecasts_list_the_kpis_with_nothing_to_forecast(ti: Los) -> None:
    # As `los forecast` does: a range KPI without a target date has a row saying why.
    with lineofsight.Workspace.open(ti.db_url) as ws:
        result = ws.forecasts(as_of="2026-11-22")
    cli = json.loads(ti("forecast", "--as-of", "2026-11-22", "--format", "json").stdout)
    shown = result.kpis.select("id", "unit", "method", "reason").rows()
    assert shown == [(k["id"], k["unit"], k["method"], k.get("reason")) for k in cli["kpis"]]
    assert ("rd_spend_pct_revenue", "product_eng", "no_forecast", "no target date") in shown
    said = ti("forecast", "--as-of", "2026-11-22").stdout
    heading = repr(result).splitlines()[0].split(": ", 1)[1]  # "17 of 38 on track, 2 not ..."
    assert heading in " ".join(said.split())


def test_explain_splits_the_change(mf: Los) -> None:
    with lineofsight.Workspace.open(mf.db_url) as ws:
        result = ws.explain("ccc", "FY2026-Q4", "FY2027-Q2")
    cli = json.loads(
        mf("explain", "ccc", "--from", "FY2026-Q4", "--to", "FY2027-Q2", "--format", "json").stdout
    )
    summary = result.summary.row(0, named=True)
    assert (summary["from_value"], summary["to_value"]) == (
        cli["from"]["value"],
        cli["to"]["value"],
    )
    assert summary["name"] == "Cash conversion cycle" and summary["unit_of_measure"] == "days"
    contributions = result.contributions
    assert contributions["id"].to_list() == ["dio", "dso", "dpo"]
    assert contributions["contribution"].to_list() == [
        c["contribution"] for c in cli["contributions"]
    ]
    assert contributions["contribution"].sum() == pytest.approx(summary["change"], abs=1e-9)
    assert set(contributions["level"]) == {1} and set(contributions["parent"]) == {"ccc"}
    assert repr(result).startswith("Cash conversion cycle (ccc) at ")
    assert "Days sales outstanding" in repr(result)


def test_history_and_findings(ti: Los) -> None:
    with lineofsight.Workspace.open(ti.db_url) as ws:
        history = ws.history(limit=5).frame
        nps = ws.history("nps").frame
        findings = ws.check(as_of="2026-11-22").frame
        only = ws.check(as_of="2026-11-22", select=["OW02"]).frame
    assert history.height == 5 and set(history["action"]) == {"add"}
    assert history["changed_at"].dtype == pl.Datetime("us", "UTC")
    assert set(nps["item_id"]) == {"nps"}
    cli = json.loads(ti("check", "--as-of", "2026-11-22", "--format", "json").stdout)
    assert findings.select("code", "id").rows() == [
        (f["code"], f["subject"]["id"]) for f in cli["findings"]
    ]
    assert findings.schema["severity"] == pl.Enum(["info", "warning", "error"])
    assert set(only["code"]) == {"OW02"}


ERRORS: list[tuple[Callable[[lineofsight.Workspace], object], str]] = [
    (lambda ws: ws.scorecard(as_of="2026-13-01"), "as_of '2026-13-01': "),
    (lambda ws: ws.scorecard(period="2026-13"), "period: '2026-13' is not a valid period"),
    (lambda ws: ws.scorecard(period="2026-10", as_of="2026-11-01"), "give period or as_of"),
    (lambda ws: ws.scorecard(unit="custmer_service"), "unit: unknown unit 'custmer_service'"),
    (lambda ws: ws.scorecard(unit=5), "unit 5: give text"),
    (lambda ws: ws.scorecard(period=202610), "period 202610: give text"),
    (lambda ws: ws.scorecard(as_of=""), "as_of: give a date"),
    (lambda ws: ws.revisions("nps", unit=["a"]), "unit ['a']: give text"),
    (lambda ws: ws.explain("nps", 2026, "2026-Q3"), "from_period 2026: give text"),
    (lambda ws: ws.forecasts(as_of="soon"), "as_of 'soon': "),
    (lambda ws: ws.check(as_of="2026-02-30"), "as_of '2026-02-30': "),
    (lambda ws: ws.explain("nps", "2026-13", "2026-Q3"), "from_period '2026-13'"),
    (lambda ws: ws.explain("nps", "2026-Q1", "2026-13"), "to_period '2026-13'"),
    (lambda ws: ws.explain("nps", "2026-Q1", "2026-Q3", depth=0), "depth 0: "),
    (
        lambda ws: ws.explain("nps", "2026-Q2", "2026-Q3", unit="custmer_service"),
        "unit: unknown unit 'custmer_service' (did you mean 'customer_service'?)",
    ),
    (lambda ws: ws.measurements("npz"), "kpi: unknown KPI 'npz' (did you mean 'nps'?)"),
    (lambda ws: ws.measurements(5), "kpi 5: give a KPI id, a list of them, or None"),
    (lambda ws: ws.measurements(["nps", 5]), "kpi 5: give text"),
    (lambda ws: ws.revisions("nps", period="2026-13"), "period: '2026-13'"),
    (lambda ws: ws.revisions("nps", unit="nowhere"), "unit: unknown unit 'nowhere'"),
    (
        lambda ws: ws.revisions("arr_musd", period="2026-Q3"),
        "period: 2026-Q3 is coarser than the KPI's frequency (monthly): 'arr_musd' has values "
        "per period or finer, such as 2026-09",
    ),
    (lambda ws: ws.history(limit=0), "limit 0: give 1 or more"),
    (lambda ws: ws.history(limit="5"), "limit '5': give a whole number (1 or more), not str"),
    (lambda ws: ws.history(item=5), "item 5: give text"),
    (lambda ws: ws.revisions(None), "kpi None: give a KPI id (it is required)"),  # type: ignore[arg-type]
    (
        lambda ws: ws.explain("nps", "2026-Q2", "2026-Q3", depth="2"),  # type: ignore[arg-type]
        "depth '2': give a whole number (1 or more), not str",
    ),
    (lambda ws: ws.explain("nps", "2026-Q2", "2026-Q3", depth=True), "depth True: give a whole"),
    (
        lambda ws: ws.explain("nps", None, "2026-Q3"),  # type: ignore[arg-type]
        "from_period None: give a period (it is required)",
    ),
    (lambda ws: ws.check(select=["ZZ99"]), "select: unknown rule ZZ99 (rules: AC01, "),
    (lambda ws: ws.check(ignore=["ZZ98"]), "ignore: unknown rule ZZ98 (rules: AC01, "),
]


def test_errors_name_the_arguments(ti: Los) -> None:
    """Each mistaken call, on one workspace: each is refused, so none changes what the next
    one meets."""
    for call, message in ERRORS:
        with (
            lineofsight.Workspace.open(ti.db_url) as ws,
            pytest.raises(lineofsight.UsageError) as e,
        ):
            call(ws)
        shown = str(e.value)
        assert shown.startswith(message) or message in shown, (message, shown)
        assert "--" not in shown, shown
        # Every problem listed speaks of the arguments too, never of the command line.
        assert all("--" not in str(p) and "command line" not in str(p) for p in e.value.problems)


def test_a_bad_rule_code_is_said_of_the_argument_alone(ti: Los) -> None:
    with lineofsight.Workspace.open(ti.db_url) as ws, pytest.raises(lineofsight.UsageError) as e:
        ws.check(select=["ZZ99"])
    assert str(e.value).startswith("bad check settings: select: unknown rule ZZ99 (rules: AC01, ")


def test_to_pandas_names_the_extra_when_pandas_is_missing(
    ti: Los, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lineofsight.Workspace.open(ti.db_url) as ws:
        card = ws.scorecard(as_of="2026-12-05")
        findings = ws.check(as_of="2026-11-22")
    assert isinstance(findings.to_pandas(), pd.DataFrame)
    real = extras.find_spec
    monkeypatch.setattr(
        extras, "find_spec", lambda name: None if name in ("pandas", "pyarrow") else real(name)
    )
    for result in (card, findings):
        with pytest.raises(extras.MissingExtra) as e:
            result.to_pandas()
        assert "needs the pandas extra: pip install 'lineofsight[pandas]'" in str(e.value)


def test_open_reports_a_missing_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError):
        lineofsight.Workspace.open(tmp_path)
    # Nothing given, outside any workspace and with no URL set: the same (not a command's
    # advice about --db)
    monkeypatch.delenv("LOS_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        lineofsight.Workspace.open()
    assert str(e.value) == f"no Line of Sight workspace at or above {tmp_path.resolve()}"
    # Not a folder nor a URL at all: the argument's type is the mistake, not a missing folder.
    for given in (5, ["ws"]):
        with pytest.raises(lineofsight.UsageError) as wrong:
            lineofsight.Workspace.open(given)  # type: ignore[arg-type]
        assert str(wrong.value) == (
            f"where {given!r}: give a workspace folder, a database URL, or nothing (the"
            " workspace `los` would use here)"
        )


def test_open_refuses_a_store_file_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mistyped path must not leave an empty store behind (the `los` commands refuse too).
    missing = tmp_path / "typo.db"
    with pytest.raises(FileNotFoundError) as e:
        lineofsight.Workspace.open(f"sqlite:///{missing}")
    assert str(e.value) == f"no store at {missing}: run `los init` to create one"
    monkeypatch.setenv("LOS_DATABASE_URL", f"sqlite:///{missing}")
    with pytest.raises(FileNotFoundError):
        lineofsight.Workspace.open()
    assert not missing.exists()


def test_check_takes_one_rule_as_text(ti: Los) -> None:
    # `select="OW02"` is one rule, as `measurements("nps")` is one KPI: not four letters.
    with lineofsight.Workspace.open(ti.db_url) as ws:
        one = ws.check(as_of="2026-11-22", select="OW02").frame
        listed = ws.check(as_of="2026-11-22", select=["OW02"]).frame
        rest = ws.check(as_of="2026-11-22", ignore="OW02").frame
    assert one.height > 0 and one.equals(listed)
    assert rest.height > 0 and "OW02" not in set(rest["code"])


def test_check_takes_a_list_of_rules_as_the_command_line_does(ti: Los) -> None:
    # "OW02,AL01" is two rules, as `los check --select OW02,AL01` reads them.
    with lineofsight.Workspace.open(ti.db_url) as ws:
        both = ws.check(as_of="2026-11-22", select="OW02, al01").frame
        listed = ws.check(as_of="2026-11-22", select=["OW02", "AL01"]).frame
        rest = ws.check(as_of="2026-11-22", ignore=["OW02,AL01"]).frame
    assert set(both["code"]) == {"OW02", "AL01"} and both.equals(listed)
    assert rest.height > 0 and not {"OW02", "AL01"} & set(rest["code"])
    cli = ti("check", "--as-of", "2026-11-22", "--select", "OW02,AL01", "--format", "json")
    assert {f["code"] for f in json.loads(cli.stdout)["findings"]} == {"OW02", "AL01"}
