"""`los refresh` and `los sources`: pull KPI values from their sources, and show the sources."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lineofsight.cli.common import DbOption, Format, FormatOption, err, escape, out, print_json
from lineofsight.domain.text import plural
from lineofsight.services.workspace import local_user, open_store

EXIT_FAILED = 1  # some source failed (each reason printed); 2 is a bad argument


def refresh(
    kpis: Annotated[
        list[str] | None,
        typer.Argument(metavar="KPI", help="KPIs whose sources to refresh.", show_default=False),
    ] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Refresh every source.")] = False,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            metavar="NAME",
            help="Refresh this source (repeat for more).",
            show_default=False,
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Read every period again, not only from :since."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Read, check and compare, but write nothing."),
    ] = False,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="Run only what is due on its schedule (each source and schedule once) "
            "for cron, when `los serve` runs no scheduler; exit 1 if one failed.",
        ),
    ] = False,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Pull KPI values from their sources (incremental: from each query's :since).

    Each source is written whole or not at all; a failing source is reported and the others
    go on. Exit code 1 when any source failed.
    """
    from lineofsight.errors import UsageError
    from lineofsight.services.refresh import refresh as run_refresh

    if due:
        if kpis or source or all_sources or full or dry_run:
            raise UsageError("--due runs the scheduled refreshes that are due: give it alone")
        from lineofsight.cli.jobs import run_due_jobs
        from lineofsight.services.jobs import refresh_family, scorecard_family

        # The scorecard keeper too: cron's `los refresh --due` keeps the next turn ready.
        run_due_jobs([refresh_family, scorecard_family], output_format, db)
        return
    if not kpis and not source and not all_sources:
        raise UsageError("give KPI ids, --source NAME, --all or --due")
    if all_sources and (kpis or source):
        raise UsageError("--all refreshes every source: give it alone")
    with open_store(db) as store:
        report = run_refresh(
            store,
            kpis=tuple(kpis or ()),
            sources=tuple(source or ()),
            full=full,
            dry_run=dry_run,
            actor=local_user(),
        )
    if output_format is Format.JSON:
        print_json(
            {
                "dry_run": report.dry_run,
                "full": report.full,
                "sources": [s.as_json() for s in report.sources],
            }
        )
    else:
        if not report.sources:
            out.print("No source to refresh: no KPI of the strategy has a source.")
        for summary in report.sources:
            _print_summary(summary)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def _print_summary(summary: Any) -> None:
    """A source's summary: what it read and wrote, then how long it took (failures, with
    every problem, on standard error)."""
    if summary.failed:
        err.print(
            f"[bold red]Failed[/] {escape(summary.source)} ({summary.reason}): "
            f"{escape(summary.error or '')}"
        )
        for problem in summary.problems:
            err.print(f"  {escape(problem)}")
        return
    dry = summary.state == "dry-run"
    counts = f"{plural(summary.rows_read, 'row')} read: " + (
        f"would add {summary.added:,}, replace {summary.replaced:,}"
        + (f", remove {summary.removed:,}" if summary.removed else "")
        + f"; {summary.unchanged:,} unchanged"
        if dry
        else f"{summary.added:,} added, {summary.replaced:,} replaced, "
        f"{summary.unchanged:,} unchanged"
        + (f", {summary.removed:,} removed" if summary.removed else "")
    )
    head = "Dry run of" if dry else "Refreshed"
    out.print(f"{head} {escape(summary.source)}: {counts}")
    kpis = len(summary.kpis)
    detail = f"  {plural(kpis, 'KPI')} in {summary.duration:.2f} s"
    if summary.not_ended:
        detail += f"; {plural(summary.not_ended, 'row')} of periods not ended yet left out"
    out.print(detail)
    for kpi, count in summary.kept:
        out.print(
            f"  kpi {escape(kpi)}: the source gave no row; its {plural(count, 'stored value')} "
            "of the periods read are kept (an empty answer is more likely a fault)"
        )
    for warning in summary.warnings:
        err.print(f"Warning: {escape(summary.source)}: {escape(warning)}")


def sources(output_format: FormatOption = Format.TEXT, db: DbOption = None) -> None:
    """List the data sources: kind, schedule, KPIs, last and next run, state, last error."""
    from lineofsight.display import utc_minute
    from lineofsight.services.sources import source_statuses

    with open_store(db) as store:
        found = source_statuses(store)
    if output_format is Format.JSON:
        print_json({"sources": [s.as_json() for s in found]})
        return
    if not found:
        out.print("No sources: every KPI's values are entered or loaded by hand.")
        return
    for status in found:
        run = status.last_run
        schedule = ", ".join(status.schedules) or "when asked (no schedule)"
        out.print(f"[bold]{escape(status.name)}[/] ({status.kind}, {escape(schedule)})")
        used = ", ".join(status.kpis) or "none (no KPI takes values from this source)"
        out.print(f"  KPIs: {escape(used)}")
        if run is None:
            out.print("  last run: never")
        else:
            when = utc_minute(run["started_at"])
            line = f"  last run: {run['state']} at {when}"
            if run["duration"] is not None:
                line += f" in {run['duration']:.2f} s"
            if run["rows_read"] is not None:
                line += (
                    f": {plural(run['rows_read'], 'row')} read, {run['added']:,} added, "
                    f"{run['replaced']:,} replaced, {run['unchanged']:,} unchanged"
                )
                if run["not_ended"]:
                    line += f"; {plural(run['not_ended'], 'row')} of periods not ended yet left out"
            out.print(escape(line))
            if run["error"]:
                out.print(f"  last error: {escape(run['error'])}")
            for warning in run.get("warnings", ()):
                out.print(f"  warning: {escape(warning)}")
        if status.next_run is not None:
            out.print(f"  next run: {utc_minute(status.next_run)}")
