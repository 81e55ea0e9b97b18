"""Spark sources on a real Spark (`local[*]`, started once for this test process) over Parquet
and CSV files that the tests write: the same query text as on DuckDB gives the same rows;
periods come back as dates, timestamps or labels; ratios and units; and each failure (a query
error, a missing table, a timeout, no Java, no pyspark, no Connect server) is one line.

The tables are the session's temporary views, as a cluster's catalog holds its tables, or
files named in the query (``parquet.`path` ``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from lineofsight import sources
from lineofsight.errors import SourceError
from lineofsight.sources import spark_session
from tests.conftest import Los
from tests.sources.facts import ORDERS, duckdb_facts, stored, strategy

ROOT = Path(__file__).resolve().parents[2]
# Standard SQL: DuckDB and Spark both read it, `:since` bound by each engine's own parameters.
STANDARD = (
    "select date_trunc('month', day) as period, sum(amount) as value, region as unit "
    "from orders where day >= :since group by 1, 3"
)
# What Spark writes on the console when nobody stops it (and PySpark's JSON error logs).
NOISE = ("WARN", "log4j", "SLF4J", "Using Spark", "Setting default log level", '{"ts"', "Stage ")


@dataclass(frozen=True)
class Lake:
    folder: Path
    parquet: Path
    csv: Path


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """The orders as a Parquet file and a CSV file, and Spark local[*] with the views
    `orders` (Parquet) and `orders_csv`; Spark stops when the test process ends."""
    folder = tmp_path_factory.mktemp("lake")
    frame = pl.DataFrame(ORDERS, schema=["day", "region", "amount", "returned"], orient="row")
    parquet, csv = folder / "orders.parquet", folder / "orders.csv"
    frame.write_parquet(parquet)
    frame.write_csv(csv)
    spark = spark_session.session(spark_session.LOCAL)
    spark.read.parquet(str(parquet)).createOrReplaceTempView("orders")
    spark.read.option("header", True).option("inferSchema", True).csv(
        str(csv)
    ).createOrReplaceTempView("orders_csv")
    yield Lake(folder, parquet, csv)
    spark_session.stop()


def _rows(frame: pl.DataFrame) -> list[tuple[dt.date, float, str]]:
    """(first day of the period, value, unit), sorted: the period as a day, whichever type
    the engine gave it (a date on DuckDB, a timestamp on Spark)."""
    return sorted(
        (period if type(period) is dt.date else period.date(), value, unit)
        for period, value, unit in frame.select("period", "value", "unit").iter_rows()
    )


def test_one_query_text_gives_the_same_rows_on_duckdb_and_spark(lake: Lake, tmp_path: Path) -> None:
    duckdb_url = duckdb_facts(tmp_path)
    since = {"since": dt.date(2026, 4, 1)}
    on_duckdb = sources.fetch("sql", {"url": duckdb_url}, STANDARD, since, timeout=60)
    on_spark = sources.fetch("spark", {"kind": "spark"}, STANDARD, since, timeout=120)
    assert on_spark.columns == ["period", "value", "unit"]
    assert on_spark.schema["value"] == pl.Float64
    assert _rows(on_spark) == _rows(on_duckdb)
    # :since was bound: April to October, two regions, and nothing before April.
    assert len(_rows(on_spark)) == 14
    assert min(day for day, _, _ in _rows(on_spark)) == dt.date(2026, 4, 1)
    assert (dt.date(2026, 10, 1), 101.0, "south") in _rows(on_spark)


def spark_kpis(lake: Lake) -> list[dict[str, object]]:
    """Revenue per region with the month as a date, read from the Parquet file by path;
    orders with the month as a timestamp; the return rate (a ratio) with the month as a
    label, from the CSV file."""
    return [
        {
            "id": "revenue",
            "source": {
                "from": "lake",
                "query": "select cast(date_trunc('month', day) as date) as period, "
                "sum(amount) as value, region as unit "
                f"from parquet.`{lake.parquet}` where day >= :since group by 1, 3",
            },
        },
        {
            "id": "orders",
            "source": {
                "from": "lake",
                "query": "select date_trunc('month', day) as period, count(*) as value "
                "from orders where day >= :since group by 1",
            },
        },
        {
            "id": "return_rate",
            "direction": "decrease",
            "aggregation": "mean",
            "ratio": {"numerator": "returned orders", "denominator": "orders", "scale": 100},
            "source": {
                "from": "lake",
                "query": "select date_format(day, 'yyyy-MM') as period, "
                "sum(returned) as numerator, count(*) as denominator "
                "from orders_csv where day >= :since group by 1",
            },
        },
    ]


def test_refresh_from_spark_over_parquet_and_csv(
    lake: Lake, los: Los, workdir: Path, db_url: str
) -> None:
    (workdir / "strategy.yaml").write_text(strategy({"lake": {"kind": "spark"}}, spark_kpis(lake)))
    assert los("apply", "strategy.yaml").exit_code == 0

    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.stdout)["sources"]
    assert (summary["source"], summary["state"]) == ("lake", "ok")
    # 10 months: 20 revenue rows (two regions), 10 of orders, 10 of the return rate.
    assert (summary["rows_read"], summary["added"], summary["replaced"]) == (40, 40, 0)

    values = {(k, u, p): (v, n, d) for k, u, p, v, n, d, _ in stored(db_url)}
    assert len(values) == 40
    assert values[("revenue", "north", "2026-03")] == (30.0, None, None)
    assert values[("revenue", "south", "2026-10")] == (101.0, None, None)
    assert values[("orders", "acme", "2026-07")] == (2.0, None, None)
    assert values[("return_rate", "acme", "2026-05")] == (None, 2.0, 2.0)
    assert values[("return_rate", "acme", "2026-06")] == (None, 0.0, 2.0)

    # Nothing changed in the files: the next refresh finds every value stored already.
    again = json.loads(los("refresh", "--all", "--format", "json").stdout)["sources"][0]
    assert again["added"] == again["replaced"] == 0
    assert again["unchanged"] == again["rows_read"] > 0


def test_a_query_error_and_a_missing_table_give_one_line_reasons(
    lake: Lake, los: Los, workdir: Path, db_url: str
) -> None:
    kpis = [
        {"id": "refunds", "source": {"from": "lake", "query": "select * from refunds"}},
        {"id": "orders", "source": {"from": "lake", "query": "selec month, count(*) from x"}},
    ]
    sources_ = {"lake": {"kind": "spark"}, "typo": {"kind": "spark"}}
    kpis[1]["source"] = {"from": "typo", "query": "selec month, count(*) from x"}
    (workdir / "strategy.yaml").write_text(strategy(sources_, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0

    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 1
    summaries = {s["source"]: s for s in json.loads(result.stdout)["sources"]}
    assert summaries["lake"]["reason"] == "query"
    assert summaries["lake"]["error"] == (
        "the query failed: [TABLE_OR_VIEW_NOT_FOUND] The table or view `refunds` cannot be "
        "found. Verify the spelling and correctness of the schema and catalog."
    )
    assert summaries["typo"]["reason"] == "query"
    assert summaries["typo"]["error"] == (
        "the query failed: [PARSE_SYNTAX_ERROR] Syntax error at or near 'selec'."
    )
    text = los("refresh", "--all")
    assert "Failed lake (query): the query failed: [TABLE_OR_VIEW_NOT_FOUND]" in text.stderr
    assert "Traceback" not in text.output
    assert stored(db_url) == []


def test_a_query_past_its_timeout_is_cancelled_and_spark_goes_on(lake: Lake) -> None:
    # Hours of hashing on two cores: only the cancel can end it within the test.
    endless = "select count(*) as value from range(0, 1000000000000, 1, 2) where hash(id) = 7"
    with pytest.raises(SourceError) as failed:
        sources.fetch("spark", {}, endless, {}, timeout=1)
    assert (failed.value.kind, failed.value.message) == (
        "timeout",
        "the query ran longer than 1 s and was stopped",
    )
    # The session is still the same and still answers.
    rows = sources.fetch("spark", {}, "select count(*) as value from orders", {}, timeout=120)
    assert rows.item() == len(ORDERS)


def test_spark_writes_nothing_on_the_console(lake: Lake, tmp_path: Path) -> None:
    """`los refresh` in its own process, which starts its own Spark: the user sees the
    summary and the failure's one line, none of Spark's start-up banner or logs."""
    kpis = [
        spark_kpis(lake)[0],
        {"id": "refunds", "source": {"from": "lake", "query": "select * from refunds"}},
    ]
    (tmp_path / "strategy.yaml").write_text(strategy({"lake": {"kind": "spark"}}, kpis))
    env = {key: value for key, value in os.environ.items() if key != "LOS_DATABASE_URL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    los = [sys.executable, "-m", "lineofsight", "--db", f"sqlite:///{tmp_path / 'los.db'}"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*los[:3], *args, *los[3:]]
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )

    assert run("apply", "strategy.yaml").returncode == 0
    refreshed = run("refresh", "--all")
    assert refreshed.returncode == 1
    # The source feeds two KPIs: the line names the one whose query failed.
    assert refreshed.stderr.splitlines() == [
        "Failed lake (query): kpi refunds: the query failed: [TABLE_OR_VIEW_NOT_FOUND] The "
        "table or view `refunds` cannot be found. Verify the spelling and correctness of the "
        "schema and catalog."
    ]
    for noise in NOISE:
        assert noise not in refreshed.stdout + refreshed.stderr
    assert not (tmp_path / "spark-warehouse").exists()


@pytest.fixture
def no_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """JAVA_HOME names a folder whose bin/java the test writes (or not)."""
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    monkeypatch.setenv("JAVA_HOME", str(home))
    return home


def test_without_java_a_spark_source_says_what_to_install(
    no_java: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SourceError) as failed:
        # Another master than the running one: this one would start a JVM.
        sources.fetch("spark", {"master": "local[2]"}, "select 1 as value", {}, timeout=60)
    assert failed.value.kind == "setup"
    assert failed.value.message == (
        "JAVA_HOME names no Java: a Spark source needs Java 17 or newer (Debian: apt-get "
        "install default-jre-headless; `make install` does it, or set JAVA_HOME)"
    )
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(no_java))
    assert spark_session.java_problem() == (
        "Java is not installed: a Spark source needs Java 17 or newer (Debian: apt-get "
        "install default-jre-headless; `make install` does it, or set JAVA_HOME)"
    )


def test_a_java_too_old_for_spark_is_named(no_java: Path) -> None:
    java = no_java / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_402\"' >&2\n")
    java.chmod(0o755)
    problem = spark_session.java_problem()
    assert problem is not None
    assert problem.startswith("Java 8 is too old: a Spark source needs Java 17 or newer")


@pytest.mark.parametrize(
    ("shown", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_402"', 8),
        ("no version here", None),
    ],
)
def test_java_major(shown: str, major: int | None) -> None:
    assert spark_session.java_major(shown) == major


def _python(code: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """What `code` prints, run in its own process (its own Spark session, if any)."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


