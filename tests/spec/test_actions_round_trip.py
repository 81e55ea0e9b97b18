"""Property: a strategy file's actions survive `los export` and `los apply` unchanged (dump,
then parse, gives the same organisation), whatever the actions declare."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from lineofsight.domain import model as m
from lineofsight.domain.actions import DeclaredAction, Milestone
from lineofsight.spec.dump import dump_organization
from lineofsight.spec.files import parse_strategy
from tests.orgs import DATES, IDS, organizations

TITLES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ,.'&<>:#-]{0,40}[A-Za-z0-9.]", fullmatch=True)


@st.composite
def with_actions(draw: st.DrawFn) -> m.Organization:
    org = draw(organizations())
    subjects = [("kpi", k.id) for k in org.kpis] + [("objective", o.id) for o in org.objectives]
    people = [p.id for p in org.people]
    keys = draw(st.lists(IDS, max_size=4, unique=True)) if subjects else []
    if not keys:
        # No actions: the file has no section (an empty one is not written back).
        return dataclasses.replace(org, actions=None)
    actions = []
    for key in keys:
        kind, item = draw(st.sampled_from(subjects))
        steps = draw(
            st.lists(st.builds(Milestone, TITLES, st.none() | DATES, st.booleans()), max_size=3)
        )
        actions.append(
            DeclaredAction(
                key=key,
                subject_type=kind,
                subject_id=item,
                title=draw(TITLES),
                owner=draw(st.none() | st.sampled_from(people)) if people else None,
                due=draw(st.none() | DATES),
                status=draw(st.sampled_from([None, "open", "done", "dropped"])),
                milestones=tuple(steps),
            )
        )
    return dataclasses.replace(org, actions=tuple(actions))


@given(with_actions())
@settings(max_examples=25, deadline=None)
def test_actions_dump_then_parse_is_identity(org: m.Organization) -> None:
    text = dump_organization(org)
    back = parse_strategy(text, "dumped.yaml")
    assert back.actions == org.actions
    assert back == org
