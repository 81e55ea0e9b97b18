"""`los status --format json|csv|parquet`: each row's name and period end, full precision."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import Los


@pytest.fixture
def example(los: Los) -> Los:
    assert los("init", "ws", "--example", "techinnovate").exit_code == 0
    return los


def test_json_csv_and_parquet_agree_at_full_precision(example: Los, workdir: Path) -> None:
    args = ("status", "--as-of", "2026-12-05")
    data = json.loads(example(*args, "--format", "json").stdout)
    rows = list(csv.DictReader(io.StringIO(example(*args, "--format", "csv").stdout)))
    result = example(*args, "--format", "parquet")
    assert result.exit_code == 0
    parquet = pl.read_parquet(io.BytesIO(result.stdout_bytes))
    target = workdir / "card.parquet"
    assert example(*args, "--format", "parquet", "-o", str(target)).exit_code == 0
    assert pl.read_parquet(target).equals(parquet)

    kpis = parquet.filter(pl.col("kind") == "kpi")
    assert kpis.height == len(data["kpis"]) == sum(r["kind"] == "kpi" for r in rows)
    csv_kpis = [r for r in rows if r["kind"] == "kpi"]
    precise = 0
    for row, js, text in zip(kpis.iter_rows(named=True), data["kpis"], csv_kpis, strict=True):
        assert row["name"] == js["name"] == text["name"]
        assert row["period_end"].isoformat() == js["period_end"] == text["period_end"]
        for key in ("target", "score", "actual", "miss", "achievement"):
            assert row[key] == js[key]
            assert (float(text[key]) if text[key] else None) == row[key]
        if row["target"] is not None and row["target"] != round(row["target"], 6):
            precise += 1
    assert precise > 5  # glide-path targets have more than 6 decimals, and keep them
    new = kpis.filter((pl.col("id") == "new_customers") & (pl.col("unit") == "sales"))
    assert new.row(0, named=True)["target"] == pytest.approx(102.4931506849315, abs=0)
    assert (new["name"][0], new["unit_name"][0]) == ("New customers won", "Sales")
    meetings = data["kpis"][[r["id"] for r in data["kpis"]].index("qualified_meetings_na")]
    assert (meetings["period"], meetings["period_end"]) == ("2026-W44", "2026-11-01")

    assert parquet.schema["status"] == pl.Enum(["no_data", "no_target", "red", "amber", "green"])
    assert parquet.schema["period_end"] == pl.Date and parquet.schema["as_of"] == pl.Date
    grow = parquet.filter(pl.col("id") == "grow_pipeline").row(0, named=True)
    assert grow["kind"] == "objective" and grow["counts"]["amber"] == 1
    assert grow["worst"]["id"] == "emea_partner_channel"
    assert grow["name"].startswith("Hold qualified pipeline")
    objective = next(r for r in rows if r["id"] == "grow_pipeline")
    assert objective["items"] == "1 amber, 3 green, 1 no data"
    assert next(o for o in data["objectives"] if o["id"] == "grow_pipeline")["name"] == grow["name"]
    assert next(u for u in data["units"] if u["id"] == "sales_emea")["name"] == "Sales EMEA"
    # Every row names its unit, in each format: a KPI's and an objective's the unit they
    # belong to, a unit's itself, so rows of every kind can be filtered by unit alike.
    for section in ("kpis", "objectives", "units"):
        assert all(r["unit"] for r in data[section]), section
    assert [(u["id"], u["unit"]) for u in data["units"]] == [
        (r["id"], r["unit"]) for r in rows if r["kind"] == "unit"
    ]
    units = parquet.filter(pl.col("kind") == "unit")
    assert units["unit"].to_list() == units["id"].to_list() == [u["id"] for u in data["units"]]


def test_output_to_a_file_and_a_bad_one(example: Los, workdir: Path) -> None:
    out = workdir / "card.csv"
    result = example("status", "--as-of", "2026-12-05", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0 and "as_of" not in result.stdout
    assert out.read_text().startswith("as_of,kind,id,name,unit,unit_name,period,period_end,")
    text = workdir / "card.txt"
    assert example("status", "--as-of", "2026-12-05", "-o", str(text)).exit_code == 0
    assert "KPIs as of 2026-12-05" in text.read_text()
    deep = workdir / "new" / "folder" / "card.json"
    assert example("status", "--format", "json", "-o", str(deep)).exit_code == 0
    assert json.loads(deep.read_text())["kpis"]
    folder = workdir / "a_folder"
    folder.mkdir()
    bad = example("status", "--format", "parquet", "-o", str(folder))
    assert bad.exit_code == 2
    assert f"cannot write {folder}" in bad.output and "Traceback" not in bad.output


def test_parquet_on_a_terminal_asks_for_a_file(
    example: Los, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.cli import scorecard

    monkeypatch.setattr(scorecard, "_stdout_is_terminal", lambda: True)
    result = example("status", "--format", "parquet")
    assert result.exit_code == 2
    assert "--format parquet writes binary data: give -o FILE" in result.output
    assert result.stdout_bytes.count(b"PAR1") == 0
    assert example("status", "--format", "json").exit_code == 0  # text formats still print


def test_the_format_follows_the_output_file_name_unless_given(example: Los, workdir: Path) -> None:
    args = ("status", "--as-of", "2026-12-05")
    asked = json.loads(example(*args, "--format", "json").stdout)
    for name in ("card.parquet", "card.CSV", "card.json", "card.txt"):
        assert example(*args, "-o", str(workdir / name)).exit_code == 0
    assert pl.read_parquet(workdir / "card.parquet").filter(pl.col("kind") == "kpi").height == len(
        asked["kpis"]
    )
    assert (workdir / "card.CSV").read_text().startswith("as_of,kind,id,name,")
    assert json.loads((workdir / "card.json").read_text()) == asked
    assert (workdir / "card.txt").read_text().startswith("KPIs as of 2026-12-05")
    # --format, when given, is what is written, whatever the name
    assert example(*args, "--format", "text", "-o", str(workdir / "table.csv")).exit_code == 0
    assert (workdir / "table.csv").read_text().startswith("KPIs as of 2026-12-05")
    assert example("check", "-o", str(workdir / "report.sarif")).exit_code in (0, 1)
    assert json.loads((workdir / "report.sarif").read_text())["version"] == "2.1.0"
