"""Start a throw-away PostgreSQL server for the tests (and benchmarks), never as root."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PgServer:
    base: Path
    bindir: Path
    port: int
    user: str | None  # the OS user the server runs as, when we are root
    running: bool = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://los@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )

    def halt(self) -> None:
        """Stop the server, keeping its files: `resume` starts it again as it was."""
        self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "fast", "-w", "stop")
        self.running = False

    def resume(self) -> None:
        """Start the server (again) on its port."""
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.base / "data"),
            "-o",
            options,
            "-l",
            str(self.base / "log"),
            "-w",
            "start",
        )
        self.running = True

    def stop(self) -> None:
        try:
            if self.running:
                self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop")
        finally:
            # The folder goes in a process of its own, which nothing waits for: deleting the
            # thousands of files of the databases and the WAL took seconds at the end of
            # each test process.
            subprocess.Popen(
                ["rm", "-rf", str(self.base)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )


def find_bindir() -> Path:
    """The folder of initdb and pg_ctl: on PATH, else Debian's versioned folder."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if candidates:
        return Path(candidates[-1]).parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: run `make install`, which "
        "installs Debian's postgresql package"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> PgServer:
    """initdb and start a server on a free loopback port; trust authentication for `los`."""
    bindir = find_bindir()
    base = Path(tempfile.mkdtemp(prefix="los-pg-"))
    user = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: hand the folder to the postgres account.
        user = "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise RuntimeError(
                "running as root but there is no 'postgres' user to run the server"
            ) from None
        os.chown(base, entry.pw_uid, entry.pw_gid)
    base.chmod(0o755)
    server = PgServer(base=base, bindir=bindir, port=_free_port(), user=user)
    server._run(
        "initdb",
        "-D",
        str(base / "data"),
        "-U",
        "los",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    server.resume()
    return server
