"""`los inbox` on the techinnovate example (data to October 2026), on SQLite and PostgreSQL:
the text groups a person's items under their kinds with reasons and links, the JSON carries
the items, a lead's list covers the units below them, and mistakes exit 2 with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Los
from tests.forecasts_made import forecasts_made


@pytest.fixture
def example(los: Los, workdir: Path) -> Los:
    result = los("init", "ws", "--example", "techinnovate")
    assert result.exit_code == 0, result.output
    return los


def _items(los: Los, *args: str) -> list[dict[str, object]]:
    result = los("inbox", *args, "--as-of", "2026-12-05", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["as_of"] == "2026-12-05"
    items: list[dict[str, object]] = data["items"]
    return items


def test_text_groups_a_persons_items_with_reasons_and_links(example: Los) -> None:
    result = example("inbox", "--person", "lucas_moreau", "--as-of", "2026-12-05")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Lucas Moreau's attention list as of 2026-12-05: 2 items",
        "",
        "Still red (1)",
        "  Tier-2 backlog (Tier 2 Support, Lucas Moreau)",
        "    still red in 2026-10 (red in 2026-09 too): 5.1 working days against a target of"
        " 3.142 working days",
        "    /kpis/t2_backlog_days?period=2026-10",
        "",
        "Red without an action (1)",
        "  Tier-2 backlog (Tier 2 Support, Lucas Moreau)",
        "    red in 2026-10 (5.1 working days against a target of 3.142 working days) and nobody"
        " has an open action on it",
        "    /kpis/t2_backlog_days?period=2026-10#actions",
    ]


def test_a_kpis_item_carries_its_unit_of_measure(example: Los) -> None:
    # What an email writes the item's value with (`5.1 working days (red)`), as the reason does.
    items = _items(example, "--person", "samuel_osei")
    kpis = [i for i in items if i["item_type"] == "kpi"]
    assert kpis and all("unit_of_measure" in i for i in items)
    measures = {str(i["item_id"]): i["unit_of_measure"] for i in kpis}
    assert measures["t2_backlog_days"] == "working days"
    assert measures["first_response_hours"] == "hours"  # an off-track item too


def test_a_lead_sees_the_subtree_and_the_order_is_the_ranking(example: Los) -> None:
    own = _items(example, "--person", "lucas_moreau")
    lead = _items(example, "--person", "samuel_osei")  # leads Customer Service
    unit = _items(example, "--unit", "customer_service")
    keys = {(i["kind"], i["item_id"]) for i in own}
    assert keys <= {(i["kind"], i["item_id"]) for i in lead}
    assert {(i["kind"], i["item_id"]) for i in lead} <= {(i["kind"], i["item_id"]) for i in unit}
    every = _items(example)
    ranks = [int(str(i["rank"])) for i in every]
    assert ranks == sorted(ranks)
    assert {i["kind"] for i in every} >= {"turned_red", "still_red", "off_track", "finding"}
    overdue = [i for i in every if i["kind"] == "overdue"]
    assert all(i["due"] is not None and str(i["due"]) <= "2026-12-05" for i in overdue)


def test_an_overdue_value_is_said_once_not_again_as_a_stale_data_finding(example: Los) -> None:
    result = example("inbox", "--as-of", "2026-12-20", "--format", "json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)["items"]
    overdue = {i["item_id"] for i in items if i["kind"] == "overdue"}
    assert "qualified_meetings_na" in overdue, "a week of its values is overdue"
    stale = {i["item_id"] for i in items if i["kind"] == "finding" and i["code"] == "DA01"}
    assert not overdue & stale
    check = example("check", "--as-of", "2026-12-20", "--format", "json")
    found = {
        f["subject"]["id"] for f in json.loads(check.output)["findings"] if f["code"] == "DA01"
    }
    assert "qualified_meetings_na" in found, "the check itself still reports it"


def test_an_empty_list_says_why(example: Los) -> None:
    result = example("inbox", "--person", "noah_kim", "--as-of", "2026-12-05")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Nothing needs Noah Kim's attention as of 2026-12-05:")
    assert "due within 7 days" in result.output


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--person", "lucas"], "--person: unknown person 'lucas'"),
        (["--unit", "nowhere"], "--unit: unknown unit 'nowhere'"),
        (["--as-of", "2026-02-30"], "--as-of '2026-02-30'"),
    ],
)
def test_mistakes_exit_2_with_the_reason(example: Los, args: list[str], reason: str) -> None:
    result = example("inbox", *args)
    assert result.exit_code == 2
    assert reason in result.output
    assert "Traceback" not in result.output


def test_the_top_units_list_keeps_the_forecast_it_made(
    example: Los, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list of the top unit (every KPI) forecasts the whole organisation once and keeps
    it: the next list, of any scope, reads it, and it is what `los forecast` says."""
    import datetime as dt

    from lineofsight.services import attention_forecast
    from lineofsight.services.evaluate import load_organization
    from lineofsight.store.check_results import read_kept_report
    from lineofsight.store.database import Store

    store = Store(db_url)
    try:
        org = load_organization(store)
        top = next(u.id for u in org.units if u.parent is None)
        made = forecasts_made(monkeypatch)
        first = _items(example, "--unit", top)
        assert made == [None]  # the whole organisation's
        with store.reading() as conn:
            kept = read_kept_report(conn, attention_forecast._key(dt.date(2026, 12, 5)))
        assert kept is not None
        calls = attention_forecast._decode(kept[1])
        assert _items(example, "--unit", top) == first
        assert _items(example, "--person", "lucas_moreau")
        assert made == [None]  # read back, not made again
    finally:
        store.close()
    result = example("forecast", "--as-of", "2026-12-05", "--format", "json")
    assert result.exit_code == 0, result.output
    own = {k.id: k.unit for k in org.kpis}
    off = {
        f["id"]: f["projected"]
        for f in json.loads(result.output)["kpis"]
        if f["unit"] == own[f["id"]] and f["on_track"] is False and f["projected"] is not None
    }
    assert off  # some KPI of the example is off track
    assert dict(zip(calls["id"], calls["projected"], strict=True)) == pytest.approx(off)


