"""A scoped admin or editor cannot reach outside their units, whatever the write names.

Every case below is a write by an account scoped to one unit (sales, or ops) that names an
item of its own unit but reaches another one: a user linked to a person of another unit, a
link (supports, parent, contributes_to, formula input, influence, owner, unit target) to an
item of another unit, a change of another unit's item, and the library's add form doing
the same. Each must be refused with 403 and leave definitions, users and audit log as they
were. The organisation is tests/web/conftest.py's, with an objective added to ops.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineofsight.library.addition import insert_kpis
from lineofsight.services import accounts, library_add
from lineofsight.services.accounts import Grant
from lineofsight.services.apply import apply_file, apply_organization
from lineofsight.services.audit import read_audit
from lineofsight.services.library import strategy_source
from lineofsight.spec.dump import dump_organization
from lineofsight.store.definitions import read_organization
from tests.web.conftest import CSRF, PASSWORD, STRATEGY, log_in

# The web tests' organisation with an objective in ops, so that an ops editor has one to
# add a KPI under.
BASE = STRATEGY.replace(
    "kpis:\n",
    "  - {id: ship, title: Ship on time, level: tactical, unit: ops, owner: bob, parent: grow,\n"
    "     deadline: 2027-12-31}\nkpis:\n",
    1,
)
YAML = {"Content-Type": "application/yaml"}


@dataclass
class Site:
    """The web app of this module and an API token per scoped account."""

    app: Any
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def site(web_app: Any) -> Site:
    """The web app with BASE applied from the strategy file, an ops editor, and a sales
    viewer linked (by an organisation admin) to the CEO."""
    store = web_app.state.store
    path = strategy_source(store)
    path.write_text(BASE, encoding="utf-8")
    apply_file(store, path)
    accounts.add_user(store, "ops_editor", PASSWORD, [Grant("editor", "ops")], actor="tests")
    accounts.add_user(
        store, "ceo_proxy", PASSWORD, [Grant("viewer", "sales")], person_id="ceo", actor="tests"
    )
    names = ("sales_admin", "sales_editor", "ops_editor")
    return Site(web_app, {n: accounts.create_token(store, n, actor="tests") for n in names})


def _call(site: Site, write: Callable[[TestClient, dict[str, str]], Any]) -> Any:
    with TestClient(site.app, follow_redirects=False) as client:
        return write(client, site.tokens)


def _state(store: Any) -> tuple[Any, list[str], int]:
    """What a refused write must leave as it was: definitions, users, audit log."""
    with store.reading() as conn:
        definitions = read_organization(conn)
    users = [a.username for a in accounts.list_users(store)]
    return definitions, users, len(read_audit(store, limit=100_000))


def _put(
    change: Callable[[str], str], reaches: str = "ops"
) -> Callable[[TestClient, dict[str, str]], Any]:
    """A sales editor's PUT /strategy of BASE changed; refused for the unit it `reaches`."""

    def call(client: TestClient, tokens: dict[str, str]) -> Any:
        text = change(BASE)
        assert text != BASE  # the case changes something
        headers = {**YAML, "Authorization": f"Bearer {tokens['sales_editor']}"}
        answer = client.put("/api/v1/strategy", content=text, headers=headers)
        where = "the whole organisation" if reaches == "*" else f"unit '{reaches}'"
        assert f"'edit_definitions' on {where}" in answer.json()["error"]["message"], answer.text
        return answer

    return call


def _new_sales_kpi(extra: str, owner: str = "alice") -> Callable[[str], str]:
    kpi = (
        f"  - id: new_kpi\n    name: New KPI\n    unit: sales\n    owner: {owner}\n"
        "    frequency: monthly\n    direction: increase\n"
    )
    return lambda text: text + kpi + extra


def _kpi_moved(kpi: str, before: str | None = None) -> Callable[[str], str]:
    """The strategy with the KPI's entry moved before another's (None: last of all)."""

    def move(text: str) -> str:
        start = text.index(f"  - id: {kpi}\n")
        end = text.find("  - id: ", start + 1)
        end = len(text) if end < 0 else end
        entry, text = text[start:end], text[:start] + text[end:]
        at = len(text) if before is None else text.index(f"  - id: {before}\n")
        return text[:at] + entry + text[at:]

    return move


