"""The scorecard of the store, kept up to date instead of computed again for every request.

The first scorecard of an as-of date is computed in full and saved in the store with what it
covers (`store.scorecards`). The next one reads it back and scores again only the KPIs written
since (with the formulas that read them, all the way up), then rolls their objectives and
units up again (only those whose rows can change: the objectives the KPIs support and their
ancestors, the units of their rows), and saves the rows that changed beside the scorecard
saved in full (a patch: a check-in writes kilobytes, not the whole scorecard again; the
scorecard is saved in full again once a patch holds more than a sixteenth of its rows). A
change of the definitions (`los apply`) makes it compute in full. Every write does this itself
once committed (`refresh_kept`) for the date a status asked for last, and makes ahead the
scorecard of the next date where most KPIs' rows move, so that the first status after a write
or on that date reads a kept scorecard; another date is carried from the nearest kept date
before it (`_carry`). Either way the rows are the ones a full computation gives: a KPI's rows
depend only on its own values and definitions and those of its formula's inputs (tests
compare the two after random writes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from lineofsight.domain import model as m
from lineofsight.errors import LineOfSightError, StoreError, UsageError
from lineofsight.services.arguments import OPTIONS, ArgumentNames
from lineofsight.services.as_of import resolve_as_of
from lineofsight.services.snapshot_card import (
    PATCH_SHARE,
    SECTIONS,
    Scorecard,
    decode,
    encode,
    encode_patch,
)
from lineofsight.services.snapshot_held import held_definitions, hold_definitions
from lineofsight.store.database import Store
from lineofsight.store.scorecards import (
    KeptDefinitions,
    Marks,
    Snapshot,
    idle,
    read_activity,
    read_fiscal_start,
    read_kpi_groups,
    read_marks,
    read_nearest_key,
    read_newest_key,
    read_patch,
    read_snapshot,
    read_snapshot_marks,
    save_carried,
    save_patch,
    save_snapshot,
    written_since,
)

if TYPE_CHECKING:
    import polars as pl

    from lineofsight.engine.frames import DefinitionFrames
    from lineofsight.services.attention_forecast import Formulas
    from lineofsight.store.labels import Labels

log = logging.getLogger(__name__)


def scorecard(
    store: Store,
    period: str | None = None,
    as_of: str | None = None,
    *,
    save: bool = True,
    names: ArgumentNames = OPTIONS,
    previous: Scorecard | None = None,
    later: bool = False,
    say_unkept: bool = False,
) -> Scorecard:
    """The scorecard as `los status` gives it (see `resolve_as_of`), from the stored snapshot
    brought up to date, else computed in full; saved for the next time unless `save` is off.
    Messages name the arguments as `names` says. `later`: what is to be saved is saved by
    `card.keep()`, which the caller calls once it has written the scorecard out (a person
    waits for the output, not for the saving). `say_unkept`: a save that fails for another
    reason than a busy or read-only store (a full disk) raises StoreError (`los status` says
    it); else the reason is logged and the scorecard given all the same.

    `previous`: a scorecard this returned before for the same date and mode, held in memory
    (by the web app): when the store's scorecard is its base with a newer patch (a check-in
    brought it up to date), the patch's rows are put in place in it instead of the whole
    scorecard read and decoded again."""
    lag = not period  # a period report shows each KPI's period, value or not
    with store.plain_reading() as plain, _reading(store, plain) as conn:
        fiscal_start = read_fiscal_start(conn)
        if fiscal_start is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
        calendar = m.Calendar(fiscal_start)
        day = resolve_as_of(m.Organization(name="", calendar=calendar), period, as_of, names)
        if previous is not None and previous.as_of == day:
            newer = _newer(conn, previous, lag)
            if newer is not None:
                return newer
        kept = _kept(conn, day, lag)
        carry = _carry(conn, day, lag, kept.marks) if kept.found is None else None
    defs: tuple[DefinitionFrames, Labels] | None = None
    if carry is not None:
        carried, defs = _from_nearest(
            store, day, lag, kept.marks, carry, save=save, later=later, say_unkept=say_unkept
        )
        if carried is not None:
            return carried
        del carry  # the other date's scorecard is not held while this one is computed
    return _up_to_date(
        store,
        day,
        lag,
        kept,
        save=save,
        later=later,
        defs=None if defs is None else defs[0],
        labels=None if defs is None else defs[1],
        say_unkept=say_unkept,
    )


def _from_nearest(
    store: Store,
    day: dt.date,
    lag: bool,
    marks: Marks,
    carry: tuple[dt.date, Snapshot, set[str]],
    *,
    save: bool,
    later: bool = False,
    say_unkept: bool = False,
) -> tuple[Scorecard | None, tuple[DefinitionFrames, Labels] | None]:
    """The scorecard of `day` from the kept one of the nearest date (`_carry`): its rows as
    they are when none can differ, else carried over; None when too many KPIs move, with
    the other scorecard's definitions and labels when they were decoded (those of the store:
    a kept scorecard is of the store's newest definition change), to be scored with."""
    source, other, changed = carry
    if not changed:
        same = _same_rows(other, source, day, lag)
        if same is not None:
            return same, None
    return _carried(
        store,
        day,
        lag,
        marks,
        source,
        other,
        changed,
        save=save,
        later=later,
        say_unkept=say_unkept,
    )


