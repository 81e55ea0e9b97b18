"""Load measurements from CSV and Excel files: every bad row listed, nothing stored on error."""

from __future__ import annotations

import datetime as dt
import heapq
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from lineofsight.domain.limits import denominator_problem, number_problem, value_problem
from lineofsight.domain.periods import Period, PeriodError, grain_of, parse_period
from lineofsight.domain.text import did_you_mean, noun, plural
from lineofsight.engine.calendar import period_for
from lineofsight.errors import ColumnsError, LoadError, Problem, UsageError
from lineofsight.gcpause import paused_gc
from lineofsight.services.load_rules import KpiRules, LoadRules, is_percent_unit, read_load_rules
from lineofsight.services.measurement_files import (
    ExcelError,
    MeasurementFile,
    PercentCell,
    RawRow,
    UnsavedFormula,
    open_measurements,
)
from lineofsight.services.snapshots import refresh_kept
from lineofsight.store.database import Store
from lineofsight.store.loading import LoadSession, load_session, reading_session
from lineofsight.store.measurement_writes import compare_measurements, write_compared
from lineofsight.store.measurements import MeasurementRow, frame_of_rows

COLUMNS = ("kpi", "period", "value", "unit", "numerator", "denominator", "note")
MAX_LISTED = 200  # beyond this many bad rows, the rest are counted, not listed
HINTED_IDS = 20  # unknown KPI ids of one file that get the closest known id
NOT_ENDED = "has not ended yet"  # the reason given for a value of a period still running


def last_day_allowed(*, allow_future: bool, as_of: dt.date | None = None) -> dt.date | None:
    """The last day a period may end on to take a value (None: any), for every write of values.

    A value for a period that has not ended (it ends after today, or after `as_of`) is most
    often a typo in the year or a plan entered as an actual, so it is refused unless the writer
    asks for it (`allow_future`).
    """
    return None if allow_future else (as_of or dt.date.today())


@dataclass(frozen=True)
class LoadResult:
    file: str
    rows: int
    added: int
    replaced: int
    unchanged: int
    sheet: str | None = None  # a workbook's sheet that was read
    header_row: int = 1  # a workbook's header row (title rows above it were skipped)
    # Values stored that look like a typing slip (`engine.plausibility`): one per row, by row.
    warnings: tuple[Problem, ...] = ()


class _RowError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _number(cells: dict[str, Any], column: str, *, required: bool) -> float | None:
    cell = cells.get(column)
    _refuse_marked(column, cell)
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        if required:
            raise _RowError(column, "is empty")
        return None
    if isinstance(cell, bool):
        raise _RowError(column, f"{cell!r} is not a number")
    if isinstance(cell, int | float):
        value = float(cell)
    else:
        try:
            value = number_of_text(str(cell))
        except ValueError as exc:
            raise _RowError(column, str(exc)) from None
    if not math.isfinite(value):
        raise _RowError(column, f"{cell!r} is not a finite number")
    return value


