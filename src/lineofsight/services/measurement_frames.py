"""Check a measurements CSV as one Polars frame: millions of rows, no Python loop.

The row-by-row reader and `RowChecker` in `measurements.py` define what a load accepts and
every message it gives. This module gives the same result faster:

- `measurement_files.read_csv_frame` reads only plain CSV (and declines the rest, which then
  goes row by row);
- `check_frame` passes a row only when every check clearly holds, computed over whole
  columns; every other row goes through `RowChecker` itself, which either accepts it after
  all or says exactly why not. Duplicates are found among the rows that pass, as row by row.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from lineofsight.domain.limits import MAX_MAGNITUDE
from lineofsight.domain.periods import PeriodError, parse_period
from lineofsight.errors import Problem
from lineofsight.services.load_rules import LoadRules
from lineofsight.services.measurement_files import CsvTable, RawRow
from lineofsight.services.measurements import (
    COLUMNS,
    BadRows,
    RowChecker,
    _RowError,
)
from lineofsight.store.measurements import KEY, MEASUREMENT_FRAME, MeasurementRow, frame_of_rows

# Numbers both Python's float() and Polars read, to the same value: plain decimals.
_DECIMAL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NUMBERS = ("value", "numerator", "denominator")


def check_frame(
    rules: LoadRules,
    file: str,
    table: CsvTable,
    *,
    keep_row: bool = False,
    report: BadRows | None = None,
) -> pl.DataFrame:
    """The checked measurements (MEASUREMENT_FRAME, and with `keep_row` each row's number,
    `row`); LoadError lists every bad row (`report`: added to it instead, see `check_rows`)."""
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
        marked = good.with_columns(first=first)
        repeats = marked.filter(pl.col("row") != pl.col("first"))
        # A repeat is said once, here: the rows handed on (to the overlap check, when the
        # report is shared) are the first of each key only.
        good = marked.filter(pl.col("row") == pl.col("first")).drop("first")
        for number, kpi, unit, period, first_row in repeats.select(
            "row", *KEY, "first"
        ).iter_rows():
            problems.append((number, f"repeats row {first_row} ({kpi}, {unit}, {period})"))
    bad = report or BadRows(file)
    for number, message in sorted(problems):
        bad.add(number, message)
    if report is None:
        bad.raise_if_any()
    good = good.sort("row") if len(passed) > 1 else good
    return good.with_columns(pl.col("row").cast(pl.Int64)) if keep_row else good.drop("row")


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
    # a denominator `denominator_problem` takes, values within the KPI's bounds and, on a side
    # without a bound, within the limit.
    small = {name: number[name].abs() <= MAX_MAGNITUDE for name in ("numerator", "denominator")}
    counts = (denominator > 0) | ((denominator == 0) & (numerator == 0))
    numbers_ok = (
        pl.when(ratio)
        .then(blank["value"] & small["numerator"] & small["denominator"] & counts)
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


def refuse_file_overlaps(
    file: str, checked: pl.DataFrame, *, report: BadRows | None = None
) -> None:
    """LoadError for rows of one KPI and unit whose periods share days (`checked` has `row`;
    `report`: added to it instead, see `check_rows`).

    A day and its month, a week and the month it runs into, a fiscal and a calendar quarter:
    both would count in the month's value (a sum counted twice). Periods of one grain, all
    calendar or all fiscal, never share days, so only the KPIs and units with values at more
    than one kind of period are looked at, found by a hash of their key first.
    """
    found_any = list(overlaps_within(checked))
    if not found_any:
        return
    bad = report or BadRows(file)
    found: list[tuple[int, str]] = []
    for row, period, other_row, other in found_any:
        found.append(
            (
                row,
                f"column period: {period} shares days with {other} in row {other_row} "
                "(the same KPI and unit): values for both would be counted twice; give one "
                "or the other",
            )
        )
    for number, message in sorted(found):
        bad.add(number, message)
    if report is None:
        bad.raise_if_any()


def overlaps_within(checked: pl.DataFrame) -> Iterator[tuple[int, str, int, str]]:
    """(row, period, earlier row, its period) for each of the checked rows (with `row`) that
    shares days with an earlier period of its KPI and unit (in order of the periods' first
    days); only the KPIs and units with values at more than one kind of period are looked at
    (see `refuse_file_overlaps`)."""
    kind = pl.col("grain") * 2 + pl.col("period").str.starts_with("FY").cast(pl.Int64)
    if checked.is_empty() or checked.select(kind.n_unique()).item() == 1:
        return iter(())
    key = pl.struct("kpi_id", "unit_id").hash()
    kinds = checked.select(key.alias("key"), kind.alias("kind"))
    mixed = kinds.group_by("key").agg(pl.col("kind").n_unique().alias("n")).filter(pl.col("n") > 1)
    if mixed.is_empty():
        return iter(())
    return _overlaps_within(checked.filter(key.is_in(mixed.get_column("key").implode())))


def _overlaps_within(rows: pl.DataFrame) -> Iterator[tuple[int, str, int, str]]:
    """`overlaps_within` of the rows of mixed kinds of period."""
    ordered = rows.sort("kpi_id", "unit_id", "period_start", "period_end").select(
        "kpi_id", "unit_id", "period", "period_start", "period_end", "row"
    )
    key: tuple[str, str] | None = None
    widest: tuple[object, str, int] | None = None  # the latest end so far: (end, period, row)
    for kpi, unit, period, start, end, row in ordered.iter_rows():
        if (kpi, unit) != key:
            key, widest = (kpi, unit), None
        if widest is not None and start <= widest[0]:
            yield row, period, widest[2], widest[1]
        if widest is None or end > widest[0]:
            widest = (end, period, row)


def refuse_stored_overlaps(
    file: str, overlaps: pl.DataFrame, *, report: BadRows | None = None
) -> None:
    """LoadError naming each row whose period shares days with a stored period of another
    grain or calendar (see `store.measurement_writes.Comparison`; `report`: added to it
    instead, with the file's other bad rows)."""
    if overlaps.is_empty():
        return
    given = report
    report = report if report is not None else BadRows(file)
    for kpi, unit, period, row, stored in overlaps.iter_rows():
        report.add(
            row,
            f"column period: {period} shares days with {stored}, already stored for "
            f"({kpi}, {unit}): values for both would be counted twice; give this KPI and unit "
            "values for one kind of period only",
        )
    if given is None:
        report.raise_if_any()


def overlap_problem(overlaps: pl.DataFrame) -> Problem:
    """The first stored overlap as a problem of a check-in's `period` field."""
    kpi, unit, period, _row, stored = overlaps.row(0)
    return Problem(
        "period",
        0,
        f"{period} shares days with {stored}, already stored for ({kpi}, {unit}): values for "
        "both would be counted twice",
    )
