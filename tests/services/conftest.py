"""The store of a broken organisation that the store check's tests read and write (each a
copy of one filled once per test process and database)."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.spec.dump import dump_organization
from lineofsight.spec.files import read_strategy
from lineofsight.store.database import Store
from tests.checks.chaos import broken, generated, observations
from tests.example_stores import (  # noqa: F401 (the fixtures)
    copy_filled,
    postgresql_examples,
    sqlite_examples,
)


def fill_broken(folder: Path, url: str) -> None:
    """The broken organisation in the new store at `url`, with the values it kept (a prefix of
    each KPI's generated series: some KPIs stop long before the recent periods, some were
    never measured); its strategy file and values file written in `folder`."""
    strategy, measurements = generated(folder / "generated")
    clean = read_strategy(strategy)
    org, kept = broken(clean, observations(measurements, clean))
    path = folder / "strategy.yaml"
    path.write_text(dump_organization(org))
    counts = {kpi_id: len(rows) for kpi_id, rows in kept.items()}
    seen: dict[str, int] = {}
    values = folder / "values.csv"
    with measurements.open(newline="") as source, values.open("w", newline="") as out:
        reader = csv.reader(source)
        writer = csv.writer(out)
        writer.writerow(next(reader))
        for row in reader:
            seen[row[0]] = seen.get(row[0], 0) + 1
            if seen[row[0]] <= counts.get(row[0], 0):
                writer.writerow(row)
    store = Store(url)
    try:
        apply_file(store, path)
        load_file(store, values)
    finally:
        store.close()


@pytest.fixture
def broken_store(
    request: pytest.FixtureRequest, tmp_path: Path, unmade_db_url: str
) -> Iterator[Store]:
    """A copy of the store `fill_broken` fills once per test process and database, and its strategy
    file and values file in the test's folder (`strategy.yaml`, `values.csv`)."""
    filled = copy_filled(request, unmade_db_url, "check-broken", fill_broken)
    for name in ("strategy.yaml", "values.csv"):
        shutil.copyfile(filled / name, tmp_path / name)
    store = Store(unmade_db_url)
    yield store
    store.close()
