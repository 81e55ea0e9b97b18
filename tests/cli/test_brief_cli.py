"""`los brief` on SQLite and PostgreSQL: the book written as PDF or HTML, a summary as text,
and mistakes exit 2 with the reason; the strategy file's `reviews:` validated and exported."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from lineofsight.store.database import Store
from lineofsight.store.scorecards import read_snapshot_marks
from tests.conftest import Los
from tests.services.brief_org import MEASUREMENTS, STRATEGY


@pytest.fixture
def org(los: Los, workdir: Path) -> Los:
    (workdir / "strategy.yaml").write_text(STRATEGY, encoding="utf-8")
    (workdir / "data.csv").write_text(MEASUREMENTS, encoding="utf-8")
    assert los("apply", "strategy.yaml").exit_code == 0
    assert los("load", "data.csv").exit_code == 0
    return los


def test_the_book_is_written_as_pdf_and_html(org: Los, workdir: Path) -> None:
    result = org("brief", "co", "--period", "2026-06", "-o", "book.pdf")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Wrote the briefing book of Acme Company for 2026-06 to book.pdf (1 red, 1 amber)."
    )
    reader = PdfReader(io.BytesIO((workdir / "book.pdf").read_bytes()))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert "Customer churn" in text and "12.5% against a target of 6%" in text
    result = org("brief", "co", "--period", "2026-06", "-o", "book.html")
    assert result.exit_code == 0, result.output
    page = (workdir / "book.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Customer churn" in page


def test_without_a_file_a_summary_is_printed(org: Los) -> None:
    result = org("brief", "co", "--period", "2026-06")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Briefing book: Acme Company"
    assert lines[1].startswith("Period 2026-06 · as of 2026-06-30 · made ")
    assert lines[2] == "Review monthly (day 3); attendees: Casey Chief, Cara Service, Oli Ops"
    assert "1 red · 1 amber · 0 overdue" in lines[3]
    assert (
        "Red: Customer churn (Customer Service) 2026-06: 12.5% against a target of 6%, score 0"
        in lines
    )
    result = org("brief", "ops", "--period", "2026-06")
    assert "No KPI of Operations and the units below it is red for 2026-06." in result.output


def test_a_weeks_summary_shows_each_kpi_at_its_latest_period(org: Los) -> None:
    # As the page and the API show it (tests/web/test_brief_pages.py).
    result = org("brief", "co", "--period", "2026-W32")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("Period 2026-W32 · as of 2026-08-09 · made ")
    assert lines[2] == (
        "The review covers 2026-W32 (2026-08-03 to 2026-08-09): each KPI is shown at its "
        "latest own period with a value or due by 2026-08-09 (2026-06: 3 results)."
    )
    assert (
        "Red: Customer churn (Customer Service) 2026-06: 12.5% against a target of 6%, score 0"
        in lines
    )
    # --as-of without --period: the book of the review held that day (the company meets
    # monthly: on 9 August, of July), each KPI at its latest month with a value or due by 31
    # July, June, as a week's; --period 2026-07 is the report of July, its values awaited.
    as_of = org("brief", "co", "--as-of", "2026-08-09").output.splitlines()
    period = org("brief", "co", "--period", "2026-07").output.splitlines()
    assert as_of[1].startswith("Period 2026-07 · as of 2026-07-31 · made ")
    assert as_of[2] == (
        "The review covers 2026-07 (2026-07-01 to 2026-07-31): each KPI is shown at its "
        "latest own period with a value or due by 2026-07-31 (2026-06: 3 results)."
    )
    assert as_of[3:] == lines[3:]
    assert period[1] == as_of[1] and period[2].startswith("2026-07 has ended, but 3 KPI results")
    assert not any(line.startswith("Red: ") for line in period)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("brief", "nowhere"), "error: unknown unit 'nowhere'"),
        (("brief", "op"), "error: unknown unit 'op' (did you mean 'ops'?)"),
        (("brief", "co", "-o", "book.docx"), "error: -o book.docx: write a .pdf or an .html file"),
        (
            ("brief", "co", "--period", "2026-13"),
            "error: --period: '2026-13' is not a valid period",
        ),
        (
            ("brief", "co", "-o", "no/such/folder/book.pdf"),
            "error: -o no/such/folder/book.pdf: cannot write it",
        ),
    ],
)
def test_mistakes_exit_2_with_the_reason(org: Los, args: tuple[str, ...], message: str) -> None:
    result = org(*args)
    assert result.exit_code == 2
    assert result.output.startswith(message), result.output
    assert "Traceback" not in result.output


def test_reviews_are_validated_with_line_and_field(los: Los, workdir: Path) -> None:
    bad = STRATEGY.replace(
        "  - {unit: co, every: monthly, day: 3, attendees: [ceo, cara, oli]}\n",
        "  - {unit: co, every: monthly, day: 31, attendees: [ceo, nobody]}\n"
        "  - {unit: co, every: fortnightly}\n"
        "  - {unit: nowhere, every: weekly, day: funday, lead_days: -1}\n",
    )
    (workdir / "strategy.yaml").write_text(bad, encoding="utf-8")
    result = los("apply", "strategy.yaml")
    assert result.exit_code == 2
    line = STRATEGY.splitlines().index("reviews:") + 2
    expected = [
        f"strategy.yaml:{line}: review of co: attendee: unknown person 'nobody'",
        f"strategy.yaml:{line}: review of co: day: '31' is not a day of the month",
        f"strategy.yaml:{line + 1}: unit 'co' has a review already (reviews entry 1)",
        f"strategy.yaml:{line + 1}: review of co: every: 'fortnightly' is not a review's cadence",
        f"strategy.yaml:{line + 2}: ",
        f"strategy.yaml:{line + 2}: review: unit: unknown unit 'nowhere'",
        f"strategy.yaml:{line + 2}: review of nowhere: day: 'funday' is not a weekday",
    ]
    for start in expected:
        assert any(start in got for got in result.output.splitlines()), (start, result.output)
    assert "lead_days" in result.output


def test_reviews_are_applied_and_exported(org: Los, workdir: Path) -> None:
    result = org("export")
    assert result.exit_code == 0, result.output
    assert (
        "reviews:\n- unit: co\n  every: monthly\n  day: 3\n  attendees: [ceo, cara, oli]\n"
        in result.output
    )
    changed = STRATEGY.replace(
        "{unit: co, every: monthly, day: 3, attendees: [ceo, cara, oli]}",
        "{unit: cs, every: '0 9 * * 1', attendees: [cara], lead_days: 1}",
    )
    (workdir / "strategy.yaml").write_text(changed, encoding="utf-8")
    result = org("apply", "strategy.yaml")
    assert result.exit_code == 0, result.output
    assert "reviews:" in result.output
    exported = org("export").output
    assert "- unit: cs\n  every: 0 9 * * 1\n  attendees: [cara]\n  lead_days: 1\n" in exported


def test_without_the_pdf_extra_the_message_says_what_to_install(
    org: Los, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineofsight import extras

    real = extras.find_spec
    monkeypatch.setattr(
        extras, "find_spec", lambda name: None if name == "reportlab" else real(name)
    )
    result = org("brief", "co", "--period", "2026-06", "-o", "book.pdf")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: the PDF briefing book (or write HTML: -o book.html) needs the pdf extra: "
        "pip install 'lineofsight[pdf]'"
    )
    assert not (workdir / "book.pdf").exists()
    # HTML needs nothing more.
    assert org("brief", "co", "--period", "2026-06", "-o", "book.html").exit_code == 0


def test_an_unknown_unit_is_told_before_anything_is_scored(org: Los) -> None:
    # A mistyped unit is refused before the scorecard is computed (seconds for a large
    # organisation): none is computed and kept for the period asked.
    day = dt.date(2026, 5, 31)
    result = org("brief", "op", "--period", "2026-05")
    assert result.exit_code == 2
    assert result.output.startswith("error: unknown unit 'op' (did you mean 'ops'?)")
    assert org.db_url is not None
    store = Store(org.db_url)
    try:
        with store.reading() as conn:
            assert read_snapshot_marks(conn, day, True) is None
            assert read_snapshot_marks(conn, day, False) is None
    finally:
        store.close()
    # The same date for a known unit computes (and keeps) it: the check above could fail.
    assert org("brief", "ops", "--period", "2026-05").exit_code == 0
    store = Store(org.db_url)
    try:
        with store.reading() as conn:
            assert read_snapshot_marks(conn, day, False) is not None
    finally:
        store.close()


def test_a_book_of_a_period_not_ended_says_so(org: Los) -> None:
    ahead = dt.date.today() + dt.timedelta(days=32)
    period = f"{ahead.year}-{ahead.month:02d}"
    result = org("brief", "co", "--period", period)
    assert result.exit_code == 0, result.output
    assert f"{period} has not ended yet (it ends on " in result.output.splitlines()[2]
    ended = org("brief", "co", "--period", "2026-06")
    assert "has not ended" not in ended.output


def test_a_book_of_a_period_not_ended_reads_overdue_values_and_findings_of_today(
    org: Los,
) -> None:
    from lineofsight.services.brief import build_book

    assert org.db_url is not None
    ahead = dt.date.today() + dt.timedelta(days=400)  # its due values would all be overdue
    period = f"{ahead.year}-{ahead.month:02d}"
    store = Store(org.db_url)
    try:
        running = build_book(store, "co", period=period)
        today = build_book(store, "co")
    finally:
        store.close()
    assert f"those of today, {dt.date.today().isoformat()}" in running.running
    assert running.as_of > dt.date.today()
    assert (running.overdue_count, running.finding_count) == (
        today.overdue_count,
        today.finding_count,
    )
    assert [f.message for f in running.findings] == [f.message for f in today.findings]


def test_the_summary_leaves_out_a_commentary_text_that_is_empty(org: Los) -> None:
    from lineofsight.services.commentary import write_comment

    assert org.db_url is not None
    store = Store(org.db_url)
    try:
        write_comment(
            store,
            "cara",
            subject_type="kpi",
            subject_id="churn",
            period="2026-06",
            analysis="Two large accounts left.",
            recommendation=None,
        )
    finally:
        store.close()
    lines = org("brief", "co", "--period", "2026-06").output.splitlines()
    assert "  Analysis: Two large accounts left." in lines
    assert not [line for line in lines if "Recommendation:" in line]
