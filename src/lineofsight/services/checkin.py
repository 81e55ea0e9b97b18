"""Check-in: a KPI owner enters one period's value, an admin uploads a file; each write is one
transaction with its audit row, checked by the same rules as `los load`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lineofsight.domain.model import Kpi
from lineofsight.domain.periods import Period, PeriodError, grain_of, parse_period
from lineofsight.domain.text import did_you_mean
from lineofsight.engine.calendar import period_for
from lineofsight.errors import InputError, Problem, UsageError
from lineofsight.services import audit
from lineofsight.services.load_rules import read_load_rules
from lineofsight.services.measurement_files import MeasurementFile, RawRow, open_measurements
from lineofsight.services.measurements import (
    LoadResult,
    RowChecker,
    _RowError,
    last_day_allowed,
    load_opened,
    source_warnings,
)
from lineofsight.services.plausibility import value_warnings
from lineofsight.services.snapshots import refresh_kept
from lineofsight.store.audit import append_audit
from lineofsight.store.database import Store
from lineofsight.store.loading import LoadSession, load_session
from lineofsight.store.measurement_writes import compare_measurements, write_compared
from lineofsight.store.measurement_writes import delete_measurement as delete_stored
from lineofsight.store.measurements import (
    current_value,
    frame_of_rows,
    latest_value,
    read_measurements,
    read_revisions,
)


@dataclass(frozen=True, slots=True)
class CheckinResult:
    """What a check-in stored: the value's key, its new revision and whether it was new."""

    kpi_id: str
    unit_id: str
    period: str
    value: float | None
    numerator: float | None
    denominator: float | None
    note: str | None
    action: str  # added | replaced | unchanged
    revision: int
    # Why the value stored looks like a typing slip (`engine.plausibility`), if it does.
    warning: str | None = None
    # That the KPI's values come from a data source whose next refresh replaces this one.
    source_warning: str | None = None


def _write_audit(
    session: LoadSession, *, actor: str, action: str, subject: str, before: Any, after: Any
) -> None:
    values = audit.audit_values(
        actor=actor,
        action=action,
        subject=subject,
        before=before,
        after=after,
        at=dt.datetime.now(dt.UTC),
    )
    append_audit(session, values)


@dataclass(frozen=True, slots=True)
class CheckinEntry:
    """One value to enter: a KPI, a unit (None: the KPI's own), a period and the numbers."""

    kpi_id: str
    unit_id: str | None
    period: str
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    note: str | None = None


def record_measurement(
    store: Store,
    *,
    kpi_id: str,
    unit_id: str | None,
    period: str,
    value: float | None = None,
    numerator: float | None = None,
    denominator: float | None = None,
    note: str | None = None,
    actor: str,
    allow_future: bool = False,
    kpi_unseen: bool = False,
    hints: Collection[str] = (),
    keep_note: bool = False,
    via: str = "web",
) -> CheckinResult:
    """Store one value (or numerator and denominator) for a KPI, unit and period.

    The same rules as a file load: known KPI and unit, a period no coarser than the KPI's
    frequency, bounds, ratio or plain value, a period that has ended (unless `allow_future`).
    An existing value is replaced and kept as a revision. InputError naming each field
    (`Problem.file`) and its reason, every one at once, when anything is wrong.
    `kpi_unseen`: the writer may not see the KPI (see `record_measurements`); `hints`: the
    KPIs a hint at a close id may then name. `keep_note`: the writer said nothing of the note
    (`note` is None), so a stored value keeps its note. `via`: where the value was entered,
    as its source says (`web check-in by ada`).
    """
    entry = CheckinEntry(kpi_id, unit_id, period, value, numerator, denominator, note)
    unseen = frozenset({kpi_id}) if kpi_unseen else frozenset()
    try:
        return record_measurements(
            store,
            [entry],
            actor=actor,
            allow_future=allow_future,
            unseen=unseen,
            hints=hints,
            keep_notes=keep_note,
            via=via,
        )[0]
    except InputError as exc:
        problems = [replace(p, file=p.file.partition(".")[2] or p.file) for p in exc.problems]
        raise UsageError(
            "; ".join(f"{p.file}: {p.message}" for p in problems) or exc.summary, problems
        ) from None


