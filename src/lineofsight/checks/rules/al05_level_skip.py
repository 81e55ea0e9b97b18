from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from lineofsight.checks.base import Finding, Rule, Severity, SubjectKind
from lineofsight.checks.context import CheckContext
from lineofsight.domain import model as m


class LevelSkip(Rule):
    """A link that jumps from operational straight to strategic, or points down a level.

    The links looked at are `supports` (KPI to objective), objective `parent` and
    `contributes_to` (KPI to KPI). Formula inputs are identities, not cascade links, and are
    left alone. Items without a level are skipped.

    Why it matters:
        Strategic aims are reached through tactical ones: an operational measure tied straight
        to a strategic objective skips the layer where a department turns strategy into
        plans, so nobody in between owns the translation. A link that points down a level is
        upside down.

    Bad:
        kpis:
          - {id: calls_per_agent, level: operational, supports: [market_share], ...}
        # market_share is strategic

    Good:
        kpis:
          - {id: calls_per_agent, level: operational, supports: [service_quality], ...}
        # service_quality is tactical, with market_share as its parent
    """

    severity = Severity.WARNING

    def check(self, ctx: CheckContext, options: Mapping[str, int | float]) -> Iterator[Finding]:
        objectives = ctx.data.objectives.select("id", "level")
        kpis = ctx.data.kpis.select("id", "level").filter(pl.col("level").is_not_null())
        links = (
            (
                SubjectKind.OBJECTIVE,
                ctx.data.objectives.select("id", "level", "parent"),
                objectives,
                "{level} objective '{id}' has the {other_level} parent '{other}': {problem}",
            ),
            (
                SubjectKind.KPI,
                ctx.data.supports.join(kpis, left_on="kpi_id", right_on="id").select(
                    pl.col("kpi_id").alias("id"), "level", "objective"
                ),
                objectives,
                "{level} KPI '{id}' supports the {other_level} objective '{other}': {problem}",
            ),
            (
                SubjectKind.KPI,
                ctx.data.contributions.join(kpis, left_on="kpi_id", right_on="id").select(
                    pl.col("kpi_id").alias("id"), "level", "kpi"
                ),
                kpis,
                "{level} KPI '{id}' contributes to the {other_level} KPI '{other}': {problem}",
            ),
        )
        for kind, frame, targets, message in links:
            target = frame.columns[2]
            pairs = frame.join(
                targets.rename({"id": target, "level": "other_level"}), on=target
            ).filter(pl.concat_str("level", "other_level", separator=" ").is_in(_BAD_PAIRS))
            for item_id, level, other, other_level in pairs.iter_rows():
                problem = _PROBLEM[_RANK_OF[level]][_RANK_OF[other_level]]
                yield ctx.finding(
                    self,
                    kind,
                    item_id,
                    message.format(
                        level=level,
                        id=item_id,
                        other_level=other_level,
                        other=other,
                        problem=problem,
                    ),
                )


_RANK = {m.Level.STRATEGIC: 0, m.Level.TACTICAL: 1, m.Level.OPERATIONAL: 2}
_LEVELS = list(_RANK)
_RANK_OF = {level.value: rank for level, rank in _RANK.items()}


def _skip(source: m.Level, target: m.Level) -> str | None:
    if source is m.Level.OPERATIONAL and target is m.Level.STRATEGIC:
        return "it skips the tactical level"
    if target.rank > source.rank:
        return "the link points to a lower level"
    return None


# _PROBLEM[source rank][target rank]: what is wrong with a link between those levels, if anything.
_PROBLEM = [[_skip(source, target) for target in _RANK] for source in _RANK]
# The links between those levels that are wrong, as "source target" level names.
_BAD_PAIRS = [
    f"{source.value} {target.value}"
    for source in _LEVELS
    for target in _LEVELS
    if _PROBLEM[_RANK[source]][_RANK[target]]
]