def number_of_text(text: str) -> float:
    """A number as a person types it in a file's cell or a form's box: a decimal point, no
    thousands separator. ValueError saying why, with a hint for a comma (`91,5` is 91.5 in
    much of Europe, `1,500` may be 1.5 or 1500: neither is guessed)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number{_comma_hint(text)}") from None


_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")


def _comma_hint(text: str) -> str:
    """A hint for a number written with a comma (`91,5`, as many European spreadsheets do)."""
    if not _DECIMAL_COMMA.fullmatch(text):
        return ""
    if re.fullmatch(r"[+-]?\d{1,3},\d{3}", text):  # 1,500: a decimal comma or thousands?
        return (
            " (write numbers with a decimal point and no thousands separator: 1.5 or 1500 "
            "for 1,500)"
        )
    return f" (a decimal comma: write {text.replace(',', '.')})"


def _refuse_marked(column: str, cell: Any) -> None:
    """_RowError for a workbook cell that holds no usable value."""
    if isinstance(cell, UnsavedFormula):
        raise _RowError(
            column,
            f"a formula with no saved result ({cell.formula}); open and save the file in Excel "
            "first",
        )
    if isinstance(cell, ExcelError):
        raise _RowError(column, f"the cell shows the Excel error {cell.code}")


class RowChecker:
    """Checks rows one by one and turns them into rows for the store."""

    def __init__(self, rules: LoadRules, source: str) -> None:
        self.rules = rules
        self.kpis = rules.kpis
        self.units = rules.units
        self.source = source
        self._periods: dict[str, Period] = {}
        self._hints: dict[str, str] = {}

    def period(self, text: str) -> Period:
        found = self._periods.get(text)
        if found is None:
            found = parse_period(text, self.rules.calendar)
            self._periods[text] = found
        return found

    def check(self, raw: RawRow) -> MeasurementRow:
        cells = raw.cells
        kpi_id, kpi, unit_id = self._subject(cells)
        period = self._period(cells, kpi)
        assert period is not None  # a KPI's rules make any period cell a period
        numerator, denominator, value = self._values(cells, kpi_id, kpi)
        return MeasurementRow(
            kpi_id=kpi_id,
            unit_id=unit_id,
            period=period.label,
            grain=int(period.grain),
            period_start=period.start,
            period_end=period.end,
            value=None if kpi.ratio_scale is not None else value,
            numerator=numerator,
            denominator=denominator,
            note=_text(cells.get("note")) or None,
        )

    def problems(self, raw: RawRow) -> dict[str, str]:
        """Every problem of a row, by column, all at once (a form shows them together): the
        KPI's or unit's, the period's and the value's. With a KPI that is not known (or takes
        no values) the period is checked for what needs no KPI: that it reads and has ended."""
        cells = raw.cells
        found: dict[str, str] = {}
        kpi_id = _text(cells.get("kpi"))
        kpi: KpiRules | None = None
        try:
            kpi_id, kpi, _ = self._subject(cells)
        except _RowError as exc:
            found[exc.column] = exc.reason
            # An unknown unit leaves a KPI whose rules still judge the period and the value.
            kpi = self.kpis.get(kpi_id) if exc.column == "unit" else None
        steps: list[Callable[[], object]] = [lambda: self._period(cells, kpi)]
        if kpi is not None:
            known = kpi
            steps.append(lambda: self._values(cells, kpi_id, known))
        for step in steps:
            try:
                step()
            except _RowError as exc:
                found.setdefault(exc.column, exc.reason)
        return found

    def _subject(self, cells: dict[str, Any]) -> tuple[str, KpiRules, str]:
        """The row's KPI id, the KPI's rules and the unit."""
        for column in ("kpi", "unit", "period", "note"):
            _refuse_marked(column, cells.get(column))
        kpi_id = _text(cells.get("kpi"))
        if not kpi_id:
            raise _RowError("kpi", "is empty")
        kpi = self.kpis.get(kpi_id)
        if kpi is None:
            hint = self._hints.get(kpi_id)
            if hint is None:
                # Each look-up scans every KPI id: a file of wrong ids gets the first few hints.
                known = self.kpis if len(self._hints) < HINTED_IDS else ()
                hint = self._hints[kpi_id] = did_you_mean(kpi_id, known)
            raise _RowError("kpi", f"unknown KPI '{kpi_id}'{hint}")
        if kpi.formula is not None:
            raise _RowError(
                "kpi",
                f"KPI '{kpi_id}' is computed by its formula ({kpi.formula}); it takes no values",
            )
        unit_id = _text(cells.get("unit")) or kpi.unit
        if unit_id not in self.units:
            raise _RowError("unit", f"unknown unit '{unit_id}'")
        return kpi_id, kpi, unit_id

    def _period(self, cells: dict[str, Any], kpi: KpiRules | None) -> Period | None:
        """The row's period, judged by the KPI's rules; without a KPI, only what needs none
        (None: a date cell, which only a KPI's frequency makes a period)."""
        period_cell = cells.get("period")
        period_text = _text(period_cell)
        if not period_text:
            raise _RowError("period", "is empty")
        try:
            if isinstance(period_cell, dt.date):
                if kpi is None:
                    return None
                # A workbook's date cell stands for the KPI's period that holds the day: a
                # monthly KPI's 2026-11-01 (or 2026-11-30) is 2026-11.
                period = period_for(period_cell, kpi.frequency, self.rules.calendar)
            else:
                period = self.period(period_text)
        except PeriodError as exc:
            raise _RowError("period", str(exc)) from None
        if kpi is not None and period.grain > grain_of(kpi.frequency):
            raise _RowError(
                "period",
                f"{period.label} is coarser than the KPI's frequency ({kpi.frequency.value}): "
                "give values per period or finer",
            )
        last_day = self.rules.last_day
        if last_day is not None and period.end > last_day:
            raise _RowError("period", f"{period.label} {NOT_ENDED} (it ends on {period.end})")
        return period

    def _values(
        self, cells: dict[str, Any], kpi_id: str, kpi: KpiRules
    ) -> tuple[float | None, float | None, float | None]:
        """Numerator, denominator and value of a row (a ratio KPI's value from the two)."""
        numerator = denominator = None
        if kpi.ratio_scale is not None:
            if _number(cells, "value", required=False) is not None:
                raise _RowError(
                    "value", f"'{kpi_id}' is a ratio KPI: give numerator and denominator, not value"
                )
            numerator = _number(cells, "numerator", required=True)
            denominator = _number(cells, "denominator", required=True)
            assert numerator is not None and denominator is not None
            for column, number in (("numerator", numerator), ("denominator", denominator)):
                if (problem := number_problem(number)) is not None:
                    raise _RowError(column, problem)
            if (problem := denominator_problem(numerator, denominator)) is not None:
                raise _RowError("denominator", problem)
            value = kpi.ratio_scale * numerator / denominator if denominator else None
            column = "numerator"
        else:
            for column in ("numerator", "denominator"):
                if _number(cells, column, required=False) is not None:
                    raise _RowError(column, f"'{kpi_id}' is not a ratio KPI: give value only")
            value = _number(cells, "value", required=True)
            column = "value"
            if isinstance(cells.get("value"), PercentCell) and value is not None:
                value = _percent(kpi, value)
        problem = None if value is None else value_problem(value, kpi.bounds)
        if problem is not None:
            raise _RowError(column, problem)
        return numerator, denominator, value


def _percent(kpi: KpiRules, value: float) -> float:
    """A cell shown as a percentage, as the number the sheet shows (0.893 shown as 89.3%: 89.3)
    for a KPI measured in percent; _RowError for any other KPI, where what was meant is unclear."""
    shown = round(value * 100, 12)
    if is_percent_unit(kpi.measure):
        return shown
    measure = f"in '{kpi.measure}'" if kpi.measure else "with no unit_of_measure"
    raise _RowError(
        "value",
        f"the cell shows {shown:g}% but KPI '{kpi.id}' is measured {measure}: format the "
        "cell as a plain number, or give the KPI unit_of_measure: '%'",
    )


def check_header(
    file: str, header: list[str], row: int = 1, *, expected: Sequence[str] = COLUMNS
) -> None:
    """LoadError for unknown or missing columns (`row`: the header's row in the file).

    `expected`: the columns the reader may give, as the message names them (a KPI's own
    query gives no kpi column: its rows get the KPI's id before they are checked)."""
    problems: list[Problem] = []
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        # `kpi;period;value`: one column of a file whose separator is `;` (a European Excel's).
        semicolons = any(set(name.split(";")) & set(COLUMNS) for name in unknown if ";" in name)
        hint = (
            " (the file seems to use ';' as separator: save it as CSV with ',' between columns)"
            if semicolons
            else ""
        )
        problems.append(
            Problem(
                file,
                row,
                is_row=True,
                message=f"header: unknown {noun(len(unknown), 'column')} {', '.join(unknown)}: "
                f"expected {', '.join(expected)}{hint}",
            )
        )
    missing = [name for name in ("kpi", "period") if name not in header]
    if "value" not in header and not {"numerator", "denominator"} <= set(header):
        missing.append("value")
    if missing:
        problems.append(
            Problem(
                file,
                row,
                is_row=True,
                message=f"header: missing {noun(len(missing), 'column')} {', '.join(missing)}",
            )
        )
    if problems:
        raise ColumnsError(f"{file}: bad header", problems)


def check_rows(
    rules: LoadRules,
    file: str,
    header: list[str],
    rows: Iterable[RawRow],
    *,
    header_row: int = 1,
    numbers: list[int] | None = None,
    expected: Sequence[str] = COLUMNS,
    report: BadRows | None = None,
) -> list[MeasurementRow]:
    """Every row checked; LoadError with every problem (row, column, reason) if any.

    `numbers`, when given, receives each returned row's number in the file; `expected`: as
    `check_header` takes it; `report`: the problems are added to it instead of raised (the
    caller adds those of later checks, then raises them all at once).
    """
    check_header(file, header, header_row, expected=expected)
    checker = RowChecker(rules, file)
    result: list[MeasurementRow] = []
    given, report = report, report or BadRows(file)
    seen: dict[tuple[str, str, str], int] = {}
    for raw in rows:
        try:
            row = checker.check(raw)
        except _RowError as exc:
            report.add(raw.number, f"column {exc.column}: {exc.reason}")
            continue
        key = (row.kpi_id, row.unit_id, row.period)
        first = seen.get(key)
        if first is not None:
            report.add(
                raw.number, f"repeats row {first} ({row.kpi_id}, {row.unit_id}, {row.period})"
            )
            continue
        seen[key] = raw.number
        result.append(row)
        if numbers is not None:
            numbers.append(raw.number)
    if given is None:
        report.raise_if_any()
    return result


class BadRows:
    """A file's bad rows, listed by row number: the first MAX_LISTED rows listed (each with
    every problem found in it, each problem once), the rest counted, whichever check found
    them (a row whose period shares days with another's is found after the rows' own checks,
    and listed among them). A row with several problems counts once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0  # bad rows, each once
        self._order = 0
        # Which rows are bad, a bit per row number: a row found again is not counted again,
        # in a fixed small memory however many rows the file has.
        self._seen = bytearray()
        # The MAX_LISTED lowest bad rows so far, each with its problems (order found,
        # message); `_top` is a heap of their negated numbers, whose top is the highest.
        self._listed: dict[int, list[tuple[int, str]]] = {}
        self._top: list[int] = []

    def add(self, number: int, message: str) -> None:
        self._order += 1
        byte, bit = divmod(number, 8)
        if byte >= len(self._seen):
            self._seen.extend(bytes(max(byte + 1 - len(self._seen), len(self._seen))))
        if not self._seen[byte] & (1 << bit):
            self._seen[byte] |= 1 << bit
            self.count += 1
        listed = self._listed.get(number)
        if listed is not None:
            if all(message != said for _order, said in listed):
                listed.append((self._order, message))
            return
        if len(self._listed) >= MAX_LISTED:
            if number > -self._top[0]:
                return
            del self._listed[-heapq.heappop(self._top)]
        self._listed[number] = [(self._order, message)]
        heapq.heappush(self._top, -number)

    @property
    def problems(self) -> list[Problem]:
        """The listed rows' problems, by row number (then in the order found)."""
        return [
            Problem(self.file, number, message, is_row=True)
            for number in sorted(self._listed)
            for _order, message in sorted(self._listed[number])
        ]

    def raise_if_any(self) -> None:
        if not self.count:
            return
        problems = self.problems
        unlisted = self.count - len(self._listed)
        if unlisted:
            problems.append(Problem(self.file, 0, more_bad_rows(unlisted)))
        raise LoadError(
            f"{self.file}: {plural(self.count, 'bad row')}; nothing was loaded",
            problems,
            unlisted=unlisted,
        )


def more_bad_rows(count: int) -> str:
    """The line that ends a list of bad rows cut at MAX_LISTED: how many were not listed."""
    return f"... and {plural(count, 'more bad row')}"


def load_file(
    store: Store,
    path: Path,
    *,
    name: str | None = None,
    sheet: str | None = None,
    allow_future: bool = False,
) -> LoadResult:
    """Load one measurement file in one transaction: all of it, or nothing.

    `name`: the file as the user knows it (default: `path`); `sheet`: a workbook's sheet.
    Values for periods that have not ended are refused unless `allow_future`.
    """

    def reopen() -> MeasurementFile:
        return open_measurements(path, name=name, sheet=sheet)

    opened = reopen()
    with paused_gc():
        return load_opened(
            store, opened, source=opened.name, reopen=reopen, allow_future=allow_future
        )


def load_opened(
    store: Store,
    opened: MeasurementFile,
    *,
    source: str,
    reopen: Callable[[], MeasurementFile],
    audit: Callable[[LoadSession, LoadResult], None] | None = None,
    allow_future: bool = False,
) -> LoadResult:
    """Check an opened file and write it in one transaction (with `audit`'s row, if given).

    LoadError listing every bad row, and every row whose period shares days with another
    period of the same KPI and unit (in the file or stored), and nothing stored.

    The file is read and checked against the rules (KPIs, units, calendar) of a read of the
    store before the load waits for the write lock: a bad file is refused at once however
    long another write keeps the store. Under the lock the rules are read again; when they
    changed in between (an apply ran), the file is opened again with `reopen` and checked
    again against them, so that no row is stored that the rules it is written under refuse.
    Only the comparison with the stored values, and the write, wait for the lock.
    """
    from lineofsight.services.measurement_frames import refuse_stored_overlaps

    last_day = last_day_allowed(allow_future=allow_future)
    with reading_session(store) as session:
        seen = read_load_rules(session)
    if seen is None:
        raise _no_strategy()
    report = BadRows(opened.label)
    checked = check_opened(opened, seen.until(last_day), report=report)
    if report.count:
        # The file is refused: its good rows are still compared with the stored values, so
        # that their overlaps are said with the bad rows, not in a second round once those
        # are fixed. Read as the rules were, without waiting for the write lock.
        with reading_session(store) as session:
            comparison = compare_measurements(session, checked, seen.calendar)
        refuse_stored_overlaps(opened.label, comparison.overlaps, report=report)
        report.raise_if_any()
    with load_session(store) as session:
        rules = read_load_rules(session)
        if rules is None:
            raise _no_strategy()
        if rules != seen:
            opened = reopen()
            checked = check_opened(opened, rules.until(last_day))
        # A file without a note column says nothing of notes: the stored ones stay.
        keep_notes = "note" not in opened.header
        comparison = compare_measurements(session, checked, rules.calendar, keep_notes=keep_notes)
        refuse_stored_overlaps(opened.label, comparison.overlaps)
        counts = write_compared(session, comparison, source=source, at=dt.datetime.now(dt.UTC))
        result = LoadResult(
            opened.name,
            checked.height,
            counts.added,
            counts.replaced,
            counts.unchanged,
            sheet=opened.sheet,
            header_row=opened.header_row,
        )
        if audit is not None:
            audit(session, result)
    refresh_kept(store)
    return replace(result, warnings=tuple(_warnings(store, rules, opened.label, checked)))


def _warnings(
    store: Store, rules: LoadRules, label: str, checked: pl.DataFrame
) -> Iterable[Problem]:
    """A warning for each KPI of the file whose values come from a data source (its next
    refresh replaces what the file gave for the periods it brings), then for each stored row
    of the file whose value looks like a slip."""
    from lineofsight.services.plausibility import value_warnings

    for _kpi_id, message in source_warnings(rules, checked):
        yield Problem(label, 0, message)

    written = checked.select("kpi_id", "unit_id", "period", "period_end", "row")
    flagged = value_warnings(store, rules, written).filter(pl.col("reason").is_not_null())
    for kpi_id, unit_id, period, number, reason in flagged.select(
        "kpi_id", "unit_id", "period", "row", "reason"
    ).iter_rows():
        message = f"KPI {kpi_id} at unit {unit_id}, {period}: {reason} (the value is stored)"
        yield Problem(label, number, message, is_row=True)


def source_warnings(rules: LoadRules, written: pl.DataFrame) -> list[tuple[str, str]]:
    """For each KPI of `written` (a frame with `kpi_id`) whose values come from a data source,
    by id: the KPI and the warning that its next refresh replaces what was given here for the
    periods it brings (a file loaded by hand, a check-in through the API)."""
    if not rules.fed:
        return []
    fed = written.filter(pl.col("kpi_id").is_in(list(rules.fed))).group_by("kpi_id").len()
    return [
        (
            kpi_id,
            f"KPI {kpi_id} takes its values from source '{rules.fed[kpi_id]}': " + _replaced(count),
        )
        for kpi_id, count in sorted(fed.iter_rows())
    ]


def _replaced(count: int) -> str:
    """What a source's next refresh does to `count` values given by hand: it replaces only
    those of the periods it brings."""
    if count == 1:
        return (
            "its next refresh replaces the value given here if it brings its period "
            "(the value is stored)"
        )
    return (
        f"its next refresh replaces those of the {count} values given here whose periods it "
        "brings (the values are stored)"
    )


def _no_strategy() -> UsageError:
    return UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")


def check_opened(
    opened: MeasurementFile, rules: LoadRules, *, report: BadRows | None = None
) -> pl.DataFrame:
    """An opened file's rows checked against `rules`, each with its `row` number in the file,
    and no two sharing days (LoadError otherwise; `report`: the bad rows are added to it
    instead, and the good rows returned)."""
    # The bulk checker builds on this module's row-by-row one.
    from lineofsight.services.measurement_frames import check_frame, refuse_file_overlaps

    label = opened.label
    check_header(label, opened.header, opened.header_row)
    if opened.table is None:
        return check_rows_frame(
            rules, label, opened.header, opened.rows, header_row=opened.header_row, report=report
        )
    # Every bad row said at once: the rows that pass their own checks are looked at for
    # periods that share days before any is said (a row without a valid period cannot be).
    bad = report if report is not None else BadRows(label)
    checked = check_frame(rules, label, opened.table, keep_row=True, report=bad)
    opened.table = None  # the file's text is not needed any more: free it
    refuse_file_overlaps(label, checked, report=bad)
    if report is None:
        bad.raise_if_any()
    return checked


def check_rows_frame(
    rules: LoadRules,
    label: str,
    header: list[str],
    rows: Iterable[RawRow],
    *,
    header_row: int,
    expected: Sequence[str] = COLUMNS,
    report: BadRows | None = None,
) -> pl.DataFrame:
    """Rows checked one by one (`check_rows`), each with its `row` number, and no two sharing
    days: every bad row said at once, overlaps among them (LoadError otherwise; `report`:
    added to it instead, and the good rows returned)."""
    from lineofsight.services.measurement_frames import refuse_file_overlaps

    given = report
    report = report if report is not None else BadRows(label)
    numbers: list[int] = []
    found = check_rows(
        rules,
        label,
        header,
        rows,
        header_row=header_row,
        numbers=numbers,
        expected=expected,
        report=report,
    )
    checked = frame_of_rows(found).with_columns(row=pl.Series(numbers, dtype=pl.Int64))
    refuse_file_overlaps(label, checked, report=report)
    if given is None:
        report.raise_if_any()
    return checked