FETCH_AND_SAY = (
    "from lineofsight import sources\n"
    "from lineofsight.errors import SourceError\n"
    "try:\n"
    "    sources.fetch('spark', {settings!r}, 'select 1 as value', {{}}, timeout=120)\n"
    "except SourceError as exc:\n"
    "    print(exc.kind, exc.message)\n"
)


def test_an_unreachable_spark_connect_server_is_one_line(tmp_path: Path) -> None:
    """In a process of its own: PySpark holds one session per process, classic or Connect."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {"kind": "spark", "master": "env:LOS_TEST_SPARK_CONNECT"}
    said = _python(
        FETCH_AND_SAY.format(settings=settings),
        tmp_path,
        {"LOS_TEST_SPARK_CONNECT": f"sc://127.0.0.1:{port}"},
    )
    # One line; the URL came from the environment, so it is not shown.
    assert said.count("\n") == 1
    assert said.startswith("unreachable cannot reach Spark at ***: failed to connect")
    assert "Connection refused" in said


def test_without_the_spark_extra_a_spark_source_says_what_to_install(tmp_path: Path) -> None:
    code = FETCH_AND_SAY.format(settings={})
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "packaging" / "core_only.py"), "python", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "setup Spark sources need the spark extra (pyspark, py4j, pyarrow, pandas not "
        "installed): pip install 'lineofsight[spark]'\n"
    )


def test_spark_sends_queries_of_one_shape_together_and_names_a_failing_one(
    lake: Lake, los: Los, workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[int] = []
    real = sources.fetch_parts

    def counted(*args: object, **kwargs: object) -> list[pl.DataFrame]:
        sent.append(int(kwargs["count"]))  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sources, "fetch_parts", counted)

    def kpi(kpi_id: str, region: str, low: str = "0") -> dict[str, object]:
        query = (
            "select date_trunc('month', day) as period, sum(amount) as value from orders "
            f"where region = '{region}' and amount > '{low}' and day >= :since group by 1"
        )
        return {"id": kpi_id, "source": {"from": "lake", "query": query}}

    kpis = [kpi(f"sales_{region}", region) for region in ("north", "south", "west")]
    (workdir / "strategy.yaml").write_text(strategy({"lake": {"kind": "spark"}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    result = los("refresh", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    assert sent == [3]  # one Spark statement for the three KPIs
    values = {(k, p): v for k, _, p, v, *_ in stored(db_url)}
    assert len(values) == 20
    assert values[("sales_north", "2026-03")] == 30.0
    assert values[("sales_south", "2026-10")] == 101.0

    # 'abc' is no number: Spark refuses the comparison; the combined statement fails, its
    # queries run alone, and the failure names the KPI whose query failed.
    kpis[1] = kpi("sales_south", "south", "abc")
    (workdir / "strategy.yaml").write_text(strategy({"lake": {"kind": "spark"}}, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    failed = los("refresh", "--all", "--format", "json")
    assert failed.exit_code == 1
    (summary,) = json.loads(failed.stdout)["sources"]
    assert (summary["state"], summary["reason"]) == ("failed", "query")
    assert summary["error"].startswith("kpi sales_south: the query failed: ")
    assert len(stored(db_url)) == 20  # nothing of that refresh stored
