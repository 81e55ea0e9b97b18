"""Generate the refresh benchmark's data: a fact table of orders, and an organisation of KPIs
sourced from it by grouped queries (bench/bench_refresh.py).

Deterministic and fast: the facts are generated inside DuckDB with SQL (50 million rows in
about a minute on two cores), in the order they arrive (by day: a day's orders are appended
after the day before's), or with `by_product` clustered by product then day as a warehouse
may keep them; the strategy file is written by hand as bench/generate.py writes its own (its
`quote`).

- facts: `orders(day DATE, region VARCHAR, product VARCHAR, amount DOUBLE)`, `days` days ending
  on END, `regions` regions (`r00`...), `products` products (`p0000`...), rows spread evenly;
- organisation: a company with one unit per region; KPI `k0017` is the monthly revenue of
  product `p0017` per region (the query's unit column), all from one named source: either
  one query per KPI (QUERY), or the source's one query for all (SHARED, its kpi column the
  product, each KPI's `key:`).

    .venv/bin/python bench/refresh_facts.py --rows 1000000 --out /tmp/refresh   # a small set
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import quote

END = dt.date(2026, 10, 31)  # the last day of facts: 24 whole months from November 2024
DAYS = 730
REGIONS = 20
# The KPI's query, in standard SQL: DuckDB and Spark run the same text (TABLE differs only
# where Spark reads files by path).
QUERY = (
    "select date_trunc('month', day) as period, sum(amount) as value, region as unit "
    "from {table} where product = '{product}' and day >= :since group by 1, 3"
)
# The source's one query for every KPI: the product names the KPI (its key:).
SHARED = (
    "select product as kpi, date_trunc('month', day) as period, sum(amount) as value, "
    "region as unit from {table} where day >= :since and product < '{last}' group by 1, 2, 4"
)


def days_of(months: int) -> int:
    """The days of the `months` whole months ending on END (730 for 24)."""
    back = END.year * 12 + END.month - months  # the month before the first, counted from 0
    first = dt.date(back // 12, back % 12 + 1, 1)
    return (END - first).days + 1


def product(index: int) -> str:
    return f"p{index:04d}"


def _facts_sql(
    rows: int,
    products: int,
    days: int = DAYS,
    regions: int = REGIONS,
    *,
    by_product: bool = False,
) -> str:
    """A SELECT of `rows` orders, ordered by day (or by product then day), with no sort: row
    i's day grows with i (within its product)."""
    first = END - dt.timedelta(days=days - 1)
    if not by_product:
        total = rows - rows % days
        return (
            f"select (date '{first.isoformat()}' + cast(i * {days} // {total} as integer))"
            " as day, "
            f"'r' || lpad(cast((i // {products}) % {regions} as varchar), 2, '0') as region, "
            f"'p' || lpad(cast(i % {products} as varchar), 4, '0') as product, "
            "cast((i * 7919) % 100000 as double) / 100 as amount "
            f"from range({total}) t(i)"
        )
    per = rows // products
    return (
        f"select (date '{first.isoformat()}' + cast((i % {per}) * {days} // {per} as integer))"
        " as day, "
        f"'r' || lpad(cast(i % {regions} as varchar), 2, '0') as region, "
        f"'p' || lpad(cast(i // {per} as varchar), 4, '0') as product, "
        "cast((i * 7919) % 100000 as double) / 100 as amount "
        f"from range({per * products}) t(i)"
    )


def make_duckdb_facts(
    path: Path, rows: int, products: int, *, by_product: bool = False, days: int = DAYS
) -> None:
    """A DuckDB file with the table `orders` of `rows` facts over `days` days."""
    import duckdb

    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as conn:
        sql = _facts_sql(rows, products, days, by_product=by_product)
        conn.execute(f"create table orders as {sql}")


def make_parquet_facts(path: Path, rows: int, products: int, *, by_product: bool = False) -> None:
    """A Parquet file of `rows` facts, in row groups of 100,000 rows (so that a reader skips
    the groups of other days, or products, by their statistics)."""
    import duckdb

    with duckdb.connect() as conn:
        conn.execute(
            f"copy ({_facts_sql(rows, products, by_product=by_product)}) to '{path}' "
            "(format parquet, row_group_size 100000)"
        )


def add_day(path: Path, rows: int, products: int, day: dt.date, days: int = DAYS) -> int:
    """One more day of facts in the DuckDB file of `rows` facts over `days` days (as many
    orders as an average day of it); the number of rows added."""
    import duckdb

    per_day = max(products, rows // days)
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "insert into orders select ?::date, "
            f"'r' || lpad(cast((i // {products}) % {REGIONS} as varchar), 2, '0'), "
            f"'p' || lpad(cast(i % {products} as varchar), 4, '0'), "
            "cast((i * 7919) % 100000 as double) / 100 "
            f"from range({per_day}) t(i)",
            [day],
        )
    return per_day


def correct_day(path: Path, products: int, day: dt.date) -> int:
    """A late correction: one cent more on each order of the first `products` products on
    `day` (inside the look-back); the number of orders changed."""
    import duckdb

    with duckdb.connect(str(path)) as conn:
        row = conn.execute(
            "update orders set amount = amount + 0.01 where day = ? and product < ?",
            [day, product(products)],
        ).fetchone()
    return int(row[0]) if row else 0


def write_strategy(
    path: Path,
    kpis: int,
    source: dict[str, str],
    table: str,
    name: str = "Orders",
    *,
    shared: bool = False,
) -> None:
    """The organisation: a company, its regions, and `kpis` KPIs fed by the source `facts`
    (by one query each, or with `shared` by the source's one query)."""
    lines = [
        "version: 1",
        "organization:",
        f"  name: {quote(name)}",
        "  units:",
        "    - {id: company, name: Company, level: company}",
    ]
    lines += [
        f"    - {{id: r{r:02d}, name: Region {r:02d}, level: department, parent: company}}"
        for r in range(REGIONS)
    ]
    lines += ["sources:", "  facts:"]
    lines += [f"    {key}: {quote(value)}" for key, value in source.items()]
    if shared:
        lines.append(f"    query: {quote(SHARED.format(table=table, last=product(kpis)))}")
    lines.append("kpis:")
    for index in range(kpis):
        query = QUERY.format(table=table, product=product(index))
        own = f"      key: {product(index)}" if shared else f"      query: {quote(query)}"
        lines += [
            f"  - id: k{index:04d}",
            f"    name: Revenue of product {product(index)}",
            "    unit: company",
            "    frequency: monthly",
            "    direction: increase",
            "    aggregation: sum",
            "    source:",
            "      from: facts",
            own,
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


EXPORT = (
    "copy (select 'k' || substr(product, 2) as kpi, region as unit, "
    "strftime(day, '%Y-%m') as period, sum(amount) as value "
    "from orders where product < '{last}' group by all order by 1, 2, 3) to '{out}' (header)"
)


def export_code(facts: Path, out: Path, kpis: int) -> str:
    """Python code that exports every KPI's period values to a CSV file for `los load`: what
    an analyst does without sources (one grouped query over the facts)."""
    sql = EXPORT.format(last=product(kpis), out=out)
    return f"import duckdb\nduckdb.connect({str(facts)!r}, read_only=True).execute({sql!r})\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--kpis", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    make_duckdb_facts(args.out / "facts.duckdb", args.rows, args.kpis)
    write_strategy(args.out / "strategy.yaml", args.kpis, {"url": "env:FACTS_URL"}, "orders")
    print(f"{args.rows:,} orders and {args.kpis:,} KPIs in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
