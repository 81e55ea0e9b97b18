"""The briefing book's page, PDF and API, and the review record's form and API, through the
in-process client on SQLite and PostgreSQL: a scoped role sees only its subtree's books,
recording needs the right to edit the unit, and bad records answer 422 naming each field."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.store.database import Store
from lineofsight.web.app import create_app
from tests.services.brief_org import make_store

PASSWORD = "correct horse battery"
USERS = {
    "admin": (Grant("admin"),),
    "cs_viewer": (Grant("viewer", "cs"),),
    "cs_editor": (Grant("editor", "cs"),),
    "ops_viewer": (Grant("viewer", "ops"),),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    folder = tmp_path_factory.mktemp("brief")
    admin_url = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'los.db'}"
    else:
        server: str = request.getfixturevalue("pg_url")
        name = f"los_brief_{uuid.uuid4().hex[:12]}"
        admin_url = server.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = server.rsplit("/", 1)[0] + f"/{name}"
    store: Store = make_store(url, folder)
    for username, grants in USERS.items():
        accounts.add_user(store, username, PASSWORD, grants, actor="tests")
    store.close()
    application = create_app(url, secret_key="brief-test-key")
    yield application
    application.state.store.close()  # type: ignore[attr-defined]
    if admin_url is not None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def login(app: object, username: str) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    token = CSRF.search(client.get("/login").text)
    assert token is not None
    answer = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def bearer(app: object, username: str) -> dict[str, str]:
    store = app.state.store  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {accounts.create_token(store, username, actor='tests')}"}


def test_the_page_shows_the_book_with_its_pdf_link(app: object) -> None:
    client = login(app, "cs_viewer")
    page = client.get("/units/cs/brief?period=2026-06")
    assert page.status_code == 200
    assert "Customer churn" in page.text and "Net promoter score" in page.text
    assert 'href="/units/cs/brief.pdf?period=2026-06"' in page.text
    assert "Record this review" not in page.text  # a viewer may not record one
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="(/[^"]*)"', page.text)]
    pages = [h for h in links if not h.startswith(("/static/", "/login"))]
    dropped = [h for h in pages if "period=2026-06" not in h]
    assert dropped == ["/units/cs/brief"]  # the way back to today
    assert "/kpis/churn?period=2026-06" in pages
    assert (
        client.get("/units/cs?period=2026-06").text.count('href="/units/cs/brief?period=2026-06"')
        == 1
    )
    pdf = client.get("/units/cs/brief.pdf?period=2026-06")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Customer Service" in text and "12.5% against a target of 6%" in text


def test_a_scoped_role_sees_only_its_subtree(app: object) -> None:
    client = login(app, "ops_viewer")
    assert client.get("/units/ops/brief?period=2026-06").status_code == 200
    # A unit outside the scope is answered as one that does not exist (no probing).
    assert client.get("/units/cs/brief?period=2026-06").status_code == 404
    assert client.get("/units/co/brief.pdf").status_code == 404
    headers = bearer(app, "ops_viewer")
    answer = client.get("/api/v1/units/ops/brief?period=2026-06", headers=headers)
    assert answer.status_code == 200
    book = answer.json()
    assert book["red"] == []
    assert book["no_red"] == "No KPI of Operations and the units below it is red for 2026-06."
    assert client.get("/api/v1/units/co/brief", headers=headers).status_code == 404
    assert client.get("/api/v1/units/nowhere/brief", headers=headers).status_code == 404
    bad = client.get("/api/v1/units/ops/brief?period=2026-13", headers=headers)
    assert bad.status_code == 422
    error = bad.json()["error"]  # named as the API names it, not as the command line does
    assert error["message"].startswith("period: '2026-13' is not a valid period")
    assert error["details"][0]["field"] == "period" and "--period" not in bad.text
    late = client.get("/api/v1/units/ops/brief?as_of=2026-02-30", headers=headers)
    assert late.status_code == 422 and late.json()["error"]["details"][0]["field"] == "as_of"


def test_the_api_answers_json_html_and_pdf(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    headers = bearer(app, "admin")
    book = client.get("/api/v1/units/co/brief?period=2026-06", headers=headers).json()
    assert (book["unit"], book["period"], book["as_of"]) == ("co", "2026-06", "2026-06-30")
    red = book["red"][0]
    assert (red["id"], red["actual"], red["target"], red["status"]) == ("churn", 12.5, 6.0, "red")
    assert red["forecast"]["path"] and red["chart"][-1]["period"] >= "2026-06"
    html = client.get("/api/v1/units/co/brief?period=2026-06&format=html", headers=headers)
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    pdf = client.get("/api/v1/units/co/brief?period=2026-06&format=pdf", headers=headers)
    assert pdf.content.startswith(b"%PDF")
    bad = client.get("/api/v1/units/co/brief?period=2026-13", headers=headers)
    assert bad.status_code == 422
    assert "2026-13" in bad.text


def test_a_review_is_recorded_through_the_api_and_shown_in_the_next_book(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    body = {
        "unit": "cs",
        "period": "2026-05",
        "held_on": "2026-06-03",
        "attendees": ["cara"],
        "decisions": ["Call every account that left"],
        "actions": [{"subject": {"kind": "kpi", "id": "churn"}, "title": "Win back two accounts"}],
    }
    refused = client.post("/api/v1/reviews", json=body, headers=bearer(app, "cs_viewer"))
    assert refused.status_code == 403
    made = client.post("/api/v1/reviews", json=body, headers=bearer(app, "cs_editor"))
    assert made.status_code == 201, made.text
    review = made.json()
    assert (review["unit"], review["period"], review["decisions"]) == (
        "cs",
        "2026-05",
        ["Call every account that left"],
    )
    assert len(review["action_ids"]) == 1
    headers = bearer(app, "cs_viewer")
    assert client.get(f"/api/v1/reviews/{review['id']}", headers=headers).json() == review
    assert (
        client.get(f"/api/v1/reviews/{review['id']}", headers=bearer(app, "ops_viewer")).status_code
        == 403
    )
    assert client.get("/api/v1/reviews/999999", headers=headers).status_code == 404
    assert client.get("/api/v1/reviews/38812308006", headers=headers).status_code == 422
    book = client.get("/api/v1/units/cs/brief?period=2026-06", headers=headers).json()
    assert book["previous_review"]["decisions"] == ["Call every account that left"]
    assert [a["title"] for a in book["previous_review"]["actions"]] == ["Win back two accounts"]
    assert [a["title"] for a in book["red"][0]["actions"]] == ["Win back two accounts"]


def test_a_bad_review_answers_422_naming_each_field(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    headers = bearer(app, "admin")
    before = client.get("/api/v1/reviews?unit=ops", headers=headers).json()["reviews"]
    body = {
        "unit": "ops",
        "period": "someday",
        "attendees": ["ghost"],
        "actions": [{"subject": {"kind": "kpi", "id": "churn"}, "title": "Not ours"}],
    }
    answer = client.post("/api/v1/reviews", json=body, headers=headers)
    assert answer.status_code == 422
    fields = {d["field"] for d in answer.json()["error"]["details"]}
    assert fields == {"period", "attendees[0]", "actions[0].subject.id"}
    # A review held in the future is refused, with the day it was said to be held.
    later = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    body = {"unit": "ops", "period": "2026-04", "held_on": later}
    answer = client.post("/api/v1/reviews", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [d["field"] for d in details] == ["held_on"]
    assert f"{later} is after today" in details[0]["reason"]
    # A period that had not ended (or begun) by the day held: most often a wrong year.
    for period, reason in (
        ("2027-Q1", "2027-Q1 ends 2027-03-31, after the day held, 2026-11-05"),
        ("2026-11", "2026-11 ends 2026-11-30, after the day held, 2026-11-05"),
    ):
        body = {"unit": "ops", "period": period, "held_on": "2026-11-05"}
        answer = client.post("/api/v1/reviews", json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["details"] == [{"field": "period", "reason": reason}]
    assert client.get("/api/v1/reviews?unit=ops", headers=headers).json()["reviews"] == before


def test_a_review_the_schema_refuses_in_part_says_every_problem_at_once(app: object) -> None:
    # An action's date the schema cannot read does not hide the record's other problems; each
    # field is named one way (`actions[0].due`, as `actions[0].owner`), in the product's words.
    client = TestClient(app)  # type: ignore[arg-type]
    headers = bearer(app, "admin")
    before = client.get("/api/v1/reviews?unit=cs", headers=headers).json()["reviews"]
    later = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    action = {"subject": {"kind": "kpi", "id": "churnn"}, "title": "", "owner": "carra"}
    body = {
        "unit": "cs",
        "period": "2026-05",
        "held_on": later,
        "attendees": ["cara", "samm"],
        "decisions": [],
        "actions": [{**action, "due": "2026-13-15"}, {"subject": {"kind": "team"}, "title": "x"}],
    }
    answer = client.post("/api/v1/reviews", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert details == [
        {"field": "actions[0].title", "reason": "is empty"},
        {"field": "actions[0].due", "reason": "'2026-13-15' is not a date (YYYY-MM-DD)"},
        {"field": "actions[1].subject.kind", "reason": "'team' is not one of 'kpi', 'objective'"},
        {"field": "actions[1].subject.id", "reason": "is required"},
        {"field": "held_on", "reason": details[4]["reason"]},
        {"field": "attendees[1]", "reason": "unknown person 'samm'"},
        {
            "field": "actions[0].subject.id",
            "reason": "unknown kpi 'churnn' (did you mean kpi:churn?)",
        },
        {"field": "actions[0].owner", "reason": "unknown person 'carra' (did you mean 'cara'?)"},
    ], details
    assert details[4]["reason"].startswith(f"{later} is after today")
    assert client.get("/api/v1/reviews?unit=cs", headers=headers).json()["reviews"] == before


def test_a_review_of_an_unknown_unit_says_so_before_the_schemas_problems(app: object) -> None:
    # Nothing else of the record can be checked without its unit: the most useful problem,
    # first; the schema's after it, all in one answer.
    client = TestClient(app)  # type: ignore[arg-type]
    headers = bearer(app, "admin")
    unknown = {"field": "unit", "reason": "unknown unit 'nowhere'"}
    for body, schema in (
        ({"unit": "nowhere"}, [{"field": "period", "reason": "is required"}]),
        (
            {"unit": "nowhere", "period": "2026-11", "held_on": "someday"},
            [{"field": "held_on", "reason": "'someday' is not a date (YYYY-MM-DD)"}],
        ),
    ):
        answer = client.post("/api/v1/reviews", json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["details"] == [unknown, *schema]
        assert error["message"].startswith("unit: unknown unit 'nowhere'; ")
    # A unit outside a scoped account's units is answered as one that does not exist.
    scoped = bearer(app, "cs_editor")
    answer = client.post("/api/v1/reviews", json={"unit": "ops"}, headers=scoped)
    assert answer.json()["error"]["details"][0] == {"field": "unit", "reason": "unknown unit 'ops'"}
    # A body the schema accepts whole: 404, as for any unknown unit.
    answer = client.post(
        "/api/v1/reviews", json={"unit": "nowhere", "period": "2026-11"}, headers=headers
    )
    assert answer.status_code == 404, answer.text


def test_the_form_offers_the_last_period_that_has_ended(app: object) -> None:
    client = login(app, "admin")
    ended = dt.date.today().replace(day=1) - dt.timedelta(days=1)  # the last day of last month
    # Customer Service has no review cadence; the company meets monthly.
    for unit in ("cs", "co"):
        form = client.get(f"/units/{unit}/reviews/new").text
        field = re.search(r'name="period"[^>]*value="([^"]*)"', form)
        assert field is not None, form
        assert field.group(1) == ended.strftime("%Y-%m"), unit


def test_the_form_records_a_review_with_a_new_action(app: object) -> None:
    client = login(app, "cs_editor")
    assert login(app, "cs_viewer").get("/units/cs/reviews/new").status_code == 403
    form = client.get("/units/cs/reviews/new?period=2026-04")
    assert form.status_code == 200
    token = CSRF.search(form.text)
    assert token is not None and 'value="2026-04"' in form.text
    data = {
        "csrf_token": token.group(1),
        "period": "2026-04",
        "held_on": "2026-05-04",
        "attendees": ["cara"],
        "decisions": "Hire two agents\nTrain the team",
        "action_subject_0": "kpi:nps",
        "action_title_0": "Survey the detractors",
        "action_owner_0": "cara",
        "action_due_0": "2026-06-30",
    }
    wrong = client.post(
        "/units/cs/reviews", data={**data, "action_owner_0": "ghost"}, follow_redirects=False
    )
    assert wrong.status_code == 422
    assert "New action 1, Owner: unknown person &#39;ghost&#39;" in wrong.text
    # An id typed without its kind, and with a typo: the closest of the unit's is offered.
    typo = client.post(
        "/units/cs/reviews", data={**data, "action_subject_0": "np"}, follow_redirects=False
    )
    assert typo.status_code == 422
    assert "(did you mean kpi:nps?)" in typo.text, typo.text
    early = client.post(
        "/units/cs/reviews", data={**data, "period": "2026-05"}, follow_redirects=False
    )
    assert early.status_code == 422
    assert "2026-05 ends 2026-05-31, after the day held, 2026-05-04" in early.text, early.text
    done = client.post("/units/cs/reviews", data=data, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/units/cs/brief?recorded=2026-04"
    book = client.get("/units/cs/brief?period=2026-05").text
    assert "Hire two agents" in book and "Survey the detractors" in book


def test_a_refused_review_comes_back_as_typed_each_problem_named_by_its_label(
    app: object,
) -> None:
    # A secretary types three actions in a meeting, one About left empty and one with a typo:
    # the form comes back with every field as typed, and the problems say "New action 2,
    # About", not the API's `actions[1].subject_id`.
    client = login(app, "cs_editor")
    token = CSRF.search(client.get("/units/cs/reviews/new?period=2026-04").text)
    assert token is not None
    data = {
        "csrf_token": token.group(1),
        "period": "2026-04",
        "held_on": "2026-05-04",
        "attendees": ["cara"],
        "decisions": "Hire two agents\n\nTrain the team",
        "action_subject_0": "kpi:nps",
        "action_title_0": "Survey the detractors",
        "action_owner_0": "cara",
        "action_due_0": "2026-06-30",
        "action_title_1": "Triage the backlog",
        "action_owner_1": "carra",
        "action_subject_2": "kpi:npz",
        "action_title_2": "Call back",
        "action_due_2": "2026-07-15",
    }
    page = client.post("/units/cs/reviews", data=data, follow_redirects=False)
    assert page.status_code == 422
    for i in range(3):
        for name in ("subject", "title", "owner", "due"):
            typed = data.get(f"action_{name}_{i}", "")
            field = re.search(rf'<input [^>]*name="action_{name}_{i}"[^>]*>', page.text)
            assert field is not None and f'value="{typed}"' in field.group(0), (name, i)
    problems = re.findall(r"<li>([^<]*)</li>", page.text.split('role="alert"')[1])
    assert problems == [
        "New action 2, About: is required: write kpi:ID or objective:ID",
        "New action 2, Owner: unknown person &#39;carra&#39; (did you mean &#39;cara&#39;?)",
        "New action 3, About: unknown kpi &#39;npz&#39; (did you mean kpi:nps?)",
    ]
    assert re.search(r'name="action_subject_1" value="" [^>]*aria-invalid="true"', page.text)
    assert "api" not in " ".join(problems) and "actions[" not in page.text
    # A decision too long: named by its line in the box (the blank line counted).
    long = client.post(
        "/units/cs/reviews",
        data={**data, "decisions": "Hire\n\n" + "x" * 10_001, "action_subject_1": "kpi:nps"},
        follow_redirects=False,
    )
    assert "Decisions, line 3: longer than" in long.text, long.text


def test_a_weeks_book_is_the_same_on_the_page_in_the_api_and_from_los_brief(app: object) -> None:
    # The week of 3-9 August: each KPI at June, its latest month with a value, as `los brief
    # co --period 2026-W32` prints it (tests/cli/test_brief_cli.py).
    said = (
        "The review covers 2026-W32 (2026-08-03 to 2026-08-09): each KPI is shown at its "
        "latest own period with a value or due by 2026-08-09 (2026-06: 3 results)."
    )
    page = login(app, "admin").get("/units/co/brief?period=2026-W32")
    assert page.status_code == 200
    assert said in " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    client = TestClient(app)  # type: ignore[arg-type]
    book = client.get("/api/v1/units/co/brief?period=2026-W32", headers=bearer(app, "admin"))
    plain = book.json()
    assert plain["covers"] == {
        "start": "2026-08-03",
        "end": "2026-08-09",
        "periods": {"2026-06": 3},
    }
    assert [(r["id"], r["period"]) for r in plain["red"]] == [("churn", "2026-06")]


def test_a_reviews_book_of_a_month_is_at_each_kpis_latest_period_its_report_is_not(
    app: object,
) -> None:
    # The link of the email sent before the review of July (services/brief_send.py): each
    # KPI at June, its latest month with a value, in the page, its PDF and the API; July's
    # report (?period= alone) shows its results awaiting their values.
    said = (
        "The review covers 2026-07 (2026-07-01 to 2026-07-31): each KPI is shown at its "
        "latest own period with a value or due by 2026-07-31 (2026-06: 3 results)."
    )
    client = login(app, "admin")
    page = client.get("/units/co/brief?period=2026-07&review=true")
    assert page.status_code == 200
    words = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert said in words and "Customer churn" in words
    assert 'href="/units/co/brief.pdf?review=true&amp;period=2026-07"' in page.text
    assert '<input type="hidden" name="review" value="true">' in page.text  # another period
    pdf = client.get("/units/co/brief.pdf?period=2026-07&review=true")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "2026-07-31 (2026-06: 3 results)" in " ".join(text.split())
    report = " ".join(
        re.sub(r"<[^>]+>", " ", client.get("/units/co/brief?period=2026-07").text).split()
    )
    assert said not in report and "2026-07 has ended, but 3 KPI results of it await" in report
    api = TestClient(app)  # type: ignore[arg-type]
    plain = api.get(
        "/api/v1/units/co/brief?period=2026-07&review=true", headers=bearer(app, "admin")
    ).json()
    assert plain["covers"]["periods"] == {"2026-06": 3}
    assert [(r["id"], r["period"]) for r in plain["red"]] == [("churn", "2026-06")]


def test_a_reviews_actions_are_given_only_to_people_of_the_units_one_may_add_actions_in(
    app: object,
) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    body = {
        "unit": "cs",
        "period": "2026-05",
        "held_on": "2026-06-03",
        "actions": [
            {"subject": {"kind": "kpi", "id": "churn"}, "title": "Ask ops", "owner": "oli"},
            {"subject": {"kind": "kpi", "id": "nps"}, "title": "Ask Cara", "owner": "cara"},
        ],
    }
    editor = bearer(app, "cs_editor")
    before = client.get("/api/v1/reviews?unit=cs", headers=editor).json()["reviews"]
    # Oli works in operations, which a customer-service editor may not read: to them, a
    # person that does not exist (as for an action added alone), and nothing is recorded.
    answer = client.post("/api/v1/reviews", json=body, headers=editor)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"] == [
        {"field": "actions[0].owner", "reason": "unknown person 'oli'"}
    ]
    assert client.get("/api/v1/reviews?unit=cs", headers=editor).json()["reviews"] == before
    # The form says the same beside the owner of its first new action.
    page = login(app, "cs_editor")
    form = page.get("/units/cs/reviews/new")
    token = CSRF.search(form.text)
    assert token is not None
    refused = page.post(
        "/units/cs/reviews",
        data={
            "csrf_token": token.group(1),
            "period": "2026-05",
            "held_on": "2026-06-03",
            "action_subject_0": "kpi:churn",
            "action_title_0": "Ask ops",
            "action_owner_0": "oli",
        },
    )
    assert refused.status_code == 422
    assert "unknown person &#39;oli&#39;" in refused.text or "unknown person 'oli'" in refused.text
    # An admin may give it to anyone.
    made = client.post("/api/v1/reviews", json=body, headers=bearer(app, "admin"))
    assert made.status_code == 201, made.text
