"""A strategy edit in the browser at scale: the preview and the save of one KPI renamed, as the
edit pages run them (`services.strategy_edit.preview_edit` / `save_edit`), on a copy of a
benchmark store (the store itself is never written).

Prints, per step, wall and CPU seconds of this process and its peak resident memory:
  preview, first       nothing kept yet (a fresh server's first edit)
  preview, again       the same edit previewed again (what the form's next preview costs)
  save                 the save after the preview
  preview, next edit   another edit's preview after the save
  save, next edit      its save

    python bench/bench_edit.py --store /tmp/los-bench/org100000/store.db

Run it with PYTHONPATH pointing at another checkout to measure that code in the same
conditions (the figures of a shared machine move with its load).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _step(label: str, run: Callable[[], Any]) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"{label:20s} wall {time.perf_counter() - wall:7.2f} s   "
        f"cpu {time.process_time() - cpu:7.2f} s   peak {peak:5d} MB",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a benchmark store (SQLite file)")
    args = parser.parse_args()
    import lineofsight
    from lineofsight.services.export import stored_organization
    from lineofsight.services.strategy_edit import Edit, item_plain, preview_edit, save_edit
    from lineofsight.store.database import Store

    with tempfile.TemporaryDirectory(prefix="los-bench-edit-") as folder:
        copy = Path(folder) / "store.db"
        shutil.copyfile(args.store, copy)
        store = Store(f"sqlite:///{copy}")
        org = stored_organization(store)
        kpi = org.kpis[len(org.kpis) // 2]
        item = item_plain(org, "kpi", kpi.id)
        assert item is not None
        count = len(org.kpis)
        del org
        print(f"code: {Path(lineofsight.__file__).parent}")
        print(f"store: {count} KPIs; the edit renames KPI {kpi.id}", flush=True)
        first = Edit("kpi", kpi.id, {**item, "name": kpi.name + " (renamed)"})
        second = Edit("kpi", kpi.id, {**item, "name": kpi.name + " (renamed again)"})
        as_of = dt.date.today()
        _step("preview, first", lambda: preview_edit(store, first, actor="bench", as_of=as_of))
        _step("preview, again", lambda: preview_edit(store, first, actor="bench", as_of=as_of))
        _step("save", lambda: save_edit(store, first, actor="bench"))
        _step(
            "preview, next edit",
            lambda: preview_edit(store, second, actor="bench", as_of=as_of),
        )
        _step("save, next edit", lambda: save_edit(store, second, actor="bench"))
        store.close()


if __name__ == "__main__":
    sys.exit(main())