def record_measurements(
    store: Store,
    entries: Sequence[CheckinEntry],
    *,
    actor: str,
    allow_future: bool = False,
    check_only: bool = False,
    unseen: Collection[str] = frozenset(),
    hints: Collection[str] = (),
    keep_notes: bool = False,
    via: str = "web",
) -> list[CheckinResult]:
    """Store several values in one transaction: all of them, or none.

    Each entry is checked as `record_measurement` checks one; InputError lists every problem
    of every entry, its `Problem.file` being `INDEX.FIELD` (`2.period`: the third entry's
    period), and stores nothing. `check_only`: check, write nothing, return no result (a
    form that found a mistake of its own still shows the service's problems with it).
    `unseen`: KPIs the writer may not see, each named unknown as one that does not exist
    (no hint at a close id but one of `hints`, the KPIs the writer may see), with only what
    needs no KPI checked beside (the period). `keep_notes`: the entries say nothing of notes,
    so a stored value keeps its note (as a file without a note column). `via`: where the
    values were entered (`web`, `API`), as their source and audit rows say.
    """
    source = f"{via} check-in by {actor}"
    with load_session(store) as session:
        rules = read_load_rules(session)
        if rules is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
        rules = rules.until(last_day_allowed(allow_future=allow_future))
        checker = RowChecker(rules, source)
        rows = []
        problems: list[Problem] = []
        seen: dict[tuple[str, str, str], int] = {}
        for index, entry in enumerate(entries):
            raw = RawRow(index, _cells(entry))
            if entry.kpi_id in unseen:
                found = checker.problems(RawRow(index, {**raw.cells, "kpi": ""}))
                found["kpi"] = f"unknown KPI '{entry.kpi_id}'{did_you_mean(entry.kpi_id, hints)}"
                problems += [Problem(f"{index}.{f}", 0, why) for f, why in found.items()]
                continue
            try:
                row = checker.check(raw)
            except _RowError:
                found = checker.problems(raw)
                problems += [Problem(f"{index}.{f}", 0, why) for f, why in found.items()]
                continue
            key = (row.kpi_id, row.unit_id, row.period)
            if key in seen:
                reason = f"{row.period} is entered twice for {row.kpi_id} at {row.unit_id}"
                problems.append(Problem(f"{index}.period", 0, reason))
                continue
            seen[key] = index
            rows.append(row)
        if problems:
            raise _field_errors_of(problems)
        if not rows or check_only:
            return []
        comparison = compare_measurements(
            session, frame_of_rows(rows), rules.calendar, keep_notes=keep_notes
        )
        if not comparison.overlaps.is_empty():
            from lineofsight.services.measurement_frames import overlap_problem

            problem = overlap_problem(comparison.overlaps)
            raise UsageError(f"period: {problem.message}", [problem])
        # The checker accepted the rows' ids and periods: what `current_value` asks of them.
        befores = [
            current_value(session, row.kpi_id, row.unit_id, row.period, row.period_end)
            for row in rows
        ]
        write_compared(session, comparison, source=source, at=dt.datetime.now(dt.UTC))
        results = []
        for row, before in zip(rows, befores, strict=True):
            # A note left out keeps the stored one (`keep_notes`): the value's note after.
            note = before["note"] if keep_notes and before and row.note is None else row.note
            after = {
                "value": row.value,
                "numerator": row.numerator,
                "denominator": row.denominator,
                "note": note,
            }
            old = {k: before[k] for k in after} if before else None
            action = "added" if not before else "unchanged" if old == after else "replaced"
            revision = int(before.get("revision") or 0) + (0 if action == "unchanged" else 1)
            if action != "unchanged":
                _write_audit(
                    session,
                    actor=actor,
                    action="measurement.record",
                    subject=f"measurement:{row.kpi_id}/{row.unit_id}/{row.period}",
                    before=old,
                    after={**after, "source": source},
                )
            results.append(
                CheckinResult(
                    row.kpi_id,
                    row.unit_id,
                    row.period,
                    row.value,
                    row.numerator,
                    row.denominator,
                    note,
                    action,
                    revision or 1,
                )
            )
    refresh_kept(store)
    written = frame_of_rows(rows).select("kpi_id", "unit_id", "period", "period_end")
    reasons = value_warnings(store, rules, written)["reason"].to_list()
    # One warning per KPI, on the KPI's first value (a form enters one KPI's values).
    sourced = dict(source_warnings(rules, written))
    return [
        replace(r, warning=why, source_warning=sourced.pop(r.kpi_id, None))
        for r, why in zip(results, reasons, strict=True)
    ]


