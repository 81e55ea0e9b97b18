"""Load measurements from CSV and Excel files: every bad row listed, nothing stored on error."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.limits import number_problem, value_problem
from lineofsight.domain.periods import Period, PeriodError, grain_of, parse_period
from lineofsight.domain.text import did_you_mean, noun, plural
from lineofsight.errors import LoadError, Problem, UsageError
from lineofsight.spec.yamlload import paused_gc
from lineofsight.store.database import Store
from lineofsight.store.loading import LoadSession, load_session
from lineofsight.store.measurements import (
    MeasurementRow,
    frame_of_rows,
    write_measurement_frame,
)

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
class RawRow:
    """One data row as read: its row number in the file and its cells by column."""

    number: int
    cells: dict[str, Any]


@dataclass(frozen=True)
class LoadResult:
    file: str
    rows: int
    added: int
    replaced: int
    unchanged: int


def read_table(path: Path) -> tuple[list[str], Iterator[RawRow]]:
    """The header and data rows of a CSV or XLSX file (row numbers as a spreadsheet shows)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise UsageError(f"{path}: unsupported file type {suffix or '(none)'}: use .csv or .xlsx")


def _read_csv(path: Path) -> tuple[list[str], Iterator[RawRow]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
        reader = csv.reader(handle)
        header = next(reader, None)
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if header is None:
        handle.close()
        raise LoadError(f"{path}: the file is empty; expected a header row kpi,period,value")
    names = [h.strip().lower() for h in header]

    def rows() -> Iterator[RawRow]:
        with handle:
            try:
                for number, cells in enumerate(reader, start=2):
                    if not any(c.strip() for c in cells):
                        continue
                    yield RawRow(number, dict(zip(names, cells, strict=False)))
            except UnicodeDecodeError as exc:
                raise LoadError(
                    f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
                ) from None

    return names, rows()


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[RawRow]]:
    from openpyxl import load_workbook  # imported here: only Excel loads pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise LoadError(f"{path}: not a readable Excel workbook ({exc})") from None
    sheet = book["measurements"] if "measurements" in book.sheetnames else book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    header = next(values, None)
    if header is None:
        book.close()
        raise LoadError(f"{path}: the first sheet is empty; expected a header row kpi,period,value")
    names = ["" if h is None else str(h).strip().lower() for h in header]

    def rows() -> Iterator[RawRow]:
        try:
            for number, cells in enumerate(values, start=2):
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue
                yield RawRow(number, dict(zip(names, cells, strict=False)))
        finally:
            book.close()

    return names, rows()


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
            value = float(str(cell).strip())
        except ValueError:
            raise _RowError(column, f"{str(cell).strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise _RowError(column, f"{cell!r} is not a finite number")
    return value


@dataclass(frozen=True, slots=True)
class KpiRules:
    """What a load checks a KPI's values against."""

    id: str
    unit: str
    frequency: m.Frequency
    formula: str | None = None
    ratio_scale: float | None = None  # None: not a ratio KPI
    bounds: m.Bounds | None = None


_RULE_COLUMNS = (
    "id", "unit_id", "frequency", "formula", "ratio_numerator", "ratio_scale", "bounds_min",
    "bounds_max",
)  # fmt: skip


_RULE_NUMBERS = ("ratio_scale", "bounds_min", "bounds_max")


@dataclass(frozen=True)
class LoadRules:
    """The organisation as a load needs it: its KPIs' rules, unit ids and the calendar.

    `rows` are the KPIs' columns a load reads (`_RULE_COLUMNS`); the checks use them as a
    frame, and as `KpiRules` objects for the rows they look at one by one.
    """

    rows: list[tuple[Any, ...]]
    units: frozenset[str]
    calendar: m.Calendar
    last_day: dt.date | None = None  # periods ending after it take no value (None: any)

    def until(self, last_day: dt.date | None) -> LoadRules:
        """These rules, taking values only for periods that end on or before `last_day`."""
        return replace(self, last_day=last_day)

    @cached_property
    def kpis(self) -> dict[str, KpiRules]:
        kpis = {}
        for kpi_id, unit, frequency, formula, numerator, scale, low, high in self.rows:
            bounds = m.Bounds(low, high) if low is not None or high is not None else None
            ratio_scale = scale if numerator is not None else None
            kpis[kpi_id] = KpiRules(
                kpi_id, unit, m.Frequency(frequency), formula, ratio_scale, bounds
            )
        return kpis

    @cached_property
    def frame(self) -> pl.DataFrame:
        """One row per KPI: kpi, kpi_unit, kpi_grain, measured, scale, low, high."""
        grains = {f.value: int(grain_of(f)) for f in m.Frequency}
        rows = pl.DataFrame(
            self.rows,
            schema={
                name: pl.Float64 if name in _RULE_NUMBERS else pl.String for name in _RULE_COLUMNS
            },
            orient="row",
            strict=False,
        )
        return rows.select(
            pl.col("id").alias("kpi"),
            pl.col("unit_id").alias("kpi_unit"),
            pl.col("frequency").replace_strict(grains, return_dtype=pl.Int64).alias("kpi_grain"),
            pl.col("formula").is_null().alias("measured"),
            pl.when(pl.col("ratio_numerator").is_not_null())
            .then(pl.col("ratio_scale"))
            .alias("scale"),
            pl.col("bounds_min").alias("low"),
            pl.col("bounds_max").alias("high"),
        )


# Every column without missing values, a flag beside each that may be missing (a result
# column that starts with missing values would read as integers through ADBC).
_RULES_SQL = (
    "SELECT id, unit_id, frequency, COALESCE(formula, ''), formula IS NULL, "
    "ratio_numerator IS NULL, COALESCE(ratio_scale, 0.0), bounds_min IS NULL, "
    "COALESCE(bounds_min, 0.0), bounds_max IS NULL, COALESCE(bounds_max, 0.0) FROM kpis"
)
_RULES_SCHEMA = {
    "id": pl.String,
    "unit_id": pl.String,
    "frequency": pl.String,
    "formula": pl.String,
    "no_formula": pl.Boolean,
    "no_ratio": pl.Boolean,
    "ratio_scale": pl.Float64,
    "no_min": pl.Boolean,
    "bounds_min": pl.Float64,
    "no_max": pl.Boolean,
    "bounds_max": pl.Float64,
}


def read_load_rules(session: LoadSession) -> LoadRules | None:
    """The rules from the store (only the columns a load needs), or None before any apply.

    Read inside the load's own transaction, so that they are what the load writes against.
    """
    fiscal = session.query("SELECT fiscal_year_start FROM organization", {"fiscal": pl.Int64})
    if fiscal.is_empty():
        return None

    def unless(flag: str, column: str | pl.Expr) -> pl.Expr:
        value = pl.col(column) if isinstance(column, str) else column
        return pl.when(pl.col(flag)).then(None).otherwise(value)

    kpis = (
        session.query(_RULES_SQL, _RULES_SCHEMA)
        .select(
            "id",
            "unit_id",
            "frequency",
            unless("no_formula", "formula").alias("formula"),
            unless("no_ratio", pl.lit("")).alias("ratio_numerator"),
            "ratio_scale",
            unless("no_min", "bounds_min").alias("bounds_min"),
            unless("no_max", "bounds_max").alias("bounds_max"),
        )
        .rows()
    )
    units = session.query("SELECT id FROM units", {"id": pl.String}).get_column("id")
    return LoadRules(kpis, frozenset(units.to_list()), m.Calendar(fiscal.item()))


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
        period_text = _text(cells.get("period"))
        if not period_text:
            raise _RowError("period", "is empty")
        try:
            period = self.period(period_text)
        except PeriodError as exc:
            raise _RowError("period", str(exc)) from None
        if period.grain > grain_of(kpi.frequency):
            raise _RowError(
                "period",
                f"{period.label} is coarser than the KPI's frequency ({kpi.frequency.value}): "
                "give values per period or finer",
            )
        last_day = self.rules.last_day
        if last_day is not None and period.end > last_day:
            raise _RowError("period", f"{period.label} {NOT_ENDED} (it ends on {period.end})")
        note = _text(cells.get("note")) or None
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
            if denominator < 0:
                raise _RowError("denominator", f"{denominator:g} is negative")
            value = kpi.ratio_scale * numerator / denominator if denominator else None
            column = "numerator"
        else:
            for column in ("numerator", "denominator"):
                if _number(cells, column, required=False) is not None:
                    raise _RowError(column, f"'{kpi_id}' is not a ratio KPI: give value only")
            value = _number(cells, "value", required=True)
            column = "value"
        problem = None if value is None else value_problem(value, kpi.bounds)
        if problem is not None:
            raise _RowError(column, problem)
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
            note=note,
        )


