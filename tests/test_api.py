"""The Python API: open a workspace, score it, get Polars and pandas frames and HTML."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import lineofsight
from lineofsight.services.init import init_workspace


def test_public_names_are_listed() -> None:
    assert sorted(lineofsight.__all__) == ["Scorecard", "Workspace", "__version__"]
    for name in lineofsight.__all__:
        assert getattr(lineofsight, name) is not None


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("api") / "ws"
    init_workspace(folder, example="techinnovate", db=None)
    return folder


def test_scorecard_frames(workspace: Path) -> None:
    with lineofsight.Workspace.open(workspace) as ws:
        card = ws.scorecard(as_of="2026-11-22")
        kpis = card.kpis
        assert isinstance(kpis, pl.DataFrame)
        own = kpis.filter(pl.col("own_unit"))
        assert own.height == 34
        counts = dict(own.group_by("status").len().iter_rows())
        assert counts["red"] == 4 and counts["amber"] == 6
        frames = card.to_pandas()
        assert isinstance(frames["objectives"], pd.DataFrame)
        assert list(frames["objectives"].columns) == ["id", "title", "score", "status", "coverage"]
        assert "34" not in repr(card) and "4 red" in repr(card)


def test_period_and_check(workspace: Path) -> None:
    with lineofsight.Workspace.open(str(workspace / "data")) as ws:
        card = ws.scorecard(period="2026-Q3")
        assert str(card.as_of) == "2026-09-30"
        findings = ws.check(as_of="2026-11-22")
        assert set(findings["code"]) >= {"AL01", "OW02"}


def test_html_escapes_user_text(workspace: Path) -> None:
    with lineofsight.Workspace.open(workspace) as ws:
        card = ws.scorecard(as_of="2026-11-22")
    card.organization = (
        card.organization.__class__(
            **{**card.organization.__dict__, "name": "<script>alert(1)</script>"}
        )
        if hasattr(card.organization, "__dict__")
        else card.organization
    )
    page = card._repr_html_()
    assert "<table>" in page and "✗ red" in page
    assert "<script>" not in page


def test_open_reports_a_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        lineofsight.Workspace.open(tmp_path)
