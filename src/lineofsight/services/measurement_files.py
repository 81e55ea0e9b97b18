"""Open a user's measurement file: checked before any parser sees it, read in bounded memory.

Every surface (`los load`, the upload page, the API) opens files here, so each gets the same
checks and messages, and every message names the file as the user knows it (`name`: the path
they gave, or an upload's own file name), never a server's temporary copy.

- CSV: the file's size is capped and its lines are scanned in chunks before anything parses
  it, so a file with a line longer than `LIMITS.line_bytes` is refused after reading that
  much (a 1 GB file of one line costs a few megabytes, not the gigabytes a parser would take);
  plain files are then read as one Polars frame (`read_csv_frame`), others row by row.
- XLSX: the file must be a zip with a workbook in it; every XML part is scanned for a DTD
  (`<!DOCTYPE`, `<!ENTITY`: what an entity bomb needs, and what Excel never writes) and for
  its unpacked size before openpyxl parses it. The sheet is `sheet`, else `measurements`,
  else the first; the header is the first row of the first `LIMITS.header_rows` rows that
  names `kpi`, `period` and `value` (or `numerator`), so title rows above it are skipped.
  Cells the checks must treat specially arrive marked: a percentage (`PercentCell`), a formula
  with no saved result (`UnsavedFormula`) and an Excel error value (`ExcelError`).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from lineofsight.errors import LoadError, Problem, UsageError

# What `open_measurements` reads (a macro-enabled workbook's macros are never run): the web
# form offers these and a file of another type is told them.
SUFFIXES = (".csv", ".xlsx", ".xlsm")
FILE_TYPES = f"{', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]}"


@dataclass(frozen=True)
class ReadLimits:
    """How much of a file a load reads at most (each refused with a message that says so)."""

    line_bytes: int = 128 * 1024  # one CSV line (so one field); also the csv module's default
    file_bytes: int = 2 * 1024**3  # a CSV file, or the unpacked XML of a workbook
    header_rows: int = 20  # rows of a sheet searched for its header


LIMITS = ReadLimits()


@dataclass(frozen=True)
class RawRow:
    """One data row as read: its row number in the file and its cells by column."""

    number: int
    cells: dict[str, Any]


class PercentCell(float):
    """A number a sheet shows as a percentage: the cell holds 0.893 and shows 89.3%."""


@dataclass(frozen=True, slots=True)
class UnsavedFormula:
    """A formula cell with no saved result (the file was written by a program, not Excel)."""

    formula: str


@dataclass(frozen=True, slots=True)
class ExcelError:
    """A cell whose value is an Excel error such as #DIV/0! or #N/A."""

    code: str


@dataclass(frozen=True)
class CsvTable:
    """A CSV's header (as the row-by-row reader names it) and its cells as text, by row."""

    header: list[str]
    frame: pl.DataFrame  # one String column per header name, and `row`: the row's number
    spaced: bool = True  # whether any cell may have white space to strip


@dataclass
class MeasurementFile:
    """An opened measurement file: a CSV's frame (`table`), or its header and rows."""

    name: str  # the file as the user knows it
    label: str  # where its problems are: the name, and for a workbook the sheet
    header: list[str]
    rows: Iterator[RawRow]
    table: CsvTable | None = None
    sheet: str | None = None
    header_row: int = 1


def open_measurements(
    path: Path, *, name: str | None = None, sheet: str | None = None, bulk: bool = True
) -> MeasurementFile:
    """The file at `path` checked and opened; LoadError (naming `name`) when it is unreadable.

    `bulk`: read a plain CSV as one frame (`MeasurementFile.table`) when it can be.
    """
    name = name or str(path)
    suffix = Path(name).suffix.lower()
    if path.is_dir():
        raise UsageError(folder_message(path, name), [Problem("file", 0, "a folder, not a file")])
    if suffix not in SUFFIXES:
        raise UsageError(
            f"{name}: unsupported file type {suffix or '(none)'}: use {FILE_TYPES}",
            [Problem("file", 0, f"unsupported file type {suffix or '(none)'}")],
        )
    if not path.is_file():
        raise UsageError(f"{name}: no such file")
    if suffix == ".csv":
        if sheet:
            raise UsageError(f"{name}: a CSV file has no sheets (a sheet is for Excel files)")
        scan_csv(path, name)
        table = read_csv_frame(path) if bulk else None
        if table is not None:
            return MeasurementFile(name, name, table.header, iter(()), table)
        return _read_csv(path, name)
    parts = check_xlsx(path, name)
    return _read_xlsx(path, name, sheet, formulas=parts.formulas)