# A scorecard of another date is carried over when at most this share of its KPIs is scored
# again (more is about as fast computed in full: the first status of a month, after a change
# of the definitions).
CARRY_SHARE = 1 / 4


def _carry(
    conn: Any, day: dt.date, lag: bool, marks: Marks
) -> tuple[dt.date, Snapshot, set[str]] | None:
    """The kept scorecard of the nearest other date (these definitions, this mode) and the
    KPIs written since it, if there is one."""
    source = read_nearest_key(conn, day, lag, marks.definitions)
    if source is None:
        return None
    other = read_snapshot(conn, source, lag)
    if other is None or other.marks.definitions != marks.definitions:
        return None
    return source, other, written_since(conn, other.marks)


def _same_rows(other: Snapshot, source: dt.date, day: dt.date, lag: bool) -> Scorecard | None:
    """The kept scorecard of `source` (up to date) as the scorecard of `day`, when no KPI's
    rows can differ between the two dates: its rows as kept, nothing scored, nothing saved
    (the next status of `day` finds it the same way); None otherwise."""
    card = decode(other.payload, source, other.patch)
    if card is None:
        return None
    card.as_of = day  # nothing decoded yet: its frames are made with this date
    if card.moved_since(source, lag) is not False:
        return None
    return card


def _carried(
    store: Store,
    day: dt.date,
    lag: bool,
    marks: Marks,
    source: dt.date,
    other: Snapshot,
    changed: set[str],
    *,
    save: bool,
    later: bool = False,
    say_unkept: bool = False,
) -> tuple[Scorecard | None, tuple[DefinitionFrames, Labels] | None]:
    """The scorecard of `day` from the one kept for `source`: the KPIs written since it and
    those whose rows can differ between the two dates scored again (`moved_kpis`), saved as
    the other's scorecard saved in full (copied in the store) with a patch (`later`: by
    `card.keep()`); None when too many KPIs move (computed in full instead), with the other's
    definitions and labels (decoded already: not read again from the tables)."""
    from lineofsight.services.snapshot_days import moved_kpis
    from lineofsight.services.snapshot_patch import patch

    card = decode(other.payload, source, other.patch)
    if card is None:
        return None, None
    card.base = other.saved
    again = changed | moved_kpis(card.defs, source, day, lag)
    if len(again) > card.defs.kpis.height * CARRY_SHARE:
        return None, (card.defs, card.labels)
    card = patch(store, card, again, lag, as_of=day)
    card.covers = marks
    if save:

        def pending(_aside: bool) -> bool:
            with _unkept(say_unkept):
                idle(store)
                base = card.base
                if (
                    base is not None
                    and _small(card)
                    and save_carried(store, source, day, lag, base, marks, encode_patch(card))
                ):
                    return True
                if save_snapshot(store, day, lag, marks, encode(card)):
                    card.base = marks if card.holds_rows else None
                    return True
            return False

        card.pending = pending
        if not later:
            card.keep()
    return card, None


@contextlib.contextmanager
def _unkept(say: bool) -> Iterator[None]:
    """Around the saving of a scorecard: a failure of the store (StoreError: not busy or
    read-only, a full disk) raised when `say` (`los status`), else logged: every other
    caller's output (a briefing book, an inbox, a page) does not depend on it being kept."""
    try:
        yield
    except StoreError as exc:
        if say:
            raise
        log.warning("%s", exc)


