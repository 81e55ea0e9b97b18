"""The briefing book on SQLite and PostgreSQL: what the PDF's text and the HTML hold (read
back with pypdf), a book without reds, the review record kept and shown in the next book, and
a bad record refused whole."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader

from lineofsight.display import interval, with_measure
from lineofsight.domain.periods import parse_period
from lineofsight.errors import UsageError
from lineofsight.services import actions, commentary
from lineofsight.services.brief import build_book
from lineofsight.services.brief_html import book_document, cover_lines, num, summary_items
from lineofsight.services.brief_pdf import book_pdf
from lineofsight.services.reviews import NewAction, record_review, reviews_of
from lineofsight.store.database import Store
from tests.services.brief_org import make_store

ANALYSIS = "Two large accounts left after the price change in April."
ADVICE = "Offer the annual plan at the old price to accounts above 50 seats."


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = make_store(db_url, tmp_path)
    yield opened
    opened.close()


def pdf_text(data: bytes) -> str:
    """Every page's text, whitespace made single spaces (lines wrap where the layout says)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_the_pdf_holds_the_unit_period_each_red_kpi_value_and_commentary(store: Store) -> None:
    commentary.write_comment(
        store,
        "cara",
        subject_type="kpi",
        subject_id="churn",
        period="2026-06",
        analysis=ANALYSIS,
        recommendation=ADVICE,
    )
    book = build_book(store, "co", period="2026-06")
    assert [(k.id, k.status) for k in book.reds] == [("churn", "red")]
    assert [(k.id, k.status) for k in book.ambers] == [("nps", "amber")]
    data = book_pdf(book)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Acme Company" in text
    assert "2026-06" in text
    for kpi in book.reds:
        assert kpi.name in text
        assert f"{num(kpi.actual)}% against a target of {num(kpi.target)}%" in text
    assert ANALYSIS in text
    assert ADVICE in text
    assert "Net promoter score" in text  # amber KPIs are in the book too
    # The chart is drawn from the forecast the engine makes for the KPI.
    assert book.reds[0].chart is not None and book.reds[0].chart.forecast is not None
    assert "Forecast" in text


def test_the_html_book_holds_the_same_and_fetches_nothing(store: Store) -> None:
    book = build_book(store, "co", period="2026-06")
    page = book_document(book)
    assert "Acme Company" in page and "Customer churn" in page and "2026-06" in page
    assert page.count("<svg") == 2  # one chart per red or amber KPI
    assert "<polyline" in page
    assert "@media print" in page
    # Nothing is loaded from anywhere: no script, no external stylesheet, image or font.
    assert "<script" not in page
    assert not re.search(r"\b(src|href)=\"https?:", page)
    assert "@import" not in page and "url(" not in page


def test_the_book_writes_a_forecast_as_the_command_line_and_the_pages_do(store: Store) -> None:
    # The projected value and its 80% interval with the KPI's unit of measure, the chance a
    # whole percent: churn climbs away from its target, a chance below 1%, never `0%`.
    book = build_book(store, "co", period="2026-06")
    churn = book.reds[0]
    f = churn.chart.forecast if churn.chart is not None else None
    assert f is not None and f.projected is not None and f.probability is not None
    assert f.probability < 0.005
    sentence = (
        f"Forecast {with_measure(f.projected, '%')} (80% interval "
        f"{interval(f.path_low[-1], f.path_high[-1], '%')}) in {f.target_period.label} "
        f"against 4% by 2026-12-31: off track, a <1% chance of meeting it."
    )
    assert html.escape(sentence) in book_document(book)
    assert sentence in pdf_text(book_pdf(book))


def test_a_book_without_reds_says_so(store: Store) -> None:
    book = build_book(store, "ops", period="2026-06")
    assert book.reds == []
    sentence = "No KPI of Operations and the units below it is red for 2026-06."
    assert book.no_reds_sentence == sentence
    assert sentence in book_document(book)
    assert sentence in pdf_text(book_pdf(book))