def folder_message(path: Path, name: str) -> str:
    """What to say of a folder given where a measurement file is expected: the files in it
    that could be loaded, named the way a shell would pass them."""
    try:
        held = sorted({p.suffix.lower() for p in path.iterdir() if p.suffix.lower() in SUFFIXES})
    except OSError:  # a folder that cannot be listed (no permission): its files unknown
        return f"{name}: a folder, not a file; name its files instead"
    if not held:
        return f"{name}: a folder, not a file; it holds no {FILE_TYPES} file to load"
    patterns = " ".join(f"{(Path(name) / ('*' + s)).as_posix()}" for s in held)
    return f"{name}: a folder, not a file; name its files instead: {patterns}"


def _size(count: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} bytes"


def scan_csv(path: Path, name: str, limits: ReadLimits | None = None) -> None:
    """LoadError when the file is too large or has a line longer than `limits.line_bytes`.

    Reads the file once in chunks, at the speed of a memory search: `rfind` looks for the
    last line end within the longest allowed line, so each step skips a whole window.
    """
    limits = limits or LIMITS
    longest = limits.line_bytes
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise LoadError(
            f"{name}: the file is {_size(size)}; at most {_size(limits.file_bytes)} is loaded "
            "at once: split it"
        )
    lines = 0  # line ends before `carry`
    carry = b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            data = carry + chunk if carry else chunk
            start = 0  # where the current line starts in `data`
            while True:
                end = data.rfind(b"\n", start, start + longest + 1)
                if end < 0:
                    break
                start = end + 1
            if len(data) - start > longest:
                row = lines + data.count(b"\n", 0, start) + 1
                raise LoadError(
                    f"{name}: row {row} is longer than {_size(longest)}; nothing was loaded",
                    [
                        Problem(
                            name,
                            row,
                            f"longer than {_size(longest)}: a row of measurements is short "
                            "(is this the right file, or is a quote never closed?)",
                            is_row=True,
                        )
                    ],
                )
            if not chunk:
                return
            lines += data.count(b"\n", 0, start)
            carry = data[start:]


# Bytes that send a file row by row: quotes, a NUL, and the white space that Python's
# str.strip() removes but Polars' does not. And those that may need stripping.
_ROW_BY_ROW = frozenset(b'"\x00\x1c\x1d\x1e\x1f')
_SPACES = frozenset(b" \t\x0b\x0c")
_KEEP = bytes(sorted(_ROW_BY_ROW | _SPACES | {ord("\r")}))
_DROP = bytes(byte for byte in range(128) if byte not in _KEEP)


