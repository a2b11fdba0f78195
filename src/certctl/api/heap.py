"""Garbage-collector settings of a serving process.

A server process holds a few hundred thousand objects built at start-up (modules, the app and
its routes, models, compiled statements) that live as long as it does. With the interpreter's
defaults, every full collection walks all of them: about 170 ms, every few seconds under load,
during which that worker answers nothing (the list's p99 in a closed loop). Requests allocate
short-lived containers in the thousands, which a young-generation threshold of 700 collects
after every few requests.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (20_000, 10, 10)
"""Young generation collected every 20,000 net container allocations (a few MiB at most of
cyclic garbage waiting), older ones at the interpreter's default ratios."""


def settle_heap() -> None:
    """Collect once, move every object start-up built out of the collector's reach for good
    (`gc.freeze`), and collect the young generation less often.

    For a process about to serve; not for tests or tools that build many apps in one process,
    whose frozen objects would never be collected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
