"""The chosen period travels: every internal link and redirect keeps `?period=`, and every
page says which period it shows (or that it shows today)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from lineofsight.web.app import create_app
from lineofsight.web.templating import with_query
from tests.web.site import PERIOD, RED_KPI, Site, build_site, fresh_url, login


@pytest.mark.parametrize(
    ("path", "period", "query", "expected"),
    [
        ("/map", "2026-10", {}, "/map?period=2026-10"),
        ("/map", "", {}, "/map"),
        ("/map#objective-x", "2026-10", {}, "/map?period=2026-10#objective-x"),
        ("/map?unit=rnd#objective-x", "2026-10", {}, "/map?unit=rnd&period=2026-10#objective-x"),
        ("/kpis/a", "2026-10", {"unit": "b"}, "/kpis/a?unit=b&period=2026-10"),
        ("/kpis/a", "2026-10", {"unit": None}, "/kpis/a?period=2026-10"),
        ("/kpis/a", "2026-10", {"period": None}, "/kpis/a"),
        ("/kpis/a", "2026-10", {"period": "2026-Q3"}, "/kpis/a?period=2026-Q3"),
        ("/kpis/a?period=2026-09", "2026-10", {}, "/kpis/a?period=2026-09"),
        ("/list", "2026-10", {"status": "red"}, "/list?status=red&period=2026-10"),
        ("/s", "", {"q": "a&b c"}, "/s?q=a%26b+c"),
        ("/kpis/a", "", {"unit": None, "back": "/x?y=1", "n": 0}, "/kpis/a?back=%2Fx%3Fy%3D1&n=0"),
        ("/kpis/a", "", {"period": "", "unit": "b"}, "/kpis/a?unit=b"),
        ("/map?unit=rnd", "", {"unit": None}, "/map"),
        ("/map#top", "", {"unit": "b"}, "/map?unit=b#top"),
    ],
)
def test_with_query_keeps_the_period_before_the_fragment(
    path: str, period: str, query: dict[str, str | None], expected: str
) -> None:
    assert with_query(path, period, query) == expected


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    folder = tmp_path_factory.mktemp("period-site")
    return build_site(fresh_url("sqlite", folder, None), folder / "ws")


@pytest.fixture(scope="module")
def app(site: Site) -> Iterator[object]:
    application = create_app(site.url, secret_key="period-test-key")
    yield application
    application.state.store.close()


HREF = re.compile(r'href="(/[^"]*)"')
# Files and the API document are not pages: they have no period to keep.
NOT_PAGES = ("/static/", "/vendor/", "/api/")


def internal_links(html: str) -> list[str]:
    return [
        h.replace("&amp;", "&")
        for h in HREF.findall(html)
        if not h.startswith(NOT_PAGES) and not h.startswith("/login")
    ]


@pytest.mark.parametrize(
    "page", ["/", "/map", f"/kpis/{RED_KPI}", "/units/rnd", "/people/lucas_moreau", "/alignment"]
)
def test_every_link_of_a_page_keeps_the_chosen_period(app: object, page: str) -> None:
    client = login(app, "admin")
    answer = client.get(page, params={"period": PERIOD})
    assert answer.status_code == 200, answer.text
    links = internal_links(answer.text)
    assert len(links) > 5
    dropped = [h for h in links if parse_qs(urlsplit(h).query).get("period") is None]
    # The one link without a period is the way back to today.
    assert dropped == [page], dropped
    assert f"Period <strong>{PERIOD}</strong>" in answer.text


def test_a_page_without_a_period_says_it_shows_today(app: object) -> None:
    client = login(app, "admin")
    answer = client.get("/map")
    assert "As of <strong>today</strong>" in answer.text
    assert all("period=" not in h for h in internal_links(answer.text))


def test_a_bad_period_is_refused_and_not_carried_on(app: object) -> None:
    client = login(app, "admin")
    answer = client.get("/map", params={"period": "not-a-month"})
    assert answer.status_code == 422
    assert "not-a-month" in answer.text  # the message names it
    assert all("period=" not in h for h in internal_links(answer.text))


def test_a_period_that_has_not_ended_says_so_and_what_is_shown(app: object) -> None:
    client = login(app, "admin")
    for page in ("/", "/map", f"/kpis/{RED_KPI}", "/lists/red"):
        answer = client.get(page, params={"period": "2099-01"})
        assert answer.status_code == 200, page
        said = answer.text[answer.text.index('id="period-now"') :].split("</p>")[0]
        assert (
            "2099-01 has not ended yet (it ends on 2099-01-31): its values are not due, so its "
            "results show no data yet, with each KPI&#39;s last value where it has one." in said
        ), page
    ended = client.get("/", params={"period": PERIOD}).text
    assert 'id="period-running"' not in ended and "has not ended" not in ended


def test_the_my_kpis_redirect_keeps_the_period(app: object) -> None:
    client = login(app, "owner")
    answer = client.get("/me", params={"period": PERIOD}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/people/lucas_moreau?period={PERIOD}"


class _Names:
    def name(self, kind: str, item_id: str) -> str:
        return f"{kind} {item_id}"


def test_a_macro_imported_without_context_keeps_the_period_of_the_request() -> None:
    """A template that imports the shared macros without `with context` sees neither `when`
    nor the request: its links keep the period remembered for the request."""
    import contextvars

    from lineofsight.web.templating import remember_period, templates

    page = templates.env.from_string(
        '{% from "_macros.html" import unit_link %}{{ unit_link(snap, "rnd") }}'
    )

    def draw(label: str) -> str:
        remember_period(label)
        return page.render(snap=_Names())

    # Each request runs in its own copy of the context: one's period never leaks to another.
    assert 'href="/units/rnd?period=2026-10"' in contextvars.copy_context().run(draw, PERIOD)
    assert 'href="/units/rnd"' in contextvars.copy_context().run(draw, "")