def test_the_summary_counts_one_finding_in_the_singular(store: Store) -> None:
    book = build_book(store, "co", period="2026-06")
    one = dataclasses.replace(book, finding_count=1, overdue_count=1)
    assert summary_items(one) == ["1 red", "1 amber", "1 overdue", "1 finding"]
    many = dataclasses.replace(book, finding_count=1234, overdue_count=0)
    assert summary_items(many)[2:] == ["0 overdue", "1,234 findings"]


def test_a_review_record_round_trips_and_shows_in_the_next_book(store: Store) -> None:
    held = record_review(
        store,
        "casey",
        unit="co",
        period="2026-05",
        held_on="2026-06-03",
        attendees=["ceo", "cara", "ceo"],
        decisions=["Hire two agents for the tier-1 queue", "  ", "Review churn weekly"],
        actions=[
            NewAction("kpi", "churn", "Call every account that left", "cara", "2026-07-31"),
            NewAction("objective", "serve", "Write the service charter", None, None),
        ],
    )
    assert (held.unit, held.period, held.held_on) == ("co", "2026-05", dt.date(2026, 6, 3))
    assert held.attendees == ("ceo", "cara")
    assert held.decisions == ("Hire two agents for the tier-1 queue", "Review churn weekly")
    assert held.recorded_by == "casey"
    made = actions.list_actions(store)
    assert sorted(a.id for a in made) == sorted(held.action_ids)
    assert {(a.subject_type, a.subject_id, a.owner) for a in made} == {
        ("kpi", "churn", "cara"),
        ("objective", "serve", None),
    }
    assert reviews_of(store, ["co"]) == [held]

    book = build_book(store, "co", period="2026-06")
    assert book.previous == held
    assert [a.title for a in book.previous_actions] == [
        "Call every account that left",
        "Write the service charter",
    ]
    # The KPI's new open action is beside it in the book.
    assert [a.title for a in book.reds[0].actions] == ["Call every account that left"]
    text = pdf_text(book_pdf(book))
    for expected in (
        "Held on 2026-06-03 for 2026-05",
        "Casey Chief, Cara Service",
        "Hire two agents for the tier-1 queue",
        "Review churn weekly",
        "Write the service charter",
    ):
        assert expected in text
    assert "Call every account that left" in book_document(book)
    # The review's own period's book does not call it "previous".
    assert build_book(store, "co", period="2026-05").previous is None


def test_a_bad_record_is_refused_whole_with_every_problem_named(store: Store) -> None:
    with pytest.raises(UsageError) as caught:
        record_review(
            store,
            "casey",
            unit="co",
            period="2026-13",
            held_on="03/06/2026",
            attendees=["ceo", "nobody"],
            decisions=["Fine"],
            actions=[
                NewAction("kpi", "no_such_kpi", "Do it"),
                NewAction("task", "churn", " "),
                NewAction("kpi", "churn", "Later", owner="ghost", due="someday"),
            ],
        )
    fields = {p.file for p in caught.value.problems}
    assert fields == {
        "period",
        "held_on",
        "attendees[1]",
        "actions[0].subject_id",
        "actions[1].subject_type",
        "actions[1].title",
        "actions[2].owner",
        "actions[2].due",
    }
    assert reviews_of(store) == []
    assert actions.list_actions(store) == []


def test_an_action_outside_the_reviewed_subtree_is_refused(store: Store) -> None:
    with pytest.raises(UsageError) as caught:
        record_review(
            store,
            None,
            unit="ops",
            period="2026-06",
            actions=[NewAction("kpi", "churn", "Not ours")],
        )
    assert [str(p.message) for p in caught.value.problems] == [
        "kpi 'churn' is not in ops or a unit below it"
    ]


def test_the_first_levels_only_of_a_large_subtree(store: Store) -> None:
    book = build_book(store, "co", period="2026-06", levels=1)
    assert [u.id for u in book.units] == ["co"]
    assert book.reds == [] and book.ambers == []
    assert (
        book.no_reds_sentence == "No KPI of the first 1 level of Acme Company is red for 2026-06."
    )
    cover = " ".join(cover_lines(book))
    assert "this book shows its first 1 level of units" in cover, cover
    assert [o.id for o in book.objectives] == ["keep"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(34320.5, "34,320"), (1234567.8, "1,234,568"), (72.14, "72.14"), (0.00001234, "0.00001234")],
)
def test_the_book_writes_numbers_as_the_command_line_and_the_pages_do(
    value: float, shown: str
) -> None:
    from lineofsight.display import human

    assert num(value) == shown == human(value)
    assert num(None) == "–"


