"""The briefing book of a review: a unit's subtree for a period, assembled once.

One `BriefingBook` holds everything the review reads (SPEC section 8): the cover (unit,
period, as-of date), the scorecard of the objectives (score, status, counts, worst item),
every red and amber KPI with its chart (actual, target path, forecast path and its 80%
interval), commentary and open actions, the alignment findings of the subtree, the values
overdue, and the decisions and actions of the previous review. The HTML page
(`brief_html.py`) and the PDF (`brief_pdf.py`) only lay it out.

Every number comes from the services the rest of the app uses: the kept scorecard
(`services.snapshots`), the check report `los check` keeps, the engine's forecast (made here
for the KPIs the book draws, in one read of their values).

A very large subtree (the company level of 100,000 KPIs) is shown to its first two levels of
units: their objectives, the units, and the red KPIs of those levels (ambers counted); the
book says so, and the book of each unit below holds the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.actions import Action, Comment
from lineofsight.domain.periods import Grain, parse_period
from lineofsight.domain.reviews import HeldReview, ReviewCadence, review_period
from lineofsight.domain.text import did_you_mean, plural
from lineofsight.errors import UsageError
from lineofsight.services.as_of import awaited_sentence, resolve_as_of, running_sentence
from lineofsight.services.brief_items import (
    BookFinding,
    check_report,
    comments_by_subject,
    finding_kpis,
    findings_in,
    open_actions_by_subject,
    review_actions,
)
from lineofsight.services.kpi_series import KpiChart, kpi_charts
from lineofsight.store import reviews as stored_reviews
from lineofsight.store.database import Store
from lineofsight.store.definition_parts import read_organization_part

# A subtree with more KPIs than this is shown to its first `TOP_LEVELS` levels of units.
FULL_LIMIT = 10_000
TOP_LEVELS = 2
# Long lists are cut in the book (the count says how many there are).
MAX_FINDINGS = 200
MAX_OVERDUE = 300
# A review's cover names this many of the periods its KPIs are shown at (then counts the rest).
_PERIODS_LISTED = 4


@dataclass(frozen=True, slots=True)
class BookKpi:
    """A red or amber KPI at one unit, with what the review reads about it."""

    id: str
    name: str
    unit: str
    unit_name: str
    owner: str | None
    period: str
    actual: float | None
    target: float | None
    score: float | None
    status: str
    unit_of_measure: str | None
    chart: KpiChart | None
    comment: Comment | None
    actions: tuple[Action, ...]  # the open ones


@dataclass(frozen=True, slots=True)
class BookObjective:
    id: str
    title: str
    unit_name: str
    score: float | None
    status: str
    counts: dict[str, int]
    worst: str | None  # "name (status)"


@dataclass(frozen=True, slots=True)
class BookUnit:
    id: str
    name: str
    depth: int
    score: float | None
    status: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class BookOverdue:
    kpi: str
    name: str
    unit_name: str
    period: str
    due: dt.date | None


@dataclass(frozen=True)
class BriefingBook:
    """Everything one review reads, for the HTML page and the PDF."""

    unit: str
    unit_name: str
    period: str
    as_of: dt.date
    made_at: dt.datetime
    levels: int | None  # None: the whole subtree; else the first `levels` levels of units
    kpi_count: int  # KPIs defined in the subtree
    cadence: ReviewCadence | None
    units: list[BookUnit]
    objectives: list[BookObjective]
    reds: list[BookKpi]
    ambers: list[BookKpi]
    amber_count: int
    findings: list[BookFinding]
    finding_count: int
    overdue: list[BookOverdue]
    overdue_count: int
    previous: HeldReview | None  # the latest record of the previous review
    previous_actions: list[Action] = field(default_factory=list)  # of every record of it
    # Every record of the previous review's period, the first recorded first: a review met
    # twice for one period (or recorded from the API and the form) shows all it decided.
    previous_records: list[HeldReview] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # person id -> name
    running: str = ""  # what the cover says of a period that has not ended yet
    # The KPI results of the period whose values are not due yet (reporting lag, SPEC section
    # 3: a period that ended, its values awaited), and the last day they fall due.
    awaited: int = 0
    awaited_due: dt.date | None = None
    # A review's book (and a week's): the days the review covers, each KPI shown at its latest
    # own period with a value or due by `as_of` (SPEC section 3), and how many results each
    # period shows. None for the report of a period asked for.
    covers: tuple[dt.date, dt.date] | None = None
    shown_at: dict[str, int] = field(default_factory=dict)

    @property
    def latest_sentence(self) -> str:
        """What the cover of a review's book says of the periods its KPIs are shown at ("" for
        the report of a month, a quarter or a year asked for)."""
        if self.covers is None:
            return ""
        start, end = (d.isoformat() for d in self.covers)
        by = self.as_of.isoformat()
        if self.covers[1] > self.as_of:
            head = f"{self.period} ({start} to {end}) has not ended yet"
            by = f"today, {by}"
        else:
            head = f"The review covers {self.period} ({start} to {end})"
        periods = list(self.shown_at.items())
        listed = ", ".join(f"{p}: {plural(n, 'result')}" for p, n in periods[:_PERIODS_LISTED])
        if len(periods) > _PERIODS_LISTED:
            listed += f", {plural(len(periods) - _PERIODS_LISTED, 'period')} more"
        shown = f" ({listed})" if listed else ""
        return (
            f"{head}: each KPI is shown at its latest own period with a value or due by {by}"
            f"{shown}."
        )

    @property
    def when(self) -> str:
        """The book's time in a sentence: a report's "for 2026-11", or a review's "at its
        latest period by 2026-11-30"."""
        if self.covers is None:
            return f"for {self.period}"
        return f"at its latest period by {self.as_of.isoformat()}"

    @property
    def awaited_sentence(self) -> str:
        """What the cover says of a period that ended with values not due yet ("" if none)."""
        return awaited_sentence(self.period, self.awaited, self.awaited_due)

    @property
    def no_reds_sentence(self) -> str:
        where = f"{self.unit_name} and the units below it"
        if self.levels is not None:
            where = f"the first {plural(self.levels, 'level')} of {self.unit_name}"
        if self.awaited:
            return (
                f"No KPI of {where} is red {self.when} so far: "
                f"{plural(self.awaited, 'result')} still await their values."
            )
        return f"No KPI of {where} is red {self.when}."

    def person(self, person_id: str | None) -> str:
        if person_id is None:
            return "no owner"
        return self.names.get(person_id, person_id)


