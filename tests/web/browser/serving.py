"""Start the web app on a free local port in a thread, find the system Chromium, log in
through the form: what the browser tests share."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.web.site import PASSWORD, Site

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The system Chromium: $LOS_CHROMIUM, else `chromium` on the PATH."""
    found = os.environ.get("LOS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail(
            "Chromium is not installed: run `make install` (scripts/ensure-chromium.sh installs "
            "Debian's chromium package) or set LOS_CHROMIUM"
        )
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """The app on a local port, over a site, with the database kind for artifact names."""

    def __init__(self, site: Site, kind: str) -> None:
        import uvicorn

        from lineofsight.web.app import create_app

        self.site = site
        self.kind = kind
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.app = create_app(site.url, secret_key="browser-test-key")
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.app.state.store.close()


def log_in(page: Any, served: Served, username: str, next_path: str = "/") -> None:
    """Log in through the login form, as a person would."""
    page.goto(f"{served.base}/login?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{served.base}{next_path.split('#')[0]}*")
