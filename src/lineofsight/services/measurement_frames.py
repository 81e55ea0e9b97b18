"""Read and check a measurements CSV as one Polars frame: millions of rows, no Python loop.

The row-by-row reader and `RowChecker` in `measurements.py` define what a load accepts and
every message it gives. This module gives the same result faster, or declines:

- `read_csv_frame` takes only plain CSV (no quotes, no blank lines, UTF-8, `\\n` or `\\r\\n`
  line ends) where splitting on commas is all the `csv` module would do, and returns None for
  anything else, which then goes row by row;
- `check_frame` passes a row only when every check clearly holds, computed over whole
  columns; every other row goes through `RowChecker` itself, which either accepts it after
  all or says exactly why not. Duplicates are found among the rows that pass, as row by row.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from lineofsight.domain.limits import MAX_MAGNITUDE
from lineofsight.domain.periods import PeriodError, parse_period
from lineofsight.services.measurements import (
    COLUMNS,
    LoadRules,
    RawRow,
    RowChecker,
    _BadRows,
    _RowError,
)
from lineofsight.store.measurements import KEY, MEASUREMENT_FRAME, MeasurementRow, frame_of_rows


@dataclass(frozen=True)
class CsvTable:
    """A CSV's header (as the row-by-row reader names it) and its cells as text, by row."""

    header: list[str]
    frame: pl.DataFrame  # one String column per header name, and `row`: the row's number
    spaced: bool = True  # whether any cell may have white space to strip


# Bytes that send a file row by row: quotes, a NUL, and the white space that Python's
# str.strip() removes but Polars' does not. And those that may need stripping.
_ROW_BY_ROW = frozenset(b'"\x00\x1c\x1d\x1e\x1f')
_SPACES = frozenset(b" \t\x0b\x0c")
_KEEP = bytes(sorted(_ROW_BY_ROW | _SPACES | {ord("\r")}))
_DROP = bytes(byte for byte in range(128) if byte not in _KEEP)


def read_csv_frame(path: Path) -> CsvTable | None:
    """The CSV as a frame of text cells, or None when the row-by-row reader must read it."""
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


# Numbers both Python's float() and Polars read, to the same value: plain decimals.
_DECIMAL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NUMBERS = ("value", "numerator", "denominator")


def check_frame(rules: LoadRules, file: str, table: CsvTable) -> pl.DataFrame:
    """The checked measurements (MEASUREMENT_FRAME); LoadError lists every bad row."""
    raw = table.frame
    missing = [name for name in COLUMNS if name not in raw.columns]
    raw = raw.with_columns(pl.lit(None, pl.String).alias(name) for name in missing)
    # A missing cell is empty text (null here), as the row-by-row reader's `_text` has it.
    text = raw
    if table.spaced:
        # Only the columns that have white space to strip are copied (a note with spaces in
        # it makes the whole file `spaced`), one at a time.
        stripped = {}
        for name in COLUMNS:
            column = raw.get_column(name)
            trimmed = column.str.strip_chars()
            if not trimmed.equals(column):
                stripped[name] = trimmed
        if stripped:
            text = raw.with_columns(**stripped)
    blank_row = text.select(pl.all_horizontal(_blank(name) for name in table.header)).to_series()
    if blank_row.any():
        text = text.filter(~blank_row)
    checked = _checked(rules, text)
    clear = checked.get_column("clear")
    passed = [(checked if clear.all() else checked.filter(clear)).select(*MEASUREMENT_FRAME, "row")]
    problems: list[tuple[int, str]] = []
    unclear = checked.filter(~clear).select("row")
    if not unclear.is_empty():
        checker = RowChecker(rules, file)
        rows: list[tuple[int, MeasurementRow]] = []
        for record in raw.join(unclear, on="row", how="semi").sort("row").iter_rows(named=True):
            number = record.pop("row")
            try:
                rows.append((number, checker.check(RawRow(number, record))))
            except _RowError as exc:
                problems.append((number, f"column {exc.column}: {exc.reason}"))
        if rows:
            numbers = pl.Series("row", [number for number, _ in rows], pl.UInt32)
            passed.append(frame_of_rows([row for _, row in rows]).with_columns(numbers))
    good = pl.concat(passed) if len(passed) > 1 else passed[0]
    # A hash of the key first: equal hashes (rare) call for the exact comparison.
    if good.select(pl.struct(KEY).hash().is_duplicated().any()).item() and (
        good.select(KEY).is_duplicated().any()
    ):
        good = good.sort("row")
        first = good.select(pl.col("row").min().over(KEY)).to_series()
        repeats = good.with_columns(first=first).filter(pl.col("row") != pl.col("first"))
        for number, kpi, unit, period, first_row in repeats.select(
            "row", *KEY, "first"
        ).iter_rows():
            problems.append((number, f"repeats row {first_row} ({kpi}, {unit}, {period})"))
    report = _BadRows(file)
    for number, message in sorted(problems):
        report.add(number, message)
    report.raise_if_any()
    return good.sort("row").drop("row") if len(passed) > 1 else good.drop("row")


