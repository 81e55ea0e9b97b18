"""A small organisation for the briefing book tests: one red and one amber KPI in Customer
Service, a green one in Operations, and a review cadence with notifications."""

from __future__ import annotations

from pathlib import Path

from lineofsight.services.apply import apply_file
from lineofsight.services.measurements import load_file
from lineofsight.store.database import Store

STRATEGY = """\
version: 1
organization:
  name: Acme
  units:
    - {id: co, name: Acme Company, level: company, lead: ceo}
    - {id: cs, name: Customer Service, level: department, parent: co, lead: cara}
    - {id: ops, name: Operations, level: department, parent: co, lead: oli}
  people:
    - {id: ceo, name: Casey Chief, unit: co, email: casey@example.com}
    - {id: cara, name: Cara Service, unit: cs, email: cara@example.com}
    - {id: oli, name: Oli Ops, unit: ops}
objectives:
  - {id: keep, title: Keep our customers, level: strategic, unit: co, owner: ceo}
  - {id: serve, title: Serve customers well, level: tactical, unit: cs, owner: cara,
     parent: keep}
  - {id: run, title: Run without outages, level: tactical, unit: ops, owner: oli, parent: keep}
kpis:
  - {id: churn, name: Customer churn, unit: cs, owner: cara, frequency: monthly,
     direction: decrease, unit_of_measure: "%", supports: [{objective: serve}],
     baseline: {period: 2025-12, value: 9}, target: {value: 4, by: 2026-12-31},
     targets: {2026-06: 6}}
  - {id: nps, name: Net promoter score, unit: cs, owner: cara, frequency: monthly,
     direction: increase, supports: [{objective: serve}], tolerance: 0.10,
     target: {value: 50, by: 2026-12-31}, targets: {2026-06: 46}}
  - {id: uptime, name: Uptime, unit: ops, owner: oli, frequency: monthly,
     direction: increase, supports: [{objective: run}],
     target: {value: 99, by: 2026-12-31}, targets: {2026-06: 99}}
notifications:
  smtp: {host: localhost, from_address: los@example.com}
  base_url: https://los.example.com
reviews:
  - {unit: co, every: monthly, day: 3, attendees: [ceo, cara, oli]}
"""

MEASUREMENTS = """\
kpi,period,value
churn,2026-01,9
churn,2026-02,9.5
churn,2026-03,10
churn,2026-04,11
churn,2026-05,12
churn,2026-06,12.5
nps,2026-01,41
nps,2026-02,42
nps,2026-03,42
nps,2026-04,43
nps,2026-05,43
nps,2026-06,44
uptime,2026-04,99.2
uptime,2026-05,99.4
uptime,2026-06,99.5
"""


def make_store(url: str, folder: Path) -> Store:
    """The organisation applied and its measurements loaded into the store at `url`."""
    (folder / "strategy.yaml").write_text(STRATEGY, encoding="utf-8")
    (folder / "data.csv").write_text(MEASUREMENTS, encoding="utf-8")
    store = Store(url)
    apply_file(store, folder / "strategy.yaml")
    load_file(store, folder / "data.csv")
    return store