def test_the_top_units_list_keeps_the_forecast_after_a_load_of_many_values(
    example: Los, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept forecast written over beyond the share brought up to date (a new month's load):
    the top unit's list forecasts the whole organisation again and keeps it, so the next
    list forecasts nothing."""
    from lineofsight.services import attention_forecast

    made = forecasts_made(monkeypatch)
    monkeypatch.setattr(attention_forecast, "AGAIN_SHARE", 0)  # any write is above the share
    _items(example, "--unit", "techinnovate")
    assert made == [None]
    (workdir / "one.csv").write_text("kpi,period,value\nt2_backlog_days,2026-10,4.0\n")
    assert example("load", "one.csv").exit_code == 0
    first = _items(example, "--unit", "techinnovate")
    assert made == [None, None]  # the whole organisation's again, kept
    assert _items(example, "--unit", "techinnovate") == first
    assert made == [None, None]


def test_a_value_overdue_at_another_unit_is_on_its_owners_and_its_units_leads_lists(
    example: Los,
) -> None:
    # 5 January 2027: November's values were due on 30 December and none is in, at the KPIs'
    # own units and at the units below them alike.
    day = "2027-01-05"
    status = example("status", "--as-of", day, "--format", "json")
    assert status.exit_code == 0, status.output
    rows = json.loads(status.output)["kpis"]
    late = {(r["id"], r["unit"]) for r in rows if r["data"] == "overdue"}
    assert ("first_response_hours", "support_t1") in late

    def overdue(*args: str) -> dict[tuple[str, str], dict[str, object]]:
        result = example("inbox", *args, "--as-of", day, "--format", "json")
        assert result.exit_code == 0, result.output
        items = json.loads(result.output)["items"]
        return {(str(i["item_id"]), str(i["unit"])): i for i in items if i["kind"] == "overdue"}

    assert set(overdue()) == late, "every value `los status` calls overdue, and no other"
    owner = overdue("--person", "samuel_osei")  # owns first_response_hours
    t1_lead = overdue("--person", "aisha_rahman")  # leads Tier 1 Support
    t2_lead = overdue("--person", "lucas_moreau")  # leads Tier 2 Support
    at_t1 = ("first_response_hours", "support_t1")
    assert at_t1 in owner and at_t1 in t1_lead and at_t1 not in t2_lead
    assert ("first_response_hours", "support_t2") in t2_lead
    assert owner[at_t1]["link"] == "/kpis/first_response_hours?unit=support_t1&period=2026-11"
    assert owner[at_t1]["owner"] == "samuel_osei"
    text = example("inbox", "--person", "aisha_rahman", "--as-of", day)
    assert "  First response time (Tier 1 Support, Samuel Osei)" in text.output.splitlines()


def test_a_missing_value_stays_on_the_list_until_it_is_in(example: Los, workdir: Path) -> None:
    # qualified_meetings_na (weekly, due 30 days after the week) has values up to 2026-W43:
    # W44 is due on 2026-12-01, W45 on 12-08, W46 on 12-15.
    def late(day: str) -> dict[str, object]:
        items = _items_on(example, day, "--person", "ethan_park")
        found = [
            i for i in items if i["kind"] == "overdue" and i["item_id"] == "qualified_meetings_na"
        ]
        assert len(found) <= 1
        return found[0] if found else {}

    assert late("2026-12-07")["missing"] == ["2026-W44"]
    later = late("2026-12-08")
    assert later["missing"] == ["2026-W44", "2026-W45"], "W44 is still not in"
    assert later["reason"] == (
        "the values for 2026-W44 and 2026-W45 were due since 2026-12-01 (7 days ago) and are not in"
    )
    assert later["period"] == "2026-W45" and later["due"] == "2026-12-01"
    # A later value in hides no gap.
    (workdir / "w46.csv").write_text(
        "kpi,period,value,unit\nqualified_meetings_na,2026-W46,40,sales_na\n"
    )
    assert example("load", "w46.csv").exit_code == 0
    assert late("2026-12-15")["missing"] == ["2026-W44", "2026-W45"]
    text = example("inbox", "--person", "ethan_park", "--as-of", "2026-12-15").output
    assert (
        "    the values for 2026-W44 and 2026-W45 were due since 2026-12-01 (14 days ago)"
        " and are not in"
    ) in text.splitlines()
    # Many weeks are counted from the first, not listed one by one.
    assert late("2027-01-19")["reason"] == (
        "7 values since 2026-W44 are missing: due since 2026-12-01 (49 days ago),"
        " the latest for 2026-W51"
    )
    (workdir / "gap.csv").write_text(
        "kpi,period,value,unit\n"
        "qualified_meetings_na,2026-W44,38,sales_na\nqualified_meetings_na,2026-W45,39,sales_na\n"
    )
    assert example("load", "gap.csv").exit_code == 0
    assert late("2026-12-15") == {}, "each value in: nothing missing"


def _items_on(los: Los, day: str, *args: str) -> list[dict[str, object]]:
    result = los("inbox", *args, "--as-of", day, "--format", "json")
    assert result.exit_code == 0, result.output
    items: list[dict[str, object]] = json.loads(result.output)["items"]
    return items
