"""Counts of things are said one way everywhere: "1 row", "1,234 rows" (domain.text.plural),
never "1 rows"."""

from __future__ import annotations

import datetime as dt

from lineofsight.services.attention import empty_reason
from lineofsight.services.refresh import SourceSummary


def test_a_refresh_summary_of_one_row_says_one_row() -> None:
    one = SourceSummary("sales_db", "sql", ("revenue",), "ok", rows_read=1, added=1, not_ended=1)
    assert one.line().startswith("sales_db: 1 row read, added 1,")
    assert "(1 row of periods not ended yet left out)" in one.line()
    many = SourceSummary("sales_db", "sql", ("revenue",), "ok", rows_read=12_345, not_ended=2)
    assert many.line().startswith("sales_db: 12,345 rows read,")
    assert "(2 rows of periods" in many.line()


def test_an_empty_attention_list_says_its_window_in_days() -> None:
    day = dt.date(2026, 11, 2)
    assert "due within 1 day, or" in empty_reason("your", day, 1)
    assert "due within 7 days, or" in empty_reason("your", day, 7)