def build_book(
    store: Store,
    unit: str,
    *,
    period: str | None = None,
    as_of: str | None = None,
    review: bool = False,
    levels: int | None = None,
    now: dt.datetime | None = None,
    org: m.Organization | None = None,
) -> BriefingBook:
    """The briefing book of `unit`'s subtree for `period`; without it, of the period the
    unit's review looks back at on the day `as_of`, else today (`review_period`: by its
    cadence the last whole week, month or quarter, else the last month), the period the form
    that records the review offers (as of `now`, the time the book is made: else now).

    The book of a review (no `period` asked for, or `review`: the book sent before the
    review of `period`) and the book of a week read each KPI at its latest own period with a
    value or due by the period's end (SPEC section 3), as `los status --as-of` reads it: a
    report of the period would show each monthly KPI's month as awaiting until its values are
    due, weeks after an early-month review. A month, a quarter or a year asked for is read as
    its period report (SPEC section 3, `--period`).

    `org`: the organisation when the caller holds it already (the web app's cache); else
    only the KPIs the book names are read (with every unit, person and objective)."""
    from lineofsight.services.snapshots import scorecard
    from lineofsight.store.accounts import unit_ids
    from lineofsight.store.organization import read_calendar

    with store.reading() as conn:
        calendar = org.calendar if org is not None else read_calendar(conn)
        known = {u.id for u in org.units} if org is not None else unit_ids(conn)
    # The unit is checked before anything is scored: a mistyped name is told at once, not
    # after the scorecard of a large organisation.
    if known and unit not in known:
        raise UsageError(f"unknown unit '{unit}'{did_you_mean(unit, sorted(known))}")
    plain = m.Organization(name="", calendar=calendar)
    # The day the book is made for: `as_of`, else today (what is overdue, what has ended).
    today = dt.date.today()
    if as_of is not None:
        if period:
            resolve_as_of(plain, period, as_of)  # says "not both"
        today = resolve_as_of(plain, None, as_of)
    cadence = next((c for c in _cadences(store) if c.unit == unit), None)
    review = review or not period
    if period is None:
        made = today if as_of is not None else None
        if made is None:
            made = now.astimezone(dt.UTC).date() if now is not None else dt.date.today()
        period = review_period(cadence, made, calendar).label
    end = resolve_as_of(plain, period, None)
    covered = parse_period(period, calendar)
    # A review's book, and a week's (shorter than the KPIs' months and quarters), reads each
    # KPI at its latest own period with a value or due by the period's end (SPEC section 3):
    # a period report would show every monthly KPI's month as awaiting until it is due.
    latest = review or covered.grain < Grain.MONTH
    running = end > today
    day = min(end, today) if latest else end
    card = scorecard(store, None, day.isoformat()) if latest else scorecard(store, period, None)
    ev = card.evaluation
    parents = dict(card.defs.units.select("id", "parent_id").iter_rows())
    if unit not in parents:
        raise UsageError(f"unknown unit '{unit}'{did_you_mean(unit, parents)}")
    depth = _depths(parents, unit)
    kpi_count = card.defs.kpis.filter(pl.col("unit_id").is_in(list(depth))).height
    if levels is None and kpi_count > FULL_LIMIT:
        levels = TOP_LEVELS
    shown = {u for u, d in depth.items() if levels is None or d < levels}
    label = period

    rows = ev.kpis.filter(pl.col("unit").is_in(sorted(shown)))
    amber_count = rows.filter(pl.col("status") == "amber").height
    # The top of a very large subtree details its reds only (the books below show ambers).
    detailed = ["red"] if levels is not None else ["red", "amber"]
    flagged = rows.filter(pl.col("status").is_in(detailed)).sort(
        ["status", "score", "id", "unit"], descending=[True, False, False, False], nulls_last=True
    )
    # A period still running: its overdue values and findings are today's (what is due
    # later is not overdue yet), as the cover says; the scorecard is the period's.
    report_of = not latest and not running
    awaited = rows.filter(pl.col("data") == "awaiting") if report_of else rows.clear()
    overdue_rows = _overdue_rows(store, card, None if latest else period, day, today, shown)
    report = check_report(store, min(day, today))
    kpi_units = dict(card.defs.kpis.select("id", "unit_id").iter_rows())
    if org is None:
        named = set(flagged["id"]) | set(overdue_rows.head(MAX_OVERDUE)["id"])
        named |= _worst_kpis(ev.objectives) | finding_kpis(report, kpi_units, shown)
        with store.reading() as conn:
            org = read_organization_part(conn, named)
        if org is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
    units = org.units_by_id()
    kpis = org.kpis_by_id()
    pairs = [(r["id"], r["unit"]) for r in flagged.iter_rows(named=True)]
    charts = kpi_charts(store, org, pairs, day)
    subjects = sorted({("kpi", k) for k, _ in pairs})
    comments = comments_by_subject(store, subjects)
    actions = open_actions_by_subject(store, subjects)
    reds: list[BookKpi] = []
    ambers: list[BookKpi] = []
    for r in flagged.iter_rows(named=True):
        kpi = kpis[r["id"]]
        item = BookKpi(
            id=kpi.id,
            name=kpi.name,
            unit=r["unit"],
            unit_name=units[r["unit"]].name,
            owner=kpi.owner,
            period=r["period"],
            actual=r["actual"],
            target=r["target"],
            score=r["score"],
            status=r["status"],
            unit_of_measure=kpi.unit_of_measure,
            chart=charts.get((r["id"], r["unit"])),
            comment=_comment_for(comments.get(("kpi", kpi.id), []), r["period"]),
            actions=tuple(actions.get(("kpi", kpi.id), ())),
        )
        (reds if r["status"] == "red" else ambers).append(item)

    findings, finding_count = findings_in(report, org, kpi_units, shown, MAX_FINDINGS)
    overdue = [
        BookOverdue(r["id"], kpis[r["id"]].name, units[r["unit"]].name, r["period"], r["due"])
        for r in overdue_rows.head(MAX_OVERDUE).iter_rows(named=True)
    ]
    records = previous_reviews(store, org, unit, label)
    previous = records[-1] if records else None
    action_ids = [i for r in records for i in r.action_ids]
    return BriefingBook(
        unit=unit,
        unit_name=units[unit].name,
        period=label,
        as_of=day,
        made_at=now or dt.datetime.now(dt.UTC),
        levels=levels,
        kpi_count=kpi_count,
        cadence=cadence,
        units=_units(ev.units, units, depth, shown),
        objectives=_objectives(ev.objectives, org, depth, shown, kpis),
        reds=reds,
        ambers=ambers,
        amber_count=amber_count,
        findings=findings,
        finding_count=finding_count,
        overdue=overdue,
        overdue_count=overdue_rows.height,
        previous=previous,
        previous_actions=review_actions(store, action_ids),
        previous_records=records,
        names={p.id: p.name for p in org.people},
        running=(
            f"{running_sentence(label, day)} The values overdue and the findings are those of"
            f" today, {today.isoformat()}."
            if running and not latest
            else ""
        ),
        covers=(covered.start, covered.end) if latest else None,
        shown_at=_shown_at(rows) if latest else {},
        awaited=awaited.height,
        awaited_due=awaited["due"].max() if awaited.height else None,  # type: ignore[arg-type]
    )


