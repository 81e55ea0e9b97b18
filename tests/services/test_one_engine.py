"""Every surface shows the numbers of `los status`: the cascade tree and the Python API score
with the same engine, and an explanation's values are the status's actual and last value.

An explanation reads only its two periods' measurements; a float sum over a group of rows can
differ in its last bit with the rows read alongside (Polars adds a group's values in an order
that depends on the frame), so values agree to 1e-12 and exactly as written (6 decimals)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import polars.testing as pt
import pytest

from lineofsight.errors import UsageError
from lineofsight.services.evaluate import evaluate_store, status_store
from lineofsight.services.explain import explain_change
from lineofsight.services.init import init_workspace
from lineofsight.services.workspace import find_workspace_url
from lineofsight.store.database import Store


@pytest.fixture(scope="module", params=["techinnovate", "globalhealth", "manufacturing"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp(request.param) / "ws"
    init_workspace(folder, example=request.param, db=None)
    url = find_workspace_url(folder)
    assert url is not None
    return Store(url)


def test_explanations_show_the_status_values(store: Store) -> None:
    card = status_store(store, as_of="2026-12-05")
    rows = card.kpis.filter(
        pl.col("own_unit") & pl.col("actual").is_not_null() & pl.col("last_value").is_not_null()
    )
    assert rows.height >= 5
    explained = 0
    for row in rows.iter_rows(named=True):
        try:
            result = explain_change(store, row["id"], row["last_period"], row["period"])
        except UsageError as exc:
            # Only a formula without a value for some mix of the two periods' inputs.
            assert "cannot split" in str(exc)
            continue
        explained += 1
        e = result.explanation
        assert (e.from_period.label, e.to_period.label) == (row["last_period"], row["period"])
        for shown, status in ((e.to_value, row["actual"]), (e.from_value, row["last_value"])):
            assert shown == pytest.approx(status, rel=1e-12), row["id"]
            assert round(shown, 6) == round(status, 6), row["id"]
    assert explained >= rows.height - 1


@pytest.mark.parametrize(("as_of", "period"), [("2026-11-22", None), (None, "2026-Q3")])
def test_the_tree_scores_with_the_status_engine(
    store: Store, as_of: str | None, period: str | None
) -> None:
    """`los tree` and the API score domain objects read from the store: the same rows."""
    org, from_objects = evaluate_store(store, period=period, as_of=as_of)
    fast = status_store(store, period=period, as_of=as_of)
    assert len(org.kpis) == fast.kpis.filter(pl.col("own_unit")).height
    pt.assert_frame_equal(from_objects.kpis, fast.kpis)
    pt.assert_frame_equal(from_objects.objectives, fast.objectives)
    pt.assert_frame_equal(from_objects.units, fast.units)


def test_workspace_scorecard_is_the_status(tmp_path: Path) -> None:
    import lineofsight

    folder = tmp_path / "ws"
    init_workspace(folder, example="techinnovate", db=None)
    with lineofsight.Workspace.open(folder) as ws:
        card = ws.scorecard(as_of="2026-11-22")
        fast = status_store(ws.store, as_of="2026-11-22")
    # The API gives status as an ordered category; the engine's rows hold it as text.
    same = card.kpis.select(fast.kpis.columns).with_columns(pl.col("status").cast(pl.String))
    pt.assert_frame_equal(same, fast.kpis)
    assert card.kpis["period_end"].null_count() == 0
    units = card.units.join(fast.units.select("id", "score"), on="id")
    assert units.filter(pl.col("score").ne_missing(pl.col("score_right"))).is_empty()
