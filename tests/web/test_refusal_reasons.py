"""A refused write says its real reason: a department head with the owner role who gives an
action on a team's KPI to its owner gets the form back with what was typed and every problem
(the owner's beside its field), the API names them all in one answer, and an owner's check-in
of another person's KPI says whose it is. On the worked example (SQLite)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineofsight.services.accounts import Grant, add_user
from tests.web.site import (
    PASSWORD,
    RED_KPI,
    RED_KPI_OWNER,
    build_site,
    csrf_from,
    login,
    side_store,
)

# Samuel Osei heads Customer Service; Tier 2 Support's backlog (red) is Lucas Moreau's.
ACCOUNTS = {
    "sam": (Grant("owner", "customer_service"), "samuel_osei"),
    "lucas": (Grant("owner", "customer_service"), RED_KPI_OWNER),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from lineofsight.web.app import create_app

    folder: Path = tmp_path_factory.mktemp("refusals")
    url = f"sqlite:///{folder / 'los.db'}"
    build_site(url, folder / "ws")
    store = side_store(url)
    try:
        for username, (grant, person) in ACCOUNTS.items():
            add_user(store, username, PASSWORD, (grant,), person_id=person, actor="tests")
    finally:
        store.close()
    application = create_app(url, secret_key="refusal-test-key")
    yield application
    application.state.store.close()  # type: ignore[attr-defined]


def _action_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-action="(\d+)"', html)}


def test_an_owner_is_offered_no_owner_field_on_another_persons_kpi(app: object) -> None:
    sam = login(app, "sam")
    page = sam.get(f"/kpis/{RED_KPI}").text
    assert "Add an action" in page
    form = page[page.index("Add an action") :]
    form = form[: form.index("</form>")]
    assert 'name="owner" value="samuel_osei"' in form and 'type="hidden"' in form
    assert 'id="new-kpi-owner" name="owner"' not in form  # no field to type another owner in
    assert "Samuel Osei" in form and "(you)" in form
    # On his own KPI he may give it to anyone: the field is there.
    own = sam.get("/kpis/avg_resolution_hours").text
    assert 'type="text" id="new-kpi-owner" name="owner"' in own


def test_a_refused_owner_comes_back_beside_its_field_with_every_problem_and_the_text_kept(
    app: object,
) -> None:
    sam = login(app, "sam")
    page = sam.get(f"/kpis/{RED_KPI}").text
    before = _action_ids(page)
    sent = {
        "csrf_token": csrf_from(page),
        "subject_type": "kpi",
        "subject_id": RED_KPI,
        "title": "Clear tier-2 backlog with overflow rota",
        "owner": RED_KPI_OWNER,
        "due": "2026-13-40",
        "milestones": "2027-01-10 Draft the rota",
        "back": f"/kpis/{RED_KPI}",
    }
    answer = sam.post("/actions", data=sent, follow_redirects=False)
    assert answer.status_code == 422, answer.text
    html = answer.text
    assert "2 problems: nothing was saved." in html
    owner = re.search(r'id="action-owner-error">([^<]*)<', html)
    assert owner, html
    assert "as an owner you may add an action on KPI &#39;t2_backlog_days&#39; only on " in (
        owner.group(1)
    )
    assert "(samuel_osei)" in owner.group(1) and f"its owner ({RED_KPI_OWNER})" in owner.group(1)
    assert 'id="action-due-error"' in html
    assert 'value="Clear tier-2 backlog with overflow rota"' in html
    assert "2027-01-10 Draft the rota" in html
    assert "You may not see" not in html
    assert _action_ids(sam.get(f"/kpis/{RED_KPI}").text) == before


def test_the_api_names_an_owners_refused_owner_with_the_other_problems_at_once(
    app: object,
) -> None:
    sam = login(app, "sam")
    token = csrf_from(sam.get("/").text)
    body = {
        "subject": {"kind": "kpi", "id": RED_KPI},
        "title": "",
        "owner": "lucs_moreau",
        "due": "2027-02-31",
    }
    answer = sam.post("/api/v1/actions", json=body, headers={"X-CSRF-Token": token})
    assert answer.status_code == 422, answer.text
    fields = {d["field"] for d in answer.json()["error"]["details"]}
    assert {"title", "owner", "due"} <= fields, answer.json()
    reasons = " ".join(d["reason"] for d in answer.json()["error"]["details"])
    assert "only on yourself (samuel_osei)" in reasons


def test_an_owners_refused_check_in_says_whose_kpi_it_is(app: object) -> None:
    lucas = login(app, "lucas")
    token = csrf_from(lucas.get("/").text)
    body = {"kpi": "avg_resolution_hours", "period": "2026-11", "value": 6.1}
    answer = lucas.post("/api/v1/measurements", json=body, headers={"X-CSRF-Token": token})
    assert answer.status_code == 403, answer.text
    message = answer.json()["error"]["message"]
    assert "your person (lucas_moreau)" in message and "owned by samuel_osei" in message
    assert "enter_data" not in message and "your role does not allow" not in message
    page = lucas.get("/kpis/avg_resolution_hours/checkin")
    assert page.status_code == 403
    assert "owned by samuel_osei" in page.text and "You may not see" not in page.text


def test_the_users_page_warns_of_an_owner_whose_persons_kpis_lie_outside_its_roles(
    app: object,
) -> None:
    # An owner of Sales linked to Lucas Moreau, whose KPI is at Tier 2 Support: the admin is
    # warned at once (his home page would say nothing needs him).
    admin = login(app, "admin")
    page = admin.get("/admin/users").text
    form = {
        "csrf_token": csrf_from(page),
        "username": "zed",
        "name": "",
        "password": "Zed-password-1",
        "roles": "owner:sales",
        "person": RED_KPI_OWNER,
    }
    added = admin.post("/admin/users", data=form, follow_redirects=True)
    assert added.status_code == 200, added.text
    notice = re.search(r'id="admin-notice">([^<]*)<', added.text)
    assert notice, added.text
    text = notice.group(1)
    assert "Added user zed. Warning: person lucas_moreau owns 1 KPI, all outside the roles" in (
        text
    )
    assert "(t2_backlog_days at support_t2): this user cannot see or enter it" in text


def test_a_refused_commentary_says_who_may_write_it(app: object) -> None:
    lucas = login(app, "lucas")
    token = csrf_from(lucas.get("/").text)
    answer = lucas.put(
        "/api/v1/kpis/avg_resolution_hours/commentary/2026-10",
        json={"analysis": "Slower in October"},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["message"] == (
        "you may not write commentary on KPI 'avg_resolution_hours': only an editor or admin "
        "of unit 'customer_service' or its owner (samuel_osei) may"
    )
