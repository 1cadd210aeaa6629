"""Sold copies back on the shelf: refunded before they left the shop, or sent back.

Never more copies of a book than the order bought, less those returned before: the order's
lines count them (`returned`), which also takes them off the copies awaiting dispatch. A
repeated message is the inbox's to drop (shared/messaging/consumers.py), so nothing here keys
on the refund.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.changes import announce
from services.catalogue.domain import Movement, merge_quantities
from services.catalogue.models import Reservation, ReservationLine
from services.catalogue.reservations import ACTOR, Status, ledger_reference
from services.catalogue.stock import Who, move
from shared.messaging.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def _reservation(session: AsyncSession, order_id: UUID) -> Row[str, str | None] | None:
    """The order's reservation status and reference (None if unknown).

    On Postgres the reservation's row stays locked until commit, so two returns for the same
    order count what is left one after the other; SQLite's writers queue at BEGIN anyway.
    """
    found = await session.execute(
        select(Reservation.status, Reservation.reference)
        .where(Reservation.order_id == order_id)
        .with_for_update()
    )
    return found.first()


async def _left_to_return(session: AsyncSession, order_id: UUID) -> dict[str, int]:
    """By book, the copies the order bought less those returned before.

    A statement of its own, after the lock: one that waited for a lock re-reads only the rows
    it locks, and would miss the copies a return counted while it waited.
    """
    rows = await session.execute(
        select(ReservationLine.isbn13, ReservationLine.quantity - ReservationLine.returned).where(
            ReservationLine.order_id == order_id
        )
    )
    return {isbn13: left for isbn13, left in rows}


async def return_to_stock(
    uow: UnitOfWork,
    *,
    order_id: UUID,
    refund_id: int,
    lines: Sequence[tuple[str, int]],
    reason: str,
    now: datetime,
) -> dict[str, int]:
    """Put a sold order's copies back on hand, a 'returned' entry each; the copies put back,
    by book.

    Copies beyond what the order bought less those returned before, and books the order never
    had, are left out with a warning; an order not sold changes nothing.
    """
    session = uow.session
    reservation = await _reservation(session, order_id)
    if reservation is None or reservation.status != Status.COMMITTED:
        log.warning(
            "return of order %s (refund %s) ignored: its reservation is %s, so nothing was sold",
            order_id,
            refund_id,
            reservation.status if reservation else "unknown",
        )
        return {}
    asked = merge_quantities(lines)
    left = await _left_to_return(session, order_id)
    for isbn13 in sorted(asked.keys() - left.keys()):
        log.warning(
            "return of order %s (refund %s): %s ignored, the order did not buy it",
            order_id,
            refund_id,
            isbn13,
        )
    who = Who(
        actor=ACTOR,
        batch_id=uuid4(),
        now=now,
        reason=reason,
        reference=f"{ledger_reference(order_id, reservation.reference)} refund {refund_id}",
    )
    returned: dict[str, int] = {}
    availability: dict[str, tuple[int, int]] = {}
    for isbn13, wanted in asked.items():
        if isbn13 not in left:
            continue
        copies = min(wanted, left[isbn13])
        if copies < wanted:
            log.warning(
                "return of order %s (refund %s): %s of %s asked back but %s left to return",
                order_id,
                refund_id,
                wanted,
                isbn13,
                left[isbn13],
            )
        if copies <= 0:
            continue
        await session.execute(
            update(ReservationLine)
            .where(ReservationLine.order_id == order_id, ReservationLine.isbn13 == isbn13)
            .values(returned=ReservationLine.returned + copies)
            .execution_options(synchronize_session=False)
        )
        after = await move(
            session, isbn13=isbn13, kind=Movement.RETURNED, on_hand_change=copies, who=who
        )
        if after is None:
            raise RuntimeError(f"order {order_id}: {isbn13} was sold but has no stock row")
        returned[isbn13] = copies
        availability[isbn13] = (after.available - copies, after.available)
    await announce(uow, returned, now=now, availability=availability)
    return returned