def _overdue_rows(
    store: Store, card: Any, period: str | None, day: dt.date, today: dt.date, shown: set[str]
) -> pl.DataFrame:
    """The values overdue by the book's date, as the engine flags them (SPEC section 3).

    A period report evaluates each KPI at the period's own slot, value or not, so a value of
    an earlier period that fell due before the book's date shows there only as "no data"; the
    scorecard as of that date (`los status --as-of`, the inbox) flags it overdue. A period
    still running is read as of today: what is due later is not overdue yet."""
    from lineofsight.services.snapshots import scorecard

    if period:
        card = scorecard(store, None, min(day, today).isoformat())
    rows: pl.DataFrame = card.evaluation.kpis.filter(pl.col("unit").is_in(sorted(shown)))
    return rows.filter(pl.col("data") == "overdue").sort(["due", "id"])


def _cadences(store: Store) -> tuple[ReviewCadence, ...]:
    with store.reading() as conn:
        return stored_reviews.read_cadences(conn)


def _worst_kpis(objectives: pl.DataFrame) -> set[str]:
    """The KPIs the objectives' rows name as their worst item."""
    worst = objectives["worst"].struct.unnest()
    return set(worst.filter(pl.col("kind") == "kpi")["id"].drop_nulls())


def _depths(parents: dict[str, str | None], top: str) -> dict[str, int]:
    """Each unit of `top`'s subtree with its depth below `top` (0 for `top`)."""
    children: dict[str | None, list[str]] = {}
    for unit_id, parent in parents.items():
        children.setdefault(parent, []).append(unit_id)
    depth = {top: 0}
    frontier = [top]
    while frontier:
        nxt = []
        for parent in frontier:
            for c in children.get(parent, ()):
                if c not in depth:
                    depth[c] = depth[parent] + 1
                    nxt.append(c)
        frontier = nxt
    return depth


