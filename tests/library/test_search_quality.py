"""Search quality: abbreviations find their KPI first; recall@5 over the query set; speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from lineofsight.library import semantic
from lineofsight.library.catalogue import default_catalogue
from lineofsight.library.search import stem, tokens
from lineofsight.services import library

QUERIES = yaml.safe_load((Path(__file__).parent / "queries.yaml").read_text())["queries"]

# Floors set a little under what was measured on the 121 queries (lexical 0.950, semantic 0.901,
# hybrid 0.967), so that a change that makes search worse fails here.
FLOORS = {"lexical": 0.92, "semantic": 0.86, "hybrid": 0.93}


def recall_at_5(mode: str) -> tuple[float, list[str]]:
    missed = []
    for item in QUERIES:
        found = [r.id for r in library.search(item["query"], limit=5, mode=mode)]
        if item["expect"] not in found:
            missed.append(f"{item['query']!r} -> {found[:3]} (wanted {item['expect']})")
    return 1 - len(missed) / len(QUERIES), missed


def test_the_query_set_is_large_and_names_real_entries() -> None:
    catalogue = default_catalogue()
    assert len(QUERIES) >= 60
    for item in QUERIES:
        assert item["expect"] in catalogue.by_id, item
        entry = catalogue.by_id[item["expect"]]
        assert item["query"].lower() != entry.name.lower(), "a query must not be the name"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("NPS", "net_promoter_score"),
        ("CAC", "customer_acquisition_cost"),
        ("DSO", "days_sales_outstanding"),
        ("AHT", "average_handle_time"),
        ("ALOS", "average_length_of_stay"),
        ("OEE", "overall_equipment_effectiveness"),
        ("nps", "net_promoter_score"),
        ("Days Sales Outstanding", "days_sales_outstanding"),
        ("debtor days", "days_sales_outstanding"),
    ],
)
def test_abbreviations_names_and_synonyms_rank_their_kpi_first(query: str, expected: str) -> None:
    assert library.search(query, limit=1)[0].id == expected


def test_filters_keep_only_matching_entries() -> None:
    results = library.search("rate", function="hr", level="operational", limit=50)
    assert results and all(r.function == "hr" and r.level == "operational" for r in results)
    catalogue = default_catalogue()
    for result in library.search("time", industry="healthcare", limit=50):
        assert catalogue.by_id[result.id].fits_industry("healthcare")


def test_the_tokeniser_meets_word_forms() -> None:
    assert stem("invoices") == stem("invoiced") == stem("invoice")
    assert stem("shipping") == stem("shipped") == "ship"
    assert tokens("How long do the customers take?") == ["long", "customer", "tak"]


def test_lexical_recall_at_5() -> None:
    recall, missed = recall_at_5("lexical")
    print(f"\nlexical recall@5 = {recall:.3f} over {len(QUERIES)} queries; missed: {missed}")
    assert recall >= FLOORS["lexical"], missed


def test_lexical_search_answers_within_50_ms() -> None:
    library.search("warm up")
    times = []
    for item in QUERIES:
        start = time.perf_counter()
        library.search(item["query"], limit=10)
        times.append(time.perf_counter() - start)
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(f"\nlexical search: p95 {p95 * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms")
    assert p95 < 0.050


needs_model = pytest.mark.skipif(
    not semantic.available(), reason="the `semantic` extra is not installed"
)


@needs_model
def test_semantic_and_hybrid_recall_at_5() -> None:
    figures = {}
    for mode in ("semantic", "hybrid"):
        recall, missed = recall_at_5(mode)
        figures[mode] = recall
        print(f"\n{mode} recall@5 = {recall:.3f} over {len(QUERIES)} queries; missed: {missed}")
        assert recall >= FLOORS[mode], (mode, missed)


@needs_model
def test_semantic_search_finds_a_paraphrase_without_shared_words() -> None:
    found = [r.id for r in library.search("people quitting the company", mode="semantic")]
    assert {"employee_turnover_rate", "voluntary_turnover_rate"} & set(found[:5])


def test_semantic_without_the_model_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(semantic, "available", lambda: False)
    monkeypatch.setattr(semantic, "_model", [])
    catalogue = default_catalogue()
    monkeypatch.delitem(catalogue.__dict__, "semantic", raising=False)
    from lineofsight.errors import UsageError

    with pytest.raises(UsageError, match=r"pip install 'lineofsight\[semantic\]'"):
        library.search("turnover", mode="semantic")
    assert library.search("turnover", mode="lexical")  # lexical search works without it