def check_header(file: str, header: list[str]) -> None:
    """LoadError for unknown or missing columns."""
    problems: list[Problem] = []
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        problems.append(
            Problem(
                file,
                1,
                is_row=True,
                message=f"header: unknown {noun(len(unknown), 'column')} "
                f"{', '.join(unknown)}: "
                f"expected {', '.join(COLUMNS)}",
            )
        )
    missing = [name for name in ("kpi", "period") if name not in header]
    if "value" not in header and not {"numerator", "denominator"} <= set(header):
        missing.append("value")
    if missing:
        problems.append(
            Problem(
                file,
                1,
                is_row=True,
                message=f"header: missing {noun(len(missing), 'column')} {', '.join(missing)}",
            )
        )
    if problems:
        raise LoadError(f"{file}: bad header", problems)


def check_rows(
    rules: LoadRules, file: str, header: list[str], rows: Iterable[RawRow]
) -> list[MeasurementRow]:
    """Every row checked; LoadError with every problem (row, column, reason) if any."""
    check_header(file, header)
    checker = RowChecker(rules, file)
    result: list[MeasurementRow] = []
    report = _BadRows(file)
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
    report.raise_if_any()
    return result


class _BadRows:
    """Bad rows in the order found: the first MAX_LISTED listed, the rest counted."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        self.problems: list[Problem] = []

    def add(self, number: int, message: str) -> None:
        self.count += 1
        if self.count <= MAX_LISTED:
            self.problems.append(Problem(self.file, number, message, is_row=True))

    def raise_if_any(self) -> None:
        if not self.count:
            return
        problems = list(self.problems)
        if self.count > MAX_LISTED:
            problems.append(
                Problem(self.file, 0, f"... and {self.count - MAX_LISTED} more bad rows")
            )
        raise LoadError(
            f"{self.file}: {plural(self.count, 'bad row')}; nothing was loaded", problems
        )


def load_file(store: Store, path: Path, *, allow_future: bool = False) -> LoadResult:
    """Load one measurement file in one transaction: all of it, or nothing.

    Values for periods that have not ended are refused unless `allow_future`.
    """
    # The bulk reader and checker build on this module's row-by-row ones.
    from lineofsight.services.measurement_frames import check_frame, read_csv_frame

    file = str(path)
    table = read_csv_frame(path) if path.suffix.lower() == ".csv" else None
    header, rows = ([], iter(())) if table is not None else read_table(path)
    with paused_gc(), load_session(store) as session:
        rules = read_load_rules(session)
        if rules is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
        rules = rules.until(last_day_allowed(allow_future=allow_future))
        if table is not None:
            check_header(file, table.header)
            checked = check_frame(rules, file, table)
            table = None  # the file's text is not needed any more: free it before the write
        else:
            checked = frame_of_rows(check_rows(rules, file, header, rows))
        total = checked.height
        counts = write_measurement_frame(session, checked, source=file, at=dt.datetime.now(dt.UTC))
    return LoadResult(file, total, counts.added, counts.replaced, counts.unchanged)
