"""`los user ...` through the CLI runner, and `los serve` as a real server process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import invoke
from tests.web.conftest import PASSWORD, build_store


@pytest.fixture
def store_url(db_url: str, tmp_path: Path) -> str:
    build_store(db_url, tmp_path / "org")
    return db_url


def test_user_add_list_token_remove(store_url: str, workdir: Path) -> None:
    runner_input = "a long password\n"
    added = invoke(
        [
            "user",
            "add",
            "carol",
            "--role",
            "editor:sales",
            "--role",
            "viewer",
            "--name",
            "Carol",
            "--password-stdin",
            "--db",
            store_url,
        ],
        input=runner_input,
    )
    assert added.exit_code == 0, added.output
    assert "carol" in added.output and "editor:sales" in added.output
    listed = invoke(["user", "list", "--db", store_url])
    assert "carol  Carol  roles editor:sales, viewer" in listed.output
    token = invoke(["user", "token", "carol", "--db", store_url])
    assert token.exit_code == 0 and token.stdout.strip().startswith("los_")
    removed = invoke(["user", "remove", "carol", "--db", store_url])
    assert removed.exit_code == 0
    assert "carol" not in invoke(["user", "list", "--db", store_url]).output


ADD_MISTAKES = [
    (["--role", "boss"], "unknown role 'boss'"),
    (["--role", "viewer:mars"], "unknown unit 'mars'"),
    (["--role", "owner:sales"], "an owner must be linked to a person"),
    (["--role", "viewer", "--person", "nobody"], "unknown person 'nobody'"),
]


def test_user_add_mistakes_exit_2_with_the_reason(store_url: str, workdir: Path) -> None:
    """Each mistake on one store: each is refused and adds no one."""
    before = _listed(store_url)
    for args, message in ADD_MISTAKES:
        result = invoke(
            ["user", "add", "zed", *args, "--password-stdin", "--db", store_url],
            input="a long password\n",
        )
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
        assert _listed(store_url) == before, args


def test_a_username_differing_only_in_case_is_taken(store_url: str) -> None:
    """`Alice` beside `alice`: two accounts nobody could tell apart in the audit log."""
    before = _listed(store_url)
    result = invoke(
        ["user", "add", "Alice", "--role", "viewer", "--password-stdin", "--db", store_url],
        input="a long password\n",
    )
    assert result.exit_code == 2, result.output
    assert (
        "a user named 'alice' already exists: names that differ only in case are one name"
        in result.output
    )
    assert _listed(store_url) == before


def test_user_add_and_change_say_every_bad_role_at_once(store_url: str, workdir: Path) -> None:
    before = _listed(store_url)
    roles = ["--role", "boss", "--role", "viewer:mars", "--role", "king:", "--role", "viewer"]
    added = invoke(
        ["user", "add", "zed", *roles, "--password-stdin", "--db", store_url],
        input="a long password\n",
    )
    assert added.exit_code == 2, added.output
    for said in ("unknown role 'boss'", "unknown role 'king'", "unknown unit 'mars'"):
        assert said in added.output, (said, added.output)
    assert _listed(store_url) == before
    changed = _user(store_url, "change", "viewer", "--role", "boss", "--role", "king")
    assert changed.exit_code == 2, changed.output
    assert "unknown role 'boss'" in changed.output and "unknown role 'king'" in changed.output
    # A good role's unknown unit is said with the bad roles; each problem once, the headline
    # counting them.
    changed = _user(store_url, "change", "viewer", "--role", "viewer:nowhere", "--role", "boss")
    assert changed.exit_code == 2, changed.output
    assert changed.output.startswith("error: cannot change user 'viewer': 2 problems\n")
    assert changed.output.count("unknown role 'boss'") == 1, changed.output
    assert changed.output.count("unknown unit 'nowhere'") == 1, changed.output
    # A role that is not one on a unit that is not one: both said, the role first.
    added = invoke(
        ["user", "add", "zed", "--role", "boss:nowhere", "--password-stdin", "--db", store_url],
        input="a long password\n",
    )
    assert added.exit_code == 2, added.output
    assert added.output.splitlines() == [
        "error: cannot add user 'zed': 2 problems",
        "  role: 'boss:nowhere': unknown role 'boss': use one of admin, editor, owner, viewer",
        "  role: unknown unit 'nowhere' in 'boss:nowhere'",
    ]
    assert _listed(store_url) == before
    argv = ["user", "add", "bad", "--role", "viewer", "--person", "nobody", "--password-stdin"]
    added = invoke([*argv, "--db", store_url], input="x\n")
    assert added.exit_code == 2, added.output
    assert added.output.startswith("error: cannot add user 'bad': 2 problems\n"), added.output
    assert added.output.count("is shorter than 8 characters") == 1, added.output
    assert added.output.count("unknown person 'nobody'") == 1, added.output


def test_user_remove_unknown_exits_2(store_url: str, workdir: Path) -> None:
    result = invoke(["user", "remove", "ghost", "--db", store_url])
    assert result.exit_code == 2 and "unknown user 'ghost'" in result.output


def _user(store_url: str, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return invoke(["user", *args, "--db", store_url], input=stdin)


def _live(store_url: str, username: str) -> tuple[str, str]:
    """A browser session and an API token of a user, both working."""
    import datetime as dt

    from lineofsight.services import accounts, sessions
    from lineofsight.store.database import Store

    store = Store(store_url)
    try:
        user = accounts.find_user(store, username)
        assert user is not None
        secret = sessions.start_session(store, user.id, dt.datetime.now(dt.UTC))
        token = accounts.create_token(store, username, actor="tests")
    finally:
        store.close()
    assert _still_live(store_url, secret, token) == (True, True)
    return secret, token


def _still_live(store_url: str, secret: str, token: str) -> tuple[bool, bool]:
    import datetime as dt

    from lineofsight.services import sessions
    from lineofsight.store.database import Store

    store = Store(store_url)
    try:
        now = dt.datetime.now(dt.UTC)
        return (
            sessions.account_for_session(store, secret, now) is not None,
            sessions.account_for_token(store, token) is not None,
        )
    finally:
        store.close()


def _listed(store_url: str) -> dict[str, Any]:
    result = _user(store_url, "list", "--format", "json")
    assert result.exit_code == 0, result.output
    return {u["username"]: u for u in json.loads(result.stdout)["users"]}


def test_user_change_roles_and_person_ends_sessions_and_tokens(store_url: str) -> None:
    secret, token = _live(store_url, "viewer")
    changed = _user(store_url, "change", "viewer", "--role", "owner:ops", "--person", "bob")
    assert changed.exit_code == 0, changed.output
    assert "Changed user viewer (owner:ops, person bob)" in changed.output
    assert _still_live(store_url, secret, token) == (False, False)
    user = _listed(store_url)["viewer"]
    assert user["grants"] == [{"role": "owner", "unit": "ops"}] and user["person"] == "bob"
    assert user["tokens"] == [] and user["sessions"] == 0
    # The person alone, then nothing: an unchanged user keeps their sessions.
    secret, token = _live(store_url, "viewer")
    same = _user(store_url, "change", "viewer", "--role", "owner:ops")
    assert same.exit_code == 0 and "nothing changed" in same.output
    assert _still_live(store_url, secret, token) == (True, True)
    assert _user(store_url, "change", "viewer", "--person", "alice").exit_code == 0
    assert _still_live(store_url, secret, token) == (False, False)
    assert _listed(store_url)["viewer"]["person"] == "alice"


def test_user_password_sets_it_and_ends_sessions_and_tokens(store_url: str) -> None:
    from lineofsight.services import accounts
    from lineofsight.store.database import Store

    secret, token = _live(store_url, "alice")
    result = _user(store_url, "password", "alice", "--password-stdin", stdin="a new secret\n")
    assert result.exit_code == 0, result.output
    assert "a new secret" not in result.output
    assert _still_live(store_url, secret, token) == (False, False)
    store = Store(store_url)
    try:
        assert accounts.authenticate(store, "alice", "a new secret") is not None
        assert accounts.authenticate(store, "alice", PASSWORD) is None
        with store.reading() as conn:
            from sqlalchemy import text

            logged = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_log")))
    finally:
        store.close()
    assert "user.password" in logged and "a new secret" not in logged


def test_user_tokens_lists_ids_and_revoke_ends_one(store_url: str) -> None:
    from lineofsight.services import sessions
    from lineofsight.store.database import Store

    made = [
        _user(store_url, "token", "editor", "--label", label).stdout.strip()
        for label in ("ci", "laptop")
    ]
    listed = _user(store_url, "tokens", "editor", "--format", "json")
    assert listed.exit_code == 0, listed.output
    tokens = json.loads(listed.stdout)["tokens"]
    assert [(t["username"], t["label"]) for t in tokens] == [("editor", "ci"), ("editor", "laptop")]
    text = _user(store_url, "tokens").output
    assert f"{tokens[0]['id']}  editor  made " in text and "laptop" in text
    assert all(secret not in text + listed.output for secret in made)
    revoked = _user(store_url, "revoke", str(tokens[0]["id"]))
    assert (
        revoked.exit_code == 0
        and f"Revoked token {tokens[0]['id']} of editor (ci)" in revoked.output
    )
    store = Store(store_url)
    try:
        assert sessions.account_for_token(store, made[0]) is None
        assert sessions.account_for_token(store, made[1]) is not None
    finally:
        store.close()
    assert [t["label"] for t in _listed(store_url)["editor"]["tokens"]] == ["laptop"]


def test_user_list_json_has_every_user_without_secrets(store_url: str) -> None:
    users = _listed(store_url)
    assert set(users) == {"admin", "sales_admin", "editor", "sales_editor", "alice", "bob",
                          "viewer", "sales_viewer"}  # fmt: skip
    assert users["alice"]["grants"] == [{"role": "owner", "unit": "sales"}]
    assert set(users["alice"]) == {"id", "username", "name", "person", "grants", "tokens",
                                   "sessions", "last_seen"}  # fmt: skip
    assert "argon2" not in _user(store_url, "list", "--format", "json").stdout


MISTAKES = [
    (["change", "ghost", "--role", "viewer"], "unknown user 'ghost'"),
    (["change", "viewer"], "nothing to change"),
    (["change", "viewer", "--person", "bob", "--no-person"], "not both"),
    (["change", "viewer", "--role", "boss"], "unknown role 'boss'"),
    (["change", "viewer", "--role", "viewer:mars"], "unknown unit 'mars'"),
    (["change", "alice", "--no-person"], "an owner must be linked to a person"),
    (["change", "viewer", "--person", "nobody"], "unknown person 'nobody'"),
    (["password", "ghost", "--password-stdin"], "unknown user 'ghost'"),
    (["password", "viewer", "--password-stdin"], "shorter than 8 characters"),
    (["revoke", "987654"], "unknown token 987654"),
    (["tokens", "ghost"], "unknown user 'ghost'"),
]


def test_user_command_mistakes_exit_2_and_change_nothing(store_url: str) -> None:
    """Each mistake on one store: none changes it, so none changes what the next meets."""
    before = _listed(store_url)
    for args, message in MISTAKES:
        result = _user(store_url, *args, stdin="short\n")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, result.output
        assert _listed(store_url) == before, args


UNKNOWN = [
    (["revoke", "9999"], "error: unknown token 9999 (revoked already, or never made)\n"),
    (["remove", "nosuch"], "error: unknown user 'nosuch'\n"),
    (["remove", "alicee"], "error: unknown user 'alicee' (did you mean 'alice'?)\n"),
    (
        ["password", "vewer", "--password-stdin"],
        "unknown user 'vewer' (did you mean 'viewer'?)",
    ),
    (["tokens", "edtor"], "error: unknown user 'edtor' (did you mean 'editor'?)\n"),
]


def test_an_unknown_user_or_token_is_said_once_with_the_closest_name(store_url: str) -> None:
    """Each on one store (each refused, nothing changed)."""
    before = _listed(store_url)
    for args, message in UNKNOWN:
        result = _user(store_url, *args, stdin="a long password\n")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, result.stderr
        # Said once: no second line restating it ("  token: no such token").
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _listed(store_url) == before


def test_a_token_id_that_is_no_number_reads_like_a_command_line(store_url: str) -> None:
    result = _user(store_url, "revoke", "abc")
    assert result.exit_code == 2
    assert "Usage: los user revoke [OPTIONS] ID" in result.stderr
    assert "Invalid value for 'ID': 'abc' is not a whole number." in result.stderr
    assert "Input should" not in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_pages_and_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'los.db'}"
    build_store(url, tmp_path / "org")
    token = subprocess.run(
        [str(Path(sys.executable).parent / "los"), "user", "token", "viewer", "--db", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = _free_port()
    env = {**os.environ, "LOS_DATABASE_URL": ""}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "los"), "serve", "--port", str(port), "--db", url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        status = httpx.get(
            f"{base}/api/v1/status",
            params={"as_of": "2026-03-31"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert status.status_code == 200 and status.json()["as_of"] == "2026-03-31"
        with httpx.Client(base_url=base) as browser:
            form = browser.get("/login").text
            csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            login = browser.post(
                "/login",
                data={
                    "username": "alice",
                    "password": PASSWORD,
                    "csrf_token": csrf,
                    "next": "/units/sales",
                },
            )
            assert login.status_code == 303
            assert browser.get("/api/v1/people/alice").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_user_add_warns_of_an_owner_whose_persons_kpis_lie_outside_its_roles(
    store_url: str, workdir: Path
) -> None:
    # Bob owns Defects at Operations: an owner of Sales linked to him could not see or enter
    # it, and his home page would say nothing needs him.
    added = invoke(
        [
            *("user", "add", "zed", "--role", "owner:sales", "--person", "bob"),
            *("--password-stdin", "--db", store_url),
        ],
        input="a long password\n",
    )
    assert added.exit_code == 0, added.output
    said = " ".join(added.output.split())
    assert (
        "warning: person bob owns 1 KPI, all outside the roles owner:sales (defects at ops): "
        "this user cannot see or enter it" in said
    )
    assert "warning: person bob is linked to user bob too" in said
    quiet = invoke(
        [
            *("user", "add", "yan", "--role", "owner:ops", "--person", "ceo"),
            *("--password-stdin", "--db", store_url),
        ],
        input="a long password\n",
    )
    assert quiet.exit_code == 0, quiet.output
    assert "warning" not in quiet.output
