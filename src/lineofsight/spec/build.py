"""Turn a validated strategy file into domain objects, keeping where each was written."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from lineofsight.domain import model as m
from lineofsight.domain.actions import DeclaredAction, Milestone
from lineofsight.domain.notifications import (
    NotificationSettings,
    PersonPreferences,
    Smtp,
    Webhook,
)
from lineofsight.domain.reviews import ReviewCadence, normal_every
from lineofsight.spec import schema as s
from lineofsight.spec.yamlload import LineMap


def build_organization(doc: s.StrategyFile, file: str, lines: LineMap) -> m.Organization:
    """The domain model of a sound strategy file."""

    def at(*path: Hashable) -> m.Location:
        return m.Location(file, lines.line_of(path))

    org = doc.organization
    units = tuple(
        m.Unit(
            id=u.id,
            name=u.name,
            level=u.level,
            parent=u.parent,
            lead=u.lead,
            function=u.function,
            lint=_lint(u.lint),
            location=at("organization", "units", i),
        )
        for i, u in enumerate(org.units)
    )
    people = tuple(
        m.Person(
            id=p.id,
            name=p.name,
            unit=p.unit,
            title=p.title,
            email=p.email,
            lint=_lint(p.lint),
            location=at("organization", "people", i),
        )
        for i, p in enumerate(org.people)
    )
    strategy = m.Strategy()
    if doc.strategy is not None:
        strategy = m.Strategy(
            mission=doc.strategy.mission,
            vision=doc.strategy.vision,
            values=tuple(doc.strategy.values),
            methods=tuple(doc.strategy.methods),
            obstacles=tuple(doc.strategy.obstacles),
        )
    objectives = tuple(
        m.Objective(
            id=o.id,
            title=o.title,
            level=o.level,
            unit=o.unit,
            owner=o.owner,
            parent=o.parent,
            weight=o.weight,
            perspective=o.perspective,
            description=o.description,
            start=o.start,
            deadline=o.deadline,
            status=o.status,
            lint=_lint(o.lint),
            location=at("objectives", i),
        )
        for i, o in enumerate(doc.objectives)
    )
    named = {name: spec.kind for name, spec in doc.sources.items()}
    kpis = tuple(_kpi(k, at("kpis", i), named) for i, k in enumerate(doc.kpis))
    scoring = m.Scoring()
    if doc.scoring is not None:
        scoring = m.Scoring(green_at=doc.scoring.green_at, amber_at=doc.scoring.amber_at)
    checks = m.ChecksConfig()
    if doc.checks is not None:
        checks = m.ChecksConfig(
            select=tuple(doc.checks.select),
            ignore=tuple(doc.checks.ignore),
            options=tuple(
                (code, tuple(options.items())) for code, options in doc.checks.options.items()
            ),
        )
    return m.Organization(
        name=org.name,
        calendar=m.Calendar(org.calendar.fiscal_year_start, org.calendar.due_days)
        if org.calendar
        else m.Calendar(),
        units=units,
        people=people,
        strategy=strategy,
        objectives=objectives,
        kpis=kpis,
        scoring=scoring,
        checks=checks,
        notifications=_notifications(doc),
        sources=named_sources(doc.sources),
        reviews=tuple(
            ReviewCadence(
                unit=r.unit,
                every=normal_every(r.every),
                day=r.day.lower() if r.day is not None else None,
                attendees=tuple(r.attendees),
                lead_days=r.lead_days,
            )
            for r in doc.reviews
        ),
        actions=None
        if doc.actions is None
        else tuple(_action(a, at("actions", i)) for i, a in enumerate(doc.actions)),
    )


def _action(spec: s.ActionSpec, location: m.Location) -> DeclaredAction:
    return DeclaredAction(
        key=spec.id,
        subject_type="kpi" if spec.kpi is not None else "objective",
        subject_id=spec.kpi or spec.objective or "",
        title=spec.title.strip(),
        owner=spec.owner,
        due=spec.due,
        status=spec.status,
        milestones=tuple(Milestone(ms.title.strip(), ms.due, ms.done) for ms in spec.milestones),
        location=location,
    )


def _notifications(doc: s.StrategyFile) -> NotificationSettings:
    """The `notifications:` section, with the people's own settings from their entries."""
    people = tuple(
        (
            p.id,
            PersonPreferences(
                email=p.notifications.email,
                webhook=p.notifications.webhook,
                digest=p.notifications.digest,
                digest_day=p.notifications.digest_day,
            ),
        )
        for p in doc.organization.people
        if p.notifications is not None
    )
    spec = doc.notifications
    if spec is None:
        return NotificationSettings(people=people)
    smtp = None
    if spec.smtp is not None:
        smtp = Smtp(
            host=spec.smtp.host,
            port=spec.smtp.port,
            security=spec.smtp.security,
            username=spec.smtp.username,
            password=spec.smtp.password,
            from_address=spec.smtp.from_address,
        )
    return NotificationSettings(
        enabled=True,
        smtp=smtp,
        base_url=spec.base_url,
        webhooks=tuple(Webhook(w.id, w.kind, w.url, w.unit) for w in spec.webhooks),
        reminder_days=tuple(sorted(set(spec.reminder_days), reverse=True)),
        digest_weekday=spec.digest_day,
        copy_unit_leads=spec.copy_unit_leads,
        people=people,
    )