def _newer(conn: Any, previous: Scorecard, lag: bool) -> Scorecard | None:
    """`previous` brought up to date by the store's patch of it, without reading the
    scorecard saved in full; None when the store holds no such patch (or not up to date)."""
    if previous.base is None or previous.covers is None:
        return None
    marks = read_marks(conn)
    saved = read_snapshot_marks(conn, previous.as_of, lag)
    if saved is None or not (saved.definitions == marks.definitions == previous.base.definitions):
        return None
    if written_since(conn, saved):
        return None  # not up to date in the store: brought up to date the usual way
    if saved == previous.covers:
        return previous
    found = read_patch(conn, previous.as_of, lag)
    if found is None:
        return None
    base, covers, payload = found
    if base != previous.base or covers != saved or not covers.covers(previous.covers):
        return None
    card = previous.with_patch(payload)
    if card is not None:
        card.covers = covers
    return card


class _Kept:
    """What the store holds for a scorecard: its marks now, the kept snapshot of the date
    (if any), the KPIs written since it (None: computed in full) and the store's activity
    count (`read_activity`, which keys the definitions a process holds)."""

    def __init__(
        self, marks: Marks, found: Snapshot | None, changed: set[str] | None, activity: int
    ) -> None:
        self.marks, self.found, self.changed = marks, found, changed
        self.activity = activity

    @property
    def held(self) -> tuple[int, int]:
        """The marks the definitions held for a full score are read at (`snapshot_held`)."""
        return self.marks.definitions, self.activity


def _kept(conn: Any, day: dt.date, lag: bool) -> _Kept:
    marks = read_marks(conn)  # before the data: the snapshot claims no more than it holds
    activity = read_activity(conn)
    found = read_snapshot(conn, day, lag)
    changed: set[str] | None = None
    if found is not None and found.marks.definitions == marks.definitions:
        changed = written_since(conn, found.marks)
    return _Kept(marks, found, changed, activity)


# A write makes ahead the scorecard of the next date where most KPIs' rows move when that date
# is at most this many days after the date asked for (a write of a later day makes a later
# one): each costs a full score (3 s for 100,000 KPIs), paid once per turn by the first write
# of its last week.
AHEAD_DAYS = 7


def refresh_kept(store: Store, today: dt.date | None = None) -> None:
    """After a write (values, or definitions by `los apply`): bring the kept scorecard of the
    date a status asked for last up to date, and keep ready the one of the next date where
    most KPIs' rows move (`snapshot_days.next_turn`: a period's end, the day most values fall
    due) when it is at most `AHEAD_DAYS` away, so that the next status of either date, or of
    any day between, reads it as it is. Before any status, that date is `today` (default the
    clock's): what `los status` without a date shows, so that the first status of a store
    with values reads a kept scorecard too.

    Each is brought up to date as a status would (the KPIs written scored again and saved as
    a patch), else computed in full (a change of the definitions, a write of more than a
    patch holds). The whole organisation's kept forecast is brought up to date too
    (`attention_forecast.refresh_kept_forecast`), so that a KPI's page reads its forecast
    rather than fitting it. Never an error for the write, which is committed already (a
    status brings the scorecard up to date itself, the lists the forecast)."""
    # The formulas of the scorecard of the date asked for last, brought up to date.
    held: list[Formulas | None] = []
    try:
        with store.plain_reading() as plain, _reading(store, plain) as conn:
            newest = read_newest_key(conn)
            groups = read_kpi_groups(conn)
            values = newest is not None or read_marks(conn).load_id > 0
        if groups is None or not groups[2] or not values:
            # No KPIs, or no value yet (the first apply of a store: its load follows, and
            # would score everything again).
            return
        day, lag = newest if newest is not None else (today or dt.date.today(), True)
        _ready(store, day, lag, ahead=False, seen=lambda card: held.append(_formulas(card)))
        _ready_turn(store, groups, day, lag)
    except LineOfSightError as exc:
        log.info("the kept scorecard is brought up to date by the next status: %s", exc)
    from lineofsight.services.attention_forecast import refresh_kept_forecast

    try:
        # The scorecard brought up to date holds the formulas of the definitions: the
        # forecast finds the formulas above the KPIs written there, not in the store.
        refresh_kept_forecast(store, next(iter(held), None))
    except LineOfSightError as exc:
        log.info("the kept forecast is brought up to date by the next lists: %s", exc)


