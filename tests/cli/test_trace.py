"""`los trace` on the store (SQLite and PostgreSQL) and on a strategy file, in text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Los

EXAMPLES = Path(__file__).parents[2] / "src" / "lineofsight" / "examples"

LOOPS = """\
version: 1
organization:
  name: Loops
  units:
    - {id: co, name: "Co [bold]", level: company}
  people:
    - {id: ann, name: Ann, unit: co}
    - {id: bob, name: Bob, unit: co}
strategy:
  mission: "Be [b]useful[/b]."
objectives:
  - {id: top, title: "Grow [x]", level: strategic, unit: co, owner: ann}
kpis:
  - {id: spin_a, name: Spin A, unit: co, owner: ann, frequency: monthly, direction: increase,
     contributes_to: [spin_b]}
  - {id: spin_b, name: Spin B, unit: co, frequency: monthly, direction: increase,
     supports: [top], contributes_to: [spin_a]}
  - {id: lonely, name: Lonely, unit: co, frequency: monthly, direction: increase}
"""


def _trace(los: Los, *args: str):  # type: ignore[no-untyped-def]
    assert los.db_url is not None
    return los("trace", *args, "--db", los.db_url)


def test_text_and_json_on_the_store(los: Los) -> None:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    text = _trace(los, "qualified_meetings_na")
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[0] == (
        'Line of sight from KPI qualified_meetings_na "Qualified first meetings, North America" '
        "(Sales North America): 4 paths to the mission"
    )
    assert len(lines) == 5
    assert lines[1].startswith(
        "  qualified_meetings_na (KPI, Sales North America) -> meeting_cadence (objective: Hold 40"
    )
    assert lines[1].endswith(
        "-> mission: Give every small business the tools to run its day-to-day operations with "
        "the confidence of a large one."
    )
    assert lines[4] == (
        "  qualified_meetings_na (KPI, Sales North America) -> pipeline_coverage (KPI) -> "
        "bookings_acv_musd (KPI) -> arr_musd (KPI) -> grow_market_share (objective) -> mission"
    )

    data = json.loads(_trace(los, "qualified_meetings_na", "--format", "json").output)
    assert data["id"] == "qualified_meetings_na" and data["kind"] == "kpi"
    assert data["paths"] == [
        [
            "qualified_meetings_na",
            "meeting_cadence",
            "grow_pipeline",
            "grow_market_share",
            "mission",
        ],
        [
            "qualified_meetings_na",
            "pipeline_coverage",
            "grow_pipeline",
            "grow_market_share",
            "mission",
        ],
        [
            "qualified_meetings_na",
            "pipeline_coverage",
            "bookings_acv_musd",
            "win_new_logos",
            "grow_market_share",
            "mission",
        ],
        [
            "qualified_meetings_na",
            "pipeline_coverage",
            "bookings_acv_musd",
            "arr_musd",
            "grow_market_share",
            "mission",
        ],
    ]
    assert data["ends"] == ["mission"] * 4 and data["truncated"] is False


def test_people_objectives_and_dangling_kpis_on_the_store(los: Los) -> None:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    person = json.loads(_trace(los, "aisha_rahman", "--format", "json").output)
    assert person["kind"] == "person"
    assert [p[:2] for p in person["paths"]] == [
        ["aisha_rahman", "first_contact_fix"],
        ["aisha_rahman", "first_contact_resolution_pct"],
        ["aisha_rahman", "first_contact_resolution_pct"],
    ]
    objective = json.loads(_trace(los, "grow_pipeline", "--format", "json").output)
    assert objective["paths"] == [["grow_pipeline", "grow_market_share", "mission"]]

    dangling = _trace(los, "social_followers")
    assert dangling.exit_code == 0
    assert dangling.output.splitlines() == [
        'Line of sight from KPI social_followers "Social media followers" (Marketing): '
        "1 path, none reaches the mission",
        "  social_followers (KPI, Marketing) (does not reach the mission)",
    ]
    nobody = _trace(los, "lena_fischer")
    assert "(owns no KPI or objective; does not reach the mission)" in nobody.output


def test_unknown_ids_exit_2_with_a_suggestion(los: Los) -> None:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    result = _trace(los, "qualified_meeting_na")
    assert result.exit_code == 2
    assert result.output == (
        "error: unknown id 'qualified_meeting_na': no KPI, objective or person has it "
        "(did you mean 'qualified_meetings_na'?)\n"
    )
    unit = _trace(los, "support_t1")
    assert unit.exit_code == 2
    assert "'support_t1' is a unit: trace one of its KPIs, objectives or people" in unit.output


def test_an_empty_store_exits_2(los: Los) -> None:
    los.make_empty_store()
    result = _trace(los, "nps")
    assert result.exit_code == 2
    assert "the store has no strategy yet" in result.output


def test_a_strategy_file_with_a_formula(workdir: Path) -> None:
    los = Los(None)  # a file needs no store
    path = str(EXAMPLES / "manufacturing" / "strategy.yaml")
    data = json.loads(los("trace", "dio", path, "--format", "json").output)
    assert data["paths"] == [
        ["dio", "lean_inventory", "cash_discipline", "mission"],
        ["dio", "ccc", "cash_discipline", "mission"],  # ccc = dio + dso - dpo
    ]


def test_a_file_with_a_cycle_and_markup_in_names(workdir: Path) -> None:
    los = Los(None)
    (workdir / "strategy.yaml").write_text(LOOPS)
    result = los("trace", "spin_a", "strategy.yaml")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        'Line of sight from KPI spin_a "Spin A" (Co [bold]): '
        "2 paths, 1 reaches the mission, 1 does not",
        "  spin_a (KPI, Co [bold]) -> spin_b (KPI) -> top (objective: Grow [x]) -> "
        "mission: Be [b]useful[/b].",
        "  spin_a (KPI, Co [bold]) -> spin_b (KPI) "
        "(cycle: leads back to spin_a; does not reach the mission)",
    ]
    data = json.loads(los("trace", "spin_a", "strategy.yaml", "--format", "json").output)
    assert data["paths"] == [["spin_a", "spin_b", "top", "mission"], ["spin_a", "spin_b"]]
    assert data["ends"] == ["mission", "cycle"]
    bob = json.loads(los("trace", "bob", "strategy.yaml", "--format", "json").output)
    assert bob["paths"] == [["bob"]] and bob["ends"] == ["dangling"]


def test_a_bad_file_exits_2(workdir: Path) -> None:
    los = Los(None)
    result = los("trace", "nps", "missing.yaml")
    assert result.exit_code == 2
    assert result.output == "error: missing.yaml: no such file\n"
