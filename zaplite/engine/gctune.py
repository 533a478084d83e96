"""Garbage-collector settings for zaplite's allocation-heavy work.

Delivering a backlog allocates millions of short-lived objects (records, params,
upload records, history rows). With CPython's defaults a collection of the youngest
generation runs every 700 allocations, every few records, and the older collections
walk every live object, the imported libraries' included (BENCHMARKS.md has what
that costs). Those objects are freed by
reference counting as soon as a page is recorded (they form no cycles), so once the
workspace is loaded zaplite moves what start-up created out of the collector's sight
(:func:`gc.freeze`) and collects less often. Cycles are still collected, later.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_after_startup"]

YOUNG_THRESHOLD = 50_000
"""Allocations (minus frees) between two collections of the youngest generation."""


def tune_after_startup() -> None:
    """Freeze what start-up allocated and raise the youngest generation's threshold."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
