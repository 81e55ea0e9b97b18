"""Finding the red, through the in-process client on SQLite and PostgreSQL: the lists behind
the status boxes match `los status`, the map opens on the red paths, the heatmap and the
drawn map show the engine's statuses, the KPI page shows its bands and a chart without
JavaScript, and a scoped reader following every link meets no 403."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineofsight.domain import model as m
from lineofsight.web import pagekit
from lineofsight.web.kpi_view import readable_period, thresholds
from tests.web.site import (
    PERIOD,
    RED_KPI,
    Site,
    build_site,
    drop_url,
    fresh_url,
    login,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    folder = tmp_path_factory.mktemp(f"find-{request.param}")
    url = fresh_url(request.param, folder, pg)
    try:
        yield build_site(url, folder / "ws")
    finally:
        drop_url(url, pg)


@pytest.fixture(scope="module")
def app(site: Site) -> Iterator[object]:
    from lineofsight.web.app import create_app

    application = create_app(site.url, secret_key="find-test-key")
    yield application
    application.state.store.close()


_printed: dict[tuple[str, ...], str] = {}  # (store URL, *arguments) -> what los status printed


def los_status(site: Site, *args: str) -> dict[str, list[dict[str, Any]]]:
    """`los status --format json` as the command line prints it, run in its own process (a
    second SQLite library in the app's process would disturb the app's file locks); once per
    store and arguments, as no test here writes to the site's store."""
    key = (site.url, *args)
    if key not in _printed:
        _printed[key] = _run_los_status(site, *args)
    data: dict[str, list[dict[str, Any]]] = json.loads(_printed[key])
    return data