def last_value(store: Store, kpi: Kpi, unit_id: str) -> tuple[str, float] | None:
    """The KPI's latest stored value at the unit and its period (a ratio's value worked out
    from its numerator and denominator), or None when it has none."""
    with store.reading() as conn:
        row = latest_value(conn, kpi.id, unit_id)
    if row is None:
        return None
    value = row["value"]
    if value is None and kpi.ratio is not None and row["denominator"]:
        value = kpi.ratio.scale * row["numerator"] / row["denominator"] + 0.0  # no "-0"
    return (row["period"], value) if value is not None else None


def _cells(entry: CheckinEntry) -> dict[str, Any]:
    return {
        "kpi": entry.kpi_id,
        "unit": entry.unit_id or "",
        "period": entry.period,
        "value": entry.value,
        "numerator": entry.numerator,
        "denominator": entry.denominator,
        "note": (entry.note or "").strip() or None,
    }


def _field_errors_of(problems: list[Problem]) -> InputError:
    count = len(problems)
    summary = f"{count} problem{'' if count == 1 else 's'}: nothing was saved"
    return UsageError(summary, problems)


def upload_units(
    store: Store, path: Path, filename: str | None = None, sheet: str | None = None
) -> set[str]:
    """The units a measurement file writes to (a row without a unit: its KPI's unit), for the
    permission check of an admin whose role covers only part of the organisation."""
    opened = open_measurements(path, name=filename, sheet=sheet, bulk=False)
    with load_session(store) as session:
        rules = read_load_rules(session)
    if rules is None:
        return set()
    kpis = rules.kpis
    units: set[str] = set()
    for raw in opened.rows:
        unit = _plain(raw.cells.get("unit"))
        if not unit:
            kpi = kpis.get(_plain(raw.cells.get("kpi")))
            unit = kpi.unit if kpi is not None else ""
        if unit:
            units.add(unit)
    return units


def _plain(cell: Any) -> str:
    """A cell as an id: text or a number, else nothing (the load says what is wrong)."""
    return str(cell).strip() if isinstance(cell, str | int | float) else ""


def load_upload(
    store: Store,
    path: Path,
    filename: str,
    actor: str,
    sheet: str | None = None,
    *,
    allow_future: bool = False,
) -> LoadResult:
    """Load an uploaded CSV or XLSX file whole or not at all, audited in the same transaction.

    `filename` is the name the user gave the file (reported in errors and kept as the source).
    LoadError listing every bad row, and nothing stored, when any row is bad.
    """

    def reopen() -> MeasurementFile:
        return open_measurements(path, name=filename, sheet=sheet)

    opened = reopen()

    def audit_upload(session: LoadSession, result: LoadResult) -> None:
        _write_audit(
            session,
            actor=actor,
            action="measurement.upload",
            subject=f"file:{filename}",
            before=None,
            after={
                "rows": result.rows,
                "added": result.added,
                "replaced": result.replaced,
                "unchanged": result.unchanged,
            },
        )

    return load_opened(
        store,
        opened,
        source=f"{filename} (uploaded by {actor})",
        reopen=reopen,
        audit=audit_upload,
        allow_future=allow_future,
    )


@dataclass(frozen=True, slots=True)
class DeleteResult:
    """The value a deletion removed (kept as a revision of its KPI, unit and period)."""

    kpi_id: str
    unit_id: str
    period: str
    value: float | None
    numerator: float | None
    denominator: float | None
    revision: int
    measure: str | None = None  # the KPI's unit of measure


