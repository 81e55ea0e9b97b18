"""Which KPIs the engine's forecast calls off track, for the attention lists: kept in the store
for the whole organisation, or computed for only the KPIs a list looks at.

`los forecast` projects every target (seconds for 100,000 KPIs): too slow to run for each
person's list. The lists take the same call (`Forecast.on_track` of the KPI at its own unit,
from the same engine) in one of two ways:

- for the whole organisation (every person's list at once, e.g. the digests), the forecast is
  made once per as-of date and kept in the store beside the kept check reports with the store
  state it was made on; after writes of values, and after a `los apply` that changed KPIs,
  objectives or people only, only the KPIs written or changed since (with the formula KPIs
  that read them, all the way up) are forecast again and the kept calls brought up to date
  (a KPI's call depends only on its own values and definitions and those its formula reads;
  a KPI removed loses its call); any other change of the definitions (units, the calendar,
  the organisation's settings) makes them again in full;
- for one person's or one unit's list, when none is kept, only the KPIs in that list's scope
  are forecast (with the inputs their formulas read): a handful of series. A list whose scope
  holds at least `WHOLE_SHARE` of the KPIs (the top unit's, its lead's) is made from the
  whole organisation's forecast instead, kept as above (also when a kept one was written
  over too much to be brought up to date): it forecasts at most 1 / `WHOLE_SHARE` times the
  KPIs the list asks for, and the next list of any scope reads it.

The whole organisation's forecast kept this way keeps each KPI's forecast at its own unit
too (`kept_forecasts`: the path with its interval, the chance, the method, or why there is
none; written in the transactions that keep or bring up to date the calls): a KPI's page
reads its row (`kept_forecast`) instead of fitting the KPI, while the calls are of the store
as it is and of the page's as-of date; else the page fits it, as before.

When every list is made at once and no calls are kept (`off_track_aside`), the forecast of a
large organisation is made in a second process while this one builds the rest of the lists:
seconds of work that need nothing else of the lists, on a machine with a core to spare. Once
its own work is done, this process fits part of the second one's batches (handed over the
pipes), so that both cores work until the calls are in.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import io
import json
import os
import pickle
import threading
import weakref
from collections.abc import Callable, Collection
from typing import IO, TYPE_CHECKING, Any

import polars as pl

from lineofsight import __version__
from lineofsight.domain import model as m
from lineofsight.domain.graph import reachable_in
from lineofsight.domain.periods import MIN_YEAR
from lineofsight.engine.forecast import Forecast
from lineofsight.engine.forecast_bulk import OFF_TRACK_SCHEMA, FitHelper, FitJob, Kept
from lineofsight.engine.forecast_fit import Paths
from lineofsight.errors import StoreError
from lineofsight.store.check_results import (
    INCREMENTAL,
    changed_since_state,
    check_reading,
    read_check_state,
    read_kept_report,
    save_check_report,
)
from lineofsight.store.database import Store, StoreConnection
from lineofsight.store.forecast_kept import (
    read_kept_forecast,
    read_kept_keys,
    write_kept_forecasts,
)
from lineofsight.store.scorecards import read_kpi_groups

if TYPE_CHECKING:
    import subprocess


# The layout of a kept set of calls; another layout or release is computed again.
FORMAT = 5
_FAMILY = f"{INCREMENTAL}attention-forecast/"

# Kept calls are brought up to date when at most this share of the KPIs is forecast again
# (more is about as fast made in full).
AGAIN_SHARE = 1 / 4

# A list that asks for at least this share of the organisation's KPIs is cut from the whole
# organisation's forecast, which is kept (see the module's docstring).
WHOLE_SHARE = 1 / 2

# From this many KPIs, the forecast of the whole organisation is worth a second process
# beside the lists (it takes about a second per 20,000 KPIs; starting the process about half
# a second of imports).
ASIDE_KPIS = 20_000


# The calls, one row per KPI off track: the forecast's value in the target's period, the
# final target, that period, the target's date and the chance of meeting it.
SCHEMA: dict[str, Any] = OFF_TRACK_SCHEMA


def _key(as_of: dt.date) -> str:
    return f"{_FAMILY}{FORMAT}/{__version__}/{as_of.isoformat()}"


def off_track(
    store: Store,
    as_of: dt.date,
    kpi_ids: Collection[str] | None = None,
    org: m.Organization | None = None,
) -> pl.DataFrame:
    """The KPIs (of `kpi_ids`, None: every one) forecast off track as of `as_of` (`SCHEMA`).

    A set kept for this store state and date is read back; one kept for an earlier state is
    brought up to date (the KPIs written since forecast again) and kept, for any `kpi_ids`;
    else the whole organisation is forecast and kept (`kpi_ids` None, or at least
    `WHOLE_SHARE` of its KPIs) or only the KPIs asked for (not kept: a unit's list need not
    wait for the whole organisation's)."""
    state, kept, written = _read_kept(store, as_of)
    if kept is not None and kept[0] == state:
        return _cut(_decode(kept[1]), kpi_ids)
    from lineofsight.services.evaluate import load_organization

    made: tuple[Kept, set[str] | None] | None = None
    if kept is not None and written is not None:
        made = _brought_up_to_date(store, as_of, _decode(kept[1]), written, state)
    if made is None:
        # None kept, or too much written since to bring it up to date: made in full.
        if kpi_ids is not None and not _asks_for_most(store, kpi_ids):
            org = org if org is not None else load_organization(store)
            return _forecast(store, org, as_of, set(kpi_ids)).calls
        # The whole organisation is forecast from the store's tables: its domain objects
        # are not needed (and cost more than the fits for 100,000 KPIs).
        made = _forecast(store, None, as_of, None), None
    _keep(store, as_of, state, *made)
    return _cut(made[0].calls, kpi_ids)


def _read_kept(store: Store, as_of: dt.date) -> tuple[str, tuple[str, str] | None, set[str] | None]:
    """The store's state, the calls kept for `as_of` (the state they were made on, encoded)
    if any, and the KPIs written since when they are of an earlier state and can be brought
    up to date (`check_results.changed_since_state`)."""
    with check_reading(store) as conn:
        state = read_check_state(conn)  # before the data: the calls claim no more than they hold
        kept = read_kept_report(conn, _key(as_of))
        written = None
        if kept is not None and kept[0] != state:
            written = changed_since_state(conn, kept[0], state)
    return state, kept, written


def refresh_kept_forecast(store: Store, formulas: Formulas | None = None) -> None:
    """After a write (committed): the whole organisation's kept forecast, of the date it is
    kept for, brought up to date as `off_track` would (the KPIs written since forecast
    again, with the formula KPIs that read them), so that a KPI's page and the lists read
    it as it is. Nothing when none is kept, or when it cannot be brought up to date (a
    change of the definitions other than KPIs, objectives or people, or too many KPIs
    written): the next lists, keeper or server start makes it again in full. A store kept
    busy or read-only: left as it is (`_keep`). `formulas`: the store's formulas, when the
    caller holds them (`Formulas`)."""
    prefix = f"{_FAMILY}{FORMAT}/{__version__}/"
    with store.reading() as conn:
        keys = read_kept_keys(conn, prefix)
    for key in keys:
        try:
            as_of = dt.date.fromisoformat(key[len(prefix) :])
        except ValueError:
            continue
        state, kept, written = _read_kept(store, as_of)
        if kept is None or kept[0] == state or written is None:
            continue
        made = _brought_up_to_date(store, as_of, _decode(kept[1]), written, state, formulas)
        if made is not None:
            _keep(store, as_of, state, *made)


def _keep(
    store: Store,
    as_of: dt.date,
    state: str,
    made: Kept,
    again: Collection[str] | None = None,
) -> None:
    """Keep the whole organisation's forecast `made` on the store in `state`: made in full
    (`again` None), or brought up to date (`made.rows`: the KPIs `again` only). A store this
    user may only read, or one kept busy: just not kept. A write since `state` was read: not
    kept either (the calls might miss it), made again next time."""
    with contextlib.suppress(StoreError):
        save_check_report(
            store,
            _key(as_of),
            state,
            _encode(made.calls),
            replaces=_FAMILY,
            also=lambda session: write_kept_forecasts(session, as_of, made.rows, again),
        )


def kept_forecast(
    store: Store, kpi: m.Kpi, unit: str, as_of: dt.date, calendar: m.Calendar
) -> Forecast | None:
    """The forecast of `kpi` at `unit` as of `as_of` as the whole organisation's forecast
    keeps it (`off_track`: each KPI at its own unit), when that forecast is of the store as
    it is now (no write of values or definitions since); else None (the caller forecasts
    the KPI itself). One read of the store, no fit."""
    with store.reading() as conn:
        return kept_forecast_in(conn, kpi, unit, as_of, calendar)


def kept_forecast_in(
    conn: StoreConnection, kpi: m.Kpi, unit: str, as_of: dt.date, calendar: m.Calendar
) -> Forecast | None:
    """`kept_forecast` read on `conn` (a KPI page's connection for its other reads)."""
    from lineofsight.engine.forecast_kept import forecast_of

    row = read_kept_forecast(conn, _key(as_of), kpi.id, unit, as_of)
    return None if row is None else forecast_of(row, kpi, calendar)


def _asks_for_most(store: Store, kpi_ids: Collection[str]) -> bool:
    """Whether `kpi_ids` holds at least `WHOLE_SHARE` of the organisation's KPIs."""
    with store.reading() as conn:
        groups = read_kpi_groups(conn)
    every = sum(n for _, _, n in groups[2]) if groups is not None else 0
    return len(set(kpi_ids)) >= WHOLE_SHARE * every


def off_track_aside(store: Store, as_of: dt.date, kpis: int) -> Callable[[], pl.DataFrame]:
    """`off_track` of every KPI (of `kpis` in the organisation), to be collected by calling
    the result: when none is kept and the organisation is large, made in a second process
    started now (so the caller can do other work meanwhile), which keeps them after handing
    them over (this process waits for it before it ends); else made when collected, as
    `off_track` makes it."""
    if kpis < ASIDE_KPIS or _cores() < 2:
        return lambda: off_track(store, as_of)
    with store.reading() as conn:
        state = read_check_state(conn)  # before the data, as `off_track` reads it
        kept = read_kept_report(conn, _key(as_of))
    if kept is not None:  # read back or brought up to date: quick, in this process
        return lambda: off_track(store, as_of)
    import subprocess
    import sys

    # A fresh interpreter that imports only what the forecast needs (not a fork of this one,
    # which would share Polars' threads' locks and the store's open connections; not
    # multiprocessing's "spawn", which runs the caller's script again). The store's address
    # goes through a pipe, never on a command line.
    try:
        # Polars' threads leave a core to this process (unless told otherwise).
        threads = {"POLARS_MAX_THREADS": str(max(1, _cores() - 1))}
        # -P: the working folder is not put on the module path (a json.py there is not run).
        child = subprocess.Popen(
            [sys.executable, "-P", "-c", _ASIDE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**threads, **os.environ},
        )
        assert child.stdin is not None and child.stdout is not None
        asked = {
            "url": store.url,
            "busy_timeout": store.busy_timeout,
            "as_of": str(as_of),
            "state": state,
        }
        _send(child.stdin, _REQUEST, json.dumps(asked).encode())
    except (OSError, ValueError):  # no second process to be had: made here when collected
        return lambda: off_track(store, as_of)

    collected = [False]

    def collect() -> pl.DataFrame:
        assert child.stdin is not None and child.stdout is not None
        collected[0] = True
        # This process's own work is done: it fits some of the forecast's batches meanwhile.
        try:
            made = _help(child.stdin, child.stdout)
        except BaseException:
            # Failed here (out of memory, a bug): the second process, waiting for a batch
            # this process took, is stopped now, not left blocked until this process ends.
            _stop(child)
            raise
        child.stdout.close()
        with contextlib.suppress(OSError):
            child.stdin.close()
        calls = None
        with contextlib.suppress(Exception):
            calls = pl.read_ipc(io.BytesIO(made)) if made else None
        if calls is not None:
            # The second process keeps the calls after handing them over; this process
            # goes on meanwhile, and waits for it before it ends (a thread that is no daemon).
            waiting = threading.Thread(target=child.wait, name="forecast-aside")
            waiting.start()
            _KEEPING[:] = [t for t in _KEEPING if t.is_alive()]  # a server runs this daily
            _KEEPING.append(waiting)
            return calls
        child.wait()  # the second process failed (out of memory, killed): made here
        again = _forecast(store, None, as_of, None)
        _keep(store, as_of, state, again)
        return again.calls

    # Never collected (the caller failed before it got there): the second process is stopped
    # when the caller lets go of `collect`, not left blocked on a pipe nobody reads.
    weakref.finalize(collect, _stop_uncollected, child, collected)
    return collect


def _stop_uncollected(child: subprocess.Popen[bytes], collected: list[bool]) -> None:
    if not collected[0]:
        _stop(child)


def _stop(child: subprocess.Popen[bytes]) -> None:
    """The second process ended (killed if it still runs), waited for, its pipes closed."""
    if child.poll() is None:
        child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


# The threads waiting for second processes that keep the calls they handed over.
_KEEPING: list[threading.Thread] = []


def settle() -> None:
    """Wait until the second processes started by `off_track_aside` have kept their calls."""
    while _KEEPING:
        _KEEPING.pop().join()


# What the second process runs: the store's address and the date from its input, every
# KPI's off-track call (`SCHEMA`) as Arrow IPC on its output.
_ASIDE = "from lineofsight.services.attention_forecast import calls_aside; calls_aside()"

# The messages between the two processes, each its kind, its payload's length (8 bytes) and
# its payload. To the second process: what to forecast (JSON), then a wish to fit (`_ASK`)
# or a fit done (`_RESULT`, which asks for the next); from it: a batch to fit (`_JOB`), none
# left (`_NONE`), then the calls (`_CALLS`). Pickled payloads come only from the other of
# the two (this package's code at both ends of pipes this process made).
_REQUEST, _ASK, _RESULT, _JOB, _NONE, _CALLS = b"Q", b"A", b"R", b"J", b"N", b"C"


def _send(out: IO[bytes], kind: bytes, payload: bytes = b"") -> None:
    out.write(kind + len(payload).to_bytes(8, "big") + payload)
    out.flush()


def _receive(source: IO[bytes]) -> tuple[bytes, bytes] | None:
    """The next message (kind, payload); None at the end of the input or a message cut."""
    head = _read(source, 9)
    if len(head) < 9:
        return None
    size = int.from_bytes(head[1:], "big")
    payload = _read(source, size)
    return None if len(payload) < size else (head[:1], payload)


def _read(source: IO[bytes], size: int) -> bytes:
    """`size` bytes, fewer at the end of the input (an unbuffered input gives what it has)."""
    parts = []
    while size > 0 and (part := source.read(size)):
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _help(to_aside: IO[bytes], from_aside: IO[bytes]) -> bytes | None:
    """In the lists' process, its own work done: fit the batches the second process hands
    over until none is left, then return its calls (Arrow IPC); None when it failed."""
    from lineofsight.engine.forecast_fit import Goals, paths_of

    with contextlib.suppress(OSError):  # ended already: its output is still there to read
        _send(to_aside, _ASK)
    while (got := _receive(from_aside)) is not None:
        kind, payload = got
        if kind == _CALLS:
            return payload
        if kind == _JOB:
            number, y, season, horizon, goals = pickle.loads(payload)
            done = (number, paths_of(y, season, horizon, Goals(*goals)))
            with contextlib.suppress(OSError):
                _send(to_aside, _RESULT, pickle.dumps(done, protocol=5))
    return None


class _ListsProcess:
    """In the second process: the lists' process as a `forecast_bulk.FitHelper`, over the
    pipes (`lock`: one message at a time on the output)."""

    def __init__(self, source: IO[bytes], out: IO[bytes], lock: threading.Lock) -> None:
        self.source, self.out, self.lock = source, out, lock

    def serve(
        self, take: Callable[[], FitJob | None], give: Callable[[FitJob, Paths], None]
    ) -> None:
        job: FitJob | None = None
        while self._next(job, give) is not None:
            job = take()
            with self.lock:
                if job is None:
                    _send(self.out, _NONE)
                    return
                g = job.goals
                goals = (g.target, g.direction, g.low, g.high, g.floor, g.ceiling)
                message = (job.number, job.y, job.season, job.horizon, goals)
                _send(self.out, _JOB, pickle.dumps(message, protocol=5))

    def _next(self, job: FitJob | None, give: Callable[[FitJob, Paths], None]) -> bytes | None:
        """The next wish to fit (the fit of `job` handed over with it); None: no more."""
        got = _receive(self.source)
        if got is None or got[0] not in (_ASK, _RESULT):
            return None
        if got[0] == _RESULT and job is not None:
            number, paths = pickle.loads(got[1])
            if number != job.number or not isinstance(paths, Paths):
                return None
            give(job, paths)
        return got[0]


def calls_aside() -> None:
    """In the second process of `off_track_aside`: read what to forecast from the standard
    input, make the calls (the lists' process fitting some of the batches once its own
    work is done), write them to the standard output and close it (the caller goes on),
    then keep them in the store (unless it changed since the caller read its state)."""
    import sys

    # The input unbuffered: a thread left waiting on it (the lists' process never asked to
    # fit) holds no lock of a buffer that the interpreter's end would wait for.
    source = open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # noqa: SIM115
    out = sys.stdout.buffer
    got = _receive(source)
    if got is None or got[0] != _REQUEST:
        raise SystemExit(2)
    asked = json.loads(got[1])
    as_of = dt.date.fromisoformat(asked["as_of"])
    store = Store(asked["url"], migrate=False, busy_timeout=asked["busy_timeout"])
    lock = threading.Lock()
    try:
        # One read in one transaction (the lists' process keeps the other core busy
        # meanwhile: two at once would only compete with it); the fits shared with it.
        made = _forecast(store, None, as_of, None, helper=_ListsProcess(source, out, lock))
        calls = io.BytesIO()
        made.calls.write_ipc(calls)
        with lock:
            _send(out, _CALLS, calls.getvalue())
            # The end of the output for the caller: the standard output now goes nowhere.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _keep(store, as_of, asked["state"], made)
    finally:
        store.close()


def _cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _cut(calls: pl.DataFrame, kpi_ids: Collection[str] | None) -> pl.DataFrame:
    return calls if kpi_ids is None else calls.filter(pl.col("id").is_in(list(kpi_ids)))


@dataclasses.dataclass(frozen=True, slots=True)
class Formulas:
    """What the definitions of one definition change (`definitions`: its id, as
    `store.scorecards.Marks.definitions`) hold of the formulas: each formula KPI and the KPIs
    it reads (`inputs`: kpi_id, input_id, as `snapshot_patch.formula_inputs`), and how many
    KPIs there are. A caller that holds them already (a scorecard brought up to date after a
    write) hands them over, so that finding the formulas above the KPIs written reads nothing."""

    definitions: int
    inputs: pl.DataFrame
    kpis: int


def _formulas(store: Store, state: str, given: Formulas | None) -> tuple[pl.DataFrame, int]:
    """The formulas' inputs and the number of KPIs of the store in `state`: `given` when it
    is of that state's definitions, else read (the formula KPIs only, their formulas parsed)."""
    if given is not None and state.split("/", 1)[0].split(".")[2:3] == [str(given.definitions)]:
        return given.inputs, given.kpis
    from lineofsight.services.snapshot_patch import formula_inputs
    from lineofsight.store.forecast_reads import read_formula_kpis

    formulas, count = read_formula_kpis(store)
    return formula_inputs(formulas), count


def _brought_up_to_date(
    store: Store,
    as_of: dt.date,
    kept: pl.DataFrame,
    written: set[str],
    state: str,
    formulas: Formulas | None = None,
) -> tuple[Kept, set[str]] | None:
    """The kept calls with the KPIs written or changed since and the formula KPIs that read
    them (all the way up) forecast again, with those KPIs' forecasts, and those KPIs; None
    when that is too many (made in full instead).

    Only those KPIs' definitions and measurements are read, with those of the KPIs their
    formulas read and the units their values roll up through (`forecast.kpis_forecast`):
    reading the whole organisation's would cost more than forecasting a few KPIs. The
    formulas above the KPIs written are found from `formulas` when given (of the store's
    definitions in `state`), else from the formula KPIs' definitions alone."""
    if not written:
        return Kept(kept, _no_rows()), set()
    inputs, count = _formulas(store, state, formulas)
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for kpi_id, input_id in inputs.iter_rows():
        ups.setdefault(input_id, []).append(kpi_id)
        downs.setdefault(kpi_id, []).append(input_id)
    again = reachable_in(written, ups)
    if len(again) > count * AGAIN_SHARE:
        return None
    # The calls of KPIs forecast again are replaced; those of KPIs removed (among the KPIs
    # written: each removal is a definition change of the KPI) are dropped.
    kept = kept.filter(~pl.col("id").is_in(sorted(again)))
    fresh = _forecast(store, None, as_of, again, reading=reachable_in(again, downs))
    return Kept(pl.concat([kept, fresh.calls]).sort("id"), fresh.rows), again


def _no_rows() -> pl.DataFrame:
    from lineofsight.engine.forecast_kept import KEPT_SCHEMA

    return pl.DataFrame(schema=KEPT_SCHEMA)


def _forecast(
    store: Store,
    org: m.Organization | None,
    as_of: dt.date,
    kpi_ids: set[str] | None,
    threads: int = 1,
    helper: FitHelper | None = None,
    reading: Collection[str] | None = None,
) -> Kept:
    """The engine's forecasts of these KPIs (None: all; `org` is then not read and may be
    None) at their own units, as kept (`Kept`); `threads` and `helper`: for the read and
    the fits of all (`services.forecast.whole_forecast`). Without `org`, some KPIs are
    forecast as the whole organisation's forecast makes them, from the definitions and
    measurements of the KPIs `reading` only: these with every KPI their formulas read
    (`services.forecast.kpis_forecast`)."""
    from lineofsight.services.forecast import kpis_forecast, whole_forecast

    if kpi_ids is None:
        return whole_forecast(store, as_of, threads, helper)
    if org is None:
        assert reading is not None
        return kpis_forecast(store, as_of, kpi_ids, reading)
    # Loaded here: SQLAlchemy comes with them, which a forecast of every KPI does without.
    from lineofsight.engine.forecast_kept import kept_frame
    from lineofsight.services.evaluate import read_kpi_frame
    from lineofsight.services.forecast import forecast_frame, off_track_of
    from lineofsight.services.kpi_series import measured_sources

    targeted = {k.id for k in org.kpis if k.id in kpi_ids and k.target is not None}
    if not targeted:
        return Kept(pl.DataFrame(schema=SCHEMA), _no_rows())
    needed = measured_sources(org, targeted) | targeted
    asked = dataclasses.replace(org, kpis=tuple(k for k in org.kpis if k.id in needed))
    window = (dt.date(MIN_YEAR, 1, 1), as_of)
    made = forecast_frame(asked, read_kpi_frame(store, sorted(needed), window), as_of)
    units = {k.id: k.unit for k in asked.kpis}
    own = [f for f in made if f.unit == units.get(f.id) and f.id in kpi_ids]
    return Kept(off_track_of(own).sort("id"), kept_frame(own))


def _encode(calls: pl.DataFrame) -> str:
    """The calls as Arrow IPC (LZ4) in base64 text: read back in milliseconds, where JSON
    took a large share of a warm run of every list."""
    out = io.BytesIO()
    calls.write_ipc(out, compression="lz4")
    return base64.b64encode(out.getvalue()).decode("ascii")


def _decode(text: str) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(base64.b64decode(text)))
