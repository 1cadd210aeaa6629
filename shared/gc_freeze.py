"""Keep the garbage collector off the objects a process keeps for as long as it runs.

A service process holds some 150,000 objects from its imports and app factory (Litestar,
SQLAlchemy, Celery, the Stripe SDK); the recommendation index of 100,000 books adds some
650,000 more. CPython's full collection walks every one of them: 86 ms in checkout's web
process, 420 ms beside the index, a pause in the middle of whatever requests are in flight, and
under load one comes every few seconds. Frozen once they are built, they are left out of every
collection (what `gc.freeze` is for), and a full collection takes well under a millisecond.
"""

from __future__ import annotations

import gc

_freezing = False


def freeze_long_lived_objects() -> None:
    """Collect the garbage, then freeze everything left. A process's entry point calls it once
    the process is up; that also has `refreeze_long_lived_objects` work from then on."""
    global _freezing
    _freezing = True
    # Objects frozen before are thawed first, so that what was dropped since (the index a
    # rebuild replaced) is collected too, reference cycles included.
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def refreeze_long_lived_objects() -> None:
    """After building something that lives as long as the process (the recommendation index):
    freeze again, if the process froze at startup. A process that did not (a test run, a
    one-off command) is left to the collector's defaults, and pays no full collection here."""
    if _freezing:
        freeze_long_lived_objects()