def _shown_at(rows: pl.DataFrame) -> dict[str, int]:
    """How many of the book's KPI results are shown at each period, the most first."""
    counted = rows.group_by("period").len().sort(["len", "period"], descending=True)
    return {str(p): int(n) for p, n in counted.iter_rows()}


def _counts(value: dict[str, Any] | None) -> dict[str, int]:
    return {k: int(v or 0) for k, v in (value or {}).items()}


def _units(
    frame: pl.DataFrame, units: dict[str, m.Unit], depth: dict[str, int], shown: set[str]
) -> list[BookUnit]:
    rows = frame.filter(pl.col("id").is_in(sorted(shown))).iter_rows(named=True)
    found = [
        BookUnit(
            r["id"],
            units[r["id"]].name,
            depth[r["id"]],
            r["score"],
            r["status"],
            _counts(r["counts"]),
        )
        for r in rows
    ]
    return sorted(found, key=lambda u: (u.depth, u.name))


def _objectives(
    frame: pl.DataFrame,
    org: m.Organization,
    depth: dict[str, int],
    shown: set[str],
    kpis: dict[str, m.Kpi],
) -> list[BookObjective]:
    objectives = {o.id: o for o in org.objectives if o.unit in shown}
    units = org.units_by_id()
    order = {o.id: i for i, o in enumerate(org.objectives)}
    found = []
    for r in frame.filter(pl.col("id").is_in(sorted(objectives))).iter_rows(named=True):
        o = objectives[r["id"]]
        worst = r["worst"]
        worst_text = None
        if worst is not None and worst.get("id"):
            if worst["kind"] == "kpi" and worst["id"] in kpis:
                name = kpis[worst["id"]].name
            else:
                other = next((x for x in org.objectives if x.id == worst["id"]), None)
                name = other.title if other is not None else worst["id"]
            worst_text = f"{name} ({worst['status']})"
        found.append(
            BookObjective(
                o.id,
                o.title,
                units[o.unit].name,
                r["score"],
                r["status"],
                _counts(r["counts"]),
                worst_text,
            )
        )
    return sorted(found, key=lambda b: (depth[objectives[b.id].unit], order[b.id]))


def _comment_for(comments: Sequence[Comment], period: str) -> Comment | None:
    """The commentary of the KPI's period; else its latest of an earlier period."""
    for c in comments:
        if c.period == period:
            return c
    return max(comments, key=lambda c: c.at, default=None)


def previous_reviews(store: Store, org: m.Organization, unit: str, period: str) -> list[HeldReview]:
    """Every record of `unit`'s latest review held for a period before `period` (several
    when it was recorded more than once for that period), the first recorded first."""
    from lineofsight.engine.calendar import period_named

    try:
        end = period_named(period, org.calendar).end
    except ValueError:
        end = None
    with store.reading() as conn:
        held = stored_reviews.read_reviews(conn, units=[unit], limit=200)
    latest: str | None = None
    found: list[HeldReview] = []
    for review in held:
        try:
            review_end = period_named(review.period, org.calendar).end
        except ValueError:
            continue
        if latest is None and (end is None or review_end < end):
            latest = review.period
        if latest is not None and review.period == latest:
            found.append(review)
    return sorted(found, key=lambda r: (r.recorded_at, r.id))
