"""Sources in the strategy file: named connections (`sources:`) and a KPI's `source:`, every
mistake reported with its line, a password in a URL refused without repeating it, and the
sources kept through apply and export (secrets as `env:NAME` references)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineofsight.domain import model as m
from lineofsight.domain.sources import feeds, feeds_of
from lineofsight.errors import SpecError
from lineofsight.spec.files import parse_strategy
from tests.conftest import Los
from tests.sources.facts import strategy

QUERY = "select period, value from facts where period >= :since"


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_strategy(text, "strategy.yaml")
    return [str(p) for p in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(
    ("sources", "source", "needle", "message"),
    [
        (
            {"warehouse": {"url": "env:WAREHOUSE_URL"}},
            {"from": "warehous", "query": QUERY},
            "from: warehous",
            "kpi revenue: source.from: unknown source 'warehous' (did you mean 'warehouse'?)",
        ),
        (
            {},
            {"from": "warehouse", "query": QUERY},
            "from: warehouse",
            "kpi revenue: source.from: unknown source 'warehouse': the file has no sources: "
            "section naming it",
        ),
        (
            {"warehouse": {"url": "env:WAREHOUSE_URL"}},
            {"from": "warehouse"},
            "source:",
            "kpi revenue: source: source 'warehouse' is a sql source: give the query: that "
            "returns this KPI's values",
        ),
        (
            {},
            {"kind": "file", "schedule": "weekly"},
            "kind: file",
            "kpi revenue: source: kind file needs path: (a CSV or XLSX file, or a glob)",
        ),
        (
            {"sheets": {"kind": "file", "path": "data/*.csv"}},
            {"from": "sheets", "query": QUERY},
            "query:",
            "kpi revenue: source.query: source 'sheets' is a file source: it takes no query",
        ),
        (
            {"warehouse": {"url": "env:WAREHOUSE_URL"}},
            {"from": "warehouse", "query": QUERY, "schedule": "every day"},
            "schedule:",
            "kpi revenue: source.schedule: 'every day'",
        ),
        (
            {"warehouse": {"kind": "sql"}},
            {"from": "warehouse", "query": QUERY},
            "kind: sql",
            "sources.warehouse: kind sql needs url: (a SQLAlchemy URL, or env:NAME)",
        ),
        (
            {"warehouse": {"url": "env:9LIVES"}},
            {"from": "warehouse", "query": QUERY},
            "env:9LIVES",
            "sources.warehouse.url: env: names an environment variable",
        ),
        (
            {"revenue": {"url": "env:WAREHOUSE_URL"}},
            {"url": "env:OTHER_URL", "query": QUERY},
            "source:",
            "kpi revenue: source: this KPI's own source is called 'revenue', the name of a "
            "source in sources: too",
        ),
    ],
)
def test_source_mistakes_are_reported_with_their_line(
    sources: dict[str, object], source: dict[str, object], needle: str, message: str
) -> None:
    text = strategy(sources, [{"id": "revenue", "source": source}])  # type: ignore[arg-type]
    found = problems_of(text)
    line = line_of(text, needle)
    assert any(p.startswith(f"strategy.yaml:{line}: {message}") for p in found), found


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://analyst:Hunter2Secret@db.example.com/facts",
        "postgresql://analyst:@db.example.com/facts",
    ],
)
def test_a_password_in_a_url_is_refused_and_never_repeated(url: str) -> None:
    text = strategy(
        {"warehouse": {"url": url}},
        [{"id": "revenue", "source": {"from": "warehouse", "query": QUERY}}],
    )
    found = problems_of(text)
    assert found == [
        f"strategy.yaml:{line_of(text, 'url:')}: sources.warehouse.url: holds a password; a "
        "secret is never written in the strategy file: put the URL in an environment variable "
        "and write env:NAME"
    ]
    assert "Hunter2Secret" not in " ".join(found)


def test_old_inline_sources_still_read() -> None:
    text = strategy(
        {},
        [
            {"id": "hires", "source": {"kind": "csv", "path": "data/hires.csv"}},
            {
                "id": "revenue",
                "source": {"kind": "sql", "url": "sqlite:///facts.db", "query": QUERY},
            },
            {"id": "nps", "source": {"kind": "manual"}},
        ],
    )
    org = parse_strategy(text, "strategy.yaml")
    found = {f.kpi_id: (f.source, f.kind, f.path, f.query) for f in feeds(org)}
    assert found == {
        "hires": ("hires", m.SourceKind.FILE, "data/hires.csv", None),
        "revenue": ("revenue", m.SourceKind.SQL, None, QUERY),
    }


def test_sources_are_kept_through_apply_and_export(los: Los, workdir: Path) -> None:
    sources = {
        "warehouse": {"url": "env:WAREHOUSE_URL", "look_back": 3, "timeout": 60},
        "sheets": {"kind": "file", "path": "data/*.xlsx"},
    }
    kpis = [
        {"id": "revenue", "source": {"from": "warehouse", "query": QUERY, "schedule": "daily"}},
        {"id": "hires", "source": {"from": "sheets", "schedule": "0 6 * * 1"}},
        {"id": "churn", "source": {"kind": "file", "path": "data/churn.csv"}},
    ]
    (workdir / "strategy.yaml").write_text(strategy(sources, kpis))
    assert los("apply", "strategy.yaml").exit_code == 0
    exported = los("export", "exported.yaml")
    assert exported.exit_code == 0, exported.output
    text = (workdir / "exported.yaml").read_text()
    assert "url: env:WAREHOUSE_URL" in text
    again = parse_strategy(text, "exported.yaml")
    original = parse_strategy((workdir / "strategy.yaml").read_text(), "strategy.yaml")
    assert again.sources == original.sources
    assert [k.source for k in again.kpis] == [k.source for k in original.kpis]
    assert feeds(again) == feeds(original)
    revenue = next(f for f in feeds(again) if f.kpi_id == "revenue")
    assert (revenue.look_back, revenue.timeout, revenue.schedule) == (3, 60.0, "daily")

    # A changed source is a change of the definitions, with its history.
    sources["warehouse"]["look_back"] = 1  # type: ignore[index]
    (workdir / "strategy.yaml").write_text(strategy(sources, kpis))
    applied = los("apply", "strategy.yaml")
    assert applied.exit_code == 0
    history = los("history", "--format", "json")
    assert '"sources"' in history.stdout


def test_a_refresh_reads_the_same_feeds_as_the_whole_organisation_gives(db_url: str) -> None:
    """A refresh reads only each KPI's id, frequency, formula and source (not the whole
    organisation): the feeds are the same, on SQLite and PostgreSQL."""
    from lineofsight.services.apply import apply_organization
    from lineofsight.store.database import Store
    from lineofsight.store.definitions import read_organization, read_settings
    from lineofsight.store.sources import read_fed_kpis

    shared = "select kpi, period, value from facts where period >= :since"
    sources = {
        "warehouse": {"url": "env:WAREHOUSE_URL", "look_back": 3, "query": shared},
        "sheets": {"kind": "file", "path": "data/*.xlsx", "timeout": 30},
    }
    kpis = [
        {"id": "revenue", "source": {"from": "warehouse", "query": QUERY, "schedule": "daily"}},
        {"id": "orders", "frequency": "quarterly", "source": {"from": "warehouse", "key": "o"}},
        {"id": "returns", "source": {"from": "warehouse", "look_back": 1}},
        {"id": "hires", "source": {"from": "sheets", "schedule": "0 6 * * 1"}},
        {"id": "churn", "source": {"kind": "file", "path": "data/churn.csv"}},
        {"id": "nps", "source": {"kind": "manual"}},
        {"id": "margin", "formula": "revenue - returns"},
        {"id": "visits"},
    ]
    org = parse_strategy(strategy(sources, kpis), "strategy.yaml")
    store = Store(db_url)
    try:
        apply_organization(store, org, source="strategy.yaml")
        with store.reading() as conn:
            whole = read_organization(conn)
            settings = read_settings(conn)
            fed = read_fed_kpis(conn)
    finally:
        store.close()
    assert whole is not None and settings is not None
    read = feeds_of(settings.sources, fed)
    assert read == feeds(whole)
    assert [f.kpi_id for f in read] == ["revenue", "orders", "returns", "hires", "churn"]
    orders = next(f for f in read if f.kpi_id == "orders")
    assert (orders.key, orders.query, orders.look_back) == ("o", shared, 3)
    assert orders.frequency is m.Frequency.QUARTERLY
    assert [kpi_id for kpi_id, *_ in fed] == [k["id"] for k in kpis]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("mysql+pymysql://db.example.com/facts?user=a&password=Hunter2Secret", "password"),
        (
            "postgresql://bob@127.0.0.1:1/crm?sslmode=disable&access_token=Hunter2Secret",
            "access_token",
        ),
        ("duckdb:///x.duckdb?motherduck_token=Hunter2Secret", "motherduck_token"),
        ("https://api.example.com/kpis?api_key=Hunter2Secret", "api_key"),
        ("postgresql://bob@db/crm?sslmode=require&sslpassword=Hunter2Secret", "sslpassword"),
        ("trino://bob@db:443/hive?ApiKey=Hunter2Secret", "ApiKey"),
        ("snowflake://bob@acct/db?private%5Fkey=Hunter2Secret", "private_key"),
        ("sc://spark.example.com:15002/;use_ssl=true;token=Hunter2Secret", "token"),
        (
            "mssql+pyodbc://?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Dbob%3BPWD%3DHunter2Secret",
            "odbc_connect PWD",
        ),
    ],
)
def test_a_secret_in_a_url_parameter_is_refused_and_named_never_repeated(
    url: str, name: str
) -> None:
    text = strategy(
        {"warehouse": {"url": url}},
        [{"id": "revenue", "source": {"from": "warehouse", "query": QUERY}}],
    )
    found = problems_of(text)
    assert found == [
        f"strategy.yaml:{line_of(text, 'url:')}: sources.warehouse.url: its parameter {name} "
        "holds a secret; a secret is never written in the strategy file: put the URL in an "
        "environment variable and write env:NAME"
    ]
    assert "Hunter2Secret" not in " ".join(found)


def test_parameters_without_a_secret_are_kept() -> None:
    # sslkey is the path of the client's key file, not a key; keyspace only begins with key.
    url = (
        "postgresql://bob@db/crm?sslmode=require&application_name=los&connect_timeout=5"
        "&sslkey=/etc/los/client.key&keyspace=facts"
    )
    text = strategy(
        {"warehouse": {"url": url}},
        [{"id": "revenue", "source": {"from": "warehouse", "query": QUERY}}],
    )
    assert parse_strategy(text, "strategy.yaml").sources[0].setting("url") == url


def test_a_secret_parameter_of_a_url_read_from_the_environment_is_scrubbed() -> None:
    from lineofsight.sources.secrets import scrub, secret_values

    url = "postgresql://bob@db/crm?access_token=Hunter2%2FSecret&sslmode=require"
    secrets = secret_values({"url": "env:CRM_URL"}, {"CRM_URL": url})
    said = scrub(f"cannot connect to {url}: token Hunter2/Secret refused", secrets)
    assert "Hunter2" not in said
