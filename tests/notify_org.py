"""A small organisation with notifications on, for the notification tests: a store built on
SQLite or PostgreSQL, users per role, and the real SMTP server the settings point at."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from argon2 import PasswordHasher

from lineofsight.services import accounts
from lineofsight.services.accounts import Grant
from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store

SECRET = "notify-tests-secret-key"
PASSWORD = "correct horse battery"
BASE_URL = "http://testserver"
# A Thursday: the 2026-10 values are in (due 2026-11-10), two KPIs turned red in 2026-10, and
# Monday's digest of week 2026-W45 is due (a sender that did not run on Monday sends it later).
NOW = dt.datetime(2026, 11, 5, 8, 0, tzinfo=dt.UTC)

STRATEGY = """\
version: 1
organization:
  name: Acme
  calendar: {{due_days: 10}}
  units:
    - {{id: ti, name: Acme, level: company, lead: ceo}}
    - {{id: cs, name: Customer Service, level: department, parent: ti, lead: cs_head}}
    - {{id: fin, name: Finance, level: department, parent: ti, lead: cfo}}
  people:
    - {{id: ceo, name: Avery Chen, unit: ti, email: avery@example.com}}
    - {{id: cs_head, name: Claire Dubois, unit: cs, email: claire@example.com}}
    - {{id: agent, name: Sam Park, unit: cs, email: sam@example.com}}
    - {{id: cfo, name: Omar Haddad, unit: fin, email: omar@example.com}}
    - {{id: quiet, name: Quinn Quiet, unit: cs, email: quinn@example.com,
       notifications: {{email: false}}}}
kpis:
  - {{id: nps, name: Net Promoter Score, unit: cs, owner: agent, frequency: monthly,
     direction: increase, target: {{value: 50, by: 2026-12-31}},
     targets: {{2026-09: 50, 2026-10: 50, 2026-11: 50}}}}
  - {{id: csat, name: Customer satisfaction, unit: cs, owner: agent, frequency: monthly,
     direction: increase, target: {{value: 80, by: 2026-12-31}},
     targets: {{2026-09: 80, 2026-10: 80, 2026-11: 80}}}}
  - {{id: margin, name: Gross margin, unit: fin, owner: cfo, frequency: monthly,
     direction: increase, unit_of_measure: "%", target: {{value: 40, by: 2026-12-31}},
     targets: {{2026-09: 40, 2026-10: 40, 2026-11: 40}}}}
  - {{id: churn, name: Churn, unit: cs, owner: quiet, frequency: monthly,
     direction: decrease, target: {{value: 2, by: 2026-12-31}},
     targets: {{2026-09: 2, 2026-10: 2, 2026-11: 2}}, tolerance_abs: 0.5}}
notifications:
  smtp: {{host: 127.0.0.1, port: {port}, from_address: los@example.com{login}}}
  base_url: {base_url}
{webhooks}"""

MEASUREMENTS = """\
kpi,period,value
nps,2026-09,52
nps,2026-10,20
csat,2026-09,85
csat,2026-10,86
margin,2026-09,41
margin,2026-10,17.5
churn,2026-09,1
churn,2026-10,9
"""

# username -> (roles, person)
USERS: dict[str, tuple[tuple[Grant, ...], str | None]] = {
    "admin": ((Grant("admin"),), "ceo"),
    "claire": ((Grant("viewer", "cs"),), "cs_head"),
    "sam": ((Grant("owner", "cs"),), "agent"),
    "quinn": ((Grant("owner", "cs"),), "quiet"),
    # cfo has no account: he hears only about what he owns
}


def strategy_text(port: int, *, webhooks: str = "", login: str = "") -> str:
    return STRATEGY.format(port=port, base_url=BASE_URL, webhooks=webhooks, login=login)


def build(url: str, folder: Path, port: int, *, webhooks: str = "", login: str = "") -> Store:
    """The store with the organisation, its values and its users (the caller closes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "strategy.yaml").write_text(
        strategy_text(port, webhooks=webhooks, login=login), encoding="utf-8"
    )
    (folder / "data.csv").write_text(MEASUREMENTS, encoding="utf-8")
    original = accounts.hasher
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    store = Store(url)
    try:
        apply_file(store, folder / "strategy.yaml")
        load_file(store, folder / "data.csv")
        for username, (grants, person) in USERS.items():
            accounts.add_user(store, username, PASSWORD, grants, person_id=person, actor="tests")
    finally:
        accounts.hasher = original
    return store
