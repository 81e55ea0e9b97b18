"""Pausing Python's cyclic garbage collector while a command makes millions of objects.

A module of its own, beside nothing heavy: the check and the load use it without reading YAML.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of plain objects are made.

    Reading a large file makes millions of dicts, lists and models, none of them in a cycle;
    the collector would walk them over and over as they pile up (about half the time). At the
    end they are frozen: moved out of the collector's sight, so that the collections that follow
    do not walk them again (10 s after a 100,000-KPI apply), without the full collection that
    would otherwise settle them (2 s). Reference counting still frees them as usual; only a
    cycle made while paused and dropped later would stay, and these objects make none.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()
