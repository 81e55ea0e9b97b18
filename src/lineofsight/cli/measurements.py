"""`los load` and `los measurement delete`: write and remove measured values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lineofsight.cli.common import (
    DbOption,
    Format,
    FormatOption,
    add_command,
    err,
    escape,
    out,
    print_json,
    report,
)
from lineofsight.display import human, with_measure
from lineofsight.domain.text import plural
from lineofsight.errors import InputError
from lineofsight.services.workspace import local_user, open_store

AllowFutureOption = Annotated[
    bool,
    typer.Option(
        "--allow-future",
        help="Accept values for periods that have not ended yet (refused by default).",
    ),
]

# One stored measurement: its KPI, period and unit (for `measurement delete` and `history`).
KpiArgument = Annotated[str, typer.Argument(metavar="KPI", help="The KPI id.")]
PeriodArgument = Annotated[str, typer.Argument(metavar="PERIOD", help="The period (e.g. 2026-10).")]
UnitOption = Annotated[
    str | None,
    typer.Option(
        "--unit",
        metavar="UNIT",
        help="The unit of the value (default: the KPI's own).",
        show_default=False,
    ),
]


def load(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE", help="CSV or XLSX files of measurements.")
    ],
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            metavar="NAME",
            help="The sheet of an XLSX file (default: 'measurements', else the first).",
        ),
    ] = None,
    allow_future: AllowFutureOption = False,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Load measurements (columns kpi, period, value[, unit, numerator, denominator, note]).

    Each file is loaded whole or not at all; every bad row is listed. A value far from the
    KPI's recent values at its unit (ten times off, or of a sign it never had) is stored with
    a warning naming its row.
    """
    from lineofsight.services.measurements import NOT_ENDED, load_file

    failed: list[InputError] = []
    loaded = []
    with open_store(db) as store:
        for path in files:
            try:
                result = load_file(store, path, sheet=sheet, allow_future=allow_future)
            except InputError as exc:
                failed.append(exc)
                report(exc)
                continue
            loaded.append(result)
            if output_format is Format.TEXT:
                where = result.file
                if result.sheet is not None:
                    where += f", sheet '{result.sheet}'"
                    if result.header_row != 1:
                        where += f" (header on row {result.header_row})"
                out.print(
                    f"Loaded {escape(where)}: {plural(result.rows, 'row')}: "
                    f"{result.added:,} added, {result.replaced:,} replaced, "
                    f"{result.unchanged:,} unchanged."
                )
                for warning in result.warnings:
                    err.print(f"Warning: {escape(str(warning))}")
    if output_format is Format.JSON:
        print_json(
            {
                "loaded": [
                    {
                        "file": r.file,
                        "sheet": r.sheet,
                        "rows": r.rows,
                        "added": r.added,
                        "replaced": r.replaced,
                        "unchanged": r.unchanged,
                        "warnings": [str(w) for w in r.warnings],
                    }
                    for r in loaded
                ],
                "failed": [
                    {"error": exc.summary, "problems": [str(p) for p in exc.problems]}
                    for exc in failed
                ],
            }
        )
    if any(NOT_ENDED in p.message for exc in failed for p in exc.problems):
        err.print("(--allow-future loads values for periods that have not ended.)")
    if failed:
        raise typer.Exit(2)


def _written(
    value: float | None,
    numerator: float | None,
    denominator: float | None,
    measure: str | None,
) -> str:
    """A stored value as every output writes it (10,800,300 EUR, not 1.08003e+07), a ratio
    KPI's as its numerator and denominator."""
    if numerator is not None and denominator is not None:
        return f"{human(numerator)}/{human(denominator)}"
    return with_measure(value, measure)


def delete(
    kpi: KpiArgument,
    period: PeriodArgument,
    unit: UnitOption = None,
    db: DbOption = None,
) -> None:
    """Delete one stored value; the value is kept as a revision and in the audit log."""
    from lineofsight.services.checkin import delete_measurement

    with open_store(db) as store:
        result = delete_measurement(
            store, kpi_id=kpi, unit_id=unit, period=period, actor=local_user()
        )
    shown = _written(result.value, result.numerator, result.denominator, result.measure)
    out.print(
        f"Deleted {escape(result.kpi_id)} for {escape(result.unit_id)}, "
        f"{escape(result.period)}: {shown} (kept as revision {result.revision})."
    )


def history(
    kpi: KpiArgument,
    period: PeriodArgument,
    unit: UnitOption = None,
    output_format: FormatOption = Format.TEXT,
    db: DbOption = None,
) -> None:
    """Every value one measurement has had, oldest first: when, from where, replaced when."""
    from lineofsight.services.checkin import measurement_history

    with open_store(db) as store:
        unit_id, label, values = measurement_history(store, kpi_id=kpi, unit_id=unit, period=period)
        deleted = (
            _deletion(store, kpi, unit_id, label)
            if values[-1:] and values[-1].replaced_at
            else None
        )
    if output_format is Format.JSON:
        print_json(
            {
                "kpi": kpi,
                "unit": unit_id,
                "period": label,
                "values": [
                    {
                        "revision": v.revision,
                        "value": v.value,
                        "numerator": v.numerator,
                        "denominator": v.denominator,
                        "note": v.note,
                        "recorded_at": v.recorded_at,
                        "source": v.source,
                        "replaced_at": v.replaced_at,
                        "current": v.replaced_at is None,
                    }
                    for v in values
                ],
                "deleted": deleted,
            }
        )
        return
    if not values:
        out.print(f"No value was ever stored for {escape(kpi)} at {escape(unit_id)}, {label}.")
        return
    out.print(f"{escape(kpi)} at {escape(unit_id)}, {label}: {plural(len(values), 'value')}")
    for v in values:
        shown = _written(v.value, v.numerator, v.denominator, v.measure)
        when = v.recorded_at.strftime("%Y-%m-%d %H:%M")
        state = (
            "current"
            if v.replaced_at is None
            else f"replaced {v.replaced_at.strftime('%Y-%m-%d %H:%M')}"
        )
        source = f"  {escape(v.source)}" if v.source else ""
        out.print(f"  {shown:>12}  recorded {when}{source}  ({state})")
    if values[-1].replaced_at is not None:
        if deleted is None:
            out.print("  (deleted: no current value)")
        else:
            why = f": {escape(deleted['reason'])}" if deleted["reason"] else ""
            out.print(
                f"  (deleted {deleted['at'].strftime('%Y-%m-%d %H:%M')} by "
                f"{escape(deleted['by'])}{why}: no current value)"
            )


def _deletion(store: Any, kpi: str, unit: str, period: str) -> dict[str, Any] | None:
    """Who deleted a measurement's value last, when and why (a refresh says its source no
    longer gives it), from the audit log; None when it does not say."""
    from lineofsight.services.audit import read_audit

    found = read_audit(
        store, subject=f"measurement:{kpi}/{unit}/{period}", action="measurement.delete", limit=1
    )
    if not found:
        return None
    after = found[0].after
    reason = after.get("reason") if isinstance(after, dict) else None
    return {"at": found[0].at, "by": found[0].actor, "reason": reason}


def measurement_group() -> typer.Typer:
    """`los measurement` with its commands, in the order its help lists them."""
    measurement = typer.Typer(
        name="measurement",
        help="Stored measurements: delete one (kept as a revision), show one's revisions.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    add_command(measurement, delete, "delete")
    add_command(measurement, history, "history")
    return measurement
