"""The notebook and console views of the API's results: numbers for people, with units of
measure and unit names; every user-written string escaped."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import polars as pl
import pytest

import lineofsight
from lineofsight.display import chance, human, interval, score, tick, with_measure
from lineofsight.results import Forecasts, Scorecard
from lineofsight.services.init import init_workspace


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (34320.0, "34,320"),
        (3.432e4, "34,320"),
        (34320.4, "34,320"),
        (1234567.8, "1,234,568"),
        (102.4931506849315, "102.5"),
        (72.1, "72.1"),
        (2.58, "2.58"),
        (0.0523, "0.0523"),
        (999.96, "1,000"),
        (-0.5, "-0.5"),
        (-12345.0, "-12,345"),
        (0.0, "0"),
        (7, "7"),
        (None, "-"),
        (float("nan"), "-"),
    ],
)
def test_numbers_are_written_for_people(value: float | None, shown: str) -> None:
    assert human(value) == shown


def test_values_carry_their_unit_of_measure() -> None:
    assert with_measure(72.1, "%") == "72.1%"
    assert with_measure(35567.0, "followers") == "35,567 followers"
    assert with_measure(2.58, None) == "2.58"
    assert with_measure(None, "days") == "-"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (66.66666666666667, "66.6"),
        (80.99, "80.9"),
        (67.3, "67.3"),
        (66.7, "66.7"),
        (66.69999999999999, "66.7"),  # a sum's last bit is not a cut
        (100.0, "100"),
        (0.0, "0"),
        (31.0, "31"),
        (None, "-"),
        (float("nan"), "-"),
        # A score shown never reaches a band edge its exact score has not: an amber KPI is
        # never 100, an amber objective never 90 (the default green_at), a red never 50.
        (99.99, "99.9"),
        (89.96, "89.9"),
        (49.97, "49.9"),
        (50.0, "50"),
        (90.0, "90"),
    ],
)
def test_a_score_has_one_decimal_at_most_cut_not_rounded(value: float | None, shown: str) -> None:
    assert score(value) == shown


@pytest.mark.parametrize(
    ("probability", "shown"),
    [
        # A whole percent, rounded half up ...
        (0.52, "52%"),
        (0.125, "13%"),
        (0.094, "9%"),
        (0.5, "50%"),
        (0.006, "1%"),
        (0.994, "99%"),
        # ... and at the ends never an impossible 0% nor a certain 100%: a forecast is
        # neither, however far the target.
        (0.004, "<1%"),
        (1e-12, "<1%"),
        (0.0, "<1%"),
        (0.996, ">99%"),
        (1.0, ">99%"),
        (None, "-"),
        (float("nan"), "-"),
    ],
)
def test_a_chance_is_a_whole_percent_and_never_0_nor_100(
    probability: float | None, shown: str
) -> None:
    assert chance(probability) == shown


def test_an_interval_carries_the_unit_of_measure_once_as_a_value_does() -> None:
    assert interval(4.8594, 9.7941, "%") == "4.859 – 9.794%"
    assert interval(47148.75, 57957.28, "followers") == "47,149 – 57,957 followers"
    assert interval(18.0, 22.0, None) == "18 – 22"
    assert interval(-1.5, 2.0, "points") == "-1.5 – 2 points"
    assert interval(None, 3.0, "%") == interval(1.0, float("nan"), "%") == "-"
    # Each end as a value alone is written (`with_measure`): the same digits.
    assert interval(6.8991, 6.8991, "%").split(" – ") == [human(6.8991), with_measure(6.8991, "%")]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (34320.0, "34,320"),
        (2500.0, "2,500"),
        (105.25, "105.25"),
        (0.05, "0.05"),
        (-15.0, "-15"),
        (0.30000000000000004, "0.3"),  # a sum of steps: its last bit is not shown
        (1_500_000.0, "1.5M"),
        (1_250_000_000.0, "1,250M"),
    ],
)
def test_an_axis_value_is_separated_by_thousands_as_other_numbers(value: float, shown: str) -> None:
    assert tick(value) == shown


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Scorecard:
    folder = tmp_path_factory.mktemp("api") / "ws"
    init_workspace(folder, example="techinnovate", db=None)
    with lineofsight.Workspace.open(folder) as ws:
        return ws.scorecard(as_of="2026-12-05")


def test_the_notebook_view_formats_numbers_with_units(card: Scorecard) -> None:
    page = card._repr_html_()
    followers = card.kpis.filter(pl.col("id") == "social_followers").row(0, named=True)
    assert followers["actual"] == 35567.0  # the frame keeps the number itself
    assert "35,567 followers" in page and "35,119 followers" in page
    assert "e+0" not in page
    assert "58.6 USD million" in page and "13.9%" in page
    assert "Sales North America" in page and "Tier 2 Support" in page  # unit names
    assert "✗ red" in page and "1 amber, 3 green, 1 no data" in page
    # A row without its value still shows the last one known, and why it is missing.
    assert "37 meetings (2026-W43)" in page and "overdue since 2026-12-01" in page
    assert page.count("<table>") == 3


def test_the_text_view_matches(card: Scorecard) -> None:
    text = repr(card)
    first = text.splitlines()[0]
    assert (
        first == "TechInnovate Inc.: scorecard as of 2026-12-05 "
        "(44 KPI results: 4 red, 9 amber, 26 green, 1 no data, 4 no target)"
    )
    assert "35,567 followers" in text and "e+0" not in text
    assert "Tier 2 Support" in text


def test_a_scorecard_without_kpi_results_says_so_without_an_empty_list(card: Scorecard) -> None:
    # The scorecard of a unit without KPIs of its own or below it.
    empty = Scorecard(
        organization="TechInnovate Inc.",
        as_of=dt.date(2026, 12, 5),
        kpis=card.kpis.clear(),
        objectives=card.objectives.clear(),
        units=card.units,
    )
    first = repr(empty).splitlines()[0]
    assert first == "TechInnovate Inc.: scorecard as of 2026-12-05 (0 KPI results)"


def test_user_text_is_escaped(card: Scorecard) -> None:
    hostile = Scorecard(
        organization="<script>alert(1)</script>",
        as_of=dt.date(2026, 12, 5),
        kpis=card.kpis.with_columns(name=pl.lit("<b>bold</b>")),
        objectives=card.objectives,
        units=card.units,
    )
    page = hostile._repr_html_()
    assert "<script>" not in page and "<b>bold" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_long_frames_show_a_part_and_say_so(tmp_path: Path) -> None:
    table = lineofsight.Table(pl.DataFrame({"n": [float(i) * 1000.5 for i in range(120)]}), "N")
    text = repr(table)
    assert text.startswith("N: 120 rows")
    assert "… and 70 more rows" in text and "1,000" in text
    assert "… and 70 more rows" in table._repr_html_()
    assert len(table) == 120 and table.to_polars().height == 120


def test_an_explanation_without_a_breakdown_says_so(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # As `los explain` does: a KPI measured directly has no contributions, so its view says
    # why instead of showing an empty table's header.
    folder = tmp_path_factory.mktemp("api") / "ws"
    init_workspace(folder, example="techinnovate", db=None)
    with lineofsight.Workspace.open(folder) as ws:
        measured = ws.explain("nps", "2026-Q2", "2026-Q3")
    assert measured.contributions.height == 0
    for view in (repr(measured), measured._repr_html_()):
        assert "Measured directly: no breakdown (the residual is the whole change)." in view
        assert "contribution" not in view and "<table>" not in view


def test_a_table_of_one_row_says_one_row() -> None:
    assert repr(lineofsight.Table(pl.DataFrame({"n": [1.0]}), "Revisions")).startswith(
        "Revisions: 1 row\n"
    )
    assert repr(lineofsight.Table(pl.DataFrame({"n": [1.0, 2.0]}), "N")).startswith("N: 2 rows")


@pytest.fixture(scope="module")
def forecasts(tmp_path_factory: pytest.TempPathFactory) -> Forecasts:
    folder = tmp_path_factory.mktemp("api") / "ws"
    init_workspace(folder, example="techinnovate", db=None)
    with lineofsight.Workspace.open(folder) as ws:
        return ws.forecasts(as_of="2026-12-05")


def test_the_notebook_writes_forecasts_as_the_command_line_and_the_pages_do(
    forecasts: Forecasts,
) -> None:
    # The projected value and its 80% interval with the KPI's unit of measure, the chance a
    # whole percent (`<1%` rather than an impossible 0%); the frame keeps the numbers.
    page, text = forecasts._repr_html_(), repr(forecasts)
    rows = forecasts.kpis.filter(pl.col("projected").is_not_null()).iter_rows(named=True)
    tiny = 0
    for row in rows:
        measure = row["unit_of_measure"]
        cells = [
            with_measure(row["projected"], measure),
            interval(row["low"], row["high"], measure),
            with_measure(row["target"], measure),
        ]
        shown = "".join(f'<td style="text-align:right">{c}</td>' for c in cells)
        assert shown in page, (row["id"], cells)
        assert f'<td style="text-align:right">{html.escape(chance(row["probability"]))}</td>' in (
            page
        ), row["id"]
        assert all(cell in text for cell in cells), (row["id"], cells)
        path = forecasts.path.filter(pl.col("id") == row["id"], pl.col("unit") == row["unit"])
        assert (row["low"], row["high"]) == path.select("low", "high").row(-1)
        tiny += row["probability"] < 0.005
    assert tiny, "the example has a KPI with a chance below half a percent"
    assert "&lt;1%" in page and "<1%" in text
    assert "6.899%" in page and "4.859 – 9.794%" in page  # defect_escape_rate_pct
    assert "e+0" not in page
