"""The bulk CSV reader and checker give exactly what the row-by-row ones give, or decline.

For any CSV the frame path either declines to read it (and the row-by-row path reads it), or
checks it to the same rows for the store, or rejects it with the same problems, in the same
order and words. Random files mix every kind of good and bad cell the checks know about.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.errors import LoadError
from lineofsight.services.load_rules import LoadRules
from lineofsight.services.measurement_files import open_measurements, read_csv_frame
from lineofsight.services.measurement_frames import check_frame
from lineofsight.services.measurements import COLUMNS, check_rows
from lineofsight.store.measurements import frame_of_rows

# id, unit_id, frequency, formula, ratio_numerator, ratio_scale, bounds_min, bounds_max
RULES = LoadRules(
    rows=[
        ("sales", "co", "monthly", None, None, None, None, None),
        ("nps", "cs", "quarterly", None, None, None, -100.0, 100.0),
        ("share", "co", "yearly", None, None, None, 0.0, None),
        ("rate", "co", "monthly", None, "readmissions", 100.0, None, 50.0),
        ("ccc", "co", "quarterly", "dio + dso", None, None, None, None),
        ("daily", "cs_t1", "daily", None, None, None, None, None),
    ],
    units=frozenset({"co", "cs", "cs_t1"}),
    calendar=m.Calendar(4),
)
KPIS = ["sales", "nps", "share", "rate", "ccc", "daily", "nope", "", " sales", "NPS"]
UNITS = ["", "co", "cs", "cs_t1", "mars", " cs "]
PERIODS = [
    "2026-01", "2026-Q1", "2026", "FY2027", "FY2027-Q1", "2026-W05", "2026-01-15", "2026-13",
    "", "2026-q2", " 2026-02 ", "soon", "2026-02-30",
]  # fmt: skip
NUMBERS = [
    "", "1", "45", "-5", "0", "-0", "12.5", ".5", "5.", "1e3", "1E-2", "+7", "140", "-140",
    "abc", "inf", "-inf", "nan", "1_000", " 12 ", "1e999", "0x10", "١٢", "--1", "1,5",
]  # fmt: skip
NOTES = ["", "restated", "  padded  ", "ünï"]


@st.composite
def csv_files(draw: st.DrawFn) -> str:
    optional = draw(st.lists(st.sampled_from(["unit", "numerator", "denominator", "note"])))
    header = ["kpi", "period", "value", *dict.fromkeys(optional)]
    header = draw(st.permutations(header))
    if draw(st.integers(0, 9)) == 0:
        header = [name.upper() if i == 0 else f" {name}" for i, name in enumerate(header)]
    pools = {
        "kpi": KPIS,
        "unit": UNITS,
        "period": PERIODS,
        "value": NUMBERS,
        "numerator": NUMBERS,
        "denominator": NUMBERS,
        "note": NOTES,
    }
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 12))):
        cells = [draw(st.sampled_from(pools[name.strip().lower()])) for name in header]
        if draw(st.integers(0, 19)) == 0:
            cells = cells[: draw(st.integers(0, len(cells)))]  # a short row
        lines.append(",".join(cells))
    if len(lines) > 2 and draw(st.booleans()):
        lines.append(lines[draw(st.integers(1, len(lines) - 1))])  # a repeated row
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(lines) + draw(st.sampled_from([end, ""]))
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    return text


def outcome(rows: pl.DataFrame | None, error: LoadError | None) -> object:
    if error is not None:
        return ("error", error.summary, [str(p) for p in error.problems])
    assert rows is not None
    return ("rows", rows.to_dicts())


def row_by_row(path: Path) -> object:
    opened = open_measurements(path, bulk=False)
    header, rows = opened.header, opened.rows
    try:
        return outcome(frame_of_rows(check_rows(RULES, str(path), header, rows)), None)
    except LoadError as exc:
        return outcome(None, exc)


def in_bulk(path: Path) -> object | None:
    table = read_csv_frame(path)
    if table is None:
        return None
    try:
        return outcome(check_frame(RULES, str(path), table), None)
    except LoadError as exc:
        return outcome(None, exc)


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@given(csv_files())
@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example("kpi,period,value\nsales,2026-01,1\nsales,2026-01,2\n")
@example("kpi,period,value,unit,numerator,denominator\nrate,2026-01,,,5,0\nrate,2026-02,,,5,-0\n")
@example("kpi,period,value\r\nnps,2026-Q1,140\r\nnps,2026-01,40\r\n")
def test_bulk_checks_agree_with_row_by_row(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("csv") / "m.csv"
    path.write_bytes(text.encode())
    bulk = in_bulk(path)
    if bulk is not None:
        expected = row_by_row(path)
        assert same(bulk, expected), f"{bulk}\n!=\n{expected}"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.csv"
    path.write_bytes(text.encode())
    return path


@pytest.mark.parametrize(
    "text",
    [
        "kpi,period,value\nsales,2026-01,1\n",
        "kpi,period,value\r\nsales,2026-01,1\r\n",
        "\ufeffkpi,period,value\nsales,2026-01,1",
        "KPI, Period ,Value,note\nsales, 2026-01 , 1 , a note\n",
        "kpi,period,value\n,,\nsales,2026-01,1\n",
    ],
)
def test_plain_csv_is_read_in_bulk(tmp_path: Path, text: str) -> None:
    assert read_csv_frame(write(tmp_path, text)) is not None


@pytest.mark.parametrize(
    "text",
    [
        'kpi,period,value,note\nsales,2026-01,1,"a, b"\n',  # quoting
        "kpi,period,value\n\nsales,2026-01,1\n",  # a blank line still counts as a row
        "kpi,period,value\rsales,2026-01,1\r",  # old Mac line ends
        "kpi,period,value\nsales,2026-01,1,extra\n",  # more cells than the header names
        "kpi,kpi,value\nsales,2026-01,1\n",  # a repeated column
        "kpi,period,value\nsales,2026-01,\x1f1\n",  # white space only Python strips
        "",
    ],
)
def test_other_csv_goes_row_by_row(tmp_path: Path, text: str) -> None:
    assert read_csv_frame(write(tmp_path, text)) is None


def test_many_bad_rows_are_counted_beyond_the_listed(tmp_path: Path) -> None:
    body = "".join(f"sales,2026-01,x{i}\n" for i in range(250))
    path = write(tmp_path, "kpi,period,value\n" + body)
    assert same(in_bulk(path), row_by_row(path))
    with pytest.raises(LoadError) as caught:
        table = read_csv_frame(path)
        assert table is not None
        check_frame(RULES, str(path), table)
    assert caught.value.summary.endswith("250 bad rows; nothing was loaded")
    assert str(caught.value.problems[-1]).endswith("... and 50 more bad rows")


def test_columns_are_the_documented_ones() -> None:
    assert COLUMNS == ("kpi", "period", "value", "unit", "numerator", "denominator", "note")