def _ship_first(text: str) -> str:
    """The strategy with ops' objective moved before the company's (their order among
    themselves changed: no move of sales' items alone gives it)."""
    ship = (
        "  - {id: ship, title: Ship on time, level: tactical, unit: ops, owner: bob, "
        "parent: grow,\n     deadline: 2027-12-31}\n"
    )
    assert ship in text
    return text.replace(ship, "").replace("  - {id: grow,", ship + "  - {id: grow,", 1)


def _api(role: str, method: str, path: str, body: Any) -> Callable[..., Any]:
    def call(client: TestClient, tokens: dict[str, str]) -> Any:
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        return client.request(method, "/api/v1" + path, json=body, headers=headers)

    return call


def _library(role: str, kpi: str, form: dict[str, str]) -> Callable[..., Any]:
    def call(client: TestClient, tokens: dict[str, str]) -> Any:
        assert log_in(client, role).status_code == 303
        page = client.get("/library")
        token = CSRF.search(page.text)
        assert token is not None
        return client.post(f"/library/{kpi}/add", data={**form, "csrf_token": token.group(1)})

    return call


NEW_USER = {"password": PASSWORD, "roles": ["viewer:sales"]}

# Each case: a write that names the account's own unit but reaches another one.
ESCAPES: dict[str, Callable[..., Any]] = {
    "user linked to the CEO (person of the parent unit)": _api(
        "sales_admin", "POST", "/users", {**NEW_USER, "username": "proxy1", "person": "ceo"}
    ),
    "user linked to a person of a sibling unit": _api(
        "sales_admin", "POST", "/users", {**NEW_USER, "username": "proxy2", "person": "bob"}
    ),
    "token for a user who acts as the CEO": _api(
        "sales_admin", "POST", "/users/ceo_proxy/tokens", {}
    ),
    "removing a user who acts as the CEO": _api(
        "sales_admin", "DELETE", "/users/ceo_proxy", None
    ),
    "KPI supporting another unit's objective": _put(
        _new_sales_kpi("    supports: [{objective: grow}]\n"), "acme"
    ),
    "KPI owned by a person of another unit": _put(_new_sales_kpi("", owner="bob")),
    "formula reading another unit's KPI": _put(_new_sales_kpi("    formula: revenue + defects\n")),
    "KPI influencing another unit's KPI": _put(_new_sales_kpi("    influences: [defects]\n")),
    "KPI contributing to another unit's KPI": _put(
        _new_sales_kpi("    contributes_to: [{kpi: defects}]\n")
    ),
    "unit target for another unit": _put(
        _new_sales_kpi("    unit_targets: {ops: {value: 3, by: 2026-12-31}}\n")
    ),
    "objective under another unit's objective": _put(
        lambda text: text.replace(
            "kpis:\n",
            "  - {id: sales_child, title: Child, level: tactical, unit: sales, parent: grow}\n"
            "kpis:\n",
            1,
        ),
        "acme",
    ),
    "weight of a link to another unit's objective": _put(
        lambda text: text.replace("alice, parent: grow,", "alice, parent: grow, weight: 3,"),
        "acme",
    ),
    "renaming another unit's KPI": _put(lambda text: text.replace("name: Defects", "name: Faults")),
    "moving a KPI to another unit": _put(
        lambda text: text.replace("name: Revenue\n    unit: sales", "name: Revenue\n    unit: ops")
    ),
    "moving a person to another unit": _put(
        lambda text: text.replace("Alice Seller, unit: sales", "Alice Seller, unit: ops")
    ),
    "a unit under another unit": _put(
        lambda text: text.replace(
            "  people:\n",
            "    - {id: ops_west, name: Ops West, level: team, parent: ops}\n  people:\n",
        )
    ),
    "reordering other units' objectives among themselves": _put(_ship_first),
    "the mission": _put(lambda text: text.replace("Sell good things.", "Sell."), "*"),
    "library: KPI supporting another unit's objective": _library(
        "sales_editor", "win_rate", {"unit": "sales", "owner": "alice", "supports": "grow"}
    ),
    "library: KPI owned by a person of another unit": _library(
        "sales_editor", "win_rate", {"unit": "sales", "owner": "bob", "supports": "sell_more"}
    ),
    "library: formula reading another unit's KPI": _library(
        "ops_editor", "revenue_per_employee", {"unit": "ops", "owner": "bob", "supports": "ship"}
    ),
}  # fmt: skip


USERS_OUTSIDE = {"token for a user who acts as the CEO", "removing a user who acts as the CEO"}


