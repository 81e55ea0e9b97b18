"""SQL of the reviews: cadences as `los apply` wrote them, reviews held and their actions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from lineofsight.domain.reviews import HeldReview, ReviewCadence
from lineofsight.store.organization import bump_activity
from lineofsight.store.review_tables import review_actions, review_cadences, reviews


def read_cadences(conn: Connection) -> tuple[ReviewCadence, ...]:
    """Every unit's review cadence, in the strategy file's order."""
    rows = conn.execute(select(review_cadences).order_by(review_cadences.c.position))
    return tuple(
        ReviewCadence(
            unit=r.unit_id,
            every=r.every,
            day=r.day,
            attendees=tuple(json.loads(r.attendees)),
            lead_days=r.lead_days,
        )
        for r in rows
    )


def save_cadences(conn: Connection, cadences: Sequence[ReviewCadence]) -> None:
    """Replace the stored cadences by these (in the caller's transaction)."""
    if tuple(cadences) == read_cadences(conn):
        return
    conn.execute(delete(review_cadences))
    if cadences:
        conn.execute(
            insert(review_cadences),
            [
                {
                    "unit_id": c.unit,
                    "position": i,
                    "every": c.every,
                    "day": c.day,
                    "attendees": json.dumps(list(c.attendees)),
                    "lead_days": c.lead_days,
                }
                for i, c in enumerate(cadences)
            ],
        )


def insert_review(
    conn: Connection,
    *,
    unit: str,
    period: str,
    held_on: dt.date,
    attendees: Sequence[str],
    decisions: Sequence[str],
    recorded_by: str | None,
    recorded_at: dt.datetime,
) -> int:
    """Keep a review held; its id."""
    result = conn.execute(
        insert(reviews)
        .values(
            unit_id=unit,
            period=period,
            held_on=held_on,
            attendees=json.dumps(list(attendees)),
            decisions=json.dumps(list(decisions)),
            recorded_by=recorded_by,
            recorded_at=recorded_at,
        )
        .returning(reviews.c.id)
    )
    review_id = int(result.scalar_one())
    bump_activity(conn)
    return review_id


def link_actions(conn: Connection, review_id: int, action_ids: Collection[int]) -> None:
    """Record that these actions were created in the review."""
    if action_ids:
        conn.execute(
            insert(review_actions),
            [{"review_id": review_id, "action_id": a} for a in sorted(set(action_ids))],
        )
        bump_activity(conn)


def read_reviews(
    conn: Connection,
    *,
    units: Collection[str] | None = None,
    before: dt.date | None = None,
    review_id: int | None = None,
    limit: int = 50,
) -> list[HeldReview]:
    """Reviews held (of `units`; held before `before`; or the one with `review_id`), the
    latest first, each with the actions created in it."""
    query = select(reviews).order_by(reviews.c.held_on.desc(), reviews.c.id.desc()).limit(limit)
    if units is not None:
        query = query.where(reviews.c.unit_id.in_(sorted(units)))
    if before is not None:
        query = query.where(reviews.c.held_on < before)
    if review_id is not None:
        if not 0 < review_id < 2**31:  # beyond the column's integers: no such review
            return []
        query = query.where(reviews.c.id == review_id)
    rows = list(conn.execute(query))
    links: dict[int, list[int]] = {}
    if rows:
        ids = [r.id for r in rows]
        for review, action in conn.execute(
            select(review_actions.c.review_id, review_actions.c.action_id)
            .where(review_actions.c.review_id.in_(ids))
            .order_by(review_actions.c.action_id)
        ):
            links.setdefault(review, []).append(action)
    return [_held(r, links.get(r.id, [])) for r in rows]


def _held(row: Any, actions: list[int]) -> HeldReview:
    at = row.recorded_at
    if at.tzinfo is None:  # SQLite gives back naive datetimes (stored as UTC)
        at = at.replace(tzinfo=dt.UTC)
    return HeldReview(
        id=row.id,
        unit=row.unit_id,
        period=row.period,
        held_on=row.held_on,
        attendees=tuple(json.loads(row.attendees)),
        decisions=tuple(json.loads(row.decisions)),
        action_ids=tuple(actions),
        recorded_by=row.recorded_by,
        recorded_at=at,
    )
