"""The store's tables of data-source refreshes (migration 0013): each run of a source, where
each KPI's last refresh got to (for the next one's `:since`), and the provenance of each write
of values a refresh made. On the same metadata as `tables`.

Connection settings are never stored here: the strategy file's `sources:` (kept on the
`organization` row) hold `env:NAME` references, and the values stay in the environment.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, Float, Index, Integer, String, Table, Text

from lineofsight.store.metadata import ID, metadata

# One row per refresh of one source: its state while it runs and how it ended.
source_runs = Table(
    "source_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="order of the run"),
    Column("source", String(ID), nullable=False, comment="name of the source"),
    Column("state", String(16), nullable=False, comment="running, ok or failed"),
    Column("trigger", String(16), nullable=False, comment="command, web, api or schedule"),
    Column("actor", Text, comment="who started it"),
    Column("full_refresh", Boolean, nullable=False, comment="every period read (--full)"),
    Column("started_at", DateTime(timezone=True), nullable=False, comment="when it started"),
    Column("finished_at", DateTime(timezone=True), comment="when it ended"),
    Column("duration", Float, comment="seconds it took"),
    Column("rows_read", Integer, comment="rows the source gave for the KPIs refreshed"),
    Column("added", Integer, comment="values added"),
    Column("replaced", Integer, comment="values replaced (the old kept as revisions)"),
    Column("unchanged", Integer, comment="values the store held already"),
    Column(
        "not_ended",
        Integer,
        comment="rows of periods not ended yet, left out for a later refresh",
    ),
    Column("error", Text, comment="why it failed, one line (never a secret)"),
    Column("problems", Text, comment="the bad rows it found, JSON list of text"),
    Column(
        "lease_until",
        DateTime(timezone=True),
        comment="a running refresh renews it; past it, the refresh was abandoned",
    ),
    Index("ix_source_runs_source", "source", "id"),
    sqlite_autoincrement=True,
    comment="Each refresh of a data source: state, times, rows and the reason of a failure.",
)

# Where each KPI's last successful refresh got to: its next refresh reads from the start of
# the last period minus the look-back (`:since`); a new query reads everything again.
source_marks = Table(
    "source_marks",
    metadata,
    Column("source", String(ID), primary_key=True, comment="name of the source"),
    Column("kpi_id", String(ID), primary_key=True, comment="kpis.id it feeds"),
    Column("fingerprint", String(64), nullable=False, comment="SHA-256 of the query text"),
    Column("last_period", String(16), comment="the latest period the refresh read"),
    Column("refreshed_at", DateTime(timezone=True), nullable=False, comment="when"),
    Column("run_id", Integer, nullable=False, comment="source_runs.id of the refresh"),
    comment="Where each KPI's last refresh from its source got to (for the next :since).",
)

# Provenance: each write of values a refresh made (one `loads` row per KPI written).
source_writes = Table(
    "source_writes",
    metadata,
    Column("load_id", Integer, primary_key=True, comment="loads.id of the write"),
    Column("run_id", Integer, nullable=False, index=True, comment="source_runs.id"),
    Column("source", String(ID), nullable=False, comment="name of the source"),
    Column("kpi_id", String(ID), nullable=False, comment="kpis.id written"),
    Column("fingerprint", String(64), nullable=False, comment="SHA-256 of the query text"),
    Column("since", Date, comment="the :since the query was given"),
    Column("rows", Integer, nullable=False, comment="rows the query gave for this KPI"),
    comment="Where each write of a refresh came from: source, query fingerprint and rows.",
)
