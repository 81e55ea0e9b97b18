"""`los check`: the alignment rules over a strategy file, or over the store with its data."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineofsight.checks.base import CheckReport, Finding, Selection
from lineofsight.domain import model as m
from lineofsight.errors import StoreError, UsageError
from lineofsight.gcpause import paused_gc
from lineofsight.services.arguments import OPTIONS, ArgumentNames
from lineofsight.services.check_reports import report_from_text, report_key
from lineofsight.services.workspace import shown_file, shown_from
from lineofsight.store.check_results import check_reading, read_check_report, read_check_state
from lineofsight.store.database import Store

# The rules, Polars and SQLAlchemy are loaded when the rules run: a check that prints the
# report kept for it loads none of them.
if TYPE_CHECKING:
    import polars as pl

    from lineofsight.checks.data import CheckData


def parse_options(pairs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`CODE.name=value` pairs from the command line, values read as numbers."""
    options: dict[str, dict[str, Any]] = defaultdict(dict)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        code, dot, name = key.partition(".")
        if not sep or not dot or not code or not name:
            raise UsageError(f"--option {pair!r}: write CODE.name=value, e.g. OW02.max=4")
        value: Any
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        options[code.strip().upper()][name.strip()] = value
    return dict(options)


def rule_codes(given: str | Iterable[str]) -> list[str]:
    """The rule codes a select or ignore names: one text or several, each a code or codes
    separated by commas ("OW02,AL01"), as `los check --select` and `Workspace.check` take them."""
    texts = [given] if isinstance(given, str) else given
    return [code for text in texts for code in text.split(",")]


def chosen_rules(
    checks: m.ChecksConfig,
    source: str,
    select_codes: Iterable[str] = (),
    ignore_codes: Iterable[str] = (),
    options: Mapping[str, Mapping[str, Any]] | None = None,
    names: ArgumentNames = OPTIONS,
) -> Selection:
    """The rules a `checks:` section (of the file or store `source`) and the caller's
    settings choose; UsageError naming where each bad setting is and why."""
    from lineofsight.checks.base import ConfigError
    from lineofsight.checks.runner import build_selection
    from lineofsight.errors import Problem

    labels = (names.select, names.ignore, names.option)
    try:
        return build_selection(checks, select_codes, ignore_codes, options, labels)
    except ConfigError as exc:
        # A message about a setting the caller gave (`--select` on the command line, `select`
        # in Python) is the caller's, not that of the file or store being checked. The summary
        # says the first problem: in Python it is all that `str(error)` shows.
        given = tuple(f"{label}:" for label in labels)
        where = [names.caller if m.startswith(given) else source for m in exc.messages]
        more = len(exc.messages) - 1
        # The caller's own setting is named by its message ("--select: ...", "select: ...").
        at = "" if where[0] == names.caller else f"{where[0]}: "
        raise UsageError(
            f"{at}bad check settings: {exc.messages[0]}" + (f" (and {more} more)" if more else ""),
            [Problem(w, 0, msg) for w, msg in zip(where, exc.messages, strict=True)],
        ) from None


def unknown_owners(org: m.Organization, as_of: dt.date, source: str) -> list[Finding]:
    """The owners who are not people of the organisation, as the error findings of OW01
    that `los check` reports for them (none when the file's `checks:` leaves OW01 out):
    what `los apply` says of a file that it stores all the same (SPEC 4: a finding).
    UsageError naming `source` when its `checks:` section is bad (as `los check` says)."""
    from lineofsight.checks.base import Severity
    from lineofsight.checks.data import data_from_organization
    from lineofsight.checks.runner import check_data

    chosen = chosen_rules(org.checks, source)
    if not chosen.wants("OW01"):
        return []
    only = Selection(frozenset({"OW01"}), chosen.ignore, chosen.options)
    report = check_data(data_from_organization(org), as_of, None, only)
    return [f for f in report.findings if f.severity is Severity.ERROR]


def check(
    *,
    file: Path | None,
    store: Store | None,
    as_of: dt.date,
    select_codes: str | Iterable[str] = (),
    ignore_codes: str | Iterable[str] = (),
    options: Mapping[str, Mapping[str, Any]] | None = None,
    reuse: bool = True,
    names: ArgumentNames = OPTIONS,
) -> CheckReport:
    """Check a strategy file (no measurements), or the store with its measurements.

    On the store, a report made earlier for the same command line is reused while the store
    is as it was (`reuse=False` runs the rules again in any case); a new one is kept. `names`
    say how the caller calls select, ignore and options in a message."""
    select_codes, ignore_codes = rule_codes(select_codes), rule_codes(ignore_codes)
    if file is not None:
        # Imported here: the strategy file's schema is not needed to check the store.
        from lineofsight.checks.data import data_from_organization
        from lineofsight.spec.files import read_strategy

        data = data_from_organization(read_strategy(file))
        return _run(data, str(file), None, as_of, select_codes, ignore_codes, options, names)
    assert store is not None
    key = report_key(as_of, select_codes, ignore_codes, options)
    with paused_gc(), check_reading(store) as conn:
        state = read_check_state(conn)
        kept = read_check_report(conn, key, state) if reuse else None
    if kept is not None:
        report = report_from_text(kept)
    else:
        from concurrent.futures import ThreadPoolExecutor

        from lineofsight.store.check_reads import read_check_frames

        with ThreadPoolExecutor(max_workers=1) as pool:
            # The definitions' columns are read (read after `state`: a write in between leaves
            # the report unkept, below) while the modules that read the settings and run the
            # rules are loaded: the reading is SQLite's and Arrow's work, outside Python's lock.
            reading = pool.submit(read_check_frames, store)
            _load_rules()
            frames = reading.result()
        from lineofsight.services.check_reports import report_text
        from lineofsight.store.check_reads import read_source_file
        from lineofsight.store.check_results import save_check_report
        from lineofsight.store.definitions import read_settings

        with store.reading() as read:
            settings = read_settings(read)
            source_file = read_source_file(read)
        if settings is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
        with paused_gc():  # hundreds of thousands of objects, none in a cycle
            data = _check_data(settings, frames, source_file, store)
            report = _run(
                data, "the store", store, as_of, select_codes, ignore_codes, options, names
            )
        # A store this user may only read, or one kept busy: the report is just not kept. Nor
        # is it when the store changed since `state` (the columns were read after it).
        with contextlib.suppress(StoreError):
            save_check_report(store, key, state, report_text(report))
    _place(report, store)
    return report


