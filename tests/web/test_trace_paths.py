"""The line of sight's paths up (KPI and person pages), written without the template, are
what the template's macros drew: each item linked to its page with the chosen period kept,
the mission in bold, an unknown id as text, a path that stops or cycles said so, names with
markup shown as typed."""

# ruff: noqa: E501 (the template's lines as they were)
from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from lineofsight.engine.trace import MISSION, PathEnd, TracePath
from lineofsight.web.kpi_view import trace_paths  # noqa: F401 (the global it registers)
from lineofsight.web.templating import templates
from tests.web.conftest import log_in

# The template's macros as they were, the oracle.
MACROS = """{% macro item_link(snap, item_id, mission) -%}
{% if item_id == mission %}<strong>Mission</strong>
{%- elif item_id in snap.kpis %}<a href="{{ link('/kpis/' ~ item_id) }}">{{ snap.kpis[item_id].name }}</a> <span class="muted">(KPI)</span>
{%- elif item_id in snap.objectives %}<a href="{{ link('/objectives/' ~ item_id) }}">{{ snap.objectives[item_id].title }}</a> <span class="muted">(objective)</span>
{%- elif item_id in snap.people %}<a href="{{ link('/people/' ~ item_id) }}">{{ snap.people[item_id].name }}</a>
{%- else %}{{ item_id }}{% endif %}
{%- endmacro %}

{% macro trace_paths(snap, paths, mission) %}
<ol class="paths">
{% for p in paths %}
  <li><ol class="breadcrumb" aria-label="Path {{ loop.index }}">
    {% for item_id in p.ids %}<li>{{ item_link(snap, item_id, mission) }}</li>{% endfor %}
    {% if p.end.value == "dangling" %}<li class="error">ends before the mission</li>{% elif p.end.value == "cycle" %}<li class="error">cycle back to {{ p.repeats }}</li>{% endif %}
  </ol></li>
{% else %}
  <li class="muted">No path up.</li>
{% endfor %}
</ol>
{% endmacro %}
"""


def _snap() -> SimpleNamespace:
    named = SimpleNamespace
    return SimpleNamespace(
        kpis={"rev": named(name="Revenue <net> & more"), "k2": named(name='"Quoted"')},
        objectives={"grow": named(title="Grow & keep"), "top": named(title="Top")},
        people={"ann": named(name="Ann O'Neil")},
    )


def test_the_paths_are_the_templates_macros() -> None:
    paths_sets = [
        [],
        [TracePath(("rev", "grow", "top", MISSION), PathEnd.MISSION)],
        [
            TracePath(("k2", "grow"), PathEnd.DANGLING),
            TracePath(("rev", "ann", "<gone>&", "grow"), PathEnd.CYCLE, "grow<x>"),
            TracePath(("ann", "top", MISSION), PathEnd.MISSION),
        ],
    ]
    oracle = templates.env.from_string(MACROS + "{{ trace_paths(snap, paths, mission) }}")
    written = templates.env.from_string("{{ trace_paths(snap, paths, mission) }}")
    for period in ("", "2026-Q3", "2026-10"):
        for paths in paths_sets:
            context = {
                "snap": _snap(),
                "paths": paths,
                "mission": MISSION,
                "when": SimpleNamespace(label=period),
            }
            assert written.render(context) == oracle.render(context).lstrip("\n")
    context = {"snap": _snap(), "paths": paths_sets[2], "mission": MISSION}
    page = written.render({**context, "when": SimpleNamespace(label="2026-Q3")})
    assert '<a href="/kpis/k2?period=2026-Q3">&#34;Quoted&#34;</a>' in page
    assert "&lt;gone&gt;&amp;" in page and "cycle back to grow&lt;x&gt;" in page


def test_the_kpi_and_person_pages_show_their_paths_with_the_period_kept(
    client: TestClient,
) -> None:
    assert log_in(client, "admin").status_code == 303
    kpi = client.get("/kpis/revenue?period=2026-02").text
    person = client.get("/people/bob?period=2026-02").text
    assert (
        '<li><a href="/kpis/revenue?period=2026-02">Revenue</a> <span class="muted">(KPI)</span>'
        '</li><li><a href="/objectives/sell_more?period=2026-02">Sell more</a>'
    ) in kpi
    assert (
        '<li><a href="/people/bob?period=2026-02">Bob Builder</a></li>'
        '<li><a href="/kpis/defects?period=2026-02">Defects</a>'
    ) in person
    for page in (kpi, person):
        paths = page[page.index('<ol class="paths">') :]
        assert "<li><strong>Mission</strong></li>  </ol></li>\n</ol>\n" in paths