@pytest.mark.parametrize("case", list(ESCAPES))
def test_a_scoped_write_reaching_another_unit_is_refused_and_stores_nothing(
    site: Site, case: str
) -> None:
    store = site.app.state.store
    file = strategy_source(store)
    before, file_before = _state(store), file.read_text()
    answer = _call(site, ESCAPES[case])
    # A user outside the admin's units is not found (as any item outside them), so that
    # asking cannot tell which usernames exist there; the other writes are refused.
    outside_user = case in USERS_OUTSIDE
    assert answer.status_code == (404 if outside_user else 403), answer.text
    if outside_user:
        assert answer.json()["error"]["message"] == "user 'ceo_proxy' not found", answer.text
    assert _state(store) == before
    assert file.read_text() == file_before


def test_the_same_writes_inside_the_scope_are_allowed(site: Site) -> None:
    """The rule refuses what reaches out, not what a unit admin or editor may do."""
    store = site.app.state.store
    user = {**NEW_USER, "username": "seller2", "person": "alice"}
    made = _call(site, _api("sales_admin", "POST", "/users", user))
    assert made.status_code == 201, made.text
    form = {"unit": "sales", "owner": "alice", "supports": "sell_more"}
    added = _call(site, _library("sales_editor", "customer_churn_rate", form))
    assert added.status_code == 200, added.text
    assert "Added to the strategy and to its file." in added.text
    assert "id: customer_churn_rate" in strategy_source(store).read_text()
    with store.reading() as conn:
        org = read_organization(conn)
    assert org is not None and "customer_churn_rate" in {k.id for k in org.kpis}


def test_a_unit_editor_may_reorder_the_kpis_of_their_unit(site: Site) -> None:
    """Moving a sales KPI before another is a change of sales only (the ops KPI between
    them keeps its order among the others)."""
    stored = strategy_source(site.app.state.store).read_text()  # what is applied
    text = _kpi_moved("conversion", before="revenue")(stored)
    assert text != stored
    headers = {**YAML, "Authorization": f"Bearer {site.tokens['sales_editor']}"}
    with TestClient(site.app) as client:
        answer = client.put("/api/v1/strategy?dry_run=true", content=text, headers=headers)
    assert answer.status_code == 200, answer.text
    changes = [(c["id"], c["field"]) for c in answer.json()["changes"]]
    assert changes == [("conversion", "position")]


def test_a_unit_editor_may_move_their_kpi_past_another_units(site: Site) -> None:
    """Moving a sales KPI one place down, past an ops KPI, can be read as the ops KPI moving
    up; the other units' items keep their order among themselves, so it is the sales
    editor's to make (as it would be in two steps: last of all, then back before the next
    sales KPI)."""
    stored = strategy_source(site.app.state.store).read_text()
    ids = re.findall(r"^  - id: (\w+)$", stored[stored.index("\nkpis:") :], re.M)
    assert ids[ids.index("revenue") + 1] == "defects"  # the ops KPI right after it
    text = _kpi_moved("revenue", before=ids[ids.index("revenue") + 2])(stored)
    headers = {**YAML, "Authorization": f"Bearer {site.tokens['sales_editor']}"}
    with TestClient(site.app) as client:
        answer = client.put("/api/v1/strategy?dry_run=true", content=text, headers=headers)
    assert answer.status_code == 200, answer.text
    changes = answer.json()["changes"]
    assert changes and {c["field"] for c in changes} == {"position"}


def test_a_reorder_is_judged_where_a_whole_file_is_applied(site: Site) -> None:
    """A whole file is where the order of the strategy changes (an edit of one item keeps
    the others' order): the sales KPI moved past the ops KPI is applied for the sales editor,
    put down to their own KPI, while the file's plan records it as the ops KPI's new place."""
    store = site.app.state.store
    path = strategy_source(store)
    stored = path.read_text()
    ids = re.findall(r"^  - id: (\w+)$", stored[stored.index("\nkpis:") :], re.M)
    after = ids[ids.index("revenue") + 1]
    assert after == "defects"
    moved = _kpi_moved("revenue", before=ids[ids.index("revenue") + 2])(stored)
    headers = {**YAML, "Authorization": f"Bearer {site.tokens['sales_editor']}"}
    with TestClient(site.app) as client:
        answer = client.put("/api/v1/strategy", content=moved, headers=headers)
        assert answer.status_code == 200, answer.text
        assert [(c["id"], c["field"]) for c in answer.json()["changes"]] == [
            ("defects", "position")
        ]
        with store.reading() as conn:
            org = read_organization(conn)
        assert org is not None
        order = [k.id for k in org.kpis]
        assert order[order.index("defects") + 1] == "revenue"
    apply_file(store, path)  # the file as the module's other tests have it
    with store.reading() as conn:
        org = read_organization(conn)
    assert org is not None and [k.id for k in org.kpis] == ids


