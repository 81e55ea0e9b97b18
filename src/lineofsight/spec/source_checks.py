"""Cross-checks of the data sources: what a KPI's `source:` names, and what it must give.

A KPI takes values `from:` a source of `sources:`; a SQL or Spark source needs the KPI's
`query:`, or a `query:` of its own that gives many KPIs' rows (its `kpi` column naming each
KPI by its `key:`, no two KPIs of one source with the same key); a file source takes none. A
KPI's own source (`url:` or `path:` on the KPI) is named after the KPI, so no named source may
have a KPI's name.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable
from typing import TYPE_CHECKING

from lineofsight.domain.model import SourceKind
from lineofsight.spec import schema as s

if TYPE_CHECKING:
    from lineofsight.spec.validate import Collector, Items

QUERY_KINDS = (SourceKind.SQL, SourceKind.SPARK)


def named_kind(spec: s.NamedSourceSpec) -> SourceKind:
    """A named source's kind (`csv` read as `file`)."""
    return SourceKind.FILE if spec.kind is SourceKind.CSV else spec.kind


def check_kpi_sources(items: Items, out: Collector) -> None:
    """Each KPI's source against the named sources; appends to `out`.

    A source written but malformed has its own problem reported: a KPI naming it is not
    reported again."""
    raw = out.data.get("sources") if isinstance(out.data, dict) else None
    written = set(raw) if isinstance(raw, dict) else set()
    keys: dict[tuple[str, str], str] = {}  # (source, key) -> the KPI it marks
    for i, kpi in items.kpis:
        source = kpi.source
        if source is None:
            continue
        base: tuple[Hashable, ...] = ("kpis", i, "source")
        name = f"kpi {kpi.id}: source"
        kind = source.effective_kind
        if source.from_ is not None:
            named = items.sources.get(source.from_)
            if named is None and source.from_ in written:
                continue
            if named is None:
                hint = difflib.get_close_matches(source.from_, list(items.sources), n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                known = "" if items.sources else ": the file has no sources: section naming it"
                out.add(
                    (*base, "from"),
                    f"{name}.from: unknown source '{source.from_}'{suggestion}{known}",
                )
                continue
            kind = named_kind(named)
            shared = kind in QUERY_KINDS and source.query is None and named.query is not None
            if kind in QUERY_KINDS and source.query is None and named.query is None:
                out.add(
                    base,
                    f"{name}: source '{source.from_}' is a {kind.value} source: "
                    "give the query: that returns this KPI's values (or give the source a "
                    "query: whose kpi column names each row's KPI)",
                )
            if source.key is not None and not shared:
                out.add(
                    (*base, "key"),
                    f"{name}.key: source '{source.from_}' has no query: of its own "
                    "whose kpi column the key would match",
                )
            if shared:
                key = source.key if source.key is not None else kpi.id
                other = keys.setdefault((source.from_, key), kpi.id)
                if other != kpi.id:
                    out.add(
                        (*base, "key"),
                        f"{name}.key: KPIs '{other}' and '{kpi.id}' both take the rows of "
                        f"key '{key}' from source '{source.from_}': give each its own key:",
                    )
            if kind is SourceKind.FILE and source.query is not None:
                out.add(
                    (*base, "query"),
                    f"{name}.query: source '{source.from_}' is a file source: it takes no query",
                )
        elif kind not in (SourceKind.MANUAL, None) and kpi.id in written:
            out.add(
                base,
                f"{name}: this KPI's own source is called '{kpi.id}', the name of a source "
                "in sources: too: rename that source",
            )
