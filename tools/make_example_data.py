"""(Re)write the measurements of the worked examples that `los init --example NAME` installs.

Run from the repository root:

    .venv/bin/python tools/make_example_data.py [EXAMPLE ...]

Each example's `data/measurements.csv` under src/lineofsight/examples/ is written from the
series definitions below: a trend through anchor points, a seasonal swing, autocorrelated noise
from a fixed seed, rounding, and the KPI's bounds. Anchors are the values observed at their
periods (before most of the noise: see PIN), so a baseline or a latest value in strategy.yaml
can be read straight off the definition. Ratio KPIs get numerators and denominators, cascading
KPIs get rows for child units and their parent (sum or mean of the children), formula KPIs get
no rows. Standard library only, and deterministic: running it twice writes the same bytes.
Change a definition here, run the tool, commit both.

The series are written to tell a story that matches each strategy.yaml (baselines, targets,
planted problems); keep the two in step when editing either.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "src" / "lineofsight" / "examples"
SEED = 20261031
PIN = 0.2  # share of the noise kept at anchor periods
HEADER = ("kpi", "period", "value", "unit", "numerator", "denominator", "note")

# Every example covers the same window: October 2024 to October 2026.
WINDOW_START = dt.date(2024, 10, 1)
WINDOW_END = dt.date(2026, 10, 31)

# ----------------------------------------------------------------------------------------------
# Periods
# ----------------------------------------------------------------------------------------------


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def period_bounds(label: str, fiscal_year_start: int = 1) -> tuple[dt.date, dt.date]:
    """First and last day of a period label: 2026-07, 2026-Q3, FY2027-Q1 or 2026-W05."""
    if label.startswith("FY"):
        fy, q = label[2:].split("-Q")
        # Fiscal years are named by the calendar year in which they end.
        year = int(fy) - (1 if fiscal_year_start > 1 else 0)
        y, m = _add_months(year, fiscal_year_start, 3 * (int(q) - 1))
        ey, em = _add_months(y, m, 2)
        return dt.date(y, m, 1), _month_end(ey, em)
    if "-W" in label:
        y, w = label.split("-W")
        monday = dt.date.fromisocalendar(int(y), int(w), 1)
        return monday, monday + dt.timedelta(days=6)
    if "-Q" in label:
        y, q = label.split("-Q")
        m = 3 * (int(q) - 1) + 1
        return dt.date(int(y), m, 1), _month_end(int(y), m + 2)
    y, m = label.split("-")
    return dt.date(int(y), int(m), 1), _month_end(int(y), int(m))


def periods(freq: str, fiscal_year_start: int = 1) -> list[str]:
    """The labels of every period of a frequency inside the window, oldest first."""
    out: list[str] = []
    if freq == "M":
        y, m = WINDOW_START.year, WINDOW_START.month
        while _month_end(y, m) <= WINDOW_END:
            out.append(f"{y:04d}-{m:02d}")
            y, m = _add_months(y, m, 1)
    elif freq == "Q":
        y, m = WINDOW_START.year, WINDOW_START.month
        while True:
            ey, em = _add_months(y, m, 2)
            if _month_end(ey, em) > WINDOW_END:
                break
            if (m - fiscal_year_start) % 3 == 0:
                if fiscal_year_start == 1:
                    out.append(f"{y:04d}-Q{(m - 1) // 3 + 1}")
                else:
                    offset = (m - fiscal_year_start) % 12
                    fy = y + (1 if m >= fiscal_year_start else 0)
                    out.append(f"FY{fy:04d}-Q{offset // 3 + 1}")
                y, m = _add_months(y, m, 3)
            else:
                y, m = _add_months(y, m, 1)
    elif freq == "W":
        monday = WINDOW_START - dt.timedelta(days=WINDOW_START.weekday())
        while monday + dt.timedelta(days=6) <= WINDOW_END:
            iso = monday.isocalendar()
            out.append(f"{iso.year:04d}-W{iso.week:02d}")
            monday += dt.timedelta(days=7)
    else:
        raise ValueError(f"unknown frequency {freq!r}")
    return out


# ----------------------------------------------------------------------------------------------
# Seasonality: a factor in [-1, 1] per calendar month, scaled by each series' `amp`.
# ----------------------------------------------------------------------------------------------

SEASONS: dict[str, dict[int, float]] = {
    # Deals close at quarter end and in December, slow in January and August.
    "quarter_end": {1: -0.6, 3: 0.3, 6: 0.3, 8: -0.5, 9: 0.3, 12: 1.0},
    # Holidays in Europe and North America.
    "summer_dip": {7: -0.4, 8: -1.0},
    # Support load after the holidays and after the spring price change.
    "january_peak": {1: 1.0, 2: 0.5, 4: 0.3, 8: -0.3},
    # Code freeze over the holidays.
    "december_freeze": {1: -0.2, 8: -0.4, 12: -1.0},
    # Hospital winter pressure: flu, norovirus, cold-weather admissions.
    "winter": {1: 1.0, 2: 0.7, 3: 0.3, 7: -0.3, 8: -0.4, 11: 0.3, 12: 0.8},
    # Plant shutdowns: two weeks in August, one at Christmas.
    "shutdown": {4: 0.2, 8: -1.0, 12: -0.5},
    # Fiscal year ending in March: a push in March, a lull in April.
    "fiscal_year_end": {3: 1.0, 4: -0.5, 9: 0.3},
    # Inventory built ahead of the summer shutdown.
    "pre_shutdown_build": {6: 0.6, 7: 1.0, 8: 0.4, 9: -0.3},
}


def season_factor(season: str | None, label: str, fiscal_year_start: int) -> float:
    if season is None:
        return 0.0
    profile = SEASONS[season]
    start, end = period_bounds(label, fiscal_year_start)
    if "-W" in label:
        # Christmas and New Year weeks are the quietest of the year, then US Thanksgiving.
        if start <= dt.date(start.year, 12, 25) <= end or start <= dt.date(end.year, 1, 1) <= end:
            return -1.5
        november_first = dt.date(start.year, 11, 1)
        thanksgiving = november_first + dt.timedelta(days=(3 - november_first.weekday()) % 7 + 21)
        if start <= thanksgiving <= end:
            return -1.0
        return profile.get((start + dt.timedelta(days=3)).month, 0.0)
    months = []
    y, m = start.year, start.month
    while dt.date(y, m, 1) <= end:
        months.append(m)
        y, m = _add_months(y, m, 1)
    return sum(profile.get(mo, 0.0) for mo in months) / len(months)


# ----------------------------------------------------------------------------------------------
# Series definitions
# ----------------------------------------------------------------------------------------------

Path_ = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Series:
    """One KPI measured at one unit: a trend through anchor points, plus season and noise."""

    kpi: str
    unit: str
    freq: str  # "M" monthly, "Q" quarterly (fiscal labels when the year starts later), "W" weekly
    path: Path_  # (period, value) anchors; straight lines between them, flat outside
    noise: float = 0.0  # standard deviation of the autocorrelated noise
    decimals: int = 1
    season: str | None = None
    amp: float = 0.0  # seasonal swing, in the KPI's own unit
    lo: float | None = None
    hi: float | None = None
    until: str | None = None  # last period measured, for a KPI whose data stopped
    step: float | None = None  # values come in steps (e.g. 2.5% = one supplier in 40)


@dataclass(frozen=True)
class Rollup:
    """A KPI recorded for child units and for their parent, as the sum or mean of the children."""

    kpi: str
    unit: str
    how: str  # "sum" | "mean"
    children: tuple[Series, ...]
    decimals: int = 1


@dataclass(frozen=True)
class Ratio:
    """A ratio KPI at one unit: a volume (denominator) and a rate; the numerator follows."""

    kpi: str
    unit: str
    freq: str
    rate: Path_  # in the KPI's scale (e.g. percent)
    volume: Path_  # denominator per period
    scale: float = 100.0
    rate_noise: float = 0.0
    volume_noise: float = 0.02  # relative
    season: str | None = None  # applies to the volume
    amp: float = 0.0  # relative swing of the volume
    rate_season: str | None = None
    rate_amp: float = 0.0


@dataclass(frozen=True)
class RatioRollup:
    """A ratio KPI recorded for child units and their parent, numerators and denominators summed."""

    kpi: str
    unit: str
    children: tuple[Ratio, ...]


@dataclass(frozen=True)
class Inverse:
    """A KPI that is `numerator / source` (e.g. inventory turns = 365 / days of inventory)."""

    kpi: str
    unit: str
    source: str  # the KPI whose values are inverted
    source_unit: str
    numerator: float
    noise: float = 0.0
    decimals: int = 2


Definition = Series | Rollup | Ratio | RatioRollup | Inverse


@dataclass(frozen=True)
class Example:
    name: str
    fiscal_year_start: int
    series: tuple[Definition, ...]
    # (kpi, period) or (kpi, period, unit) -> note; without a unit, the KPI's first unit
    notes: dict[tuple[str, ...], str] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    kpi: str
    period: str
    unit: str
    value: str = ""
    numerator: str = ""
    denominator: str = ""
    note: str = ""


def _rng(example: str, *key: str) -> random.Random:
    return random.Random(SEED ^ zlib.crc32("/".join((example, *key)).encode()))


def _observed(path: Path_, season: str | None, amp: float, fys: int) -> Path_:
    """Anchors are the values observed at their periods: take the seasonal swing out of them."""
    return tuple((p, v - amp * season_factor(season, p, fys)) for p, v in path)


def _trend(path: Path_, label: str, fys: int) -> float:
    x = period_bounds(label, fys)[1].toordinal()
    points = sorted((period_bounds(p, fys)[1].toordinal(), v) for p, v in path)
    if x <= points[0][0]:
        return points[0][1]
    for (x0, v0), (x1, v1) in itertools.pairwise(points):
        if x <= x1:
            return v0 + (v1 - v0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def _noise(rng: random.Random, sd: float, n: int) -> list[float]:
    out, e = [], 0.0
    for _ in range(n):
        e = 0.45 * e + rng.gauss(0.0, sd)
        out.append(e)
    return out


def _fmt(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text  # no "-0.0"


def _clamp(value: float, lo: float | None, hi: float | None) -> float:
    if lo is not None:
        value = max(lo, value)
    if hi is not None:
        value = min(hi, value)
    return value


def _labels(freq: str, fys: int, until: str | None) -> list[str]:
    labels = periods(freq, fys)
    if until is not None:
        labels = labels[: labels.index(until) + 1]
    return labels


def gen_series(ex: Example, s: Series) -> dict[str, float]:
    fys = ex.fiscal_year_start
    labels = _labels(s.freq, fys, s.until)
    noise = _noise(_rng(ex.name, s.kpi, s.unit), s.noise, len(labels))
    anchors = {p for p, _ in s.path}
    path = _observed(s.path, s.season, s.amp, fys)
    out: dict[str, float] = {}
    for label, e in zip(labels, noise, strict=True):
        # Anchors are pinned (little noise): baselines and latest values stay as designed.
        e = e * PIN if label in anchors else e
        v = _trend(path, label, fys) + s.amp * season_factor(s.season, label, fys) + e
        if s.step:
            v = round(v / s.step) * s.step
        out[label] = round(_clamp(v, s.lo, s.hi), s.decimals)
    return out


def gen_ratio(ex: Example, r: Ratio) -> dict[str, tuple[int, int]]:
    fys = ex.fiscal_year_start
    labels = _labels(r.freq, fys, None)
    rng = _rng(ex.name, r.kpi, r.unit)
    rate_noise = _noise(rng, r.rate_noise, len(labels))
    anchors = {p for p, _ in r.rate}
    rate_path = _observed(r.rate, r.rate_season, r.rate_amp, fys)
    out: dict[str, tuple[int, int]] = {}
    for label, e in zip(labels, rate_noise, strict=True):
        e = e * PIN if label in anchors else e
        vol = _trend(r.volume, label, fys) * (1 + r.amp * season_factor(r.season, label, fys))
        den = max(1, round(vol * (1 + rng.gauss(0.0, r.volume_noise))))
        rate = _trend(rate_path, label, fys) + r.rate_amp * season_factor(r.rate_season, label, fys)
        rate = _clamp(rate + e, 0.0, r.scale)
        num = min(den, max(0, round(den * rate / r.scale)))
        out[label] = (num, den)
    return out


def generate(ex: Example) -> list[Row]:
    rows: list[Row] = []
    values: dict[tuple[str, str], dict[str, float]] = {}  # (kpi, unit) -> period -> value

    def add_values(kpi: str, unit: str, series: dict[str, float], decimals: int) -> None:
        values[(kpi, unit)] = series
        rows.extend(Row(kpi, p, unit, value=_fmt(v, decimals)) for p, v in series.items())

    def add_ratio(kpi: str, unit: str, series: dict[str, tuple[int, int]]) -> None:
        rows.extend(
            Row(kpi, p, unit, numerator=str(n), denominator=str(d)) for p, (n, d) in series.items()
        )

    for d in ex.series:
        if isinstance(d, Series):
            add_values(d.kpi, d.unit, gen_series(ex, d), d.decimals)
        elif isinstance(d, Rollup):
            children = [(c, gen_series(ex, c)) for c in d.children]
            parent: dict[str, float] = {}
            for label in children[0][1]:
                parts = [series[label] for _, series in children]
                total = sum(parts) if d.how == "sum" else sum(parts) / len(parts)
                parent[label] = round(total, d.decimals)
            add_values(d.kpi, d.unit, parent, d.decimals)
            for c, series in children:
                add_values(c.kpi, c.unit, series, c.decimals)
        elif isinstance(d, Ratio):
            add_ratio(d.kpi, d.unit, gen_ratio(ex, d))
        elif isinstance(d, RatioRollup):
            kids = [(c, gen_ratio(ex, c)) for c in d.children]
            total = {
                p: (sum(s[p][0] for _, s in kids), sum(s[p][1] for _, s in kids))
                for p in kids[0][1]
            }
            add_ratio(d.kpi, d.unit, total)
            for c, series in kids:
                add_ratio(c.kpi, c.unit, series)
        else:
            source = values[(d.source, d.source_unit)]
            rng = _rng(ex.name, d.kpi, d.unit)
            noise = _noise(rng, d.noise, len(source))
            inv = {
                p: round(d.numerator / v + e, d.decimals)
                for (p, v), e in zip(source.items(), noise, strict=True)
            }
            add_values(d.kpi, d.unit, inv, d.decimals)

    first_unit: dict[str, str] = {}
    for r in rows:
        first_unit.setdefault(r.kpi, r.unit)
    index = {(r.kpi, r.period, r.unit): r for r in rows}
    for key, note in ex.notes.items():
        kpi, period = key[0], key[1]
        unit = key[2] if len(key) > 2 else first_unit[kpi]
        if (kpi, period, unit) not in index:
            raise KeyError(f"{ex.name}: note for a row that is not generated: {key}")
        index[(kpi, period, unit)].note = note
    return rows


def write_csv(path: Path, rows: Iterable[Row]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for r in rows:
            writer.writerow((r.kpi, r.period, r.value, r.unit, r.numerator, r.denominator, r.note))
            n += 1
    return n


# ----------------------------------------------------------------------------------------------
# The examples
# ----------------------------------------------------------------------------------------------

# fmt: off
PCT = {"lo": 0.0, "hi": 100.0}
POS = {"lo": 0.0}


def M(*anchors: tuple[str, float]) -> Path_:
    return tuple(anchors)


TECHINNOVATE = Example(
    name="techinnovate",
    fiscal_year_start=1,
    series=(
        # --- strategic ---
        Series("market_share_pct", "techinnovate", "Q",
               M(("2024-Q4", 11.3), ("2025-Q4", 12.0), ("2026-Q3", 13.9)),
               noise=0.08, decimals=1, **PCT),
        Series("arr_musd", "techinnovate", "M",
               M(("2024-10", 41.0), ("2025-12", 48.0), ("2026-10", 58.6)),
               noise=0.15, decimals=1, **POS),
        Series("nps", "techinnovate", "Q",
               M(("2024-Q4", 29), ("2025-Q4", 32), ("2026-Q1", 32.5), ("2026-Q3", 35.5)),
               noise=0.6, decimals=0, lo=-100, hi=100),
        Series("time_to_market_days", "techinnovate", "M",
               M(("2024-10", 131), ("2025-12", 120), ("2026-10", 108)),
               noise=3.0, decimals=0, **POS),
        # --- Product & Engineering ---
        Series("rd_spend_pct_revenue", "product_eng", "Q",
               M(("2024-Q4", 23.6), ("2025-Q4", 22.4), ("2026-Q3", 21.1)),
               noise=0.25, decimals=1, **PCT),
        Rollup("release_frequency", "rnd", "sum", decimals=0, children=(
            Series("release_frequency", "core_platform", "M",
                   M(("2024-10", 10), ("2025-11", 14), ("2026-10", 22)),
                   noise=1.2, decimals=0, season="december_freeze", amp=4, **POS),
            Series("release_frequency", "apps_team", "M",
                   M(("2024-10", 6), ("2025-11", 8), ("2026-10", 13)),
                   noise=0.9, decimals=0, season="december_freeze", amp=3, **POS),
        )),
        Series("defect_escape_rate_pct", "rnd", "M",
               M(("2024-10", 16.2), ("2025-12", 14.0), ("2026-10", 10.7)),
               noise=0.5, decimals=1, **PCT),
        Series("change_failure_rate_pct", "core_platform", "M",
               M(("2024-10", 19.0), ("2025-12", 15.0), ("2026-10", 11.2)),
               noise=0.9, decimals=1, **PCT),
        Series("sprint_predictability_pct", "apps_team", "M",
               M(("2024-10", 72), ("2025-12", 80), ("2026-10", 91)),
               noise=2.5, decimals=0, lo=0, hi=200),
        Series("crash_free_sessions_pct", "apps_team", "M",
               M(("2024-10", 99.35), ("2025-12", 99.52), ("2026-10", 99.69)),
               noise=0.025, decimals=2, **PCT),
        Series("test_automation_pct", "quality_eng", "M",
               M(("2024-10", 38), ("2025-12", 55), ("2026-10", 76)),
               noise=0.6, decimals=0, **PCT),
        Series("new_product_revenue_pct", "product_mgmt", "Q",
               M(("2024-Q4", 11.0), ("2025-Q4", 14.0), ("2026-Q3", 18.6)),
               noise=0.3, decimals=1, **PCT),
        Series("feature_adoption_pct", "product_mgmt", "M",
               M(("2024-10", 22.0), ("2025-12", 27.0), ("2026-10", 34.0)),
               noise=1.0, decimals=1, **PCT),
        # --- Go-to-Market ---
        Series("bookings_acv_musd", "go_to_market", "M",
               M(("2024-10", 1.60), ("2025-11", 2.0), ("2026-10", 2.55)),
               noise=0.1, decimals=2, season="quarter_end", amp=0.45, **POS),
        Rollup("new_customers", "sales", "sum", decimals=0, children=(
            Series("new_customers", "sales_na", "M",
                   M(("2024-10", 48), ("2025-12", 55), ("2026-10", 66)),
                   noise=2.5, decimals=0, season="summer_dip", amp=7, **POS),
            Series("new_customers", "sales_emea", "M",
                   M(("2024-10", 28), ("2025-12", 35), ("2026-10", 43)),
                   noise=2.0, decimals=0, season="summer_dip", amp=8, **POS),
        )),
        Series("pipeline_coverage", "sales", "M",
               M(("2024-10", 2.20), ("2025-12", 2.40), ("2026-10", 2.80)),
               noise=0.06, decimals=2, **POS),
        Series("qualified_meetings_na", "sales_na", "W",
               M(("2024-W40", 28), ("2025-W50", 32), ("2026-W43", 37)),
               noise=2.2, decimals=0, season="summer_dip", amp=5, **POS),
        Series("emea_partner_sourced_pct", "sales_emea", "M",
               M(("2024-10", 12.0), ("2025-12", 16.0), ("2026-10", 21.0)),
               noise=0.6, decimals=1, **PCT),
        Series("mql_to_sql_pct", "marketing", "M",
               M(("2024-10", 14.0), ("2025-12", 17.0), ("2026-10", 22.0)),
               noise=0.7, decimals=1, **PCT),
        Series("cac_usd", "marketing", "Q",
               M(("2024-Q4", 1850), ("2025-Q4", 2050), ("2026-Q3", 2380)),
               noise=35, decimals=0, **POS),
        Series("social_followers", "marketing", "M",
               M(("2024-10", 18200), ("2025-12", 24500), ("2026-04", 27600), ("2026-05", 30400),
                 ("2026-10", 35600)),
               noise=250, decimals=0, **POS),
        Series("mqls", "demand_gen", "M",
               M(("2024-10", 980), ("2025-12", 1150), ("2026-10", 1390)),
               noise=40, decimals=0, season="summer_dip", amp=140, **POS),
        Series("website_conversion_pct", "demand_gen", "M",
               M(("2024-10", 2.10), ("2025-12", 2.40), ("2026-10", 2.96)),
               noise=0.06, decimals=2, **PCT),
        # --- Customer Experience ---
        Rollup("first_response_hours", "customer_service", "mean", decimals=2, children=(
            Series("first_response_hours", "support_t1", "M",
                   M(("2024-10", 2.10), ("2025-12", 1.60), ("2026-10", 1.30)),
                   noise=0.07, decimals=2, season="january_peak", amp=0.35, **POS),
            Series("first_response_hours", "support_t2", "M",
                   M(("2024-10", 5.60), ("2025-12", 4.80), ("2026-10", 3.90)),
                   noise=0.15, decimals=2, season="january_peak", amp=0.8, **POS),
        )),
        Rollup("avg_resolution_hours", "customer_service", "mean", decimals=1, children=(
            Series("avg_resolution_hours", "support_t1", "M",
                   M(("2024-10", 9.0), ("2025-12", 8.0), ("2026-10", 6.5)),
                   noise=0.3, decimals=1, season="january_peak", amp=1.0, **POS),
            Series("avg_resolution_hours", "support_t2", "M",
                   M(("2024-10", 40.0), ("2025-12", 34.0), ("2026-07", 27.5), ("2026-10", 30.5)),
                   noise=0.8, decimals=1, season="january_peak", amp=3.0, **POS),
        )),
        RatioRollup("sla_resolution_pct", "customer_service", children=(
            Ratio("sla_resolution_pct", "support_t1", "M",
                  rate=M(("2024-10", 86.0), ("2025-12", 88.0), ("2026-10", 91.6)),
                  volume=M(("2024-10", 3000), ("2025-12", 3250), ("2026-10", 3400)),
                  rate_noise=0.6, season="january_peak", amp=0.15,
                  rate_season="january_peak", rate_amp=-1.5),
            Ratio("sla_resolution_pct", "support_t2", "M",
                  rate=M(("2024-10", 70.0), ("2025-12", 74.0), ("2026-10", 77.0)),
                  volume=M(("2024-10", 610), ("2025-12", 660), ("2026-08", 680), ("2026-09", 790),
                           ("2026-10", 720)),
                  rate_noise=1.0, season="january_peak", amp=0.15,
                  rate_season="january_peak", rate_amp=-2.5),
        )),
        Series("csat_pct", "customer_experience", "M",
               M(("2024-10", 84.0), ("2025-12", 86.0), ("2026-10", 87.6)),
               noise=0.4, decimals=1, season="january_peak", amp=-0.8, **PCT),
        Series("cost_per_ticket_usd", "customer_experience", "M",
               M(("2024-10", 21.50), ("2025-12", 19.80), ("2026-10", 17.40)),
               noise=0.3, decimals=2, season="january_peak", amp=-0.6, **POS),
        Series("self_service_rate_pct", "customer_experience", "M",
               M(("2024-10", 31.0), ("2025-12", 36.0), ("2026-10", 42.5)),
               noise=0.8, decimals=1, **PCT),
        Series("gross_revenue_churn_pct", "customer_success", "M",
               M(("2024-10", 12.4), ("2025-12", 11.0), ("2026-10", 9.2)),
               noise=0.15, decimals=1, **PCT),
        Series("onboarding_completion_pct", "customer_success", "M",
               M(("2024-10", 58.0), ("2025-12", 64.0), ("2026-10", 71.5)),
               noise=1.2, decimals=1, **PCT),
        Series("qbr_coverage_pct", "customer_success", "Q",
               M(("2024-Q4", 72), ("2025-Q4", 75), ("2026-Q1", 74), ("2026-Q3", 58)),
               noise=1.5, decimals=0, **PCT),
        Series("first_contact_resolution_pct", "support_t1", "M",
               M(("2024-10", 64.0), ("2025-12", 68.0), ("2026-10", 72.4)),
               noise=1.0, decimals=1, **PCT),
        Series("t2_backlog_days", "support_t2", "M",
               M(("2024-10", 4.2), ("2025-12", 3.6), ("2026-07", 3.3), ("2026-10", 5.1)),
               noise=0.15, decimals=1, season="january_peak", amp=0.5, **POS),
    ),
    notes={
        ("time_to_market_days", "2026-05"): "Billing module rewrite held back three features",
        ("release_frequency", "2025-12", "rnd"): "Code freeze 15 Dec to 5 Jan",
        ("new_customers", "2025-08", "sales_emea"): "August holidays in southern Europe",
        ("cac_usd", "2026-Q2"): "Paid search costs up about 30% after a competitor's launch",
        ("first_response_hours", "2026-01", "support_t2"): "January peak after the price change",
        ("t2_backlog_days", "2026-09"): "Regressions from release 8.4 flooded tier 2",
        ("qbr_coverage_pct", "2026-Q2"): "Two customer success managers left; reviews postponed",
        ("social_followers", "2026-05"): "Influencer campaign",
        ("qualified_meetings_na", "2025-W48"): "Thanksgiving week",
    },
)



GLOBALHEALTH = Example(
    name="globalhealth",
    fiscal_year_start=1,
    series=(
        # --- strategic ---
        Series("mortality_index", "globalhealth", "Q",
               M(("2024-Q4", 106.5), ("2025-Q4", 104.0), ("2026-Q3", 100.2)),
               noise=0.8, decimals=1, season="winter", amp=1.5, **POS),
        RatioRollup("readmission_rate", "globalhealth", children=(
            Ratio("readmission_rate", "acute_care", "M",
                  rate=M(("2024-10", 14.2), ("2025-12", 13.6), ("2026-10", 12.7)),
                  volume=M(("2024-10", 2550), ("2025-12", 2650), ("2026-10", 2700)),
                  rate_noise=0.3, season="winter", amp=0.06,
                  rate_season="winter", rate_amp=0.5),
            Ratio("readmission_rate", "community_care", "M",
                  rate=M(("2024-10", 7.6), ("2025-12", 7.2), ("2026-10", 6.9)),
                  volume=M(("2024-10", 500), ("2025-12", 520), ("2026-10", 540)),
                  rate_noise=0.5),
        )),
        Rollup("patient_satisfaction_pct", "globalhealth", "mean", decimals=1, children=(
            Series("patient_satisfaction_pct", "acute_care", "M",
                   M(("2024-10", 82.0), ("2025-12", 84.0), ("2026-10", 84.5)),
                   noise=0.5, decimals=1, season="winter", amp=-1.0, **PCT),
            Series("patient_satisfaction_pct", "community_care", "M",
                   M(("2024-10", 90.0), ("2025-12", 91.0), ("2026-10", 91.5)),
                   noise=0.5, decimals=1, **PCT),
        )),
        Series("operating_margin_pct", "globalhealth", "Q",
               M(("2024-Q4", -1.8), ("2025-Q4", -0.5), ("2026-Q3", 0.6)),
               noise=0.2, decimals=1, lo=-100, hi=100),
        Series("staff_vacancy_pct", "globalhealth", "M",
               M(("2024-10", 9.5), ("2025-12", 8.4), ("2026-10", 6.9)),
               noise=0.15, decimals=1, **PCT),
        # --- Acute Care ---
        Rollup("alos_days", "acute_care", "mean", decimals=2, children=(
            Series("alos_days", "medicine", "M",
                   M(("2024-10", 6.2), ("2025-12", 6.0), ("2026-10", 5.5)),
                   noise=0.1, decimals=1, season="winter", amp=0.3, **POS),
            Series("alos_days", "surgery", "M",
                   M(("2024-10", 4.3), ("2025-12", 4.0), ("2026-10", 3.7)),
                   noise=0.08, decimals=1, season="winter", amp=0.15, **POS),
        )),
        Rollup("bed_occupancy_pct", "acute_care", "mean", decimals=1, children=(
            Series("bed_occupancy_pct", "medicine", "M",
                   M(("2024-10", 94.0), ("2025-12", 95.0), ("2026-10", 97.0)),
                   noise=0.8, decimals=1, season="winter", amp=3.0, lo=0, hi=120),
            Series("bed_occupancy_pct", "surgery", "M",
                   M(("2024-10", 86.0), ("2025-12", 87.0), ("2026-10", 89.0)),
                   noise=0.8, decimals=1, season="winter", amp=2.0, lo=0, hi=120),
        )),
        Series("followup_call_48h_pct", "medicine", "M",
               M(("2024-10", 41.0), ("2025-12", 55.0), ("2026-10", 68.0)),
               noise=1.5, decimals=1, **PCT),
        Series("ssi_rate_pct", "surgery", "M",
               M(("2024-10", 3.6), ("2025-12", 3.2), ("2026-10", 2.6)),
               noise=0.2, decimals=1, **PCT),
        # --- Emergency Department ---
        Rollup("ed_time_to_attend_min", "emergency", "mean", decimals=1, children=(
            Series("ed_time_to_attend_min", "ed_majors", "M",
                   M(("2024-10", 40), ("2025-05", 42), ("2025-07", 36), ("2025-12", 36),
                     ("2026-10", 34)),
                   noise=1.5, decimals=0, season="winter", amp=6, **POS),
            Series("ed_time_to_attend_min", "ed_minors", "M",
                   M(("2024-10", 28), ("2025-05", 29), ("2025-07", 26), ("2025-12", 26),
                     ("2026-10", 24)),
                   noise=1.2, decimals=0, season="winter", amp=4, **POS),
        )),
        Series("ed_four_hour_pct", "emergency", "M",
               M(("2024-10", 68.0), ("2025-12", 72.0), ("2026-10", 76.0)),
               noise=1.0, decimals=1, season="winter", amp=-4, **PCT),
        Series("ambulance_handover_min", "emergency", "M",
               M(("2024-10", 42), ("2025-12", 38), ("2026-10", 41)),
               noise=2.0, decimals=0, season="winter", amp=10, **POS),
        Series("left_without_seen_pct", "emergency", "M",
               M(("2024-10", 4.8), ("2025-12", 4.1), ("2026-10", 3.0)),
               noise=0.2, decimals=1, season="winter", amp=0.6, **PCT),
        Series("ed_reattend_72h_pct", "emergency", "M",
               M(("2024-10", 8.2), ("2025-12", 7.8), ("2026-10", 6.9)),
               noise=0.2, decimals=1, **PCT),
        Series("sepsis_antibiotics_1h_pct", "emergency", "M",
               M(("2024-10", 71.0), ("2025-12", 79.0), ("2026-10", 86.5)),
               noise=1.5, decimals=1, **PCT),
        Series("ed_boarding_hours", "emergency", "M",
               M(("2024-10", 9.5), ("2025-12", 8.0), ("2026-10", 6.8)),
               noise=0.3, decimals=1, season="winter", amp=1.5, **POS),
        Series("ed_trolley_waits_12h", "emergency", "M",
               M(("2024-10", 26), ("2025-12", 14), ("2026-10", 6)),
               noise=2.0, decimals=0, season="winter", amp=10, **POS),
        Series("triage_15min_pct", "ed_majors", "M",
               M(("2024-10", 62.0), ("2025-12", 70.0), ("2026-10", 76.0)),
               noise=1.5, decimals=1, season="winter", amp=-4, **PCT),
        Series("minors_2h_pct", "ed_minors", "M",
               M(("2024-10", 80.0), ("2025-12", 84.0), ("2026-10", 89.0)),
               noise=1.0, decimals=1, season="winter", amp=-2, **PCT),
        # --- wards and theatres ---
        Series("harmful_falls", "ward_4b", "M",
               M(("2024-10", 5), ("2025-12", 4), ("2026-10", 2)),
               noise=1.0, decimals=0, **POS),
        Series("discharge_before_noon_pct", "discharge_team", "M",
               M(("2024-10", 16.0), ("2025-12", 21.0), ("2026-10", 27.0)),
               noise=1.0, decimals=1, **PCT),
        Series("theatre_utilisation_pct", "theatres", "M",
               M(("2024-10", 72.0), ("2025-12", 77.0), ("2026-10", 81.0)),
               noise=1.0, decimals=1, season="summer_dip", amp=3, **PCT),
        # --- Community & Rehabilitation ---
        Series("home_first_pct", "community_care", "M",
               M(("2024-10", 84.0), ("2025-12", 86.0), ("2026-10", 88.2)),
               noise=0.4, decimals=1, **PCT),
        Series("delayed_transfer_days", "rehab", "M",
               M(("2024-10", 640), ("2025-12", 580), ("2026-06", 545), ("2026-10", 615)),
               noise=20, decimals=0, season="winter", amp=80, **POS),
        Series("visits_on_time_pct", "community_nursing", "M",
               M(("2024-10", 81.0), ("2025-12", 85.0), ("2026-10", 89.5)),
               noise=0.8, decimals=1, season="winter", amp=-1.5, **PCT),
        # --- Support Services ---
        Series("agency_spend_pct", "support_services", "M",
               M(("2024-10", 6.8), ("2025-12", 6.2), ("2026-05", 5.6), ("2026-10", 7.1)),
               noise=0.2, decimals=1, season="winter", amp=0.8, **PCT),
        Ratio("hai_rate", "infection_prevention", "M",
              rate=M(("2024-10", 2.4), ("2025-12", 2.1), ("2026-10", 1.7)),
              volume=M(("2024-10", 15500), ("2025-12", 16000), ("2026-10", 15800)),
              scale=1000, rate_noise=0.12, season="winter", amp=0.04),
        Series("hand_hygiene_pct", "ipc_audit", "M",
               M(("2024-10", 88.0), ("2025-12", 91.0), ("2026-05", 92.0)),
               noise=0.8, decimals=1, until="2026-05", **PCT),
        Series("nurse_turnover_pct", "workforce", "M",
               M(("2024-10", 14.5), ("2025-12", 13.2), ("2026-10", 11.8)),
               noise=0.15, decimals=1, **PCT),
        Series("bank_fill_rate_pct", "nurse_bank", "M",
               M(("2024-10", 68.0), ("2025-12", 74.0), ("2026-10", 81.0)),
               noise=1.5, decimals=1, **PCT),
        Series("bed_turnaround_hours", "patient_logistics", "M",
               M(("2024-10", 4.6), ("2025-12", 3.9), ("2026-10", 3.05)),
               noise=0.12, decimals=2, season="winter", amp=0.3, **POS),
    ),
    notes={
        ("readmission_rate", "2026-01", "acute_care"): "Respiratory readmissions up with flu",
        ("bed_occupancy_pct", "2026-01", "medicine"): "Escalation ward open all month",
        ("ed_time_to_attend_min", "2025-06"): "Rapid assessment area opened 16 June",
        ("ed_time_to_attend_min", "2026-01", "ed_majors"): "Flu surge: corridor care in majors",
        ("ed_trolley_waits_12h", "2025-01"): "Winter peak; norovirus ward closures",
        ("ambulance_handover_min", "2026-10"): "Handover cohort area closed for refurbishment",
        ("delayed_transfer_days", "2026-09"): "Two care homes in the district closed to admissions",
        ("agency_spend_pct", "2026-08"): "Summer leave covered by agency nurses",
        ("hand_hygiene_pct", "2026-05"): "Last audit before the audit lead's secondment",
    },
)


MANUFACTURING = Example(
    name="manufacturing",
    fiscal_year_start=4,
    series=(
        # --- strategic ---
        Series("operating_margin_pct", "ironbridge", "Q",
               M(("FY2025-Q3", 7.1), ("FY2026-Q4", 8.0), ("FY2027-Q2", 8.55)),
               noise=0.15, decimals=1, lo=-100, hi=100),
        Series("customer_otd_pct", "ironbridge", "M",
               M(("2024-10", 86.0), ("2026-03", 88.0), ("2026-05", 87.6), ("2026-10", 84.0)),
               noise=0.6, decimals=1, **PCT),
        Series("ltifr", "ironbridge", "M",
               M(("2024-10", 2.1), ("2026-03", 1.6), ("2026-10", 1.1)),
               noise=0.05, decimals=2, **POS),
        # --- Operations ---
        Rollup("oee_pct", "operations", "mean", decimals=1, children=(
            Series("oee_pct", "plant_sheffield", "M",
                   M(("2024-10", 63.0), ("2026-03", 66.0), ("2026-10", 69.5)),
                   noise=0.6, decimals=1, season="shutdown", amp=2.5, **PCT),
            Series("oee_pct", "plant_gdansk", "M",
                   M(("2024-10", 58.0), ("2026-03", 62.0), ("2026-10", 63.5)),
                   noise=0.7, decimals=1, season="shutdown", amp=2.5, **PCT),
        )),
        Rollup("scrap_rate_pct", "operations", "mean", decimals=2, children=(
            Series("scrap_rate_pct", "plant_sheffield", "M",
                   M(("2024-10", 3.2), ("2026-03", 2.9), ("2026-10", 2.3)),
                   noise=0.12, decimals=2, **PCT),
            Series("scrap_rate_pct", "plant_gdansk", "M",
                   M(("2024-10", 4.9), ("2026-03", 4.5), ("2026-05", 4.4), ("2026-10", 4.6)),
                   noise=0.15, decimals=2, **PCT),
        )),
        Series("changeover_minutes_sh", "plant_sheffield", "M",
               M(("2024-10", 58), ("2026-03", 50), ("2026-10", 42)),
               noise=1.5, decimals=0, **POS),
        Series("labour_efficiency_gd_pct", "plant_gdansk", "M",
               M(("2024-10", 78.0), ("2026-03", 81.0), ("2026-10", 84.5)),
               noise=0.8, decimals=1, lo=0, hi=150),
        Series("customer_ppm", "quality", "M",
               M(("2024-10", 420), ("2026-03", 360), ("2026-10", 295)),
               noise=12, decimals=0, **POS),
        Series("mtbf_hours", "maintenance", "M",
               M(("2024-10", 210), ("2026-03", 240), ("2026-10", 276)),
               noise=6, decimals=0, **POS),
        Series("maintenance_backlog_hours", "maintenance", "M",
               M(("2024-10", 1450), ("2026-03", 1600), ("2026-06", 1700), ("2026-10", 1980)),
               noise=30, decimals=0, **POS),
        Series("unplanned_downtime_pct", "sh_machining", "M",
               M(("2024-10", 9.5), ("2026-03", 8.2), ("2026-10", 7.0)),
               noise=0.3, decimals=1, **PCT),
        Series("takt_adherence_pct", "sh_assembly", "M",
               M(("2024-10", 84.0), ("2026-03", 88.0), ("2026-10", 90.6)),
               noise=0.8, decimals=1, **PCT),
        Series("casting_yield_pct", "gd_foundry", "M",
               M(("2024-10", 88.5), ("2026-03", 89.0), ("2026-05", 89.2), ("2026-10", 86.0)),
               noise=0.4, decimals=1, **PCT),
        Series("first_pass_yield_pct", "gd_assembly", "M",
               M(("2024-10", 94.5), ("2026-03", 95.5), ("2026-10", 96.6)),
               noise=0.2, decimals=1, **PCT),
        # --- Supply Chain ---
        Series("dio", "ironbridge", "M",
               M(("2024-10", 88.0), ("2026-03", 82.0), ("2026-10", 79.0)),
               noise=0.8, decimals=1, season="pre_shutdown_build", amp=3.0, **POS),
        Inverse("inventory_turnover", "supply_chain", "dio", "ironbridge", 365.0,
                noise=0.02, decimals=2),
        Series("forecast_accuracy_pct", "planning", "M",
               M(("2024-10", 68.0), ("2026-03", 72.0), ("2026-10", 76.5)),
               noise=1.0, decimals=1, **PCT),
        Series("dpo", "ironbridge", "M",
               M(("2024-10", 44.0), ("2026-03", 48.0), ("2026-10", 51.5)),
               noise=0.6, decimals=1, **POS),
        Series("procurement_savings_keur", "procurement", "M",
               M(("2024-10", 150), ("2026-03", 190), ("2026-10", 232)),
               noise=12, decimals=0, **POS),
        Series("supplier_otd_pct", "procurement", "M",
               M(("2024-10", 90.0), ("2026-03", 89.0), ("2026-05", 88.0), ("2026-10", 82.0)),
               noise=0.7, decimals=1, **PCT),
        Series("suppliers_on_60d_terms_pct", "sourcing_team", "M",
               M(("2024-10", 10.0), ("2026-03", 25.0), ("2026-10", 42.5)),
               noise=0.8, decimals=1, step=2.5, **PCT),
        # --- Commercial ---
        Series("price_realisation_pct", "commercial", "M",
               M(("2024-10", 91.0), ("2026-03", 92.5), ("2026-10", 93.6)),
               noise=0.2, decimals=1, lo=0, hi=150),
        Rollup("order_intake_meur", "sales", "sum", decimals=2, children=(
            Series("order_intake_meur", "key_accounts", "M",
                   M(("2024-10", 18.0), ("2026-03", 19.0), ("2026-10", 20.6)),
                   noise=0.5, decimals=2, season="fiscal_year_end", amp=1.2, **POS),
            Series("order_intake_meur", "distributor_sales", "M",
                   M(("2024-10", 10.5), ("2026-03", 11.0), ("2026-10", 11.6)),
                   noise=0.3, decimals=2, season="shutdown", amp=0.8, **POS),
        )),
        RatioRollup("quote_win_rate_pct", "sales", children=(
            Ratio("quote_win_rate_pct", "key_accounts", "M",
                  rate=M(("2024-10", 38.0), ("2026-03", 40.0), ("2026-10", 42.0)),
                  volume=M(("2024-10", 150), ("2026-03", 155), ("2026-10", 160)),
                  rate_noise=1.2, volume_noise=0.05),
            Ratio("quote_win_rate_pct", "distributor_sales", "M",
                  rate=M(("2024-10", 23.0), ("2026-03", 24.5), ("2026-10", 26.5)),
                  volume=M(("2024-10", 260), ("2026-03", 270), ("2026-10", 280)),
                  rate_noise=1.0, volume_noise=0.05),
        )),
        Series("quote_turnaround_48h_pct", "key_accounts", "M",
               M(("2024-10", 62.0), ("2026-03", 70.0), ("2026-10", 78.0)),
               noise=1.5, decimals=1, **PCT),
        Series("active_distributors", "distributor_sales", "M",
               M(("2024-10", 142), ("2026-03", 150), ("2026-10", 159)),
               noise=1.0, decimals=0, **POS),
        # --- Finance ---
        Series("dso", "ironbridge", "M",
               M(("2024-10", 64.0), ("2026-03", 61.0), ("2026-10", 57.0)),
               noise=0.7, decimals=1, **POS),
        Series("overdue_receivables_pct", "finance", "M",
               M(("2024-10", 18.0), ("2026-03", 15.0), ("2026-10", 12.0)),
               noise=0.5, decimals=1, **PCT),
    ),
    notes={
        ("operating_margin_pct", "FY2027-Q1"): "Energy surcharge on castings",
        ("customer_otd_pct", "2026-09"): "Valve orders late: castings short",
        ("oee_pct", "2026-08", "plant_sheffield"): "Summer shutdown 3-16 August; restart losses",
        ("casting_yield_pct", "2026-08"): "New sand supplier: porosity defects",
        ("maintenance_backlog_hours", "2026-08"): "Two senior technicians retired; posts open",
        ("supplier_otd_pct", "2026-06"): "Main casting supplier lost a furnace; allocation",
        ("procurement_savings_keur", "2026-03"): "Steel contract renegotiated at year end",
        ("order_intake_meur", "2026-03", "key_accounts"): "Framework order from a water utility",
    },
)

# fmt: on

EXAMPLE_LIST: Sequence[Example] = (TECHINNOVATE, GLOBALHEALTH, MANUFACTURING)


def main(argv: Sequence[str] = ()) -> int:
    wanted = set(argv)
    for ex in EXAMPLE_LIST:
        if wanted and ex.name not in wanted:
            continue
        path = EXAMPLES / ex.name / "data" / "measurements.csv"
        n = write_csv(path, generate(ex))
        print(f"{path.relative_to(ROOT)}: {n} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
