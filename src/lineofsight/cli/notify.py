"""`los notify`: what notifications are due now and why, and sending them (each once)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from lineofsight.cli.common import (
    DbOption,
    Format,
    FormatOption,
    escape,
    out,
    parse_date,
    print_json,
)
from lineofsight.services.workspace import open_store


def notify(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent now and why; send nothing.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Plan as of this day (UTC, YYYY-MM-DD; default today); "
            "messages are sent, and recorded as sent, now.",
            show_default=False,
        ),
    ] = None,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="Run only what is due on its schedule (the hourly sender job) "
            "for cron, when `los serve` runs no scheduler; exit 1 if one failed.",
        ),
    ] = False,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Send the notifications due now: reminders, overdue values, KPIs turned red, digests;
    exit 1 when a send failed (put back for a retry, or given up)."""
    from lineofsight.services import notify as service

    if due:
        if dry_run or as_of is not None:
            from lineofsight.errors import UsageError

            raise UsageError("--due runs the scheduled sender if it is due: give it alone")
        from lineofsight.cli.jobs import run_due_jobs
        from lineofsight.services.jobs import notify_family

        run_due_jobs([notify_family], output_format, db)
        return
    day = parse_date(as_of, "--as-of") if as_of is not None else None
    now = dt.datetime.now(dt.UTC)
    with open_store(db) as store:
        if output_format is Format.TEXT and not _enabled(store):
            out.print("Notifications are off: the strategy file has no `notifications:` section.")
            return
        if dry_run:
            from lineofsight.services.notify_plan import unreached_leads

            planned = service.plan(store, now, day)
            retries = service.retries_due(store, now)
            unreached = unreached_leads(store)
            if output_format is Format.JSON:
                print_json(
                    {
                        "would_send": [n.plain() for n in planned],
                        "would_retry": retries,
                        "not_copied": unreached,
                    }
                )
                return
            _print_plan(planned, retries)
            if unreached:
                out.print("Unit leads not copied:")
            for line in unreached:
                out.print(f"  {escape(line)}", soft_wrap=True)
            return
        report = service.send_due(store, now, as_of=day)
    if output_format is Format.JSON:
        print_json(report.plain())
    else:
        _print_report(report)
    if report.failed:
        # Put back for a retry or given up: a cron job or a script must hear of it.
        raise typer.Exit(1)


def _enabled(store: Any) -> bool:
    from lineofsight.services.notify_settings import read_settings

    with store.reading() as conn:
        return read_settings(conn).enabled


def _line(n: Any) -> str:
    where = f" <{n.address}>" if getattr(n, "address", None) else ""
    item = f" {n.item}" if n.item else ""
    return f"{n.channel} to {n.recipient}{where}: {n.kind}{item}"


def _print_plan(planned: list[Any], retries: list[dict[str, Any]]) -> None:
    if not planned and not retries:
        out.print("Nothing to send now.")
        return
    if planned:
        noun = "notification" if len(planned) == 1 else "notifications"
        out.print(f"Would send {len(planned)} {noun}:")
        for n in planned:
            out.print(f"  {escape(_line(n))}", soft_wrap=True)
            out.print(f"    subject: {escape(n.subject)}", soft_wrap=True)
            out.print(f"    why: {escape(n.reason)}", soft_wrap=True)
    if retries:
        out.print(f"Would retry {len(retries)}:")
        for r in retries:
            out.print(
                f"  {r['channel']} to {escape(r['recipient'])}: {r['kind']} "
                f"(attempt {r['attempts'] + 1}; last error: {escape(r['last_error'] or '')})",
                soft_wrap=True,
            )


def _print_report(report: Any) -> None:
    out.print(
        f"Sent {report.count('sent')}, retrying {report.count('retry')}, "
        f"failed {report.count('failed')}."
    )
    if report.waiting:
        # Not "nothing to send": what earlier runs put back is sent once its time comes.
        out.print(
            f"{escape(report.wait_text())}: `los notify` (or the scheduler) sends "
            f"{'it' if report.waiting == 1 else 'them'} then.",
            soft_wrap=True,
        )
    for o in report.outcomes:
        error = f" ({escape(o.error)})" if o.error else ""
        out.print(
            f"  {o.state}: {o.channel} to {escape(o.recipient)}: {escape(o.subject)}{error}",
            soft_wrap=True,
        )
    if report.uncertain:
        out.print(
            f"{report.uncertain} may have been sent (the sender stopped between the send and "
            "its record): see the sent page to resend them.",
            soft_wrap=True,
        )