def test_a_period_book_lists_the_values_overdue_and_counts_items_without_data(
    store: Store,
) -> None:
    # As of 31 August, every July value (due 30 August) is missing; August is still awaiting.
    from lineofsight.services.shapes import items_text
    from lineofsight.services.snapshots import scorecard

    book = build_book(store, "co", period="2026-08")
    listed = [(o.kpi, o.period, o.due) for o in book.overdue]
    flagged = scorecard(store, None, "2026-08-31").evaluation.kpis.filter(
        pl.col("data") == "overdue"
    )
    assert listed == [
        (r["id"], r["period"], r["due"]) for r in flagged.sort(["due", "id"]).iter_rows(named=True)
    ]
    assert listed == [(k, "2026-07", dt.date(2026, 8, 30)) for k in ("churn", "nps", "uptime")]
    assert book.overdue_count == 3
    assert summary_items(book)[2] == "3 overdue"
    # The objective's counts hold its items without data, written as `los status` writes them.
    serve = next(o for o in book.objectives if o.id == "serve")
    assert serve.counts["no_data"] == 2
    page = book_document(book)
    assert f">{items_text(serve.counts)}<" in page
    assert "2 no data" in pdf_text(book_pdf(book))


def test_a_review_recorded_twice_for_a_period_shows_both_records_in_the_next_book(
    store: Store,
) -> None:
    from lineofsight.services.brief_items import book_plain

    first = record_review(
        store,
        "casey",
        unit="co",
        period="2026-05",
        held_on="2026-06-03",
        attendees=["ceo"],
        decisions=["Hire one agent"],
        actions=[NewAction("kpi", "churn", "Call every account that left", "cara", None)],
    )
    second = record_review(
        store,
        "cara",
        unit="co",
        period="2026-05",
        held_on="2026-06-04",
        attendees=["cara"],
        decisions=["Review churn weekly"],
        actions=[NewAction("objective", "serve", "Write the service charter", None, None)],
    )
    record_review(  # an older period's review is not the previous one
        store, "casey", unit="co", period="2026-04", held_on="2026-05-03", decisions=["Old"]
    )
    book = build_book(store, "co", period="2026-06")
    assert [r.id for r in book.previous_records] == [first.id, second.id]
    assert book.previous is not None and book.previous.id == second.id
    assert [a.title for a in book.previous_actions] == [
        "Call every account that left",
        "Write the service charter",
    ]
    page = book_document(book)
    text = pdf_text(book_pdf(book))
    for shown in (page, text):
        assert "Hire one agent" in shown and "Review churn weekly" in shown
        assert "Call every account that left" in shown and "Write the service charter" in shown
        assert "Old" not in shown.split("The previous review")[-1]
    assert "Held on 2026-06-03 and 2026-06-04 for 2026-05" in page
    plain = book_plain(book)["previous_review"]
    assert [r["id"] for r in plain["records"]] == [first.id, second.id]
    assert len(plain["actions"]) == 2


def test_a_book_of_a_period_whose_values_are_not_due_yet_says_so(store: Store) -> None:
    # 2026-08 has ended, but its values fall due on 30 September (reporting lag): the book
    # says they are awaited instead of a plain "no KPI is red".
    book = build_book(store, "co", period="2026-08")
    assert (book.awaited, book.awaited_due) == (3, dt.date(2026, 9, 30))
    said = (
        "2026-08 has ended, but 3 KPI results of it await values not due yet (due by "
        "2026-09-30): these show no data until they are in."
    )
    assert said in cover_lines(book)
    assert book.no_reds_sentence == (
        "No KPI of Acme Company and the units below it is red for 2026-08 so far: "
        "3 results still await their values."
    )
    assert said in " ".join(re.sub(r"<[^>]+>", " ", book_document(book)).split())
    # A period whose values are all in says nothing of it.
    ready = build_book(store, "co", period="2026-06")
    assert (ready.awaited, ready.awaited_due) == (0, None)
    assert not any("await" in line for line in cover_lines(ready))