def test_library_add_ignores_unapplied_edits_of_the_file(site: Site) -> None:
    """The web add adds exactly the catalogue items to the store's definitions: another
    unit's KPI renamed in the file on disk (not applied) stays as it is in the store, and the
    file, which no longer matches the store, is left alone and the page says so."""
    store = site.app.state.store
    file = strategy_source(store)
    edited = file.read_text().replace("name: Defects", "name: Defects renamed on disk")
    file.write_text(edited, encoding="utf-8")
    form = {"unit": "sales", "owner": "alice", "supports": "sell_more"}
    answer = _call(site, _library("sales_editor", "net_promoter_score", form))
    assert answer.status_code == 200, answer.text
    assert "was left as it is: it differs from the store" in answer.text
    assert str(file.parent) not in answer.text  # no server path on the page
    with store.reading() as conn:
        org = read_organization(conn)
    assert org is not None
    names = {k.id: k.name for k in org.kpis}
    assert names["defects"] == "Defects"  # the unapplied edit was not applied
    assert names["net_promoter_score"] == "Net Promoter Score"
    assert file.read_text() == edited  # the file is the user's: not touched
    audit = read_audit(store, subject="net_promoter_score")
    assert [(a.actor, a.action) for a in audit] == [("sales_editor", "library.add")]
    file.write_text(edited.replace("Defects renamed on disk", "Defects"), encoding="utf-8")


def test_library_add_does_not_undo_a_change_made_while_it_ran(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer renames a KPI after the add read the definitions: the add must not
    write its stale copy over it (it stops, writes nothing, and says to try again)."""
    store = site.app.state.store
    path = strategy_source(store)
    file_before = path.read_text()
    read = library_add._stored_organization

    def read_then_someone_writes(store_: Any) -> Any:
        found = read(store_)
        renamed = tuple(
            dataclasses.replace(k, name="Defects (meanwhile)") if k.id == "defects" else k
            for k in found.kpis
        )
        apply_organization(store_, dataclasses.replace(found, kpis=renamed), source=str(path))
        return found

    monkeypatch.setattr(library_add, "_stored_organization", read_then_someone_writes)
    form = {"unit": "sales", "owner": "alice", "supports": "sell_more"}
    answer = _call(site, _library("sales_editor", "sales_cycle_length", form))
    monkeypatch.undo()
    assert answer.status_code == 422, answer.text
    assert "the strategy changed while the KPI was being added" in answer.text
    with store.reading() as conn:
        org = read_organization(conn)
    assert org is not None
    names = {k.id: k.name for k in org.kpis}
    assert names["defects"] == "Defects (meanwhile)" and "sales_cycle_length" not in names
    assert path.read_text() == file_before
    put_back = tuple(
        dataclasses.replace(k, name="Defects") if k.id == "defects" else k for k in org.kpis
    )
    apply_organization(store, dataclasses.replace(org, kpis=put_back), source=str(path))


def test_a_unit_editor_may_apply_a_strategy_whose_changes_stay_in_their_unit(site: Site) -> None:
    """PUT /strategy by a sales editor: a new sales KPI supporting a sales objective, owned
    by a sales person, reading a sales KPI. (Last: it makes the web the strategy's source.)"""
    store = site.app.state.store
    with store.reading() as conn:
        current = read_organization(conn)
    assert current is not None
    new = {"id": "new_kpi", "name": "New KPI", "unit": "sales", "owner": "alice",
           "frequency": "monthly", "direction": "increase", "formula": "revenue * 2",
           "supports": [{"objective": "sell_more"}]}  # fmt: skip
    text = insert_kpis(dump_organization(current), [new])
    headers = {**YAML, "Authorization": f"Bearer {site.tokens['sales_editor']}"}
    with TestClient(site.app) as client:
        answer = client.put("/api/v1/strategy", content=text, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["added"] == 1
    with store.reading() as conn:
        after = read_organization(conn)
    assert after is not None and "new_kpi" in {k.id for k in after.kpis}