def _run_los_status(site: Site, *args: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lineofsight",
            "status",
            "--format",
            "json",
            "--db",
            site.url,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


ROW = re.compile(r'<tr data-kpi="([^"]+)" data-unit="([^"]+)" data-status="([a-z_]+)">')


def listed(html: str) -> set[tuple[str, str]]:
    return {(k, u) for k, u, _ in ROW.findall(html)}


@pytest.mark.parametrize("status", ["red", "amber", "green", "no_target"])
def test_each_status_list_matches_los_status(app: object, site: Site, status: str) -> None:
    expected = {
        (str(r["id"]), str(r["unit"]))
        for r in los_status(site, "--period", PERIOD)["kpis"]
        if r["status"] == status
    }
    html = login(app, "admin").get(f"/lists/{status}", params={"period": PERIOD}).text
    assert listed(html) == expected
    if status == "red":
        assert (RED_KPI, "support_t2") in expected


def test_the_overdue_list_matches_los_status_as_of_a_date(
    app: object, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = {
        (str(r["id"]), str(r["unit"]))
        for r in los_status(site, "--as-of", "2026-12-05")["kpis"]
        if r["data"] == "overdue"
    }
    assert expected  # the example's data stops in October
    monkeypatch.setattr(pagekit, "today", lambda: dt.date(2026, 12, 5))
    client = login(app, "admin")
    html = client.get("/lists/overdue").text
    assert listed(html) == expected
    home = client.get("/").text
    box = re.search(r'data-status="overdue"><a href="/lists/overdue"><strong>(\d+)', home)
    assert box and int(box.group(1)) == len(expected)


def test_the_home_pages_overdue_values_are_those_its_box_counts_at_every_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value overdue at a unit other than the KPI's own (new customers of Sales EMEA, the
    KPI being Sales') is listed under "values overdue" as the box counts it."""
    from lineofsight.services.checkin import delete_measurement
    from lineofsight.store.database import Store
    from lineofsight.web.app import create_app

    url = fresh_url("sqlite", tmp_path, None)
    build_site(url, tmp_path / "ws")
    store = Store(url)
    try:
        delete_measurement(
            store, kpi_id="new_customers", unit_id="sales_emea", period="2026-10", actor="t"
        )
    finally:
        store.close()
    application = create_app(url, secret_key="find-test-key")
    try:
        monkeypatch.setattr(pagekit, "today", lambda: dt.date(2026, 12, 5))
        client = login(application, "admin")
        for params in ({}, {"period": "2026-11"}):
            listed_rows = listed(client.get("/lists/overdue", params=params).text)
            assert ("new_customers", "sales_emea") in listed_rows, params
            home = client.get("/", params=params).text
            shown = set(re.findall(r'<tr data-overdue="([^"]+)" data-unit="([^"]+)">', home))
            assert shown == listed_rows, params
            box = re.search(r'data-status="overdue"><a [^>]*><strong>(\d+)', home)
            assert box and int(box.group(1)) == len(shown), params
        # An empty list's sentence keeps a heading's "KPI" in capitals.
        empty = client.get("/lists/awaiting").text
        assert not listed(empty)
        assert "No KPI results awaiting values not due yet as of 2026-12-05." in empty
    finally:
        application.state.store.close()


BOOK_OF_NOVEMBER = ("--period", "2026-11", "--db")
BOX = re.compile(r'data-status="(\w+)"><a [^>]*><strong>(\d+)</strong>')


def test_an_ended_periods_awaited_values_are_counted_awaiting_and_said_when_due(
    app: object, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On 7 December, November has ended but its values fall due on 30 December (due_days
    # 30): its results await their values, they are not without data (SPEC section 3). The
    # boxes say so, as the briefing book does, and the values overdue are those of the
    # period's last day, as the attention list beside them reads it.
    monkeypatch.setattr(pagekit, "today", lambda: dt.date(2026, 12, 7))
    rows = los_status(site, "--period", "2026-11")["kpis"]
    awaited = [r for r in rows if r["data"] == "awaiting"]
    assert awaited, "the example's data stops in October"
    without = [r for r in rows if r["status"] == "no_data" and r["data"] != "awaiting"]
    on_last_day = los_status(site, "--as-of", "2026-11-30")["kpis"]
    overdue = [r for r in on_last_day if r["data"] == "overdue"]
    sentence = (
        f"2026-11 has ended, but {len(awaited)} KPI results of it await values not due yet (due"
        f" by {max(r['due'] for r in awaited)}): these show no data until they are in."
    )
    book = subprocess.run(
        [sys.executable, "-m", "lineofsight", "brief", "techinnovate", *BOOK_OF_NOVEMBER, site.url],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert sentence in book and f" · {len(overdue)} overdue · " in book
    client = login(app, "admin")
    for path in ("/", "/map", "/lists/red", "/units/techinnovate"):
        html = client.get(path, params={"period": "2026-11"}).text
        boxes = dict(BOX.findall(html))
        assert boxes["awaiting"] == str(len(awaited)), path
        assert boxes["no_data"] == str(len(without)), path
        assert boxes["overdue"] == str(len(overdue)), path
        assert sentence in html, path
    listed_awaiting = listed(client.get("/lists/awaiting", params={"period": "2026-11"}).text)
    assert listed_awaiting == {(r["id"], r["unit"]) for r in awaited}
    home = client.get("/", params={"period": "2026-11"}).text
    # A value not in yet is not a change of status.
    changes = home.split('id="changes-h"')[1].split("</section>")[0]
    assert "no data" not in changes
    # A period still running says it has not ended, not that it has.
    december = client.get("/", params={"period": "2026-12"}).text
    assert "2026-12 has not ended yet" in december and "2026-12 has ended" not in december


def _los(site: Site, *args: str) -> str:
    """What a `los` command prints on the site's store, run in its own process."""
    result = subprocess.run(
        [sys.executable, "-m", "lineofsight", *args, "--db", site.url],
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout


def test_a_score_and_a_value_read_the_same_in_the_tables_the_pages_and_the_book(
    app: object, site: Site, tmp_path: Any
) -> None:
    # Customer Success scores 66.66... in October: 66.6 everywhere (one decimal at most, cut),
    # never 66.7 in one place, 67 in another and 66.67 in a third; a percent is 58%, not 58 %.
    exact = next(
        u for u in los_status(site, "--period", PERIOD)["units"] if u["id"] == "customer_success"
    )
    assert round(exact["score"], 2) == 66.67
    table = _los(site, "status", "--period", PERIOD, "--unit", "customer_success")
    assert re.search(r"customer_success Customer Success\s+│\s+66\.6 │", table), table
    assert re.search(r"qbr_coverage_pct .*│\s+58% │\s+82\.48% │", table), table
    page = login(app, "admin").get("/units/customer_success", params={"period": PERIOD}).text
    assert "score 66.6 " in page
    assert ">58%</td>" in page and ">82.48%</td>" in page
    book = tmp_path / "book.html"
    _los(site, "brief", "techinnovate", "--period", PERIOD, "-o", str(book))
    assert re.search(r"Customer Success</td><td [^>]*>66\.6</td>", book.read_text())
    text = _los(site, "brief", "techinnovate", "--period", PERIOD)
    assert "2026-Q3: 58% against a target of 82.48%, score 0" in text


def test_home_boxes_link_to_their_lists_with_the_same_counts(app: object) -> None:
    client = login(app, "admin")
    home = client.get("/", params={"period": PERIOD}).text
    boxes = re.findall(
        r'data-status="([a-z_]+)"><a href="(/lists/[^"]+)"><strong>(\d+)</strong>', home
    )
    assert {s for s, _, _ in boxes} >= {"red", "amber", "green", "no_data", "no_target"}
    for status, href, count in boxes:
        assert f"period={PERIOD}" in href
        page = client.get(href.replace("&amp;", "&")).text
        assert len(listed(page)) == int(count), status


def test_a_unit_list_keeps_to_the_units_subtree(app: object, site: Site) -> None:
    client = login(app, "admin")
    html = client.get("/lists/red", params={"period": PERIOD, "unit": "customer_experience"}).text
    found = listed(html)
    cx = {"customer_experience", "customer_service", "support_t1", "support_t2"}
    cx |= {"customer_success"}
    assert found and {u for _, u in found} <= cx
    everything = listed(client.get("/lists/red", params={"period": PERIOD}).text)
    assert found == {(k, u) for k, u in everything if u in cx}


def test_a_scoped_reader_sees_only_their_units_and_why_a_list_is_empty(app: object) -> None:
    viewer = login(app, "cx_viewer")
    html = viewer.get("/lists/amber", params={"period": PERIOD}).text
    assert listed(html)
    cx = {"customer_experience", "customer_service", "support_t1", "support_t2"}
    assert {u for _, u in listed(html)} <= cx | {"customer_success"}
    # R&D holds no red result in October: its admin is told the list is cut to their units.
    rnd = login(app, "rnd_admin").get("/lists/red", params={"period": PERIOD}).text
    assert not listed(rnd)
    reason = re.search(r'id="empty-reason">([^<]+)<', rnd)
    assert reason and "units you may see (Research &amp; Development" in reason.group(1)


def test_the_map_opens_on_the_red_paths(app: object) -> None:
    client = login(app, "admin")
    html = client.get("/map", params={"period": PERIOD}).text
    # Every branch that holds the red KPI is open; some branch without red is closed.
    start = html.index(f'id="kpi-{RED_KPI}"')
    before = html[:start]
    depth, open_above = 0, []
    for tag in re.finditer(r"<details( open)?>|</details>", before):
        if tag.group(0) == "</details>":
            open_above.pop()
            depth -= 1
        else:
            open_above.append(bool(tag.group(1)))
            depth += 1
    assert depth >= 2 and all(open_above)
    assert "<details>" in html  # a branch without red stays closed

    only = client.get("/map", params={"period": PERIOD, "only": "red"}).text
    # What is left are the paths to red items: every line at the end of one is red.
    leaves = re.findall(r'data-status="([a-z_]+)"[^>]*>\s*<div class="leaf">', only)
    assert leaves and set(leaves) == {"red"}
    assert f'id="kpi-{RED_KPI}"' in only and 'data-status="green"' in html
    assert "<details>" not in only  # every branch left is on a red path, so open
    back = re.search(r'id="map-everything" href="([^"]+)"', only)
    assert back and back.group(1) == f"/map?period={PERIOD}"

    expanded = client.get("/map", params={"period": PERIOD, "expand": "all"}).text
    assert "<details>" not in expanded and "<details open>" in expanded


def test_the_drawn_map_has_each_objective_in_its_status(app: object, site: Site) -> None:
    client = login(app, "admin")
    html = client.get("/map", params={"period": PERIOD}).text
    svg = re.search(r'<svg class="svgmap".*?</svg>', html, re.S)
    assert svg
    box = r'<a href="/objectives/([^"?]+)\?period=([^"]+)" class="s-([a-z_]+)"'
    found = re.findall(box, svg.group(0))
    boxes = {objective: status for objective, _, status in found}
    assert {period for _, period, _ in found} == {PERIOD}, "a box keeps the period"
    objectives = {str(r["id"]): r for r in los_status(site, "--period", PERIOD)["objectives"]}
    assert set(boxes) == set(objectives)
    assert all(boxes[o] == objectives[o]["status"] for o in boxes)
    # Each box links to the objective's page; the outline beside names it as a link too.
    for o in boxes:
        line = html.split(f'id="objective-{o}"')[1].split("</div>")[0]
        assert f'<a href="/objectives/{o}?period={PERIOD}">' in line
    assert "<title" in svg.group(0) and 'role="group"' in svg.group(0)


def test_an_objective_score_names_its_red_items(app: object, site: Site) -> None:
    objectives = {str(r["id"]): r for r in los_status(site, "--period", PERIOD)["objectives"]}
    holding = [o for o in objectives.values() if o["counts"]["red"] and o["status"] != "red"]  # type: ignore[index]
    assert holding  # an objective that is not red itself but holds a red item
    html = login(app, "admin").get("/map", params={"period": PERIOD}).text
    for o in holding:
        line = html.split(f'id="objective-{o["id"]}"')[1].split("</summary>")[0]
        assert f"{o['counts']['red']} red" in line  # type: ignore[index]
        assert "worst " in line


def test_the_heatmap_cells_are_the_scorecards_results(app: object, site: Site) -> None:
    rows = {
        (str(r["id"]), str(r["unit"])): str(r["status"])
        for r in los_status(site, "--period", PERIOD)["kpis"]
    }
    client = login(app, "admin")
    html = client.get("/heatmap", params={"period": PERIOD, "by": "kpis", "unit": "sales"}).text
    cells = re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', html.split('id="heatmap"')[1], re.S)
    assert len(cells) >= 2
    seen = 0
    cell = re.compile(r'data-status="([a-z_]+)"><a href="/kpis/([^"?]+)')
    for unit, row_html in cells:
        for status, kpi in cell.findall(row_html):
            assert rows[(kpi, unit)] == status
            seen += 1
    assert seen >= 2
    # By objectives, a red cell says how many red items it holds.
    by_objectives = client.get("/heatmap", params={"period": PERIOD}).text
    red = re.findall(r'data-status="red"><a [^>]*>.*?</span> (\d+) red<', by_objectives)
    assert red and all(int(n) >= 1 for n in red)


def test_a_heatmap_cell_of_one_item_says_one_item(app: object) -> None:
    html = login(app, "admin").get("/heatmap", params={"period": PERIOD}).text
    totals = re.findall(r" of ([\d,]+) (items?), worst ", html)
    assert ("1", "item") in totals, totals
    assert all((n == "1") == (word == "item") for n, word in totals), totals


def test_the_kpi_page_shows_bands_a_chart_without_script_and_readable_periods(
    app: object,
) -> None:
    client = login(app, "admin")
    html = client.get(f"/kpis/{RED_KPI}", params={"period": PERIOD}).text
    bands = re.search(r'<ul class="thresholds".*?</ul>', html, re.S)
    assert bands
    text = re.sub(r"<[^>]+>", " ", bands.group(0))
    assert "at most 3.142" in text and "above 3.456" in text  # decrease, 10% tolerance
    chart = html.split('id="kpi-chart"')[1].split("</div>")[0]
    assert '<svg class="fallback wide"' in chart and "<polyline" in chart
    # A phone's drawing beside it, at a phone's width, with fewer period labels; its legend
    # names the forecast on a line of its own below (the drawing 16 higher for it).
    narrow = chart.split('<svg class="fallback narrow" viewBox="0 0 360 316"')[1]
    assert "<polyline" in narrow
    assert '<text class="legend" x="52.0" y="310">·-· forecast (shaded: 80% interval)<' in narrow
    month = r">(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d<"
    assert len(re.findall(month, narrow)) <= 5
    # The forecast with its 80% interval is drawn too (the KPI is forecast off track).
    assert 'class="forecast"' in chart and '<polygon class="interval"' in chart
    assert re.search(r">(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d</text>", chart)
    assert '<td>2026-10 <span class="muted">(Oct 2026)</span></td>' in html
    # November's value is awaited: the last one is shown with its period.
    november = client.get(f"/kpis/{RED_KPI}", params={"period": "2026-11"}).text
    last = re.search(r'<tr id="last-value">(.*?)</tr>', november, re.S)
    assert last and "5.1" in last.group(1) and "2026-10" in last.group(1)


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("2026-10", "Oct 2026"),
        ("2026-Q3", "Q3 2026"),
        ("FY2027-Q1", "Q1 FY2027"),
        ("2026-W43", "W43 2026"),
        ("2026-10-05", "5 Oct 2026"),
        ("2026", "2026"),
    ],
)
def test_periods_read_as_people_write_them(label: str, shown: str) -> None:
    assert readable_period(label) == shown


def _kpi(direction: m.Direction, **extra: float) -> m.Kpi:
    return m.Kpi("k", "K", "u", m.Frequency.MONTHLY, direction, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kpi", "target", "expected"),
    [
        (_kpi(m.Direction.INCREASE), 200.0, ["at least 200", "from 180 to below 200", "below 180"]),
        (
            _kpi(m.Direction.DECREASE, tolerance_abs=2.0),
            5.0,
            ["at most 5", "above 5 up to 7", "above 7"],
        ),
        (
            _kpi(m.Direction.INCREASE, tolerance=0.0),
            10.0,
            ["at least 10", "below 10"],
        ),
    ],
)
def test_thresholds_are_the_engines_bands(kpi: m.Kpi, target: float, expected: list[str]) -> None:
    assert [t.text for t in thresholds(kpi, target)] == expected
    assert thresholds(kpi, None) == []


def test_a_ranges_amber_band_lies_on_both_sides_of_it() -> None:
    """A range of 495 to 505 with the default tolerance (10% of the midpoint, 50)."""
    bands = thresholds(_kpi(m.Direction.RANGE), 500.0, 495.0, 505.0)
    assert [(t.status, t.text) for t in bands] == [
        ("green", "from 495 to 505"),
        ("amber", "from 445 to below 495, or above 505 up to 555"),
        ("red", "below 445 or above 555"),
    ]


HREF = re.compile(r'href="(/[^"#]*)')
NOT_PAGES = ("/static/", "/vendor/", "/api/", "/logout")


@pytest.mark.parametrize("username", ["cx_viewer", "rnd_admin"])
def test_a_scoped_reader_following_every_link_meets_no_403(app: object, username: str) -> None:
    client = login(app, username)
    start = f"/?period={PERIOD}"
    seen, todo, refused = {start}, deque([(start, "")]), []
    while todo and len(seen) < 300:
        path, came_from = todo.popleft()
        answer = client.get(path)
        if answer.status_code != 200:
            refused.append((answer.status_code, path, came_from))
            continue
        for href in HREF.findall(answer.text):
            href = href.replace("&amp;", "&")
            if not href.startswith(NOT_PAGES) and href not in seen:
                seen.add(href)
                todo.append((href, path))
    assert len(seen) > 50
    assert refused == []


def test_unit_choosers_offer_the_units_around_the_one_shown(app: object) -> None:
    client = login(app, "admin")
    html = client.get("/lists/red", params={"unit": "customer_service"}).text
    offered = set(
        re.findall(
            r'<option value="([a-z_0-9]+)"', html.split('id="unit"')[1].split("</select>")[0]
        )
    )
    # Up to the top, the unit itself and the units below it (a large organisation's chooser
    # offers no more: pagedata.unit_choices).
    assert {"techinnovate", "customer_experience", "customer_service"} <= offered
    assert {"support_t1", "support_t2"} <= offered


def test_a_scoped_readers_heatmap_starts_at_their_unit(app: object) -> None:
    html = login(app, "rnd_admin").get("/heatmap", params={"period": PERIOD}).text
    assert "<h1>Heatmap of Research &amp; Development</h1>" in html
    rows = re.findall(r'<tr data-unit="([^"]+)">', html)
    assert rows and rows[0] == "rnd" and "techinnovate" not in rows


def test_the_off_track_list_holds_the_kpis_whose_page_says_off_track(app: object) -> None:
    client = login(app, "admin")
    html = client.get("/lists/off-track", params={"period": PERIOD}).text
    found = listed(html)
    assert (RED_KPI, "support_t2") in found
    for kpi_id, _unit in found:
        page = client.get(f"/kpis/{kpi_id}", params={"period": PERIOD}).text
        forecast = page.split("<h2>Forecast</h2>")[1].split("</div>")[0]
        assert "off track" in forecast, kpi_id
    # A KPI whose page says it is on track is not listed.
    on_track = re.findall(
        r'href="/kpis/([a-z_0-9]+)\?period',
        client.get("/lists/green", params={"period": PERIOD}).text,
    )
    checked = 0
    for kpi_id in on_track[:8]:
        page = client.get(f"/kpis/{kpi_id}", params={"period": PERIOD}).text
        if "✓</span> on track" in page:
            assert kpi_id not in {k for k, _ in found}
            checked += 1
    assert checked >= 1


PANEL = re.compile(
    r'Projected <strong id="forecast-projected">([^<]+)</strong> in (\S+) against a target'
    r" of ([^<]+?) by (\S+):.*?<strong class=\"probability\">([^<]+)</strong>",
    re.S,
)


def test_the_off_track_list_writes_each_forecast_as_the_kpi_page_does(app: object) -> None:
    # The projected value and the target with the KPI's unit of measure, the chance a whole
    # percent (`<1%` at the low end), word for word as the KPI's own page says them.
    client = login(app, "admin")
    html = client.get("/lists/off-track", params={"period": PERIOD}).text
    rows = re.findall(r'<tr data-kpi="([^"]+)" data-unit="[^"]+"[^>]*>(.*?)</tr>', html, re.S)
    assert len(rows) >= 3
    cells = {kpi: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[-1] for kpi, row in rows}
    for kpi_id, cell in cells.items():
        page = client.get(f"/kpis/{kpi_id}", params={"period": PERIOD}).text
        found = PANEL.search(page)
        assert found, kpi_id
        projected, period, target, deadline, chance = found.groups()
        assert cell == f"{projected} in {period} against {target} by {deadline} ({chance} chance)"
    assert re.fullmatch(
        r"[\d.,]+ working days in 2027-12 against [\d.,]+ working days by 2027-12-31 "
        r"\((&lt;1|\d+)% chance\)",
        cells[RED_KPI],
    ), cells[RED_KPI]


def test_the_kpi_pages_bands_write_values_as_its_other_numbers(app: object) -> None:
    # `at least 14.24%` as the actual and target beside them, not `14.24 %`.
    client = login(app, "admin")
    page = client.get("/kpis/market_share_pct", params={"period": PERIOD}).text
    bands = re.search(r'<ul class="thresholds".*?</ul>', page, re.S)
    assert bands
    text = " ".join(re.sub(r"<[^>]+>", " ", bands.group(0)).split())
    assert re.search(r"at least [\d.]+% .* from [\d.]+% to below [\d.]+% .* below [\d.]+%", text)
    assert " %" not in text, text
    days = client.get(f"/kpis/{RED_KPI}", params={"period": PERIOD}).text
    assert "at most 3.142 working days" in days and "above 3.456 working days" in days


COUNTED = re.compile(r'<p class="hint counted" data-results="(\d+)" data-kpis="(\d+)">')


def test_every_page_counts_the_same_results_and_says_what_they_are(app: object, site: Site) -> None:
    rows = los_status(site, "--period", PERIOD)["kpis"]
    results, kpis = len(rows), len({r["id"] for r in rows})
    assert results > kpis, "the example scores some KPIs at more than one unit"
    client = login(app, "admin")
    for path in ("/", "/map", "/lists/red", "/lists/green", "/units/techinnovate"):
        html = client.get(path, params={"period": PERIOD}).text
        assert COUNTED.findall(html) == [(str(results), str(kpis))], path
        boxes = re.findall(r'data-status="(\w+)"><a [^>]*><strong>(\d+)</strong>', html)
        assert sum(int(n) for s, n in boxes if s != "overdue") == results, path
        assert f"{results} results of {kpis} KPIs: one per KPI and unit" in html
    # Within one unit's subtree, and for a reader of one part: the part's results and KPIs.
    inside = [r for r in rows if r["unit"] in _subtree(site, "customer_experience")]
    expected = [(str(len(inside)), str(len({r["id"] for r in inside})))]
    scoped = login(app, "cx_viewer")
    for path in ("/", "/map", "/lists/red"):
        assert COUNTED.findall(scoped.get(path, params={"period": PERIOD}).text) == expected
    unit_page = client.get("/units/customer_experience", params={"period": PERIOD}).text
    assert COUNTED.findall(unit_page) == expected


def _subtree(site: Site, top: str) -> set[str]:
    from lineofsight.services.export import stored_organization
    from tests.web.site import side_store

    store = side_store(site.url)
    try:
        org = stored_organization(store)
    finally:
        store.close()
    parents = {u.id: u.parent for u in org.units}
    found = {top}
    grew = True
    while grew:
        before = len(found)
        found |= {u for u, p in parents.items() if p in found}
        grew = len(found) > before
    return found


def test_an_alignment_list_empty_because_of_scope_says_so(app: object) -> None:
    # No finding of October lies in R&D: its admin's list is empty because of their scope,
    # with no filter set (never "0 match the filters").
    rnd = login(app, "rnd_admin")
    answer = rnd.get("/alignment", params={"period": PERIOD})
    assert answer.status_code == 200
    assert "0 findings in the units you see." in answer.text
    assert "match the filters" not in answer.text
    reason = re.search(r'id="empty-reason">([^<]+)<', answer.text)
    assert reason and reason.group(1) == (
        "No alignment findings in the units you may see (Research &amp; Development and the "
        "units below it); other units are not shown to you."
    )
    # With a filter set, the filters are what the list is empty of.
    filtered = rnd.get("/alignment", params={"period": PERIOD, "severity": "error"})
    assert "0 findings in the units you see, 0 match the filters." in filtered.text
    admin = login(app, "admin").get("/alignment", params={"period": PERIOD}).text
    assert re.search(r"\d+ findings in all\.", admin)
