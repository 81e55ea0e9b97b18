"""The attention list over the API (`GET /api/v1/inbox`) and on the home page of a signed-in
person, on SQLite and PostgreSQL: the signed-in user's person by default, another person's or
a unit's only when the role may read it, every item cut to the units the role may read."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import log_in

PERIOD = "2026-03"
AS_OF = "2026-03-31"


def _items(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return [(i["kind"], i["item_id"]) for i in response.json()["items"]]


def test_the_signed_in_persons_list_by_default(api_as: Any) -> None:
    answer = api_as("alice").get("/inbox", params={"as_of": AS_OF})
    items = _items(answer)
    assert ("turned_red", "conversion") in items
    assert answer.json()["person"] == "alice"
    red = answer.json()["items"][0]
    assert red["link"] == f"/kpis/conversion?period={PERIOD}"
    assert red["reason"].startswith(f"turned red in {PERIOD}: 3 against a target of 5")
    assert red["unit_of_measure"] is None  # a KPI's, when it has one (what emails write)
    # Nothing of Operations (bob's) in Alice's list.
    assert all(i["unit"] in {"sales", "sales_east"} for i in answer.json()["items"])


def test_a_lead_of_the_top_unit_sees_the_subtree_an_owner_not_another_unit(api_as: Any) -> None:
    whole = _items(api_as("admin").get("/inbox", params={"person": "ceo", "as_of": AS_OF}))
    alice = _items(api_as("admin").get("/inbox", params={"person": "alice", "as_of": AS_OF}))
    assert set(alice) <= set(whole)
    assert ("finding", "acme") in whole and ("finding", "acme") not in alice
    # Bob's own KPI stays amber two periods running: nothing new for him.
    assert _items(api_as("bob").get("/inbox", params={"as_of": AS_OF})) == []


def test_another_persons_list_needs_read_on_their_unit(api_as: Any) -> None:
    refused = api_as("alice").get("/inbox", params={"person": "bob", "as_of": AS_OF})
    assert refused.status_code == 404  # as a person who does not exist
    assert api_as("bob").get("/inbox", params={"unit": "sales"}).status_code == 404  # as unknown
    assert api_as("sales_viewer").get("/inbox", params={"person": "alice"}).status_code == 200


def test_items_outside_the_readable_units_are_cut(api_as: Any) -> None:
    # A viewer of Sales reading the CEO's list... is refused as for an unknown person (the
    # CEO works in acme);
    assert api_as("sales_viewer").get("/inbox", params={"person": "ceo"}).status_code == 404
    # reading the Sales unit's list gets Sales items only.
    items = api_as("sales_viewer").get("/inbox", params={"unit": "sales", "as_of": AS_OF}).json()
    assert items["items"] and all(i["unit"] in {"sales", "sales_east"} for i in items["items"])


def test_mistakes_are_4xx_with_the_field(api_as: Any) -> None:
    unlinked = api_as("viewer").get("/inbox")
    assert unlinked.status_code in (400, 422)
    assert "not linked to a person" in unlinked.text
    assert api_as("admin").get("/inbox", params={"person": "nobody"}).status_code == 404
    assert api_as("admin").get("/inbox", params={"unit": "nowhere"}).status_code == 404
    bad = api_as("admin").get("/inbox", params={"person": "alice", "as_of": "2026-13-01"})
    assert bad.status_code == 422 and "as_of" in bad.text
    assert api_as(None).get("/inbox").status_code == 401


def test_the_home_page_shows_the_signed_in_persons_list(client: TestClient) -> None:
    log_in(client, "alice")
    page = client.get("/", params={"period": PERIOD})
    assert page.status_code == 200
    assert "Needs your attention" in page.text
    assert f'href="/kpis/conversion?period={PERIOD}"' in page.text
    assert "turned red in 2026-03" in page.text
    assert "Defects" not in page.text.split("Needs your attention")[1].split("</section>")[0]


def test_the_home_page_says_why_a_list_is_empty(client: TestClient) -> None:
    log_in(client, "bob")
    page = client.get("/", params={"period": PERIOD})
    section = page.text.split("Needs your attention")[1].split("</section>")[0]
    assert f"Nothing needs your attention as of {AS_OF}" in section


def test_the_home_page_of_an_account_without_a_person(client: TestClient) -> None:
    log_in(client, "viewer")
    page = client.get("/")
    assert page.status_code == 200
    assert "not linked to a person" in page.text
    assert "<code>los user change USERNAME --person ID</code>" in page.text  # not `user add`


def test_a_check_in_link_names_the_period_due(client: TestClient) -> None:
    log_in(client, "alice")
    page = client.get("/kpis/revenue/checkin", params={"period": "2026-04"})
    assert page.status_code == 200
    assert 'value="2026-04"' in page.text
    escaped = client.get("/kpis/revenue/checkin", params={"period": '"><b>x'})
    assert "<b>x" not in escaped.text


def test_the_home_page_of_a_period_still_running_lists_todays_attention(
    client: TestClient, monkeypatch: Any
) -> None:
    # Mid-period, what falls due by the period's end is not overdue yet: the list is today's,
    # as the briefing book of such a period says (its scorecard is the period's).
    import datetime as dt

    from lineofsight.web import pagekit

    monkeypatch.setattr(pagekit, "today", lambda: dt.date(2026, 3, 15))
    log_in(client, "bob")
    page = client.get("/", params={"period": PERIOD})
    section = page.text.split("Needs your attention")[1].split("</section>")[0]
    assert "Nothing needs your attention as of 2026-03-15" in section
    assert "2026-03 has not ended yet" in page.text
