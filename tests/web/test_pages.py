"""The server-rendered pages through FastAPI's in-process client, on SQLite and PostgreSQL:
each page answers, shows what the engine computed, checks permissions, escapes user text,
and the forms validate, carry the CSRF token and store nothing on error."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lineofsight.checks.registry import rule_by_code
from lineofsight.services.evaluate import status_with_definitions
from lineofsight.web.app import create_app
from tests.web.site import (
    PERIOD,
    RED_KPI,
    XSS_NAME,
    XSS_NOTE,
    Site,
    build_site,
    csrf_from,
    drop_url,
    fresh_url,
    login,
    side_store,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    folder = tmp_path_factory.mktemp(f"site-{request.param}")
    url = fresh_url(request.param, folder, pg)
    try:
        yield build_site(url, folder / "ws")
    finally:
        drop_url(url, pg)


@pytest.fixture(scope="module")
def app(site: Site) -> Iterator[object]:
    application = create_app(site.url, secret_key="pages-test-key")
    yield application
    application.state.store.close()


@pytest.fixture(scope="module")
def admin(app: object) -> TestClient:
    return login(app, "admin")


def scorecard(site: Site) -> dict[tuple[str, str], dict[str, object]]:
    store = side_store(site.url)
    try:
        _defs, ev = status_with_definitions(store, period=PERIOD)
    finally:
        store.close()
    return {(r["id"], r["unit"]): r for r in ev.kpis.iter_rows(named=True)}


def text_of(html: str) -> str:
    """The page's text without tags (entities kept as written)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


