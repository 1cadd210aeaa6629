"""One refund of an order at a time.

A refund is planned against the refunds made before it (which copies are still paid for,
how much money is left), so two clerks refunding one order together must not both plan
before either is recorded: both would pay back the same copy. The turn is a lease on the
order (`orders.refund_started_at`), taken and given back in transactions of their own
rather than a row lock held meanwhile: a card refund waits on Stripe in between, and on
SQLite a lock held that long would stop every other write in the shop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from services.checkout import domain
from services.checkout.models import Order
from services.checkout.orders import Clock
from shared.db import Database
from shared.errors import Conflict, NotFound

# Longer than any refund takes (Stripe's timeout with the SDK's retries): a process that
# died mid-refund holds the order's turn no longer than this.
LEASE = timedelta(minutes=2)
# A double-clicked refund, or a second clerk's, waits this long for the first to finish.
WAIT_SECONDS = 15.0
_POLL_SECONDS = 0.1


@asynccontextmanager
async def refund_turn(db: Database, reference: str, now: Clock) -> AsyncIterator[None]:
    """Wait for the order's turn to be refunded, hold it, then give it back.

    NotFound for an unknown reference; Conflict if another refund of it is still being made
    after `WAIT_SECONDS`."""
    normalised = domain.normalise_reference(reference)
    give_up_at = time.monotonic() + WAIT_SECONDS
    taken_at = await _take(db, normalised, now())
    # asked once: orders are never deleted, so one found stays found while we wait
    if taken_at is None and await _missing(db, normalised):
        raise NotFound(f"No order has the reference {reference!r}.")
    while taken_at is None:
        if time.monotonic() > give_up_at:
            raise Conflict(
                f"Another refund of order {normalised} is still being made: look at the order "
                "again in a moment, then refund what is left if anything is."
            )
        await asyncio.sleep(_POLL_SECONDS)
        taken_at = await _take(db, normalised, now())
    try:
        yield
    finally:
        await _give_back(db, normalised, taken_at)


async def _take(db: Database, reference: str, at: datetime) -> datetime | None:
    """`at`, the turn's mark, if the turn was free (or its lease over); None if not."""
    async with db.writing() as session:
        taken = await session.execute(
            update(Order)
            .where(
                Order.reference == reference,
                or_(Order.refund_started_at.is_(None), Order.refund_started_at < at - LEASE),
            )
            .values(refund_started_at=at)
            .execution_options(synchronize_session=False)
        )
    return at if taken.rowcount else None  # type: ignore[attr-defined]


async def _missing(db: Database, reference: str) -> bool:
    async with db.reading() as session:
        return await session.scalar(select(Order.id).where(Order.reference == reference)) is None


async def _give_back(db: Database, reference: str, taken_at: datetime) -> None:
    """Free the turn, unless its lease ran out and another refund has taken it since."""
    async with db.writing() as session:
        await session.execute(
            update(Order)
            .where(Order.reference == reference, Order.refund_started_at == taken_at)
            .values(refund_started_at=None)
            .execution_options(synchronize_session=False)
        )