def read_csv_frame(path: Path) -> CsvTable | None:
    """The CSV as a frame of text cells, or None when the row-by-row reader must read it.

    Takes only plain CSV (no quotes, no blank lines, UTF-8, `\\n` or `\\r\\n` line ends) where
    splitting on commas is all the `csv` module would do. Call `scan_csv` first: this reads
    the whole file.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # as the reader's utf-8-sig does
    ascii_only = data.isascii()
    special = set(data.translate(None, _DROP)) if ascii_only else None
    if special is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None  # the row-by-row reader says where
        special = set(data.translate(None, _DROP)) - set(range(128, 256))
    if (
        special & _ROW_BY_ROW
        or (ord("\r") in special and data.count(b"\r") != data.count(b"\r\n"))
        or data.startswith((b"\n", b"\r\n"))
        or b"\n\n" in data
        or b"\n\r\n" in data
    ):
        return None  # quoting, blank lines (which still count as rows) or unusual bytes
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    header = [name.strip().lower() for name in first.decode().rstrip("\r").split(",")]
    if not first.strip() or len(set(header)) != len(header) or "" in header:
        return None
    if end < 0 or not data[end + 1 :].strip():
        frame = pl.DataFrame(schema=dict.fromkeys(header, pl.String))
    else:
        try:
            frame = pl.read_csv(
                io.BytesIO(data[end + 1 :]),
                has_header=False,
                new_columns=header,
                schema=dict.fromkeys(header, pl.String),
                quote_char=None,
                eol_char="\n",
            )
        except (pl.exceptions.PolarsError, ValueError):
            return None  # a row with more cells than the header, for one
    if ord("\r") in special:  # `\r\n` line ends: the last cell of each line ends in `\r`
        frame = frame.with_columns(pl.col(header).str.strip_suffix("\r"))
    spaced = not ascii_only or bool(special & _SPACES)
    return CsvTable(header, frame.with_row_index("row", offset=2), spaced)


def _not_utf8(name: str, exc: UnicodeDecodeError) -> LoadError:
    return LoadError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})")


def _read_csv(path: Path, name: str) -> MeasurementFile:
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle)
    # The row being read: a quoted field may run over many lines, and a row is told by its
    # place among the file's rows (as the rows read are), not by the line the reader is on.
    reading = 1

    def bad(exc: Exception) -> LoadError:
        handle.close()
        if isinstance(exc, UnicodeDecodeError):
            return _not_utf8(name, exc)
        reason = f"not CSV: {exc}"
        if "field larger than field limit" in str(exc):
            reason = (
                "a field that starts on this row is longer than "
                f"{_size(csv.field_size_limit())} (is a quote left open?)"
            )
        return LoadError(
            f"{name}: row {reading} cannot be read as CSV; nothing was loaded",
            [Problem(name, reading, reason, is_row=True)],
        )

    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise bad(exc) from None
    if header is None:
        handle.close()
        raise LoadError(f"{name}: the file is empty; expected a header row kpi,period,value")
    names = [h.strip().lower() for h in header]

    def rows() -> Iterator[RawRow]:
        nonlocal reading
        with handle:
            try:
                reading = 2
                for cells in reader:
                    number = reading
                    reading += 1
                    if not any(c.strip() for c in cells):
                        continue
                    yield RawRow(number, dict(zip(names, cells, strict=False)))
            except (UnicodeDecodeError, csv.Error) as exc:
                raise bad(exc) from None

    return MeasurementFile(name, name, names, rows())


@dataclass(frozen=True)
class XlsxParts:
    """What the scan of a workbook's parts found."""

    formulas: bool  # some worksheet has a formula cell


_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_XML_PART = (".xml", ".rels", ".vml")


def check_xlsx(path: Path, name: str, limits: ReadLimits | None = None) -> XlsxParts:
    """LoadError unless the file is a zip holding a workbook, with no DTD in any XML part and
    no more than `limits.file_bytes` of XML once unpacked (counted while unpacking: a zip's
    own sizes can lie)."""
    limits = limits or LIMITS

    def refuse(reason: str) -> LoadError:
        return LoadError(f"{name}: not a readable Excel workbook: {reason}; nothing was loaded")

    if not zipfile.is_zipfile(path):
        raise refuse(
            "an .xlsx file is a zip archive and this one is not (a password-protected or old "
            ".xls workbook is not either): save it from Excel as an .xlsx workbook"
        )
    formulas = False
    unpacked = 0
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or not any(
                part.startswith("xl/workbook") for part in names
            ):
                raise refuse("the zip archive holds no workbook")
            for info in archive.infolist():
                if info.is_dir() or not info.filename.lower().endswith(_XML_PART):
                    continue
                sheet = info.filename.startswith("xl/worksheets/")
                tail = b""
                with archive.open(info) as part:
                    first = True
                    while chunk := part.read(1 << 20):
                        if first and (
                            chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in chunk[:4]
                        ):
                            raise refuse(f"part {info.filename} is not UTF-8 XML")
                        first = False
                        unpacked += len(chunk)
                        if unpacked > limits.file_bytes:
                            raise refuse(f"its XML unpacks to more than {_size(limits.file_bytes)}")
                        window = tail + chunk
                        if _DTD.search(window):
                            raise refuse(
                                f"part {info.filename} declares a DTD or entities, which Excel "
                                "never writes (and which can make a small file expand without end)"
                            )
                        if sheet and not formulas and _FORMULA.search(window):
                            formulas = True
                        tail = window[-16:]
    except LoadError:
        raise
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError, EOFError):
        raise refuse("the zip archive is damaged or encrypted") from None
    return XlsxParts(formulas)


