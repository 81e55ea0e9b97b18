"""`los user ...` through the CLI runner, and `los serve` as a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Los
from tests.web.conftest import PASSWORD, build_store


@pytest.fixture
def store_url(db_url: str, tmp_path: Path) -> str:
    build_store(db_url, tmp_path / "org")
    return db_url


def test_user_add_list_token_remove(store_url: str, workdir: Path) -> None:
    los = Los(store_url)
    runner_input = "a long password\n"
    added = los.runner.invoke(
        _app(),
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
    listed = los.runner.invoke(_app(), ["user", "list", "--db", store_url])
    assert "carol  Carol  roles editor:sales, viewer" in listed.output
    token = los.runner.invoke(_app(), ["user", "token", "carol", "--db", store_url])
    assert token.exit_code == 0 and token.stdout.strip().startswith("los_")
    removed = los.runner.invoke(_app(), ["user", "remove", "carol", "--db", store_url])
    assert removed.exit_code == 0
    assert "carol" not in los.runner.invoke(_app(), ["user", "list", "--db", store_url]).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "boss"], "unknown role 'boss'"),
        (["--role", "viewer:mars"], "unknown unit 'mars'"),
        (["--role", "owner:sales"], "an owner must be linked to a person"),
        (["--role", "viewer", "--person", "nobody"], "unknown person 'nobody'"),
    ],
)
def test_user_add_mistakes_exit_2_with_the_reason(
    store_url: str, workdir: Path, args: list[str], message: str
) -> None:
    result = Los(store_url).runner.invoke(
        _app(),
        ["user", "add", "zed", *args, "--password-stdin", "--db", store_url],
        input="a long password\n",
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_user_remove_unknown_exits_2(store_url: str, workdir: Path) -> None:
    result = Los(store_url).runner.invoke(_app(), ["user", "remove", "ghost", "--db", store_url])
    assert result.exit_code == 2 and "unknown user 'ghost'" in result.output


def _app():  # type: ignore[no-untyped-def]
    from lineofsight.cli.app import app

    return app


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