def _lint(spec: s.LintSpec | None) -> m.Lint:
    return m.Lint(tuple(spec.ignore)) if spec is not None else m.Lint()


def _baseline(spec: s.BaselineSpec | None) -> m.PeriodValue | None:
    return m.PeriodValue(spec.period, spec.value) if spec is not None else None


SOURCE_SETTINGS = ("url", "query", "path", "key", "schedule", "look_back", "timeout")
NAMED_SETTINGS = ("url", "master", "path", "query", "look_back", "timeout")


def kpi_source(
    spec: s.SourceSpec | None, named: Mapping[str, m.SourceKind] | None = None
) -> m.Source | None:
    """A KPI's source as the model keeps it: its kind (the named source's when it takes
    values `from:` one) and the settings written, secrets still as `env:NAME`."""
    if spec is None:
        return None
    settings: list[tuple[str, object]] = []
    if spec.from_ is not None:
        settings.append(("from", spec.from_))
    settings.extend((key, getattr(spec, key)) for key in SOURCE_SETTINGS)
    kind = spec.kind or spec.effective_kind
    if kind is None:  # the named source's (validation made sure it is there)
        kind = (named or {}).get(spec.from_ or "", m.SourceKind.SQL)
    return m.Source(kind=kind, settings=tuple((k, v) for k, v in settings if v is not None))


def named_sources(specs: dict[str, s.NamedSourceSpec]) -> tuple[m.NamedSource, ...]:
    """The file's `sources:`, in the order written."""
    return tuple(
        m.NamedSource(
            name,
            spec.kind,
            tuple((k, getattr(spec, k)) for k in NAMED_SETTINGS if getattr(spec, k) is not None),
        )
        for name, spec in specs.items()
    )


def _kpi(
    k: s.KpiSpec, location: m.Location, named: Mapping[str, m.SourceKind] | None = None
) -> m.Kpi:
    source = kpi_source(k.source, named)
    return m.Kpi(
        id=k.id,
        name=k.name,
        unit=k.unit,
        frequency=k.frequency,
        direction=k.direction,
        description=k.description,
        unit_of_measure=k.unit_of_measure,
        level=k.level,
        type=k.type,
        owner=k.owner,
        aggregation=k.aggregation,
        across_units=k.across_units,
        supports=tuple(m.Support(x.objective, x.weight) for x in k.supports),
        contributes_to=tuple(m.Contribution(x.kpi, x.weight, x.effect) for x in k.contributes_to),
        influences=tuple(k.influences),
        formula=k.formula,
        ratio=m.Ratio(k.ratio.numerator, k.ratio.denominator, k.ratio.scale) if k.ratio else None,
        range=m.Range(k.range.low, k.range.high) if k.range else None,
        baseline=_baseline(k.baseline),
        target=m.FinalTarget(k.target.value, k.target.by) if k.target else None,
        targets=tuple(k.targets.items()),
        unit_targets=tuple(
            (
                unit_id,
                m.UnitTarget(
                    value=t.value,
                    by=t.by,
                    baseline=_baseline(t.baseline),
                    targets=tuple(t.targets.items()),
                ),
            )
            for unit_id, t in k.unit_targets.items()
        ),
        tolerance=k.tolerance,
        tolerance_abs=k.tolerance_abs,
        bounds=m.Bounds(k.bounds.min, k.bounds.max) if k.bounds else None,
        benchmark=m.Benchmark(k.benchmark.value, k.benchmark.source) if k.benchmark else None,
        source=source,
        lint=_lint(k.lint),
        due_days=k.due_days,
        location=location,
    )
