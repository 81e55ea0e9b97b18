"""Whether a new value looks like a typing slip: ten times too large or too small (1250 for
125.0, 0.9 for 90 %), or of a sign the KPI never had at that unit.

A warning, never a refusal: the value is stored as given, and the writer is told. The rule
(documented in the README) looks at the KPI's own recent history at the same unit:

- it needs at least `MIN_EARLIER` (4) earlier values, of which the last `WINDOW` (12) count;
- a value more than `FACTOR` (8) times the median size of those values, or less than an
  eighth of it, is flagged (a zero value, or a zero median, is never flagged for its size:
  zero is an ordinary count);
- a negative value of a KPI whose earlier values were never negative (and not all zero), or a
  positive one of a KPI whose values were never positive, is flagged.

Every surface that takes values (`los load`, the check-in forms, `POST /measurements`) asks
`implausible`, so they all warn alike.
"""

from __future__ import annotations

import polars as pl

from lineofsight.display import human

WINDOW = 12
MIN_EARLIER = 4
FACTOR = 8.0

SERIES = {"kpi_id": pl.String, "unit_id": pl.String, "period_end": pl.Date, "value": pl.Float64}
KEYS = ["kpi_id", "unit_id", "period_end"]
_GROUP = ["kpi_id", "unit_id"]


def implausible(series: pl.DataFrame, judged: pl.DataFrame) -> pl.DataFrame:
    """The values of `judged` (kpi_id, unit_id, period_end) that look like a slip against the
    values before them in `series` (SERIES: every value of their KPIs at their units, the
    judged ones among them): kpi_id, unit_id, period_end, value and `reason`, a sentence."""
    prior = pl.col("value").shift(1)
    rows = (
        series.select(list(SERIES))
        .filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())
        .sort(*KEYS, maintain_order=True)
        .with_columns(
            earlier=pl.int_range(pl.len()).clip(upper_bound=WINDOW).over(_GROUP),
            usual=prior.abs().rolling_median(WINDOW, min_samples=MIN_EARLIER).over(_GROUP),
            low=prior.rolling_min(WINDOW, min_samples=MIN_EARLIER).over(_GROUP),
            high=prior.rolling_max(WINDOW, min_samples=MIN_EARLIER).over(_GROUP),
        )
        .join(judged.select(KEYS).unique(), on=KEYS, how="semi")
        .filter(pl.col("earlier") >= MIN_EARLIER)
    )
    size = pl.col("value").abs()
    sized = (pl.col("value") != 0) & (pl.col("usual") > 0)
    rows = rows.filter(
        (sized & ((size > pl.col("usual") * FACTOR) | (size < pl.col("usual") / FACTOR)))
        | ((pl.col("value") < 0) & (pl.col("low") >= 0) & (pl.col("high") > 0))
        | ((pl.col("value") > 0) & (pl.col("high") <= 0) & (pl.col("low") < 0))
    )
    reasons = [
        _reason(value, usual, earlier, low, high)
        for value, usual, earlier, low, high in rows.select(
            "value", "usual", "earlier", "low", "high"
        ).iter_rows()
    ]
    return rows.select(*KEYS, "value").with_columns(reason=pl.Series(reasons, dtype=pl.String))


def _reason(value: float, usual: float, earlier: int, low: float, high: float) -> str:
    last = f"the last {earlier} values"
    if value < 0 <= low and high > 0:
        return f"{human(value)} is negative, and {last} here never were: check the sign"
    if value > 0 >= high and low < 0:
        return f"{human(value)} is positive, and {last} here never were: check the sign"
    times = abs(value) / usual
    shown = f"{human(round(times))} times" if times >= 1 else f"1/{human(round(1 / times))} of"
    return (
        f"{human(value)} is {shown} the usual size of {last} here (median {human(usual)}): "
        "check for a "
        "misplaced decimal point, a missing or extra zero, or a percentage typed as a fraction"
    )
