"""Which KPIs the engine's forecast calls off track, for the attention lists: kept in the store
for the whole organisation, or computed for only the KPIs a list looks at.

`los forecast` projects every target (about 25 s for 100,000 KPIs): too slow to run for each
person's list. The lists take the same call (`Forecast.on_track` of the KPI at its own unit,
from the same engine) in one of two ways:

- for the whole organisation (every person's list at once, e.g. the digests), the forecast is
  made once per as-of date and store state and kept in the store beside the kept check reports
  (the same table and validity: any load, check-in or apply makes it stale);
- for one person's or one unit's list, when none is kept, only the KPIs in that list's scope
  are forecast (with the inputs their formulas read): a handful of series.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass

from lineofsight import __version__
from lineofsight.domain import model as m
from lineofsight.domain.periods import MIN_YEAR
from lineofsight.errors import StoreError
from lineofsight.store.check_results import (
    read_check_report,
    read_check_state,
    save_check_report,
)
from lineofsight.store.database import Store

# The layout of a kept set of calls; another layout or release is computed again.
FORMAT = 1


@dataclass(frozen=True, slots=True)
class OffTrack:
    """A KPI the forecast says will miss its final target (at its own unit)."""

    kpi_id: str
    projected: float
    target: float
    target_period: str
    deadline: dt.date
    probability: float | None


def _key(as_of: dt.date) -> str:
    return f"attention-forecast/{FORMAT}/{__version__}/{as_of.isoformat()}"


def off_track(
    store: Store,
    as_of: dt.date,
    kpi_ids: Collection[str] | None = None,
    org: m.Organization | None = None,
) -> dict[str, OffTrack]:
    """The KPIs (of `kpi_ids`, None: every one) forecast off track as of `as_of`, by id.

    A set kept for this store state and date is read back; else the whole organisation is
    forecast and kept (`kpi_ids` None) or only the KPIs asked for (not kept)."""
    key = _key(as_of)
    with store.reading() as conn:
        state = read_check_state(conn)
        kept = read_check_report(conn, key, state)
    if kept is not None:
        found = _decode(kept)
        if kpi_ids is None:
            return found
        return {k: found[k] for k in kpi_ids if k in found}
    from lineofsight.services.evaluate import load_organization

    org = org if org is not None else load_organization(store)
    if kpi_ids is None:
        calls = _forecast(store, org, as_of, None)
        # A store this user may only read, or one kept busy: the calls are just not kept.
        with contextlib.suppress(StoreError):
            save_check_report(store, key, state, _encode(calls))
        return calls
    return _forecast(store, org, as_of, set(kpi_ids))


def _forecast(
    store: Store, org: m.Organization, as_of: dt.date, kpi_ids: set[str] | None
) -> dict[str, OffTrack]:
    """The engine's forecasts of these KPIs (None: all) at their own units, off track only."""
    from lineofsight.services.evaluate import read_kpi_frame, read_measurement_frame
    from lineofsight.services.forecast import forecast_frame
    from lineofsight.services.kpi_series import measured_sources

    window = (dt.date(MIN_YEAR, 1, 1), as_of)
    if kpi_ids is None:
        frame = read_measurement_frame(store, window)
        asked = org
    else:
        targeted = {k.id for k in org.kpis if k.id in kpi_ids and k.target is not None}
        if not targeted:
            return {}
        needed = measured_sources(org, targeted) | targeted
        asked = dataclasses.replace(org, kpis=tuple(k for k in org.kpis if k.id in needed))
        frame = read_kpi_frame(store, sorted(needed), window)
    units = {k.id: k.unit for k in asked.kpis}
    found: dict[str, OffTrack] = {}
    for f in forecast_frame(asked, frame, as_of):
        if f.unit != units.get(f.id) or f.on_track is not False or f.projected is None:
            continue
        if kpi_ids is not None and f.id not in kpi_ids:
            continue
        found[f.id] = OffTrack(
            f.id, f.projected, f.target, f.target_period.label, f.deadline, f.probability
        )
    return found


def _encode(calls: dict[str, OffTrack]) -> str:
    return json.dumps(
        [
            [
                c.kpi_id,
                c.projected,
                c.target,
                c.target_period,
                c.deadline.isoformat(),
                c.probability,
            ]
            for c in calls.values()
        ],
        separators=(",", ":"),
    )


def _decode(text: str) -> dict[str, OffTrack]:
    return {
        row[0]: OffTrack(row[0], row[1], row[2], row[3], dt.date.fromisoformat(row[4]), row[5])
        for row in json.loads(text)
    }
