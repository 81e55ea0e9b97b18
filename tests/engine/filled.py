"""A store with a small strategy applied and its values loaded, for the engine's store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store


def filled_store(db_url: str, folder: Path, strategy: str, values: str) -> Iterator[Store]:
    """The store at `db_url` with `strategy` applied and `values` (CSV text) loaded; closed
    after the test (use with `yield from` in a fixture)."""
    strategy_file = folder / "strategy.yaml"
    strategy_file.write_text(strategy)
    values_file = folder / "values.csv"
    values_file.write_text(values)
    opened = Store(db_url)
    apply_file(opened, strategy_file)
    load_file(opened, values_file)
    yield opened
    opened.close()
