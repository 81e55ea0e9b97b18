"""The store's table of scheduled jobs (source refreshes, notification runs): one row per job
key with its state, when it is next due and who holds it while it runs. Kept apart from the
organisation's definitions and values (`tables`), on the same metadata."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from lineofsight.store.metadata import metadata

# Job keys name a family and its item, e.g. `refresh:warehouse:daily` or `notify:digest`.
JOB_KEY = 200

scheduled_jobs = Table(
    "scheduled_jobs",
    metadata,
    Column("key", String(JOB_KEY), primary_key=True, comment="the job: its family and item"),
    Column("schedule", Text, nullable=False, comment="its schedule, as the strategy file says"),
    Column(
        "state",
        String(16),
        nullable=False,
        comment="idle, running (a scheduler holds its lease) or failed (the last run failed)",
    ),
    Column(
        "next_due",
        DateTime(timezone=True),
        nullable=False,
        comment="when it runs next (after a failure: when it is retried), UTC",
    ),
    Column("last_started_at", DateTime(timezone=True), comment="when its last run started"),
    Column("last_finished_at", DateTime(timezone=True), comment="when its last run ended"),
    Column("last_outcome", Text, comment="the one-line summary of its last successful run"),
    Column(
        "last_error",
        Text,
        comment="why its last run failed (empty after a success); redacted by the job",
    ),
    Column("attempts", Integer, nullable=False, comment="failed runs in a row (0 after a success)"),
    Column("lease_owner", String(200), comment="the scheduler running it now (host:pid:id)"),
    Column(
        "lease_until",
        DateTime(timezone=True),
        comment="the run is presumed dead after this and the job may be claimed again",
    ),
    Index("ix_scheduled_jobs_next_due", "next_due"),
    comment="Scheduled jobs (source refreshes, notifications): state, next run, lease.",
)
