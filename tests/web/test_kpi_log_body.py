"""The KPI page's measurement log, written without the template, is what the template's loop
drew: replaced values muted, ratios without a value as numerator / denominator, notes and
sources with markup shown as typed, an empty log said so."""

# ruff: noqa: E501 (the template's lines as they were)
from __future__ import annotations

import datetime as dt

from lineofsight.services.kpi_series import LogEntry
from lineofsight.web.kpi_view import log_body
from lineofsight.web.templating import templates

# The template's loop as it was, the oracle.
LOOP = """    <tbody>
    {% for e in log %}
      <tr{% if not e.current %} class="muted"{% endif %}>
        <td>{{ e.period }}{% if not e.current %} <span class="hint">(replaced)</span>{% endif %}</td>
        <td class="num">{% if e.value is not none %}{{ e.value | num }}{% else %}{{ e.numerator | num }} / {{ e.denominator | num }}{% endif %}</td>
        <td class="note">{{ e.note or "" }}</td>
        <td class="num">{{ e.revision }}</td>
        <td>{{ e.recorded_at.strftime("%Y-%m-%d %H:%M") }}</td>
        <td class="muted">{{ e.source | source }}</td>
      </tr>
    {% else %}
      <tr><td colspan="6" class="muted">No measurements yet.</td></tr>
    {% endfor %}
    </tbody>
"""


HOUR_EAST = dt.timezone(dt.timedelta(hours=1))


def _entry(**changed: object) -> LogEntry:
    fields: dict[str, object] = {
        "unit": "co",
        "period": "2026-10",
        "period_end": dt.date(2026, 10, 31),
        "value": 1234.5678,
        "numerator": None,
        "denominator": None,
        "note": None,
        "revision": 1,
        "recorded_at": dt.datetime(2026, 11, 2, 9, 5, 7),
        "source": "/data/in/sales.csv (row 4)",
        "current": True,
    }
    return LogEntry(**{**fields, **changed})  # type: ignore[arg-type]


def test_the_log_is_the_templates_loop() -> None:
    logs = [
        [],
        [
            _entry(),
            _entry(value=0.000123, revision=2, current=False, note='<b>typo</b> & "fixed"\''),
            _entry(value=None, numerator=3.0, denominator=None, source=None),
            _entry(value=-2e9, period="2026-Q3", source="C:\\in\\x<y>.csv", note=""),
            _entry(value=None, numerator=None, denominator=7.25, current=False),
        ],
        # One instant in two zones (equal times, each written in its own), and one load's
        # time and source shared by several rows.
        [
            _entry(recorded_at=dt.datetime(2026, 11, 2, 9, 5, tzinfo=dt.UTC)),
            _entry(recorded_at=dt.datetime(2026, 11, 2, 10, 5, tzinfo=HOUR_EAST), revision=2),
            _entry(recorded_at=dt.datetime(2026, 11, 2, 9, 5, tzinfo=dt.UTC), period="2026-09"),
        ],
    ]
    loop = templates.env.from_string(LOOP)
    for log in logs:
        # (a template from a string loses its last line end)
        assert f"    {log_body(log)}" == loop.render(log=log)
    assert "&lt;b&gt;typo&lt;/b&gt; &amp; &#34;fixed&#34;&#39;" in log_body(logs[1])
