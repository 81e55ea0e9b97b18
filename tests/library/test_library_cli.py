"""`los library search/show/add/suggest` as a user runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import lineofsight
from lineofsight.library import semantic
from lineofsight.spec.files import read_strategy
from tests.conftest import Los, invoke

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = "2026-11-22"
# What a new KPI still lacks right after `library add`: a target, and data (none is loaded).
NUMBERS_MISSING = {"SM01", "SM03", "DA01"}


def run(*args: str):  # type: ignore[no-untyped-def]
    return invoke(list(args), catch_exceptions=False)


@pytest.fixture
def workspace(los: Los, workdir: Path) -> Path:
    """The fixture strategy, copied and applied to a fresh store."""
    path = workdir / "strategy.yaml"
    shutil.copy(FIXTURES / "strategy.yaml", path)
    result = los("apply", str(path))
    assert result.exit_code == 0, result.output
    return path


def _findings(los: Los, *args: str) -> list[dict]:  # type: ignore[type-arg]
    result = los("check", *args, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    findings: list[dict] = json.loads(result.output)["findings"]  # type: ignore[type-arg]
    return findings


def test_search_lists_ranked_results_with_a_summary() -> None:
    result = run("library", "search", "DSO")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(" 1. days_sales_outstanding  Days Sales Outstanding (DSO)")
    assert "finance" in first
    assert len(result.output.splitlines()[1]) > 20  # the description's first sentence


def test_search_filters_and_json() -> None:
    result = run("library", "search", "stay", "--industry", "healthcare", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data[0]["id"] == "average_length_of_stay"
    assert {"id", "name", "function", "level", "summary", "score"} <= set(data[0])
    only = run("library", "search", "cost", "--function", "hr", "--format", "json", "-n", "20")
    assert {item["function"] for item in json.loads(only.output)} == {"hr"}
    levels = run("library", "search", "rate", "--level", "strategic", "--format", "json")
    assert {item["level"] for item in json.loads(levels.output)} == {"strategic"}


def test_search_rejects_an_unknown_filter_value() -> None:
    result = run("library", "search", "cost", "--function", "legal")
    assert result.exit_code == 2
    assert "--function 'legal': use one of finance, sales" in result.output


def test_search_with_no_hit_says_so() -> None:
    result = run("library", "search", "zzqx")
    assert result.exit_code == 0
    assert "No KPI found" in result.output


def test_show_prints_the_definition_and_drivers() -> None:
    result = run("library", "show", "days_sales_outstanding")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Days Sales Outstanding\n")
    assert "formula: accounts_receivable /" in out
    assert "direction:       decrease" in out
    assert "Driven by:" in out and "accounts_receivable" in out
    assert "Drives:" in out and "cash_conversion_cycle" in out


def test_show_an_unknown_id_suggests_close_ones() -> None:
    result = run("library", "show", "days_sales_outstandin")
    assert result.exit_code == 2
    assert "no KPI 'days_sales_outstandin' in the catalogue" in result.output
    assert "did you mean days_sales_outstanding" in result.output


def test_show_json_has_the_entry_fields() -> None:
    result = run("library", "show", "net_promoter_score", "--format", "json")
    data = json.loads(result.output)
    assert data["id"] == "net_promoter_score" and "NPS" in data["abbreviations"]
    assert {"measure", "direction", "drivers", "drives", "industries"} <= set(data)


def test_add_writes_file_and_store_and_check_is_clean_for_the_new_items(
    los: Los, workspace: Path
) -> None:
    before = workspace.read_text()
    result = los("library", "add", "days_sales_outstanding", "--unit", "finance_dept",
                 "--owner", "fay", "--db", los.db_url or "")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Added KPI days_sales_outstanding" in result.output
    assert "Added KPI accounts_receivable" in result.output  # a missing formula input
    assert "Formula inputs already in the strategy: revenue" in result.output
    assert "supports 'collect_faster', the only active objective" in result.output
    after = workspace.read_text()
    assert after.startswith(before.rstrip("\n"))  # everything before is kept, comments too
    added = after[len(before.rstrip("\n")) :]
    assert "  - id: days_sales_outstanding\n" in added
    assert "    formula: accounts_receivable / revenue * 30\n" in added
    assert "    supports: [{objective: collect_faster}]\n" in added
    # The store has the new KPIs: check on the store, and on the file, finds nothing about
    # them except that they have no target or data yet.
    new = {"days_sales_outstanding", "accounts_receivable"}
    on_store = [f for f in _findings(los) if f["subject"]["id"] in new]
    assert {f["code"] for f in on_store} <= NUMBERS_MISSING, on_store
    assert {f["subject"]["id"] for f in on_store if f["code"] == "SM01"} == new
    on_file = [f for f in _findings(los, str(workspace)) if f["subject"]["id"] in new]
    assert {f["code"] for f in on_file} == {"SM01"}, on_file
    export = los("export", "--db", los.db_url or "")
    assert "days_sales_outstanding" in export.output


def test_add_gives_a_new_input_the_direction_its_formula_needs(los: Los, workspace: Path) -> None:
    result = los("library", "add", "revenue_per_employee", "--unit", "co", "--owner", "ann",
                 "--supports", "grow", "--db", los.db_url or "")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Formula inputs already in the strategy: revenue" in result.output
    assert (
        "direction decrease, not the catalogue's increase: raising it lowers "
        "'revenue_per_employee' = revenue / headcount, which is to increase"
    ) in " ".join(result.output.split())
    added = workspace.read_text().split("  - id: headcount\n")[1]
    assert "    direction: decrease\n" in added
    new = {"revenue_per_employee", "headcount"}
    on_store = [f for f in _findings(los) if f["subject"]["id"] in new]
    assert {f["code"] for f in on_store} <= NUMBERS_MISSING, on_store


def test_add_refuses_an_id_the_strategy_has(los: Los, workspace: Path) -> None:
    before = workspace.read_text()
    result = los("library", "add", "revenue", "--unit", "co", "--owner", "ann",
                 "--db", los.db_url or "")  # fmt: skip
    assert result.exit_code == 2
    assert "the strategy has a KPI 'revenue' already" in result.output
    assert workspace.read_text() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "nowhere", "--owner", "fay"], "no unit 'nowhere' in"),
        (["--unit", "finance_dept", "--owner", "zed"], "no person 'zed' in"),
        (
            ["--unit", "finance_dept", "--owner", "fay", "--supports", "fly"],
            "no objective 'fly' in",
        ),
        (
            ["--unit", "sales_dept", "--owner", "sam"],
            "objectives of unit 'sales_dept': sell_more, keep_customers",
        ),
    ],
)
def test_add_names_what_is_unknown_and_writes_nothing(
    los: Los, workspace: Path, args: list[str], message: str
) -> None:
    before = workspace.read_text()
    result = los("library", "add", "win_rate", *args, "--db", los.db_url or "")
    assert result.exit_code == 2
    assert message in result.output
    assert workspace.read_text() == before


def test_add_to_a_named_file(tmp_path: Path, workdir: Path) -> None:
    path = workdir / "strategy.yaml"
    shutil.copy(FIXTURES / "strategy.yaml", path)
    assert run("init", ".").exit_code == 0
    result = run("library", "add", "win_rate", "--unit", "sales_dept", "--owner", "sam",
                 "--supports", "sell_more", "--file", str(path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "id: win_rate" in path.read_text()
    status = run("export")
    assert "win_rate" in status.output


def test_suggest_groups_drivers_by_the_child_units_functions(los: Los, workspace: Path) -> None:
    result = los("library", "suggest", "revenue", "--format", "json", "--db", los.db_url or "")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["entry_id"] == "revenue" and data["matched_by"] == "id"
    groups = {group["function"]: group for group in data["groups"]}
    assert groups["sales"]["units"] == [["sales_dept", "Sales"]]
    moves = {d["id"]: d["move"] for g in data["groups"] for d in g["drivers"]}
    assert moves["win_rate"] == "increase"
    assert moves["customer_churn_rate"] == "decrease"
    # The child units' functions come first.
    assert data["groups"][0]["function"] in {"finance", "sales", "customer_service"}


def test_suggest_matches_by_name_and_follows_formula_signs(los: Los, workspace: Path) -> None:
    result = los("library", "suggest", "cash_cycle", "--depth", "1", "--db", los.db_url or "")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "catalogue KPI 'cash_conversion_cycle' (matched by name)" in out
    lines = {line.split()[1]: line.split()[0] for line in out.splitlines() if line.startswith("  ")}
    # ccc = dio + dso - dpo, to decrease: dio and dso must fall, dpo must rise.
    assert lines["days_inventory_outstanding"] == "decrease"
    assert lines["days_sales_outstanding"] == "decrease"
    assert lines["days_payable_outstanding"] == "increase"
    assert "unit 'finance_dept' has no child units" in out


def test_suggest_an_unknown_kpi(los: Los, workspace: Path) -> None:
    result = los("library", "suggest", "revenu", "--db", los.db_url or "")
    assert result.exit_code == 2
    assert "no KPI 'revenu' in the strategy (did you mean revenue?)" in result.output


def test_search_semantic_without_the_model_exits_2_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lineofsight.services import library

    monkeypatch.setattr(semantic, "available", lambda: False)
    monkeypatch.setattr(semantic, "_model", [])
    monkeypatch.delitem(library.catalogue().__dict__, "semantic", raising=False)
    result = run("library", "search", "people quitting", "--semantic")
    assert result.exit_code == 2
    assert "pip install 'lineofsight[semantic]'" in result.output


@pytest.mark.skipif(not semantic.available(), reason="the `semantic` extra is not installed")
def test_search_semantic_and_hybrid_modes() -> None:
    result = run("library", "search", "people quitting the company", "--mode", "semantic")
    assert result.exit_code == 0, result.output
    assert "turnover" in result.output
    hybrid = run("library", "search", "OEE", "--mode", "hybrid", "-n", "3")
    assert hybrid.output.splitlines()[0].startswith(" 1. overall_equipment_effectiveness")


def test_suggest_on_an_example_groups_drivers_by_the_units_functions(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    los = Los(None)
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    monkeypatch.chdir(workdir / "ws")
    result = los("library", "suggest", "nps", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["entry_id"] == "net_promoter_score" and data["notes"] == []
    groups = {group["function"]: group for group in data["groups"]}
    # The company's child units: Customer Experience, Product & Engineering, Go-to-Market.
    assert groups["customer_service"]["units"] == [["customer_experience", "Customer Experience"]]
    assert groups["product"]["units"] == [["product_eng", "Product & Engineering"]]
    functions = [group["function"] for group in data["groups"]]
    with_units = [group["function"] for group in data["groups"] if group["units"]]
    assert functions[: len(with_units)] == with_units  # the units' functions come first
    moves = {d["id"]: d["move"] for group in data["groups"] for d in group["drivers"]}
    assert moves["customer_effort_score"] == "decrease"
    assert moves["first_contact_resolution"] == "increase"
    # Marketing is a department under Go-to-Market (sales): it is named for its drivers.
    share = los("library", "suggest", "market_share_pct", "--depth", "1")
    assert share.exit_code == 0, share.output
    assert "marketing - units: Marketing (marketing)" in share.output
    assert "sales - units: Go-to-Market (go_to_market)" in share.output


@pytest.mark.parametrize("name", ["globalhealth", "manufacturing", "techinnovate"])
def test_the_examples_units_have_catalogue_functions(name: str) -> None:
    from lineofsight.library.model import FUNCTIONS

    path = Path(lineofsight.__file__).parent / "examples" / name / "strategy.yaml"
    org = read_strategy(path)
    below_top = [unit for unit in org.units if unit.parent is not None]
    assert below_top and all(unit.function in FUNCTIONS for unit in below_top)


def test_suggest_says_when_the_match_is_only_the_closest_and_takes_an_entry(
    los: Los, workspace: Path
) -> None:
    text = workspace.read_text().replace("name: Cash Conversion Cycle", "name: Cash tied up")
    workspace.write_text(text)
    assert los("apply", str(workspace)).exit_code == 0
    guessed = los("library", "suggest", "cash_cycle", "--db", los.db_url or "")
    assert guessed.exit_code == 0, guessed.output
    assert "(closest name)" in guessed.output and "--entry ID" in guessed.output
    given = los("library", "suggest", "cash_cycle", "--entry", "cash_conversion_cycle",
                "--depth", "1", "--db", los.db_url or "")  # fmt: skip
    assert "catalogue KPI 'cash_conversion_cycle' (given with --entry)" in given.output
    assert "days_payable_outstanding" in given.output
    wrong = los(
        "library", "suggest", "cash_cycle", "--entry", "cash_cycl", "--db", los.db_url or ""
    )
    assert wrong.exit_code == 2 and "no KPI 'cash_cycl' in the catalogue" in wrong.output


def test_two_additions_at_once_keep_both(los: Los, workspace: Path) -> None:
    """The file is read, edited, written and applied under a lock: neither addition is lost."""
    from concurrent.futures import ThreadPoolExecutor

    from lineofsight.services import library
    from lineofsight.services.evaluate import load_organization
    from lineofsight.store.database import Store

    store = Store(los.db_url or "")
    try:
        jobs = [("win_rate", "sales_dept", "sam", "sell_more"),
                ("customer_churn_rate", "sales_dept", "sam", "keep_customers"),
                ("accounts_receivable", "finance_dept", "fay", None)]  # fmt: skip
        with ThreadPoolExecutor(3) as pool:
            done = list(
                pool.map(
                    lambda job: library.add(
                        store, job[0], unit=job[1], owner=job[2], supports=job[3], file=workspace
                    ),
                    jobs,
                )
            )
        assert len(done) == 3
        text = workspace.read_text()
        stored = {k.id for k in load_organization(store).kpis}
    finally:
        store.close()
    for kpi_id, *_ in jobs:
        assert f"  - id: {kpi_id}\n" in text
        assert kpi_id in stored


def test_add_says_when_the_applied_file_is_gone(los: Los, workspace: Path) -> None:
    workspace.rename(workspace.with_name("moved.yaml"))
    result = los("library", "add", "win_rate", "--unit", "sales_dept", "--owner", "sam",
                 "--supports", "sell_more", "--db", los.db_url or "")  # fmt: skip
    assert result.exit_code == 2
    assert "which is not a file here" in result.output and "--file PATH" in result.output


def test_add_makes_a_formula_no_finer_than_its_inputs(los: Los, workspace: Path) -> None:
    # Revenue is quarterly here; the catalogue's DSO (over revenue) is monthly, which would
    # never have a value: it is added quarterly, and the user is told why.
    monthly = "    frequency: monthly\n    direction: increase\n    aggregation: sum\n"
    quarterly = workspace.read_text().replace(monthly, monthly.replace("monthly", "quarterly"), 1)
    workspace.write_text(quarterly)
    assert los("apply", str(workspace)).exit_code == 0
    result = los("library", "add", "days_sales_outstanding", "--unit", "finance_dept",
                 "--owner", "fay", "--db", los.db_url or "")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "'days_sales_outstanding' is quarterly here, as its input 'revenue' (the catalogue's "
        "frequency is monthly)"
    ) in " ".join(result.output.split())
    org = read_strategy(workspace)
    frequencies = {k.id: k.frequency.value for k in org.kpis}
    assert frequencies["days_sales_outstanding"] == "quarterly"
    assert frequencies["accounts_receivable"] == "monthly"  # an input keeps the catalogue's


def test_add_without_file_writes_the_workspaces_file_and_refuses_another_applied_since(
    los: Los, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workdir / "ws"
    ws.mkdir()
    shutil.copy(FIXTURES / "strategy.yaml", ws / "strategy.yaml")
    assert los("init", str(ws)).exit_code == 0  # its config names the store
    args = ("--unit", "sales_dept", "--owner", "sam", "--supports", "sell_more")
    monkeypatch.chdir(ws)
    added = run("library", "add", "win_rate", *args)
    assert added.exit_code == 0, added.output
    said = " ".join(added.output.split())
    assert "Wrote strategy.yaml (the strategy file last applied) and applied it to the store" in (
        said
    )
    assert "id: win_rate" in (ws / "strategy.yaml").read_text()
    # A file outside the workspace applied to its store since (a trial): not written unasked.
    trial = workdir / "trial.yaml"
    shutil.copy(ws / "strategy.yaml", trial)
    assert los("apply", str(trial)).exit_code == 0
    before = {path: path.read_text() for path in (trial, ws / "strategy.yaml")}
    refused = run("library", "add", "quota_attainment", *args)
    assert refused.exit_code == 2, refused.output
    said = " ".join(refused.output.split())
    assert f"last applied from {trial}, which is not in this workspace" in said
    assert "--file" in said
    assert {path: path.read_text() for path in before} == before
    assert "quota_attainment" not in los("export").stdout
    chosen = run("library", "add", "quota_attainment", *args, "--file", "strategy.yaml")
    assert chosen.exit_code == 0, chosen.output
    assert "Wrote strategy.yaml and applied it to the store" in " ".join(chosen.output.split())
    assert "id: quota_attainment" in (ws / "strategy.yaml").read_text()
    assert trial.read_text() == before[trial]
