"""Check a query source's rows as whole columns: a thousand KPIs' rows at once, no Python
loop per row.

The rows of every KPI are put into one frame of text cells, as a CSV's would be, with the
KPI's id in the `kpi` column, and go through the loader's bulk checker
(`measurement_frames.check_frame`), which gives the row-by-row checker's result. A period
given as a date or a timestamp is the KPI's period that holds it (as the row-by-row checker
has it), written as that period's label. Only the good case is taken from here: when any row
is bad, or a column is of a kind this module does not turn into text exactly, the caller
checks the rows KPI by KPI, whose messages name each KPI and its own row numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import polars as pl

from lineofsight.domain import model as m
from lineofsight.domain.periods import PeriodError
from lineofsight.engine.calendar import period_for
from lineofsight.errors import LoadError
from lineofsight.services.load_rules import LoadRules
from lineofsight.services.measurement_files import CsvTable
from lineofsight.services.measurement_frames import check_frame, refuse_file_overlaps
from lineofsight.services.measurements import COLUMNS
from lineofsight.store.measurements import MEASUREMENT_FRAME

_NUMBERS = ("value", "numerator", "denominator")
_TEXTS = ("unit", "note")
_ALLOWED = frozenset(COLUMNS) - {"kpi"}


def checked_frames(
    rules: LoadRules,
    raw: Mapping[str, pl.DataFrame],
    tagged: Sequence[pl.DataFrame] = (),
) -> pl.DataFrame | None:
    """Every KPI's rows (`raw`, by KPI id; `tagged`: frames of many KPIs' rows, their `kpi`
    column the KPI's id) checked (MEASUREMENT_FRAME), or None when they are not all plainly
    good (see the module's docstring)."""
    groups: dict[tuple[tuple[str, pl.DataType], ...], list[pl.DataFrame]] = {}
    for kpi_id, frame in raw.items():
        if not _columns_plain(frame) or kpi_id not in rules.kpis:
            return None
        if frame.is_empty():
            continue
        frame = frame.with_columns(kpi=pl.lit(kpi_id, pl.String))
        groups.setdefault(tuple(frame.schema.items()), []).append(frame)
    for frame in tagged:
        if not _columns_plain(frame.drop("kpi")):
            return None
        if not frame.is_empty():
            groups.setdefault(tuple(frame.schema.items()), []).append(frame)
    if not groups:
        return pl.DataFrame(schema=MEASUREMENT_FRAME)
    texts = []
    for frames in groups.values():
        text = _as_text(rules, pl.concat(frames))
        if text is None:
            return None
        texts.append(text)
    every = pl.concat(texts, how="diagonal").with_row_index("row", offset=1)
    header = [name for name in COLUMNS if name in every.columns]
    every = every.with_columns(pl.lit(None, pl.String).alias(n) for n in COLUMNS if n not in header)
    try:
        checked = check_frame(rules, "rows", CsvTable(header, every, spaced=True), keep_row=True)
        refuse_file_overlaps("rows", checked)
    except LoadError:
        return None
    return checked.select(list(MEASUREMENT_FRAME))


def _columns_plain(frame: pl.DataFrame) -> bool:
    """Whether the columns are those a query may give (the KPI's id is put in here), each of
    a kind that turns into text exactly."""
    names = set(frame.columns)
    if not names <= _ALLOWED or "period" not in names:
        return False
    if "value" not in names and not {"numerator", "denominator"} <= names:
        return False
    for name, dtype in frame.schema.items():
        if name in _NUMBERS and not (dtype.is_numeric() or dtype in (pl.String, pl.Null)):
            return False
        if name in _TEXTS and dtype not in (pl.String, pl.Null):
            return False
        if name == "period" and not (
            dtype in (pl.String, pl.Null, pl.Date) or isinstance(dtype, pl.Datetime)
        ):
            return False
    return True


def _as_text(rules: LoadRules, frame: pl.DataFrame) -> pl.DataFrame | None:
    """The cells as text (numbers written exactly, a date as its KPI's period label)."""
    columns = [pl.col(name).cast(pl.String) for name in frame.columns if name != "period"]
    period = frame.schema["period"]
    if period not in (pl.String, pl.Null):
        days = _day_labels(rules, frame)
        if days is not None:  # the KPIs share one frequency: a label per day given
            if days.width == 0:  # a day in no period of the KPIs' frequency
                return None
            columns.append(
                pl.col("period").replace_strict(
                    days["period"], days["label"], default=None, return_dtype=pl.String
                )
            )
            return frame.select(columns)
        labels = _labels(rules, frame.select("kpi", "period").unique())
        if labels is None:
            return None
        frame = frame.join(labels, on=["kpi", "period"], how="left", maintain_order="left")
        columns.append(pl.col("label").alias("period"))
    else:
        columns.append(pl.col("period").cast(pl.String))
    return frame.select(columns)


def _day_labels(rules: LoadRules, frame: pl.DataFrame) -> pl.DataFrame | None:
    """When every KPI of `frame` has one frequency (a source's KPIs mostly do), each day
    given and its period's label (period, label), worked out once per day however many
    rows share it; a frame of no columns when a day has no period; None for KPIs of
    several frequencies."""
    kpis = rules.kpis
    frequencies = {kpis[kpi_id].frequency for kpi_id in frame["kpi"].unique()}
    if len(frequencies) != 1:
        return None
    (frequency,) = frequencies
    days = frame.get_column("period").unique().drop_nulls()
    labels: list[str] = []
    for day in days:
        assert isinstance(day, dt.date)
        try:
            labels.append(period_for(day, frequency, rules.calendar).label)
        except PeriodError:
            return pl.DataFrame()
    return pl.DataFrame({"period": days, "label": pl.Series(labels, dtype=pl.String)})


def _labels(rules: LoadRules, pairs: pl.DataFrame) -> pl.DataFrame | None:
    """Each KPI's period label of each day it was given (None when one has no period):
    worked out once per frequency and day, however many KPIs share them."""
    kpis = rules.kpis
    frequencies = {kpi_id: kpis[kpi_id].frequency.value for kpi_id in pairs["kpi"].unique()}
    pairs = pairs.with_columns(
        frequency=pl.col("kpi").replace_strict(frequencies, return_dtype=pl.String)
    )
    days = pairs.select("frequency", "period").unique()
    labels: list[str | None] = []
    for frequency, day in days.iter_rows():
        if day is None:
            labels.append(None)
            continue
        assert isinstance(day, dt.date)
        try:
            labels.append(period_for(day, m.Frequency(frequency), rules.calendar).label)
        except PeriodError:
            return None
    days = days.with_columns(label=pl.Series(labels, dtype=pl.String))
    return pairs.join(days, on=["frequency", "period"], how="left", nulls_equal=True).drop(
        "frequency"
    )