def _formulas(card: Scorecard) -> Formulas | None:
    """What a scorecard holds of its definitions' formulas, for the kept forecast."""
    from lineofsight.services.attention_forecast import Formulas

    if card.covers is None:
        return None
    return Formulas(card.covers.definitions, card.inputs, card.defs.kpis.height)


def keep_ready(store: Store, today: dt.date | None = None) -> str:
    """The scheduled keeper (`services.jobs`, daily): today's scorecard (default the clock's
    day; what `los status` without a date shows) kept up to date, carried from the nearest
    kept date when there is one; the next turn's made ahead when it is at most `AHEAD_DAYS`
    away; and that of the day the home page compares today with (`compared_day`), so that
    neither the first status of a day, nor that of a month end more than a week after the
    last write, nor a fresh web app's first home page computes one in full; then today's
    forecast of every KPI (`attention_forecast`), so that a KPI's first page reads its
    forecast rather than fitting it. A one-line
    summary of what was kept, and of what was not when another write held the store (or it
    is read-only): no failure, the next run or status keeps it.

    Raises StoreError when the store failed to keep one (a full disk, an I/O error), saying
    why: the scheduler records the run as failed and tries again, and `los serve` starts
    without them."""
    day = today or dt.date.today()
    with store.plain_reading() as plain, _reading(store, plain) as conn:
        groups = read_kpi_groups(conn)
    if groups is None or not groups[2]:
        return "no KPIs: no scorecard to keep"
    calendar = m.Calendar(groups[0], groups[1])
    before = compared_day(day, calendar)
    unkept: list[dt.date] = []
    # The day compared with is marked as made ahead, and first: the date a write keeps up to
    # date stays today's.
    if before != day and not _ready(store, before, True, ahead=True, say_unkept=True):
        unkept.append(before)
    if not scorecard(store, None, day.isoformat(), later=True, say_unkept=True).keep():
        unkept.append(day)
    turn = _ready_turn(store, groups, day, True, say_unkept=True)
    if turn is not None and not turn[1]:
        unkept.append(turn[0])
    from lineofsight.services.attention_forecast import off_track_aside, settle

    # Today's forecast of every KPI kept, so that a KPI's first page reads it rather than
    # fitting it: a large organisation's made in a second process (with this one's help),
    # which keeps it and takes the forecast's memory with it when it ends (the scheduler
    # runs this keeper in `los serve`'s own process).
    off_track_aside(store, day, sum(n for _, _, n in groups[2]))()
    settle()
    kept = [d for d in dict.fromkeys((day, before)) if d not in unkept]
    parts = []
    if kept:
        noun = "scorecard" if len(kept) == 1 else "scorecards"
        parts.append(f"the {noun} of {' and '.join(d.isoformat() for d in kept)} kept")
    if turn is not None and turn[1]:
        parts.append(f"that of {turn[0].isoformat()} made ahead")
    if unkept:
        dates = " and ".join(d.isoformat() for d in sorted(set(unkept)))
        parts.append(
            f"not kept: {dates} (another write held the store, one that covers more was kept "
            "meanwhile, or the store is read-only; the next run or status keeps it)"
        )
    return "; ".join(parts)


def compared_day(day: dt.date, calendar: m.Calendar) -> dt.date:
    """The as-of date the home page compares the scorecard of `day` with: the last day
    before the monthly period `day` evaluates (`web.pages_overview`); `day` itself when
    that is before the first supported date."""
    from lineofsight.domain.periods import PeriodError, check_date
    from lineofsight.engine.calendar import evaluation_period

    month = evaluation_period(m.Frequency.MONTHLY, day, calendar)
    try:
        return check_date(month.start - dt.timedelta(days=1))
    except PeriodError:
        return day


def _ready_turn(
    store: Store,
    groups: tuple[int, int, list[tuple[str, int, int]]],
    day: dt.date,
    lag: bool,
    *,
    say_unkept: bool = False,
) -> tuple[dt.date, bool] | None:
    """The scorecard of the next turn after `day` kept ready when it is at most `AHEAD_DAYS`
    away; that date and whether it is kept (`_ready`), if so."""
    from lineofsight.services.snapshot_days import next_turn

    start, due_days, counts = groups
    turn = next_turn(counts, m.Calendar(start, due_days), day, lag, CARRY_SHARE, AHEAD_DAYS)
    if turn is None:
        return None
    return turn, _ready(store, turn, lag, ahead=True, say_unkept=say_unkept)


