"""Data sources: one module per kind of source, each with the same `fetch`.

`fetch(settings, query, params, *, timeout) -> polars.DataFrame` runs a KPI's query where the
data lives and returns its period-level rows: columns `period`, `value` [, `unit`] (or
`numerator`, `denominator` [, `unit`] for a ratio KPI). `settings` are the source's settings
as written (secrets still `env:NAME`: each kind resolves them with `secrets.resolve` when it
connects); `params` are the query's parameters (`since`). A failure raises `SourceError`.

File sources are read by the measurement loader instead (`files.matching` finds them).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import polars as pl

from lineofsight.errors import SourceError

Fetch = Callable[..., pl.DataFrame]

# The kinds whose sources run a query, and the module of each.
QUERY_MODULES = {"sql": "lineofsight.sources.sql", "spark": "lineofsight.sources.spark"}


def fetcher(kind: str) -> Fetch:
    """The `fetch` of a kind of source; SourceError when that kind is not installed."""
    module_name = QUERY_MODULES.get(kind)
    if module_name is None:
        raise SourceError("setup", f"a {kind} source runs no query")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SourceError(
            "setup", f"{kind} sources cannot run here: {exc.name or 'a module'} is not installed"
        ) from None
    fetch: Fetch = module.fetch
    return fetch


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Queries run inside the block share their connections (one per database), closed at
    its end: what a refresh of one source wraps its KPIs' queries in."""
    from lineofsight.sources.sql import shared_connections

    with shared_connections():
        yield


def fetch_parts(
    kind: str,
    settings: Mapping[str, Any],
    query: str,
    params: Mapping[str, Any],
    *,
    timeout: float,
    count: int,
) -> list[pl.DataFrame]:
    """Run a combined statement of `count` queries (see `combined`) on a source of `kind`:
    each query's rows."""
    module_name = QUERY_MODULES.get(kind)
    fetcher(kind)  # SourceError when the kind runs no query or is not installed
    assert module_name is not None
    found: list[pl.DataFrame] = importlib.import_module(module_name).fetch_parts(
        settings, query, params, timeout=timeout, count=count
    )
    return found


def fetch(
    kind: str, settings: Mapping[str, Any], query: str, params: Mapping[str, Any], *, timeout: float
) -> pl.DataFrame:
    """Run `query` on a source of `kind` (see the module's docstring)."""
    return fetcher(kind)(settings, query, params, timeout=timeout)