def test_a_book_without_a_period_is_of_the_period_the_units_review_looks_back_at(
    store: Store, tmp_path: Path
) -> None:
    # As the form that records a review offers: on Monday 7 December, a weekly review looks
    # back at the week before (2026-W49), a quarterly one at 2026-Q3, a monthly one at
    # November; a unit without a review at the last month.
    from lineofsight.services.apply import apply_file
    from tests.services.brief_org import STRATEGY

    reviews = (
        "  - {unit: cs, every: quarterly, day: 10, attendees: [cara]}\n"
        "  - {unit: ops, every: weekly, day: friday, attendees: [oli]}\n"
    )
    strategy = tmp_path / "reviews.yaml"
    strategy.write_text(STRATEGY.replace("reviews:\n", "reviews:\n" + reviews), encoding="utf-8")
    apply_file(store, strategy)
    now = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    for unit, period, as_of in (
        ("co", "2026-11", dt.date(2026, 11, 30)),
        ("cs", "2026-Q3", dt.date(2026, 9, 30)),
        ("ops", "2026-W49", dt.date(2026, 12, 6)),
    ):
        book = build_book(store, unit, now=now)
        assert (book.period, book.as_of) == (period, as_of), unit
        assert cover_lines(book)[0].startswith(f"Period {period} · as of {as_of}"), unit
        # The review's book: each KPI at its latest period with a value or due by the
        # period's end, not the period's report (its results awaiting their values).
        covered = parse_period(period)
        assert book.covers == (covered.start, covered.end), unit
        assert book.awaited == 0 and cover_lines(book)[1].startswith("The review covers"), unit
    report = build_book(store, "co", period="2026-11", now=now)
    assert report.covers is None and report.shown_at == {}
    # As of another day, the period the review looks back at that day, by its cadence.
    for unit, period, as_of in (
        ("co", "2026-10", dt.date(2026, 10, 31)),
        ("cs", "2026-Q3", dt.date(2026, 9, 30)),
        ("ops", "2026-W44", dt.date(2026, 11, 1)),
    ):
        book = build_book(store, unit, as_of="2026-11-05", now=now)
        assert (book.period, book.as_of) == (period, as_of), unit
    with pytest.raises(UsageError, match="not both"):
        build_book(store, "co", period="2026-10", as_of="2026-11-05")


def test_a_weeks_book_shows_each_kpi_at_its_latest_period_with_a_value_or_due(
    store: Store,
) -> None:
    # In the week of 3-9 August, July has ended and its monthly values are not due until
    # 30 August: each KPI is read at June, its latest month with a value, not at an awaited
    # July where nothing is red yet.
    from lineofsight.services.brief_items import book_plain

    book = build_book(store, "co", period="2026-W32")
    assert (book.period, book.as_of) == ("2026-W32", dt.date(2026, 8, 9))
    assert [(k.id, k.period, k.status) for k in book.reds] == [("churn", "2026-06", "red")]
    assert [(k.id, k.period) for k in book.ambers] == [("nps", "2026-06")]
    assert (book.awaited, book.running) == (0, "")
    said = (
        "The review covers 2026-W32 (2026-08-03 to 2026-08-09): each KPI is shown at its "
        "latest own period with a value or due by 2026-08-09 (2026-06: 3 results)."
    )
    assert said in cover_lines(book)
    assert said in " ".join(re.sub(r"<[^>]+>", " ", book_document(book)).split())
    plain = book_plain(book)
    assert plain["covers"] == {
        "start": dt.date(2026, 8, 3),
        "end": dt.date(2026, 8, 9),
        "periods": {"2026-06": 3},
    }
    assert [r["period"] for r in plain["red"]] == ["2026-06"]
    # A book of a month is its period report, and says nothing of the kind.
    month = build_book(store, "co", period="2026-07")
    assert (month.reds, month.covers, book_plain(month)["covers"]) == ([], None, None)
    assert not any("latest own period" in line for line in cover_lines(month))
    ops = build_book(store, "ops", period="2026-W32")
    assert ops.no_reds_sentence == (
        "No KPI of Operations and the units below it is red at its latest period by 2026-08-09."
    )
