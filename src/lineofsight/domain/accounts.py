"""Who may use the web app: accounts, their roles on unit subtrees, and their API tokens as
listed (never the token itself)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Grant:
    """A role on a unit and every unit below it; `unit_id` None is the whole organisation."""

    role: str
    unit_id: str | None = None

    def __str__(self) -> str:
        return self.role if self.unit_id is None else f"{self.role}:{self.unit_id}"


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the web app sees it: who they are, which person they are, what they may do."""

    id: int
    username: str
    name: str
    person_id: str | None
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed: never the token itself, which is shown once when made."""

    id: int
    username: str
    label: str | None
    created_at: dt.datetime