def _checked(rules: LoadRules, text: pl.DataFrame) -> pl.DataFrame:
    """Every row with `clear` (it passes every check beyond doubt) and its values."""
    kpis = rules.frame
    periods = _periods(rules, text.get_column("period").unique().to_list())
    # Joined on one column each and put beside the cells: the text columns are not copied.
    beside = [
        text.select("kpi").join(kpis, on="kpi", how="left", maintain_order="left").drop("kpi"),
        text.select("period")
        .join(periods, on="period", how="left", maintain_order="left")
        .drop("period"),
    ]
    # Each derived column once, by name: an expression used twice would be worked out twice.
    frame = pl.concat([text, *beside], how="horizontal").with_columns(
        *(
            pl.when(pl.col(name).str.contains(_DECIMAL))
            .then(pl.col(name).cast(pl.Float64, strict=False))
            .alias(f"{name}_number")
            for name in _NUMBERS
        ),
        pl.when(_blank("unit")).then(pl.col("kpi_unit")).otherwise("unit").alias("unit_id"),
        pl.col("scale").is_not_null().alias("ratio"),
    )
    number = {name: pl.col(f"{name}_number") for name in _NUMBERS}
    finite_value = number["value"].is_finite().fill_null(False)
    blank = {name: _blank(name) for name in _NUMBERS}
    ratio = pl.col("ratio")
    numerator, denominator = number["numerator"], number["denominator"]
    frame = frame.with_columns(
        pl.when(ratio)
        .then(pl.when(denominator != 0).then(pl.col("scale") * numerator / denominator))
        .otherwise(number["value"])
        .alias("checked_value")
    )
    value = pl.col("checked_value")
    # `domain.limits`, column-wise: numerators and denominators within the magnitude limit,
    # values within the KPI's bounds and, on a side without a bound, within the limit.
    small = {name: number[name].abs() <= MAX_MAGNITUDE for name in ("numerator", "denominator")}
    numbers_ok = (
        pl.when(ratio)
        .then(blank["value"] & small["numerator"] & small["denominator"] & (denominator >= 0))
        .otherwise(blank["numerator"] & blank["denominator"] & finite_value)
    )
    in_bounds = value.is_null() | (
        (value >= pl.col("low").fill_null(-MAX_MAGNITUDE))
        & (value <= pl.col("high").fill_null(MAX_MAGNITUDE))
    )
    unit = pl.col("unit_id")
    clear = (
        pl.col("measured").fill_null(False)
        & unit.is_in(sorted(rules.units))
        & (pl.col("period_grain") <= pl.col("kpi_grain")).fill_null(False)
        & numbers_ok.fill_null(False)
        & in_bounds.fill_null(False)
    )
    if rules.last_day is not None:
        clear = clear & (pl.col("period_end") <= rules.last_day).fill_null(False)
    return frame.select(
        "row",
        clear.alias("clear"),
        pl.col("kpi").alias("kpi_id"),
        unit.alias("unit_id"),
        pl.col("label").alias("period"),
        pl.col("period_grain").alias("grain"),
        "period_start",
        "period_end",
        pl.when(ratio).then(None).otherwise(number["value"]).alias("value"),
        pl.when(ratio).then(numerator).alias("numerator"),
        pl.when(ratio).then(denominator).alias("denominator"),
        pl.when(_blank("note")).then(None).otherwise("note").alias("note"),
    )


def _blank(name: str) -> pl.Expr:
    return pl.col(name).is_null() | (pl.col(name) == "")


def _periods(rules: LoadRules, texts: list[str | None]) -> pl.DataFrame:
    """Each distinct period text that is a valid period, read once."""
    found = []
    for text in texts:
        if not text:
            continue
        try:
            period = parse_period(text, rules.calendar)
        except PeriodError:
            continue  # the row goes through RowChecker, which says why
        found.append((text, period.label, int(period.grain), period.start, period.end))
    return pl.DataFrame(
        found,
        schema={
            "period": pl.String,
            "label": pl.String,
            "period_grain": pl.Int64,
            "period_start": pl.Date,
            "period_end": pl.Date,
        },
        orient="row",
    )
