"""The engine room: running zaps.

- :mod:`zaplite.engine.run`: one run of a zap, page by page (poll, dedup, deliver, record).
- :mod:`zaplite.engine.delivery`: a page's records taken through the steps.
- :mod:`zaplite.engine.gate`: when work prepared ahead may use the event loop.
- :mod:`zaplite.engine.readahead`: the trigger's next page read while this one is delivered.
- :mod:`zaplite.engine.leases`: which daemon runs a zap; telling a crashed holder.
- :mod:`zaplite.engine.daemon`: every zap on its schedule, until a signal.
- :mod:`zaplite.engine.gctune`: the garbage collector set for allocation-heavy runs.
"""