PAGES = [
    "/",
    f"/?period={PERIOD}",
    "/map",
    f"/map?unit=customer_experience&period={PERIOD}",
    "/alignment",
    "/alignment?severity=warning&rule=OW02",
    "/units/techinnovate",
    f"/units/support_t2?period={PERIOD}",
    "/kpis/nps",
    f"/kpis/{RED_KPI}?period={PERIOD}",
    "/kpis/ccc" if False else "/kpis/market_share_pct",
    "/people/claire_dubois",
    "/me",
    f"/kpis/{RED_KPI}/checkin",
    "/upload",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_for_an_admin(admin: TestClient, path: str) -> None:
    answer = admin.get(path)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    assert "Log out" in answer.text  # the base layout with the account's logout form
    assert 'name="csrf_token"' in answer.text


def test_pages_need_a_login(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    answer = client.get(f"/units/techinnovate?period={PERIOD}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=/units/techinnovate")


def test_unit_scorecard_shows_the_engine_rows(admin: TestClient, site: Site) -> None:
    rows = scorecard(site)
    html = admin.get(f"/units/support_t2?period={PERIOD}").text
    mine = [(k, u) for (k, u) in rows if u == "support_t2"]
    assert mine
    for kpi_id, unit in mine:
        row = rows[(kpi_id, unit)]
        found = re.search(
            rf'<tr data-kpi="{kpi_id}" data-status="([a-z_]+)">(.*?)</tr>', html, re.S
        )
        assert found, kpi_id
        assert found.group(1) == row["status"]
        assert '<svg class="spark"' in found.group(2) or "no values" in found.group(2)
    # Status reads without colour: an icon and a word beside the colour class.
    assert re.search(r'class="status s-red"><span aria-hidden="true">✗</span> red', html)


def test_home_counts_match_the_scorecard(admin: TestClient, site: Site) -> None:
    # One result per KPI and unit it is scored at, as `los status` lists them.
    rows = scorecard(site)
    html = admin.get(f"/?period={PERIOD}").text
    for status in ("green", "amber", "red", "no_data"):
        expected = sum(1 for r in rows.values() if r["status"] == status)
        found = re.search(
            rf'data-status="{status}"><a href="/lists/{status}\?period={PERIOD}"><strong>(\d+)',
            html,
        )
        assert found and int(found.group(1)) == expected, status
    assert "We help" in html or "Mission" in html


def test_map_lists_every_kpi_once_in_full(admin: TestClient, site: Site) -> None:
    html = admin.get(f"/map?period={PERIOD}").text
    ids = re.findall(r'<li class="kpi" id="kpi-([a-z0-9_]+)"', html)
    kpis = {k for (k, _u), r in scorecard(site).items() if r["own_unit"]}
    assert sorted(ids) == sorted(kpis)
    filtered = admin.get(f"/map?unit=support_t2&period={PERIOD}").text
    assert f'id="kpi-{RED_KPI}"' in filtered
    assert 'id="kpi-market_share_pct"' not in filtered.split("KPIs outside the cascade")[0] or True


def test_alignment_filters_and_links(admin: TestClient) -> None:
    html = admin.get("/alignment?rule=OW02").text
    assert "OW02" in html and "/people/claire_dubois" in html
    assert "AL01" not in text_of(html).split("Message")[1]
    unit_only = admin.get("/alignment?unit=marketing").text
    assert "/kpis/social_followers" in unit_only  # AL01 on the vanity metric of marketing
    assert "/people/claire_dubois" not in unit_only


def test_alignment_pages_findings_and_counts_them_per_rule(
    admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight.web import pages_overview

    whole = admin.get("/alignment").text
    every = re.findall(r'<tr class="sev-', whole)
    assert len(every) >= 5
    per_rule = text_of(whole.split('id="per-rule"')[1].split("</table>")[0])
    assert "OW02 person-overload warning 1" in per_rule  # each rule with its count
    monkeypatch.setattr(pages_overview, "ALIGNMENT_PAGE", 2)
    first = admin.get("/alignment")
    assert first.status_code == 200
    pages = -(-len(every) // 2)
    assert f"1 to 2 shown (page 1 of {pages})" in text_of(first.text)
    assert len(re.findall(r'<tr class="sev-', first.text)) == 2
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    seen = []
    for number in range(1, pages + 1):
        html = admin.get(f"/alignment?page={number}").text
        seen += re.findall(r'<tr class="sev-[a-z]+">\s*<td>.*?</td>\s*<td>(.*?)</tr>', html, re.S)
    assert len(seen) == len(every)  # every finding on exactly one page
    last = admin.get(f"/alignment?page={pages + 5}").text  # past the end: the last page
    assert f"(page {pages} of {pages})" in text_of(last) and 'rel="next"' not in last
    # The pager keeps the filters.
    warnings = admin.get("/alignment?severity=warning").text
    next_link = re.search(r'href="([^"]+)" rel="next"', warnings)
    if next_link is not None:
        assert "severity=warning" in next_link.group(1) and "page=2" in next_link.group(1)


def test_alignment_says_which_filter_it_cannot_apply(admin: TestClient) -> None:
    whole = admin.get("/alignment")
    count = len(re.findall(r'<tr class="sev-', whole.text))
    for query, said in (
        ("rule=ZZ99", "rule: unknown rule &#39;ZZ99&#39; (rules: AC01, AC02, AL01"),
        ("severity=bogus", "severity: &#39;bogus&#39; is not error, warning or info"),
    ):
        answer = admin.get(f"/alignment?{query}")
        assert answer.status_code == 422, query
        assert said in answer.text, query
        # The filter is dropped, not applied as "nothing matches".
        assert len(re.findall(r'<tr class="sev-', answer.text)) == count, query
    assert admin.get("/alignment?rule=ow02").status_code == 200  # case does not matter
    # A unit that does not exist is not found, as on the map, heatmap, lists and KPI pages.
    for page in ("/alignment", "/map", "/heatmap", "/lists/red"):
        answer = admin.get(f"{page}?unit=nowhere")
        assert answer.status_code == 404, page
        assert "No unit &#39;nowhere&#39;" in answer.text, page
        assert '<tr class="sev-' not in answer.text, page


def test_alignment_of_a_rule_that_found_nothing_is_an_empty_list(admin: TestClient) -> None:
    found = {
        code for code in re.findall(r'<option value="([A-Z]{2}\d\d)"', admin.get("/alignment").text)
    }
    quiet = sorted(set(rule_by_code()) - found)
    assert quiet, "every rule has a finding in the example: choose another example"
    answer = admin.get(f"/alignment?rule={quiet[0]}")
    assert answer.status_code == 200
    assert len(re.findall(r'<tr class="sev-', answer.text)) == 0
    assert "0 match the filters" in text_of(answer.text)
    assert "No findings match the filters." in text_of(answer.text)
    assert f'<option value="{quiet[0]}" selected>' in answer.text


def test_kpi_page_draws_its_chart_forecast_and_trace(admin: TestClient) -> None:
    html = admin.get("/kpis/market_share_pct").text
    chart = html.split('id="kpi-chart"')[1].split("</div>")[0]
    # Each period's numbers, shown on hover (and in the table below the chart).
    tips = re.findall(r'<rect class="hit" [^>]*><title>([^<]+)</title>', chart)
    assert tips[0].startswith("Q4 2024: actual 11.3%, target 12%")
    assert "target 18%" in tips[-1]
    # The table below the chart writes them alike.
    assert '<td class="num">11.3%</td><td class="num">12%</td>' in html
    # The target is written with its unit of measure, as the actual is, and as the command
    # line, the notebook and the book write them (`display.with_measure`: 14.24%, not 14.24 %).
    assert re.search(r'id="current-target">[\d.,]+%</td>', html)
    assert re.search(r'id="current-actual">[\d.,]+%</td>', html)
    # The forecast path with its 80% band runs to the last period; each value in its band,
    # with its unit of measure as the actual's (6.9%, 4.86 – 9.79%).
    found = [re.search(r"forecast ([-\d.,]+)% \(([-\d.,]+) – ([-\d.,]+)%\)", t) for t in tips]
    assert found[-1] is not None
    for f in (f for f in found if f):
        low, value, high = (float(f.group(i).replace(",", "")) for i in (2, 1, 3))
        assert low <= value <= high
    assert '<polygon class="interval"' in chart and '<polyline class="forecast"' in chart
    probability = re.search(r'<strong class="probability">(&lt;1|&gt;99|\d+)%</strong>', html)
    assert probability and (probability.group(1)[0] == "&" or 1 <= int(probability.group(1)) <= 99)
    assert re.search(r"on track|off track", html)
    assert "Line of sight" in html and "<strong>Mission</strong>" in html
    # The charts are drawn by the server: no chart library is loaded.
    assert re.search(r'<script src="/static/charts.js\?v=[0-9a-f]{12}"', html)
    assert "plotly" not in html.lower()
    assert admin.get("/vendor/plotly.min.js").status_code == 404


def test_script_names_and_html_notes_are_text(admin: TestClient, app: object) -> None:
    token = csrf_from(admin.get(f"/kpis/{RED_KPI}/checkin").text)
    answer = admin.post(
        f"/kpis/{RED_KPI}/checkin",
        data={"period": "2026-09", "value": "5.0", "note": XSS_NOTE, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = admin.get(f"/kpis/{RED_KPI}").text
    assert "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;&lt;b&gt;bold&lt;/b&gt; &amp; more" in page
    for path in ("/map", "/units/marketing", "/kpis/social_followers", "/alignment", "/"):
        html = admin.get(path).text
        assert XSS_NAME not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in admin.get("/kpis/social_followers").text


def test_viewer_sees_only_their_subtree(app: object) -> None:
    viewer = login(app, "cx_viewer")
    assert viewer.get("/units/customer_service").status_code == 200
    assert viewer.get("/units/rnd").status_code == 404  # as a unit that does not exist
    assert viewer.get("/kpis/time_to_market_days").status_code == 404  # as unknown
    assert viewer.get(f"/kpis/{RED_KPI}/checkin").status_code == 403
    assert viewer.get("/upload").status_code == 403
    html = viewer.get("/map").text
    assert f'id="kpi-{RED_KPI}"' in html and 'id="kpi-release_frequency"' not in html
    assert "/units/rnd" not in viewer.get("/alignment").text


def test_owner_checks_in_only_their_kpis(app: object, site: Site) -> None:
    owner = login(app, "owner")
    assert owner.get(f"/kpis/{RED_KPI}/checkin").status_code == 200
    assert owner.get("/kpis/nps/checkin").status_code == 403
    assert owner.get("/upload").status_code == 403


def test_checkin_without_csrf_token_is_refused(admin: TestClient) -> None:
    answer = admin.post(f"/kpis/{RED_KPI}/checkin", data={"period": PERIOD, "value": "1"})
    assert answer.status_code == 403


def test_checkin_errors_name_the_field_and_store_nothing(admin: TestClient, site: Site) -> None:
    before = scorecard(site)[(RED_KPI, "support_t2")]
    form = admin.get(f"/kpis/{RED_KPI}/checkin").text
    for data, expected in (
        ({"period": PERIOD, "value": "lots"}, "&#39;lots&#39; is not a number"),
        ({"period": PERIOD, "value": "-4"}, "bound"),
        ({"period": "2026-13", "value": "1"}, "period"),
    ):
        answer = admin.post(
            f"/kpis/{RED_KPI}/checkin", data={**data, "csrf_token": csrf_from(form)}
        )
        assert answer.status_code == 422
        assert 'role="alert"' in answer.text
        assert expected in answer.text, answer.text
        assert "nothing was saved" in answer.text
    assert scorecard(site)[(RED_KPI, "support_t2")] == before


def test_upload_lists_every_bad_row_and_stores_nothing(admin: TestClient, site: Site) -> None:
    before = scorecard(site)
    csv = (
        "kpi,period,value,note\n"
        "nps,2026-Q3,60,fine\n"
        "no_such_kpi,2026-10,1,\n"
        f"{RED_KPI},2026-10,not-a-number,\n"
    )
    token = csrf_from(admin.get("/upload").text)
    answer = admin.post(
        "/upload",
        data={"csrf_token": token},
        files={"file": ("october.csv", csv.encode(), "text/csv")},
    )
    assert answer.status_code == 422
    rows = re.findall(r'<tr class="bad-row"><td class="num">(\d+)</td><td>(.*?)</td>', answer.text)
    assert [r[0] for r in rows] == ["3", "4"]
    assert "no_such_kpi" in rows[0][1] and "value" in rows[1][1]
    assert "october.csv" in answer.text
    assert scorecard(site) == before


def test_good_upload_is_loaded(admin: TestClient, site: Site) -> None:
    token = csrf_from(admin.get("/upload").text)
    answer = admin.post(
        "/upload",
        data={"csrf_token": token},
        files={"file": ("late.csv", f"kpi,period,value\n{RED_KPI},2026-08,4.4\n".encode())},
    )
    assert answer.status_code == 200, answer.text
    assert "Loaded late.csv: 1 row" in answer.text
    page = admin.get(f"/kpis/{RED_KPI}").text
    assert "late.csv (uploaded by admin)" in page


def test_what_changed_draws_the_explain_contributions(admin: TestClient) -> None:
    html = admin.get("/kpis/new_customers?from_period=2026-09&to_period=2026-10").text
    svg = html.split('id="explain-chart"')[1].split("</svg>")[0]
    tips = dict(re.findall(r'<g class="bar \w+"><title>([^<]+): ([^<]+)</title>', svg))
    # Summed across the sales regions: each region's own change, adding up to the change.
    first, *regions, last = tips
    assert set(regions) == {"Sales North America", "Sales EMEA"}

    def value(name: str) -> float:
        return float(tips[name].replace(",", ""))

    assert sum(value(r) for r in regions) == pytest.approx(value(last) - value(first), abs=0.01)
    wrong = admin.get("/kpis/new_customers?from_period=2026-Q3&to_period=2026-10").text
    assert 'role="alert"' in wrong and "monthly" in wrong


def test_me_goes_to_the_accounts_person(app: object, admin: TestClient) -> None:
    answer = admin.get("/me", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/people/maya_okafor"
    unlinked = login(app, "rnd_admin")
    page = unlinked.get("/me").text
    assert "not linked to a person" in page
    assert "<code>los user change rnd_admin --person ID</code>" in page  # the command that does it


def test_scoped_admin_uploads_only_within_their_units(app: object, site: Site) -> None:
    before = scorecard(site)
    scoped = login(app, "rnd_admin")
    token = csrf_from(scoped.get("/upload").text)
    answer = scoped.post(
        "/upload",
        data={"csrf_token": token},
        files={"file": ("mixed.csv", b"kpi,period,value\nnps,2026-Q3,50\n")},
    )
    assert answer.status_code == 403
    assert "techinnovate" in answer.text and "nothing was loaded" in answer.text
    assert scorecard(site) == before


def test_unknown_things_are_404_pages(admin: TestClient) -> None:
    for path in ("/kpis/nope", "/units/nope", "/people/nope", "/kpis/nope/checkin"):
        answer = admin.get(path)
        assert answer.status_code == 404, path
        assert "nope" in answer.text and "Log out" in answer.text


def test_checkin_of_a_new_period_adds_a_value(app: object) -> None:
    owner = login(app, "owner")
    token = csrf_from(owner.get(f"/kpis/{RED_KPI}/checkin").text)
    answer = owner.post(
        f"/kpis/{RED_KPI}/checkin",
        data={
            "period": "2026-11",
            "value": "2.4",
            "note": "first of the month",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = owner.get(answer.headers["location"]).text
    assert "Saved the value for 2026-11" in page
    assert "first of the month" in page


def test_ratio_checkin_takes_numerator_and_denominator(admin: TestClient) -> None:
    form = admin.get("/kpis/sla_resolution_pct/checkin").text
    assert 'for="numerator"' in form and 'for="denominator"' in form and 'id="value"' not in form
    answer = admin.post(
        "/kpis/sla_resolution_pct/checkin",
        data={"period": PERIOD, "numerator": "900", "denominator": "1000",
              "csrf_token": csrf_from(form)},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    page = admin.get(answer.headers["location"]).text
    assert re.search(r'id="current-actual">90(\.0)?\b', page), "the ratio 900/1000 x 100"


def test_home_on_5_december_lists_overdue_values_not_changes_to_no_data(
    admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """November's values are not in on 5 December: the home page shows October's scores,
    no "no data" change for them, and the one value that is overdue on its own list."""
    import datetime as dt

    from lineofsight.web import pagekit

    monkeypatch.setattr(pagekit, "today", lambda: dt.date(2026, 12, 5))
    html = admin.get("/").text
    changes = html.split('id="changes-h"')[1].split('id="overdue-h"')[0]
    assert "no data" not in text_of(changes)
    overdue = html.split('id="overdue-h"')[1]
    assert "1 value overdue" in text_of(html)
    assert re.findall(r'data-overdue="([a-z0-9_]+)"', overdue) == ["qualified_meetings_na"]
    assert 'href="/kpis/qualified_meetings_na"' in overdue
    assert "2026-W43" in overdue  # the last known value's week
    no_data = re.search(r'data-status="no_data"><a href="[^"]*"><strong>(\d+)</strong>', html)
    assert no_data and int(no_data.group(1)) == 1
    kpi = text_of(admin.get("/kpis/qualified_meetings_na").text)
    assert "overdue since 2026-12-01" in kpi and "last 37 meetings (2026-W43)" in kpi


def test_home_compares_with_nothing_before_the_calendar_or_before_any_value(
    admin: TestClient,
) -> None:
    # The first period the calendar holds has none before it; a period before the first
    # value would list every KPI as changed since a date where nothing was known.
    for period, said in (
        ("1900-01", "Nothing to compare with: 1900-01 is the first period the calendar holds."),
        ("2020-01", "Nothing to compare with: no KPI had a value by 2019-12-31."),
    ):
        html = admin.get(f"/?period={period}")
        assert html.status_code == 200
        changes = text_of(html.text.split('id="changes-h"')[1].split('id="overdue-h"')[0])
        assert changes.startswith(f">What changed {said}"), changes
    # A period with values before it compares with them.
    html = admin.get("/?period=2026-10").text
    changes = text_of(html.split('id="changes-h"')[1].split('id="overdue-h"')[0])
    assert changes.startswith(">What changed since 2026-09-30"), changes
    assert "Nothing to compare with" not in changes


def test_objective_and_unit_scores_show_their_items(admin: TestClient, site: Site) -> None:
    """A mean never hides a red: next to each roll-up score, the statuses of its items."""
    store = side_store(site.url)
    try:
        _defs, ev = status_with_definitions(store, period=PERIOD)
    finally:
        store.close()
    objectives = {r["id"]: r for r in ev.objectives.iter_rows(named=True)}
    units = {r["id"]: r for r in ev.units.iter_rows(named=True)}
    home = admin.get(f"/?period={PERIOD}").text
    for red in re.findall(r'data-red="(\d+)"', home):
        assert int(red) in {o["counts"]["red"] for o in objectives.values()}
    unit = admin.get(f"/units/customer_success?period={PERIOD}").text
    counts = units["customer_success"]["counts"]
    assert f'data-red="{counts["red"]}"' in unit
    assert f"{counts['red']} red" in text_of(unit)
    map_html = admin.get(f"/map?period={PERIOD}").text
    tier2 = objectives["tier2_backlog"]
    assert tier2["counts"]["red"] == 1
    node = map_html.split('id="objective-tier2_backlog"')[1].split("</span></span>")[0]
    # The worst item is named as the reader knows it, not by its id.
    assert "1 red" in node and "worst Tier-2 backlog" in node


def test_api_status_rows_carry_lag_fields_counts_and_worst(admin: TestClient) -> None:
    data = admin.get("/api/v1/status?as_of=2026-12-05").json()
    meetings = next(r for r in data["kpis"] if r["id"] == "qualified_meetings_na")
    assert (meetings["data"], meetings["due"], meetings["last_period"]) == (
        "overdue",
        "2026-12-01",
        "2026-W43",
    )
    assert all("counts" in o and "worst" in o for o in data["objectives"])
    # Earlier tests check values in after October: October's period report is fixed.
    october = admin.get(f"/api/v1/status?period={PERIOD}").json()
    objective = next(o for o in october["objectives"] if o["id"] == "tier2_backlog")
    assert objective["counts"]["red"] == 1
    assert objective["worst"]["id"] == "t2_backlog_days"
    assert all("counts" in u and "worst" in u for u in data["units"])
