"""One process of the several-process store tests (`test_store_processes.py`): it does one
kind of work on the store, round after round, through the product as a user's process would,
and exits non-zero with the reason on the first thing that goes wrong.

    python -m tests.store.store_worker ROLE DB_URL FOLDER ROUNDS [KPI UNIT]

It marks itself ready in FOLDER and starts once FOLDER/go exists, so that every process of a
test runs at the same time.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from lineofsight.cli.app import app_for

DAY = dt.date(2026, 11, 20)  # the as-of date the readers ask for, inside the loaded months


def _los(*args: str) -> str:
    result = CliRunner().invoke(app_for(list(args)), list(args))  # as `los` runs it
    if result.exit_code not in (0, 1):  # 1: a check's findings; 2 and above: an error
        raise SystemExit(f"los {' '.join(args)}: exit {result.exit_code}\n{result.output}")
    return result.output


def loaded_value(worker: int, round_: int) -> float:
    """The value a loader writes in a round (the test checks each is stored)."""
    return 10.0 + worker * 10 + round_ + 0.25  # within every KPI's bounds (percentages too)


def main(argv: list[str]) -> None:
    role, url, folder, rounds = argv[0], argv[1], Path(argv[2]), int(argv[3])
    name = f"{role}-{argv[4] if len(argv) > 4 else ''}-{argv[-1]}"
    (folder / f"ready-{name}").touch()
    deadline = time.monotonic() + 300
    while not (folder / "go").exists():  # a bounded wait for the start, no timing asserted
        if time.monotonic() > deadline:
            raise SystemExit("never started")
        time.sleep(0.01)
    for round_ in range(rounds):
        if role == "load":
            kpi, unit, worker = argv[4], argv[5], int(argv[6])
            data = folder / f"{kpi}-{round_}.csv"
            data.write_text(
                "kpi,period,value,unit\n"
                f"{kpi},2026-{round_ + 1:02d},{loaded_value(worker, round_)},{unit}\n"
            )
            _los("load", str(data), "--db", url)
        elif role == "status":
            _los("status", "--db", url, "--as-of", DAY.isoformat(), "--format", "json")
        elif role == "check":
            _los("check", "--db", url)
        elif role == "keeper":
            _keep(url, DAY - dt.timedelta(days=round_))
        else:
            raise SystemExit(f"unknown role {role}")


def _keep(url: str, day: dt.date) -> None:
    """The scorecard keeper as the scheduler runs it, with a lease so short that its renewals
    (another thread of this process, writing) run beside the keeper's bulk reads."""
    from lineofsight.domain.schedules import parse_schedule
    from lineofsight.services.scheduler import Job, run_job
    from lineofsight.services.snapshots import keep_ready
    from lineofsight.store.database import Store

    renewals = _Renewals()
    logging.getLogger("lineofsight.services.scheduler").addHandler(renewals)
    store = Store(url, migrate=False)
    try:
        job = Job(
            "scorecard:keep",
            parse_schedule("daily"),
            lambda s: keep_ready(s, day),
            lease=dt.timedelta(milliseconds=30),
        )
        outcome = run_job(store, job)
        if outcome is not None and not outcome.ok:
            raise SystemExit(f"keeper failed: {outcome.summary}")
        if renewals.errors:  # a busy store is no error: the next renewal tries again
            raise SystemExit(f"a lease renewal failed: {renewals.errors[0]}")
    finally:
        store.close()


class _Renewals(logging.Handler):
    """The lease renewals that failed for another reason than a busy store."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        from lineofsight.errors import StoreBusy

        failure = record.exc_info[1] if record.exc_info else None
        if failure is not None and not isinstance(failure, StoreBusy):
            self.errors.append(repr(failure))


if __name__ == "__main__":
    main(sys.argv[1:])