def applied_stamp(store: Store) -> tuple[str, int, int] | None:
    """The strategy file last applied with its size and time of change as they are now
    (None: no such file): what changes when the file is edited, to know when the places
    the findings name must be looked at again."""
    from lineofsight.store.check_results import read_applied_file

    with check_reading(store) as conn:
        applied, _digest = read_applied_file(conn)
    if applied is None:
        return None
    try:
        stat = Path(applied).stat()
    except OSError:
        return None
    return (applied, stat.st_mtime_ns, stat.st_size)


def findings_folder(store: Store) -> Path | None:
    """The folder the findings on the store name their file from (`shown_file`), to find
    the file from any folder (SARIF); None when the store keeps no absolute path of it."""
    from lineofsight.store.check_reads import read_source_file

    with store.reading() as conn:
        source = read_source_file(conn)
    if not source or not Path(source).is_absolute():
        return None
    return shown_from(Path(source))


def _load_rules() -> None:
    """Load the modules that read the store's settings and values and run the rules (each
    rule's own too)."""
    import lineofsight.services.check_values
    import lineofsight.store.definitions  # noqa: F401
    from lineofsight.checks.registry import all_rules

    all_rules()


def _check_data(
    settings: m.Organization, frames: dict[str, pl.DataFrame], file: str | None, store: Store
) -> CheckData:
    """The organisation in the store as the rules see it."""
    from lineofsight.checks.data import CheckData, store_location

    return CheckData(
        settings.calendar,
        settings.checks,
        frames,
        store_location(file),
        declared_lines=lambda: _declared_lines(store, file),
    )


def _declared_lines(store: Store, file: str | None) -> dict[str, int]:
    """The line of each action the strategy file last applied declares, while it is as
    applied (`spec.files.applied_action_lines`)."""
    from lineofsight.spec.files import applied_action_lines
    from lineofsight.store.check_results import read_applied_file

    if not file:
        return {}
    with check_reading(store) as conn:
        applied, digest = read_applied_file(conn)
    if applied != file or digest is None:
        return {}
    return applied_action_lines(Path(applied), digest)


def _run(
    data: CheckData,
    source: str,
    store: Store | None,
    as_of: dt.date,
    select_codes: Iterable[str],
    ignore_codes: Iterable[str],
    options: Mapping[str, Mapping[str, Any]] | None,
    names: ArgumentNames = OPTIONS,
) -> CheckReport:
    """The selected rules over the organisation, with the store's values when there is a
    store."""
    from concurrent.futures import ThreadPoolExecutor

    from lineofsight.checks.runner import check_data, reads_data
    from lineofsight.services.check_values import read_check_values

    selection = chosen_rules(data.checks, source, select_codes, ignore_codes, options, names)
    if store is None or not reads_data(selection):
        return check_data(data, as_of, None, selection)
    # The values are read beside the rules that need none (the reading is mostly the
    # database's and Arrow's work, outside Python's lock).
    _ = data.formula_leaves  # made once, here: both threads look at them
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(read_check_values, store, data, as_of, selection)
        return check_data(data, as_of, reading.result, selection)


def _place(report: CheckReport, store: Store) -> None:
    """Give the findings on the store the places that are true now (the report kept has
    those the store knew when it was made).

    The store keeps the strategy file's absolute path (for the sources it names): the
    findings show it relative to its workspace, as `los` commands there take it, and at the
    item's line only while the file is what was applied (the digest of its bytes is the one
    kept); once it changed, the file without a line. An item written since by a change made
    in the web app has no place in the file: the report says who changed it and when."""
    from lineofsight.spec.digest import file_digest
    from lineofsight.store.check_results import read_applied_file, read_last_changes

    with check_reading(store) as conn:
        applied, digest = read_applied_file(conn)
        # Items without a line have none because a change made elsewhere wrote them.
        elsewhere = {
            (f.subject.kind.value, f.subject.id) for f in report.findings if not f.location
        }
        last = read_last_changes(conn, elsewhere) if elsewhere and applied else {}
    report.changed = {
        item: f"changed in the web app by {actor} on {day}" for item, (actor, day) in last.items()
    }
    same = applied is not None and digest is not None and file_digest(Path(applied)) == digest
    shown: dict[str, str] = {}
    placed = []
    for finding in report.findings:
        location = finding.location
        if location is not None:
            file = location.file
            if file not in shown:
                shown[file] = shown_file(file)
            path = shown[file]
            line = location.line if same and file == applied else 0
            if path != file or line != location.line:
                f = finding  # made whole: quicker than dataclasses.replace, 14,000 times
                finding = Finding(
                    code=f.code,
                    name=f.name,
                    severity=f.severity,
                    subject=f.subject,
                    message=f.message,
                    location=m.Location(path, line),
                )
        placed.append(finding)
    report.findings = placed


def __getattr__(name: str) -> Any:
    """The readers of stored values (`check_values`), loaded when first asked for."""
    if name in ("read_check_values", "read_observations"):
        from lineofsight.services import check_values

        return getattr(check_values, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