def _ready(
    store: Store,
    day: dt.date,
    lag: bool,
    *,
    ahead: bool,
    say_unkept: bool = False,
    seen: Callable[[Scorecard], None] | None = None,
) -> bool:
    """The kept scorecard of `day` brought up to date (patched, else computed in full) and
    saved; nothing read when it is up to date already. Whether it is kept (False: the store
    did not take it; a failure of the store raised when `say_unkept`, else logged). `seen`:
    given the scorecard brought up to date (not called when nothing was read)."""
    with store.plain_reading() as plain, _reading(store, plain) as conn:
        marks = read_marks(conn)
        saved = read_snapshot_marks(conn, day, lag)
        written = None
        if saved is not None and saved.definitions == marks.definitions:
            written = written_since(conn, saved)
            if not written:
                return True
        activity = read_activity(conn)
        held = held_definitions(store, (marks.definitions, activity))
        if held is not None and written is not None and _in_full(written, held[0]):
            # More than a patch holds, the definitions in memory: the kept scorecard is not
            # read (nor decoded) to score every KPI again.
            kept = _Kept(marks, None, None, activity)
        else:
            kept = _kept(conn, day, lag)
    card: Scorecard | None = None
    defs: DefinitionFrames | None = None
    labels: Labels | None = None
    if kept.found is not None and kept.changed:
        card = decode(kept.found.payload, day, kept.found.patch)
        # The KPIs written against the KPIs there are (not their rows: a KPI has a row per
        # unit): scoring many of them again one by one costs more than scoring all at once.
        if card is not None and _in_full(kept.changed, card.defs):
            defs, labels = card.defs, card.labels  # the same definitions: not read again
            card = None
            kept = _Kept(kept.marks, None, None, kept.activity)  # more than a patch: in full
    ready = _up_to_date(
        store,
        day,
        lag,
        kept,
        save=True,
        card=card,
        ahead=ahead,
        later=True,
        defs=defs,
        labels=labels,
        say_unkept=say_unkept,
    )
    if seen is not None:
        seen(ready)
    return ready.keep()


def _in_full(written: set[str], defs: DefinitionFrames) -> bool:
    """Whether the KPIs `written` are more than a patch holds: the KPIs written against the
    KPIs there are (not their rows: a KPI has a row per unit); scoring many of them again one
    by one costs more than scoring all at once."""
    return len(written) > defs.kpis.height * PATCH_SHARE


def _up_to_date(
    store: Store,
    day: dt.date,
    lag: bool,
    kept: _Kept,
    *,
    save: bool,
    card: Scorecard | None = None,
    ahead: bool = False,
    later: bool = False,
    defs: DefinitionFrames | None = None,
    labels: Labels | None = None,
    say_unkept: bool = False,
) -> Scorecard:
    """The kept scorecard `kept` brought up to date (patched), else computed in full; saved
    unless `save` is off (`ahead`: as made by a write, see `save_snapshot`; `later`: by
    `card.keep()`; `defs`, `labels`: the definitions and labels when read already, those of
    the store's newest definition change, as a kept scorecard of it holds them; `say_unkept`:
    see `scorecard`)."""
    marks, found, changed = kept.marks, kept.found, kept.changed
    scored_with: tuple[int, int] | None = None  # the key of the definitions scored in full
    if card is None and found is not None and changed is not None:
        card = decode(found.payload, day, found.patch)
    if card is not None and found is not None:
        card.base = found.saved
    if card is not None and changed is not None:
        if not changed:
            card.covers = found.marks if found is not None else None
            return card
        from lineofsight.services.snapshot_patch import patch

        card = patch(store, card, changed, lag)
    else:
        from lineofsight.engine.frames import rollup, score_kpis
        from lineofsight.services.evaluate import (
            older_measurements,
            read_scoring_inputs,
            scoring_measurements,
        )
        from lineofsight.services.scorecard_frames import json_text, labelled
        from lineofsight.store.labels import read_labels

        held = held_definitions(store, kept.held)
        decoded = None
        if held is None and defs is None:
            decoded = _kept_definitions(store, kept.held, day, lag)
        if decoded is not None:
            defs, labels, measurements = decoded
        elif held is not None:
            defs, labels = held
            measurements = scoring_measurements(store, defs, day, lag)
        elif defs is None:
            defs, labels, measurements = read_scoring_inputs(store, day, lag)
        else:
            if labels is None:
                labels = read_labels(store)
            measurements = scoring_measurements(store, defs, day, lag)
        hold_definitions(store, kept.held, defs, labels)
        scored_with = kept.held
        scored = score_kpis(defs, measurements, day, lag, older=older_measurements(store))
        del measurements
        ev = rollup(defs, scored, day)
        frames = labelled(ev, defs, labels)
        texts = {section: json_text(getattr(frames, section)) for section in SECTIONS}
        # Its formulas' inputs found when first asked for (`Scorecard.inputs`): once it is
        # written out, to be saved.
        card = Scorecard(day, None, defs, ev, labels=labels, texts=texts)
        card._frames = frames
    card.covers = marks  # the data was read after the marks: they claim no more than it holds
    if save:

        def pending(aside: bool) -> bool:
            with _unkept(say_unkept):
                return _save(store, card, day, lag, marks, ahead, aside=aside, defs=scored_with)
            return False  # the store's failure, logged

        card.pending = pending
        if not later:
            card.keep()
    return card


