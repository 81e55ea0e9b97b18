"""The benchmarks sign in to the web app through one shared helper (bench/web_login.py), which
logs their user in as a browser does, on the in-process client as on a running server."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from fastapi.testclient import TestClient

BENCH = Path(__file__).parents[2] / "bench"


def _web_login() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_login", BENCH / "web_login.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("web_login", module)
    spec.loader.exec_module(module)
    return module


def _posts_the_login_form(path: Path) -> bool:
    """Whether the module fills in the login form itself (sends its CSRF token)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Constant) and node.value == "csrf_token" for node in ast.walk(tree)
    )


def test_one_benchmark_module_fills_in_the_login_form() -> None:
    filling = sorted(p.name for p in BENCH.glob("*.py") if _posts_the_login_form(p))
    assert filling == ["web_login.py"]


def test_the_benchmarks_user_logs_in(web_app: object) -> None:
    helper = _web_login()
    helper.add_user(web_app.state.store)  # type: ignore[attr-defined]
    with TestClient(web_app, follow_redirects=False) as client:  # type: ignore[arg-type]
        assert client.get("/").status_code == 303  # to the login page
        cookie = helper.log_in(client)
        assert cookie.startswith("los_session=") and len(cookie) > len("los_session=")
        assert client.get("/").status_code == 200
        assert client.get("/admin/users").status_code == 200  # an admin of everything
