"""How an item reads in a notification: a KPI by its value, an objective by its score (it has
no value of its own), in the digest's text and HTML alike."""

from __future__ import annotations

import datetime as dt
import html

from lineofsight.services.attention import AttentionItem
from lineofsight.services.notify_render import digest_email, item_line


def _item(item_type: str, name: str, **standing: object) -> AttentionItem:
    fields: dict[str, object] = {
        "kind": "deadline_near",
        "reason": "it is due soon",
        "item_type": item_type,
        "item_id": name.lower().replace(" ", "_"),
        "name": name,
        "unit": "co",
        "owner": "ceo",
        "status": "amber",
        "value": None,
        "period": None,
        "due": None,
        "link": "/x",
        "rank": 1,
    }
    return AttentionItem(**{**fields, **standing})  # type: ignore[arg-type]


def test_an_objective_shows_its_score_not_a_value() -> None:
    scored = _item("objective", "Keep customers loyal", score=93.456)
    unscored = _item("objective", "Enter new markets", score=None, status=None)
    kpi = _item("kpi", "Net Promoter Score", value=20.0, status="red", period="2026-10")
    assert item_line(scored) == "Keep customers loyal: score 93.4 (amber)"
    assert item_line(unscored) == "Enter new markets: no score (no status)"
    assert item_line(kpi) == "Net Promoter Score: 20 (red) in 2026-10"
    awaited = _item("kpi", "Qualified meetings", status="no_data", period="2026-W44")
    assert item_line(awaited) == "Qualified meetings: no value (no data) in 2026-W44"
    email = digest_email([scored, unscored, kpi], person_name="Ava", week="2026-W45", base_url=None)
    assert "- Keep customers loyal: score 93.4 (amber)" in email.text
    assert "</strong></a>: score 93.4 (amber)" in email.html
    assert "no value" not in email.text and "no value" not in email.html


def test_a_value_reads_as_on_the_command_line_and_the_pages_never_with_an_exponent() -> None:
    large = _item("kpi", "Social followers", value=1234567.8, status="red", period="2026-10")
    small = _item("kpi", "Defect rate", value=0.0000123, status="red", period="2026-10")
    assert item_line(large) == "Social followers: 1,234,568 (red) in 2026-10"
    assert item_line(small) == "Defect rate: 0.0000123 (red) in 2026-10"
    email = digest_email([large, small], person_name="Ava", week="2026-W45", base_url=None)
    for text in (email.text, email.html):
        assert "1,234,568" in text and "0.0000123" in text
        assert "e+" not in text and "e-0" not in text


def test_a_value_carries_the_kpis_unit_of_measure_as_on_the_pages() -> None:
    won = _item(
        "kpi", "New customers", value=58.0, status="red", period="2026-10",
        unit_of_measure="customers",
    )  # fmt: skip
    share = _item("kpi", "Market share", value=13.9, status="red", unit_of_measure="%")
    assert item_line(won) == "New customers: 58 customers (red) in 2026-10"
    assert item_line(share) == "Market share: 13.9% (red)"
    email = digest_email([won, share], person_name="Ava", week="2026-W45", base_url=None)
    assert "- New customers: 58 customers (red) in 2026-10" in email.text
    assert "</strong></a>: 58 customers (red) in 2026-10" in email.html


def test_a_finding_is_named_without_a_value_beside_its_status() -> None:
    # A finding's item carries no value nor score: its line names the subject alone, never
    # "no value (amber)" for an objective that scores 50.
    reason = "SM02 objective-without-deadline (warning): objective 'loyal' has no deadline"
    found = _item(
        "finding", "Keep customers loyal", kind="finding", reason=reason, subject="objective"
    )
    assert item_line(found) == "Keep customers loyal"
    email = digest_email([found], person_name="Ava", week="2026-W45", base_url=None)
    assert f"- Keep customers loyal\n  {reason}" in email.text
    assert f"<strong>Keep customers loyal</strong></a><br>{html.escape(reason)}" in email.html
    assert "no value" not in email.text and "no value" not in email.html


def test_a_late_action_is_named_by_its_title_owner_and_date_not_a_value_or_status() -> None:
    reason = "action on KPI 'Tier-2 backlog' was due 2020-01-01 (2532 days ago) and is still open"
    late = _item(
        "action",
        "Past due action",
        kind="action_overdue",
        reason=reason,
        status=None,
        owner="lucas_moreau",
        owner_name="Lucas Moreau",
        due=dt.date(2020, 1, 1),
    )
    assert item_line(late) == "Past due action: open action of Lucas Moreau, late since 2020-01-01"
    email = digest_email([late], person_name="Ava", week="2026-W45", base_url=None)
    assert "- Past due action: open action of Lucas Moreau, late since 2020-01-01" in email.text
    for text in (email.text, email.html):
        assert "no value" not in text and "no status" not in text


def test_an_overdue_item_names_every_value_not_in() -> None:
    from lineofsight.services.notify_render import alert_subject

    def late(*periods: str) -> AttentionItem:
        return _item(
            "kpi",
            "Qualified meetings",
            kind="overdue",
            status="no_data",
            period=periods[-1],
            due=dt.date(2026, 12, 1),
            missing=periods,
        )

    one, two, many = (
        late("2026-W44"),
        late("2026-W44", "2026-W45"),
        late("2026-W44", "2026-W45", "2026-W47"),
    )
    assert item_line(one) == "Qualified meetings: the value for 2026-W44 was due on 2026-12-01"
    assert item_line(two) == (
        "Qualified meetings: the values for 2026-W44 and 2026-W45 were due since 2026-12-01"
    )
    assert (
        item_line(many) == "Qualified meetings: 3 values since 2026-W44 were due since 2026-12-01"
    )
    assert alert_subject("overdue", one).endswith(
        "Qualified meetings: the value for 2026-W44 is overdue"
    )
    assert alert_subject("overdue", two).endswith(
        "Qualified meetings: the values for 2026-W44 and 2026-W45 are overdue"
    )
    assert alert_subject("overdue", many).endswith(
        "Qualified meetings: 3 values since 2026-W44 are overdue"
    )