def _kept_definitions(
    store: Store, key: tuple[int, int], day: dt.date, lag: bool
) -> tuple[DefinitionFrames, Labels, pl.DataFrame] | None:
    """The definitions and labels kept in the store for `key` (see `_Kept.held`), decoded,
    and the measurements a scorecard of every KPI as of `day` reads (read while they are
    decoded); None when none are kept for it (or another release kept them)."""
    from lineofsight.services.evaluate import MEASURED_BY, kpi_measurements
    from lineofsight.services.snapshot_card import decode_definitions
    from lineofsight.store.scorecards import read_kept_definitions

    with store.plain_reading() as plain, _reading(store, plain) as conn:
        payload = read_kept_definitions(conn, key)
    if payload is None:
        return None
    return decode_definitions(
        payload,
        lambda kpis, calendar: kpi_measurements(store, kpis, calendar, day, lag),
        MEASURED_BY,
    )


def _save(
    store: Store,
    card: Scorecard,
    day: dt.date,
    lag: bool,
    marks: Marks,
    ahead: bool,
    *,
    aside: bool = False,
    defs: tuple[int, int] | None = None,
) -> bool:
    """Keep `card` in the store: as a patch of the scorecard saved in full when it is one and
    small, else in full (`aside`: a scorecard saved in full is handed to a second process
    that saves it, when it can be: `snapshot_keeper`). `defs`: the key (`_Kept.held`) of
    the definitions it was computed in full with, kept beside it (`save_snapshot`). False
    when the store did not take it (busy or read-only: `save_snapshot`)."""
    idle(store)
    base = card.base
    if (
        base is not None
        and _small(card)
        and save_patch(store, day, lag, base, marks, encode_patch(card))
    ):
        return True
    from lineofsight.services.snapshot_card import definitions_layout, encode_pieces

    pieces = encode_pieces(card)
    kept = None if defs is None else KeptDefinitions(defs, *definitions_layout(pieces))
    if aside:
        from lineofsight.services.snapshot_keeper import keep_aside

        if keep_aside(store, day, lag, marks, pieces, ahead=ahead, definitions=kept):
            return True  # the second process says its own failures (`take_failures`)
    payload = b"".join(pieces)
    del pieces
    if save_snapshot(store, day, lag, marks, payload, ahead=ahead, definitions=kept):
        # Saved in full: a newer patch of it applies to this card (to its JSON rows too
        # when it holds them all, not stored rows of an older scorecard saved in full).
        card.base = marks if card.holds_rows else None
        return True
    return False


@contextlib.contextmanager
def _reading(store: Store, plain: Any) -> Iterator[Any]:
    """The read connection `plain` when there is one (sqlite3), else the store's."""
    if plain is not None:
        yield plain
    else:
        with store.reading() as conn:
            yield conn


def _small(card: Scorecard) -> bool:
    """Whether the rows changed since the scorecard was saved in full are few enough to be
    saved as a patch."""
    if card.changed is None:
        return False
    changed = sum(len(rows) for rows in card.changed.values())
    ev = card.evaluation
    total = ev.kpis.height + ev.objectives.height + ev.units.height
    return changed <= total * PATCH_SHARE


__all__ = [
    "PATCH_SHARE",
    "SECTIONS",
    "Scorecard",
    "compared_day",
    "decode",
    "encode",
    "encode_patch",
    "keep_ready",
    "refresh_kept",
    "scorecard",
]
