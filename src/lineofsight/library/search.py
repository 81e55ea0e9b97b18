"""Lexical search over the catalogue: BM25 over names, abbreviations, synonyms and descriptions.

Each entry becomes one document in which the fields that name the KPI are repeated, so that a
match on the name, an abbreviation or a synonym outweighs a word in someone else's description;
a query that is exactly an entry's abbreviation, name or synonym puts that entry first. The index
is built once per process, on first use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineofsight.library.model import Entry

# How often each field is repeated in an entry's document (BM25 counts term frequency).
WEIGHTS = {"abbreviation": 4, "name": 3, "id": 1, "synonym": 2, "description": 1, "measure": 1}

_WORD = re.compile(r"[a-z0-9]+")

# Words that say nothing about which KPI is meant.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "many",
        "much",
        "my",
        "of",
        "on",
        "or",
        "our",
        "per",
        "the",
        "their",
        "this",
        "to",
        "we",
        "what",
        "which",
        "with",
        "within",
    ]
)


def stem(word: str) -> str:
    """A light suffix stemmer, enough to meet plurals and verb forms (`invoices`/`invoiced`)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    base = word
    if word.endswith("ies") and len(word) > 4:
        base = word[:-3] + "y"
    elif word.endswith("sses"):
        base = word[:-2]
    elif word.endswith(("ing", "ed")):
        cut = 3 if word.endswith("ing") else 2
        if len(word) - cut >= 3:
            base = word[:-cut]
            if base[-1] == base[-2] and base[-1] not in "lsz":  # shipping -> ship
                base = base[:-1]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        base = word[:-1]
    if len(base) > 3 and base.endswith("e"):  # invoice, invoiced, invoices meet as invoic
        base = base[:-1]
    return base


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed words of a text, without stop words."""
    return [stem(word) for word in _WORD.findall(text.lower()) if word not in STOPWORDS]


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def document(entry: Entry) -> list[str]:
    """The tokens an entry is indexed under, its naming fields repeated by weight."""
    words: list[str] = []
    for abbreviation in entry.abbreviations:
        words += tokens(abbreviation) * WEIGHTS["abbreviation"]
    words += tokens(entry.name) * WEIGHTS["name"]
    words += tokens(entry.id.replace("_", " ")) * WEIGHTS["id"]
    for synonym in entry.synonyms:
        words += tokens(synonym) * WEIGHTS["synonym"]
    words += tokens(entry.description) * WEIGHTS["description"]
    ratio = entry.measure.ratio
    if ratio is not None:
        words += tokens(f"{ratio.numerator} {ratio.denominator}") * WEIGHTS["measure"]
    return words


@dataclass(frozen=True)
class Hit:
    """One search result: the entry and its score (higher is better)."""

    entry: Entry
    score: float


def matches(
    entry: Entry, function: str | None = None, industry: str | None = None, level: str | None = None
) -> bool:
    """Whether an entry passes the search filters (cross-industry entries fit every industry)."""
    if function is not None and entry.function != function:
        return False
    if industry is not None and not entry.fits_industry(industry):
        return False
    return level is None or entry.level == level


class LexicalIndex:
    """A BM25 index of the catalogue, with exact-name lookups beside it."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        # Several hundred ms to import: only when a search is made.
        import bm25s  # type: ignore[import-untyped]

        self.entries = tuple(entries)
        self._bm25: Any = bm25s.BM25()
        docs = [document(entry) for entry in self.entries]
        # bm25s cannot index an empty corpus; a catalogue is never empty but a test's may be.
        self._bm25.index(docs or [["_"]], show_progress=False)
        self._exact: dict[str, int] = {}
        for index, entry in enumerate(self.entries):
            for text in (*entry.abbreviations, entry.name, *entry.synonyms, entry.id):
                self._exact.setdefault(_normal(text.replace("_", " ")), index)

    def search(
        self,
        query: str,
        limit: int = 10,
        function: str | None = None,
        industry: str | None = None,
        level: str | None = None,
    ) -> list[Hit]:
        """The best entries for the query, best first, that pass the filters."""
        query_tokens = tokens(query)
        if not self.entries or not query_tokens:
            return []
        scores = self._bm25.get_scores(query_tokens)
        exact = self._exact.get(_normal(query))
        ranked: list[tuple[float, int]] = []
        for index, entry in enumerate(self.entries):
            score = float(scores[index])
            if index == exact:
                score += 1000.0  # the query names this very KPI
            if score > 0 and matches(entry, function, industry, level):
                ranked.append((score, index))
        ranked.sort(key=lambda item: (-item[0], self.entries[item[1]].id))
        return [Hit(self.entries[index], score) for score, index in ranked[:limit]]
