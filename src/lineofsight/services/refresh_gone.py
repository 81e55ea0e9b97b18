"""The stored values a source no longer gives: a refresh is the source's picture of the cells
(KPI, unit, period) it read, so a value it wrote before, inside the window it read again, that
it does not give any more is removed (kept as a revision, as `los measurement delete` keeps
it), in the refresh's own transaction.

The window of a KPI is what its query read: the periods that begin on its `:since` or later
(every period with `--full`, the first refresh and the first after its query changed; every
period of a file source, whose files are read whole) and have ended (the rows of a period still
running are left for a later refresh, so its stored value is left too). A period that begins
before `:since` was read only in part, and is left. Only values whose last write was this
source's are removed: a value entered by hand or loaded from a file stays until the source
gives its period (SPEC section 7, README "Data sources and refresh"). A KPI for which the
source gave no row at all removes nothing: an empty answer is more likely a fault (a table
emptied while it is reloaded, a wrong filter) than the truth; its values are kept and the
summary says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from lineofsight.domain.sources import FIRST_DAY, Feed
from lineofsight.services import audit
from lineofsight.store.audit import append_audit
from lineofsight.store.loading import LoadSession
from lineofsight.store.measurement_writes import (
    GONE_KEYS,
    WRITTEN_BY_SOURCE,
    delete_measurements,
    written_by_source,
)
from lineofsight.store.measurements import KEY
from lineofsight.store.scorecard_reads import with_starts


@dataclass(frozen=True)
class Gone:
    """The stored values a refresh removes (WRITTEN_BY_SOURCE), and for each KPI the source
    gave no row, how many of its values in the window are kept."""

    values: pl.DataFrame
    kept: tuple[tuple[str, int], ...] = ()


def no_longer_given(
    session: LoadSession,
    source: str,
    feeds: list[Feed],
    sinces: Mapping[str, dt.date],
    rows_by_kpi: Mapping[str, int],
    checked: pl.DataFrame,
    today: dt.date,
) -> Gone:
    """The values of `feeds`' KPIs that `source` wrote, inside the window its refresh read
    (each KPI's `sinces`, none: every period; ended by `today`), that are not among the
    `checked` rows it gave now (see the module's docstring)."""
    froms = {feed.kpi_id: sinces.get(feed.kpi_id, FIRST_DAY) for feed in feeds}
    if not froms:
        return Gone(pl.DataFrame(schema=WRITTEN_BY_SOURCE))
    found = written_by_source(session, source, list(froms), min(froms.values()), today)
    if found.is_empty():
        return Gone(found)
    window = pl.DataFrame(
        {"kpi_id": list(froms), "los_from": list(froms.values())},
        schema={"kpi_id": pl.String, "los_from": pl.Date},
    )
    found = (
        with_starts(found)
        .join(window, on="kpi_id", how="inner", maintain_order="left")
        .filter(pl.col("period_start") >= pl.col("los_from"))
        .join(checked.select(KEY), on=KEY, how="anti", maintain_order="left")
        .select(list(WRITTEN_BY_SOURCE))
        .sort("kpi_id", "unit_id", "period_end", "period")
    )
    silent = [kpi for kpi in froms if not rows_by_kpi.get(kpi)]
    quiet = pl.col("kpi_id").is_in(silent)
    kept = found.filter(quiet).group_by("kpi_id").len().sort("kpi_id")
    return Gone(found.filter(~quiet), tuple((k, int(n)) for k, n in kept.iter_rows()))


def remove(
    session: LoadSession, source: str, gone: Gone, *, actor: str | None, at: dt.datetime
) -> int:
    """Remove the values `gone` holds, as `los measurement delete` removes one (a revision
    kept, and an audit row saying who refreshed and why); how many were removed."""
    values = gone.values
    if values.is_empty():
        return 0
    removed = delete_measurements(session, values.select(list(GONE_KEYS)), at=at)
    why = f"source {source} no longer gives it"
    for row in values.iter_rows(named=True):
        append_audit(
            session,
            audit.audit_values(
                actor=actor or f"source {source}",
                action="measurement.delete",
                subject=f"measurement:{row['kpi_id']}/{row['unit_id']}/{row['period']}",
                before={k: row[k] for k in ("value", "numerator", "denominator", "note")},
                after={"reason": why},
                at=at,
            ),
        )
    return removed
