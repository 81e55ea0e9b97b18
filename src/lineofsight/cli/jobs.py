"""`los jobs`: the scheduled jobs (source refreshes, notifications) with their state, and
`los jobs --due` to run the due ones from cron when `los serve` runs no scheduler."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from lineofsight.cli.common import DbOption, Format, FormatOption, out, print_json
from lineofsight.services.workspace import open_store

if TYPE_CHECKING:
    from lineofsight.services.jobs import JobFamily

__all__ = ["jobs", "run_due_jobs"]


# How a run outside the scheduler was started, as `los jobs` says it.
_STARTED = {"command": "by hand", "web": "from the web app", "api": "from the API"}


def _say(line: str) -> None:
    # Keys and errors are plain text: `test:ok:` must not turn into an emoji, `[x]` into markup.
    out.print(line, markup=False, emoji=False)


def jobs(
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="Run the jobs that are due now (and no other scheduler is running), one after "
            "the other; exit 1 if one failed. For cron, e.g. every minute.",
        ),
    ] = False,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """List the scheduled jobs (state, next run, last outcome), or run the due ones (--due)."""
    from lineofsight.display import utc_minute
    from lineofsight.services.jobs import scheduled_jobs
    from lineofsight.services.scheduler import job_statuses

    if due:
        run_due_jobs(None, output_format, db)
        return
    now = dt.datetime.now(dt.UTC)
    with open_store(db) as store:
        statuses = job_statuses(store, scheduled_jobs(store))
    if output_format is Format.JSON:
        print_json({"jobs": [s.plain(now) for s in statuses]})
        return
    if not statuses:
        out.print(
            "No scheduled jobs: a source's `schedule:` or a `notifications:` section in the "
            "strategy file makes one."
        )
        return
    for s in statuses:
        row = s.row
        last = "never run"
        if row is not None and row.last_finished_at is not None:
            what = f"failed: {row.last_error}" if row.last_error else (row.last_outcome or "")
            last = f"last {utc_minute(row.last_finished_at)}: {what}"
        outside = s.last_outside
        if outside is not None:
            # Its work ran since, outside the scheduler (a refresh by hand): said, so that
            # `los jobs` and `los sources` tell the same last run.
            how = f"failed: {outside.error}" if outside.error else "ok"
            by = _STARTED.get(outside.trigger, f"by {outside.trigger}")
            last = f"last {utc_minute(outside.finished_at)} ({by}): {how}"
        attempts = f" ({row.attempts} failed in a row)" if row is not None and row.attempts else ""
        next_time = s.next_due(now)
        shown = "now" if row is None and next_time <= now else utc_minute(next_time)  # new: at once
        _say(f"{s.key}  {s.schedule}  {s.state}{attempts}  next {shown}  {last}")


def run_due_jobs(
    families: Sequence[JobFamily] | None, output_format: Format, db: str | None
) -> None:
    """Run the due jobs (of `families`, default all) and say what each did; exit 1 when one
    failed. `los jobs --due`, `los refresh --due` and `los notify --due` are this."""
    from lineofsight.display import utc_minute
    from lineofsight.services.jobs import scheduled_jobs
    from lineofsight.services.scheduler import run_due

    with open_store(db) as store:
        outcomes = run_due(store, scheduled_jobs(store, families))
    if output_format is Format.JSON:
        print_json(
            {
                "ran": [
                    {
                        "key": o.key,
                        "ok": o.ok,
                        "summary": o.summary,
                        "started": o.started,
                        "finished": o.finished,
                        "next_due": o.next_due,
                        "attempts": o.attempts,
                    }
                    for o in outcomes
                ]
            }
        )
    elif not outcomes:
        out.print("Nothing is due.")
    for o in outcomes if output_format is Format.TEXT else ():
        if o.ok:
            line = f"ran {o.key}: {o.summary} (next {utc_minute(o.next_due)})"
        else:
            line = f"FAILED {o.key}: {o.summary} (retry {utc_minute(o.next_due)})"
        _say(line)
    if any(not o.ok for o in outcomes):
        raise typer.Exit(1)