def _is_header(names: list[str]) -> bool:
    found = set(names)
    return {"kpi", "period"} <= found and bool(found & {"value", "numerator"})


def _cell_name(cell: Any) -> str:
    return "" if cell is None else str(cell).strip().lower()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_xlsx(path: Path, name: str, sheet: str | None, *, formulas: bool) -> MeasurementFile:
    from openpyxl import load_workbook  # imported here: only Excel loads pay for it

    def unreadable(exc: Exception) -> LoadError:
        # openpyxl's own messages may name the file's path on this machine: give its kind only.
        return LoadError(
            f"{name}: not a readable Excel workbook ({type(exc).__name__}); nothing was loaded"
        )

    books = []
    try:
        book = load_workbook(path, read_only=True, data_only=True)
        books.append(book)
        if sheet is not None and sheet not in book.sheetnames:
            raise LoadError(
                f"{name}: no sheet '{sheet}' (its sheets: "
                f"{', '.join(repr(each) for each in book.sheetnames)})"
            )
        title = sheet or ("measurements" if "measurements" in book.sheetnames else None)
        data = book[title] if title else book.worksheets[0]
        title = data.title
        cells: Iterator[tuple[Any, ...]] = iter(data.iter_rows())
        shown: Iterator[tuple[Any, ...] | None]
        if formulas:  # the same sheet with its formulas, row for row beside the values
            formula_book = load_workbook(path, read_only=True, data_only=False)
            books.append(formula_book)
            shown = iter(formula_book[title].iter_rows())
        else:
            shown = iter(lambda: None, 0)  # never ends: no formulas to show
        label = f"{name}, sheet '{title}'"
        rows = ((number, _values(row, next(shown))) for number, row in enumerate(cells, start=1))
        header: list[str] | None = None
        first: tuple[int, list[str]] | None = None
        searched: list[tuple[int, list[Any]]] = []  # read while looking for the header
        for number, values in rows:
            searched.append((number, values))
            names = [_cell_name(v) for v in values]
            if first is None and any(names):
                first = (number, names)
            if _is_header(names):
                header, header_row = names, number
                break
            if number >= LIMITS.header_rows:
                break
    except LoadError:
        for each in books:
            each.close()
        raise
    except Exception as exc:  # a damaged part: openpyxl raises whatever its parser met
        for each in books:
            each.close()
        raise unreadable(exc) from None
    if header is None:
        if first is None:
            for each in books:
                each.close()
            raise LoadError(
                f"{label}: no header row (kpi, period, value) in its first "
                f"{LIMITS.header_rows} rows"
            )
        header_row, header = first  # check_header says what it lacks
    columns = header

    def data_rows() -> Iterator[RawRow]:
        try:
            for number, values in itertools.chain(searched, rows):
                if number <= header_row or all(_blank(v) for v in values):
                    continue
                yield RawRow(number, dict(zip(columns, values, strict=False)))
        except LoadError:
            raise
        except Exception as exc:
            raise unreadable(exc) from None
        finally:
            for each in books:
                each.close()

    return MeasurementFile(name, label, header, data_rows(), sheet=title, header_row=header_row)


def _values(row: tuple[Any, ...], shown: tuple[Any, ...] | None) -> list[Any]:
    """A sheet row's values, with the cells the checks treat specially marked."""
    values: list[Any] = []
    for index, cell in enumerate(row):
        value = getattr(cell, "value", None)
        kind = getattr(cell, "data_type", None)
        if value is None and shown is not None and index < len(shown):
            formula = getattr(shown[index], "value", None)
            if isinstance(formula, str) and formula.startswith("="):
                value = UnsavedFormula(formula)
        elif kind == "e":
            value = ExcelError(str(value))
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and "%" in (getattr(cell, "number_format", None) or "")
        ):
            value = PercentCell(value)
        values.append(value)
    return values
