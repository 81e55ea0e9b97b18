"""Run the selected rules over an organisation and keep the findings nobody suppressed."""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lineofsight.checks.base import (
    CheckReport,
    ConfigError,
    Finding,
    Rule,
    Selection,
)
from lineofsight.checks.context import CheckContext, Observation
from lineofsight.checks.data import (
    CheckData,
    CheckValues,
    data_from_organization,
    values_from_observations,
)
from lineofsight.checks.registry import all_rules, rule_by_code
from lineofsight.domain import model as m


def build_selection(
    config: m.ChecksConfig,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    options: Mapping[str, Mapping[str, Any]] | None = None,
    labels: tuple[str, str, str] = ("--select", "--ignore", "--option"),
) -> Selection:
    """The file's `checks:` settings, overridden by the caller's: a select given replaces the
    file's, ignores add up, options given win. `labels` name the caller's select, ignore and
    options in a message (the command line's options, or the Python API's parameters)."""
    select_label, ignore_label, option_label = labels
    known = rule_by_code()
    errors = []
    # Sorted, so that a message about several codes says them in the same order every time.
    cli_select = sorted({code.strip().upper() for code in select if code.strip()})
    cli_ignore = sorted({code.strip().upper() for code in ignore if code.strip()})
    for where, codes in (
        ("checks.select", config.select),
        ("checks.ignore", config.ignore),
        (select_label, cli_select),
        (ignore_label, cli_ignore),
    ):
        for code in codes:
            if code not in known:
                errors.append(f"{where}: unknown rule {code} (rules: {', '.join(known)})")
    merged: dict[str, dict[str, Any]] = {code: dict(opts) for code, opts in config.options}
    for code, opts in (options or {}).items():
        merged.setdefault(code, {}).update(opts)
    for code, opts in merged.items():
        rule = known.get(code)
        # A rule given options by the caller is named as such (`--option`).
        where = option_label if code in (options or {}) else "checks.options"
        if rule is None:
            errors.append(f"{where}: unknown rule {code}")
            continue
        try:
            rule.resolve(opts)
        except ConfigError as exc:
            errors.extend(f"{where}: {message}" for message in exc.messages)
    if errors:
        raise ConfigError(errors)
    return Selection(
        select=frozenset(cli_select or config.select),
        ignore=frozenset(set(config.ignore) | set(cli_ignore)),
        options=merged,
    )


def reads_data(selection: Selection) -> bool:
    """Whether any selected rule looks at measurements (else there is no need to read any)."""
    return any(
        (rule.needs_data or rule.reads_data) and selection.wants(rule.code) for rule in all_rules()
    )


def run_checks(
    org: m.Organization,
    as_of: dt.date,
    measurements: Mapping[str, Sequence[Observation]] | None = None,
    selection: Selection | None = None,
    ratios: Sequence[tuple[str, str, str, float, float]] = (),
) -> CheckReport:
    """Findings of every selected rule over an organisation held as objects, with these
    observations by KPI (None: no store, the data rules are skipped) and stored ratio rows
    (KPI, unit, period, numerator, denominator) whose denominator may make no ratio."""
    values = None if measurements is None else values_from_observations(measurements, ratios)
    return check_data(data_from_organization(org), as_of, values, selection)


# The stored values, or what reads them (called once the rules that need none have run, so
# that the caller may read them meanwhile), or None without a store.
Values = CheckValues | Callable[[], CheckValues] | None


def check_data(
    data: CheckData,
    as_of: dt.date,
    values: Values = None,
    selection: Selection | None = None,
) -> CheckReport:
    """Findings of every selected rule, minus those suppressed per item, in file order."""
    selection = selection or build_selection(data.checks)
    # The indexes the rules build are many small objects and no reference cycles: the cyclic
    # garbage collector would only rescan them again and again meanwhile.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _run(data, as_of, values, selection)
    finally:
        if paused:
            gc.enable()


def _run(data: CheckData, as_of: dt.date, values: Values, selection: Selection) -> CheckReport:
    chosen = [rule for rule in all_rules() if selection.wants(rule.code)]
    ctx = CheckContext(data, as_of, None if callable(values) else values)
    plain = [rule for rule in chosen if not (rule.needs_data or rule.reads_data)]
    with_data = [rule for rule in chosen if rule.needs_data or rule.reads_data]
    found: dict[str, list[Finding]] = {}
    if callable(values) and with_data:
        # The values are being read meanwhile (`values` waits for them). A thread of its own
        # runs the rules that look at them as soon as they are there, beside those that look
        # at none here; once done with these, this thread takes its share of the others (much
        # of both is Polars' work, outside Python's lock). The rules share the indexes of
        # `ctx`; only those that look at the values look at `ctx.measurements`.
        read = values
        waiting = deque(with_data)
        taking = threading.Lock()

        def run_with_data() -> None:
            ctx.measurements = read()
            while True:
                with taking:
                    if not waiting:
                        return
                    rule = waiting.popleft()
                found.update(_found(ctx, [rule], ctx.measurements, selection))

        with ThreadPoolExecutor(max_workers=1) as pool:
            beside = pool.submit(run_with_data)
            found.update(_found(ctx, plain, None, selection))
            run_with_data()
            beside.result()
    else:
        checked = None if callable(values) else values
        found.update(_found(ctx, chosen, checked, selection))
    report = CheckReport(as_of=as_of, findings=[], rules_run=[])
    for rule in chosen:
        if rule.code not in found:
            report.skipped.append(rule.code)
            continue
        report.rules_run.append(rule.code)
        for finding in found[rule.code]:
            ignored = data.ignored[finding.subject.kind.value].get(finding.subject.id, ())
            if finding.code in ignored:
                report.suppressed += 1
                continue
            report.findings.append(finding)
    report.findings.sort(key=Finding.sort_key)
    return report


def _found(
    ctx: CheckContext, rules: Sequence[Rule], values: CheckValues | None, selection: Selection
) -> dict[str, list[Finding]]:
    """The findings of each of these rules (a rule that needs values is skipped without)."""
    found = {}
    for rule in rules:
        if rule.needs_data and values is None:
            continue
        given = selection.options.get(rule.code, {})
        options = rule.resolve(given)
        for name in rule.item_defaults - set(given):
            del options[name]
        found[rule.code] = list(rule.check(ctx, options))
    return found
