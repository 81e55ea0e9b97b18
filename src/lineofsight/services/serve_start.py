"""The scorecards a fresh server's first pages read, kept in the store before its workers start.

Each `los serve` worker reads today's scorecard (and that of the day the home page compares
today with) from the store when one is kept up to date there, in a fraction of a second and a
fraction of the memory of computing it (`services.snapshots`). Without one, every worker would
compute the same scorecards in full at once, each holding the computation's peak memory for
the rest of its life. So the server keeps them first, once, in a short-lived child process
(`services.snapshots.keep_ready`, the scheduler's daily keeper): the computation's memory goes
with that process, and each worker starts from what it kept. The keeper keeps today's
forecast of every KPI too (`attention_forecast.off_track`), so that a KPI's first page reads
its forecast rather than fitting it. When that fails (a store being migrated, a busy store),
the workers compute the scorecard themselves, as before.
"""

from __future__ import annotations

import logging
import multiprocessing

log = logging.getLogger(__name__)

# Exit codes of the child process: what `keep_before_start` reports.
_KEPT, _NO_STRATEGY, _FAILED = 0, 3, 4


def keep_before_start(url: str) -> bool:
    """Keep today's scorecards ready in the store at `url`, in a child process (its memory
    is given back when it ends); whether they are kept (False: the workers compute them)."""
    # Spawned, not forked: the server process holds no store, thread or lock to carry over,
    # and the URL goes through a pipe, not the command line (it may hold a password).
    child = multiprocessing.get_context("spawn").Process(
        target=_keep, args=(url,), name="los keep scorecards", daemon=True
    )
    child.start()
    child.join()
    if child.exitcode == _NO_STRATEGY:
        return False  # nothing applied yet: nothing to keep, and nothing to say
    if child.exitcode != _KEPT:
        log.warning("could not keep today's scorecard before start: each worker computes it")
        return False
    return True


def _keep(url: str) -> None:
    """The child process: `keep_ready` on the store (see `keep_before_start`)."""
    import sys

    from lineofsight.errors import LineOfSightError
    from lineofsight.services.snapshots import keep_ready
    from lineofsight.store.database import Store

    try:
        store = Store(url)
    except LineOfSightError:
        sys.exit(_FAILED)
    try:
        from lineofsight.store.scorecards import read_fiscal_start

        with store.reading() as conn:
            if read_fiscal_start(conn) is None:
                sys.exit(_NO_STRATEGY)
        keep_ready(store)
    except LineOfSightError as exc:
        # The message names what went wrong in the store, never its URL.
        print(f"los serve: today's scorecard not kept before start: {exc}", file=sys.stderr)
        sys.exit(_FAILED)
    except Exception as exc:  # a database error: the workers compute it, as without a keeper
        # Its kind only: a driver's message may quote the connection's address.
        print(
            f"los serve: today's scorecard not kept before start ({type(exc).__name__})",
            file=sys.stderr,
        )
        sys.exit(_FAILED)
    finally:
        store.close()