def delete_measurement(
    store: Store, *, kpi_id: str, unit_id: str | None, period: str, actor: str
) -> DeleteResult:
    """Delete the current value of a KPI for a unit (default: the KPI's own) and a period, in
    one transaction with its audit row; the value is kept as a revision.

    UsageError when the KPI, unit or period is unknown or there is no such value.
    """
    with load_session(store) as session:
        unit, found, measure = _measurement_key(session, kpi_id, unit_id, period)
        removed = delete_stored(
            session, kpi_id, unit, found.label, found.end, at=dt.datetime.now(dt.UTC)
        )
        if removed is None:
            raise UsageError(
                f"no value of '{kpi_id}' for unit '{unit}' and period {found.label} to delete"
            )
        before = {k: removed[k] for k in ("value", "numerator", "denominator", "note")}
        _write_audit(
            session,
            actor=actor,
            action="measurement.delete",
            subject=f"measurement:{kpi_id}/{unit}/{found.label}",
            before=before,
            after=None,
        )
    refresh_kept(store)
    return DeleteResult(
        kpi_id,
        unit,
        found.label,
        removed["value"],
        removed["numerator"],
        removed["denominator"],
        int(removed["revision"]),
        measure,
    )


def _measurement_key(
    session: LoadSession, kpi_id: str, unit_id: str | None, period: str
) -> tuple[str, Period, str | None]:
    """The unit (default: the KPI's own) and period of one measurement, checked against the
    store's KPIs, units and calendar, and the KPI's unit of measure; UsageError with the
    closest id when unknown."""
    rules = read_load_rules(session)
    if rules is None:
        raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
    kpi = rules.kpis.get(kpi_id)
    if kpi is None:
        raise UsageError(f"unknown KPI '{kpi_id}'{did_you_mean(kpi_id, rules.kpis)}")
    unit = unit_id or kpi.unit
    if unit not in rules.units:
        raise UsageError(f"unknown unit '{unit}'{did_you_mean(unit, rules.units)}")
    try:
        found = parse_period(period, rules.calendar)
    except PeriodError as exc:
        raise UsageError(f"period: {exc}") from None
    if found.grain > grain_of(kpi.frequency):  # never stored: a load refuses such values
        own = period_for(found.end, kpi.frequency, rules.calendar)
        raise UsageError(
            f"period: {found.label} is coarser than the KPI's frequency ({kpi.frequency.value}):"
            f" '{kpi_id}' has values per period or finer, such as {own.label}"
        )
    return unit, found, kpi.measure


@dataclass(frozen=True, slots=True)
class StoredValue:
    """One value a measurement has had: the current one, or an earlier revision."""

    revision: int
    value: float | None
    numerator: float | None
    denominator: float | None
    note: str | None
    recorded_at: dt.datetime
    source: str | None
    replaced_at: dt.datetime | None  # None: the current value
    measure: str | None = None  # the KPI's unit of measure


def measurement_history(
    store: Store, *, kpi_id: str, unit_id: str | None, period: str
) -> tuple[str, str, list[StoredValue]]:
    """The unit, the period and every value one measurement has had, oldest first (the
    current one last, when the measurement was not deleted)."""
    with load_session(store) as session:
        unit, found, measure = _measurement_key(session, kpi_id, unit_id, period)
    with store.reading() as conn:
        earlier = read_revisions(conn, kpi_id, unit, found.label)
        current = [
            r
            for r in read_measurements(conn, kpi_id)
            if r["unit_id"] == unit and r["period"] == found.label
        ]
    values = [
        StoredValue(
            r["revision"], r["value"], r["numerator"], r["denominator"], r["note"],
            r["recorded_at"], r["source"], r["replaced_at"], measure,
        )
        for r in sorted(earlier, key=lambda r: (r["replaced_at"], r["id"]))
    ] + [
        StoredValue(
            r["revision"], r["value"], r["numerator"], r["denominator"], r["note"],
            r["recorded_at"], r["source"], None, measure,
        )
        for r in current
    ]  # fmt: skip
    return unit, found.label, values
