"""Load measurements from CSV and Excel files: every bad row listed, nothing stored on error."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineofsight.domain import model as m
from lineofsight.domain.periods import Period, PeriodError, grain_of, parse_period
from lineofsight.errors import LoadError, Problem, UsageError
from lineofsight.store.database import Store
from lineofsight.store.definitions import read_organization
from lineofsight.store.measurements import MeasurementRow, write_measurements

COLUMNS = ("kpi", "period", "value", "unit", "numerator", "denominator", "note")
MAX_LISTED = 200  # beyond this many bad rows, the rest are counted, not listed


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


class RowChecker:
    """Checks rows against the organisation and turns them into rows for the store."""

    def __init__(self, org: m.Organization, source: str) -> None:
        self.org = org
        self.kpis = org.kpis_by_id()
        self.units = org.units_by_id()
        self.source = source
        self._periods: dict[str, Period] = {}

    def period(self, text: str) -> Period:
        found = self._periods.get(text)
        if found is None:
            found = parse_period(text, self.org.calendar)
            self._periods[text] = found
        return found

    def check(self, raw: RawRow) -> MeasurementRow:
        cells = raw.cells
        kpi_id = _text(cells.get("kpi"))
        if not kpi_id:
            raise _RowError("kpi", "is empty")
        kpi = self.kpis.get(kpi_id)
        if kpi is None:
            raise _RowError("kpi", f"unknown KPI '{kpi_id}'")
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
        note = _text(cells.get("note")) or None
        numerator = denominator = None
        if kpi.ratio is not None:
            if _number(cells, "value", required=False) is not None:
                raise _RowError(
                    "value", f"'{kpi_id}' is a ratio KPI: give numerator and denominator, not value"
                )
            numerator = _number(cells, "numerator", required=True)
            denominator = _number(cells, "denominator", required=True)
            assert numerator is not None and denominator is not None
            if denominator < 0:
                raise _RowError("denominator", f"{denominator:g} is negative")
            value = kpi.ratio.scale * numerator / denominator if denominator else None
            column = "numerator"
        else:
            for column in ("numerator", "denominator"):
                if _number(cells, column, required=False) is not None:
                    raise _RowError(column, f"'{kpi_id}' is not a ratio KPI: give value only")
            value = _number(cells, "value", required=True)
            column = "value"
        if value is not None and kpi.bounds is not None and not kpi.bounds.contains(value):
            raise _RowError(
                column, f"{value:g} is outside the KPI's bounds {_bounds_text(kpi.bounds)}"
            )
        return MeasurementRow(
            kpi_id=kpi_id,
            unit_id=unit_id,
            period=period.label,
            grain=int(period.grain),
            period_start=period.start,
            period_end=period.end,
            value=None if kpi.ratio is not None else value,
            numerator=numerator,
            denominator=denominator,
            note=note,
        )


def _bounds_text(bounds: m.Bounds) -> str:
    low = "-inf" if bounds.min is None else f"{bounds.min:g}"
    high = "inf" if bounds.max is None else f"{bounds.max:g}"
    return f"[{low}, {high}]"


def check_rows(
    org: m.Organization, file: str, header: list[str], rows: Iterable[RawRow]
) -> list[MeasurementRow]:
    """Every row checked; LoadError with every problem (row, column, reason) if any."""
    problems: list[Problem] = []
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        problems.append(
            Problem(
                file,
                1,
                is_row=True,
                message=f"header: unknown column(s) {', '.join(unknown)}: "
                f"expected {', '.join(COLUMNS)}",
            )
        )
    missing = [name for name in ("kpi", "period") if name not in header]
    if "value" not in header and not {"numerator", "denominator"} <= set(header):
        missing.append("value")
    if missing:
        problems.append(
            Problem(file, 1, is_row=True, message=f"header: missing column(s) {', '.join(missing)}")
        )
    if problems:
        raise LoadError(f"{file}: bad header", problems)
    checker = RowChecker(org, file)
    result: list[MeasurementRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    bad = 0
    for raw in rows:
        try:
            row = checker.check(raw)
        except _RowError as exc:
            bad += 1
            if bad <= MAX_LISTED:
                problems.append(
                    Problem(file, raw.number, f"column {exc.column}: {exc.reason}", is_row=True)
                )
            continue
        key = (row.kpi_id, row.unit_id, row.period)
        first = seen.get(key)
        if first is not None:
            bad += 1
            if bad <= MAX_LISTED:
                problems.append(
                    Problem(
                        file,
                        raw.number,
                        f"repeats row {first} ({row.kpi_id}, {row.unit_id}, {row.period})",
                        is_row=True,
                    )
                )
            continue
        seen[key] = raw.number
        result.append(row)
    if bad > MAX_LISTED:
        problems.append(Problem(file, 0, f"... and {bad - MAX_LISTED} more bad rows"))
    if problems:
        raise LoadError(f"{file}: {bad} bad row(s); nothing was loaded", problems)
    return result


def load_file(store: Store, path: Path) -> LoadResult:
    """Load one measurement file in one transaction: all of it, or nothing."""
    header, rows = read_table(path)
    with store.transaction() as conn:
        org = read_organization(conn)
        if org is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
        checked = check_rows(org, str(path), header, rows)
        counts = write_measurements(conn, checked, source=str(path), at=dt.datetime.now(dt.UTC))
    return LoadResult(str(path), len(checked), counts.added, counts.replaced, counts.unchanged)
