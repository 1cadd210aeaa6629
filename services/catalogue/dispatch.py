"""Sold copies still on the shop's shelves: a paid order's, until its sale is closed (posted,
collected, or refunded in full).

A sale takes its copies off `on_hand` when it is paid, but they wait on the shelf until staff
post or hand them over: a stock take counts them there, and must not put them back on hand.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.models import Reservation, ReservationLine
from services.catalogue.reservations import Status
from shared.messaging.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def close_sale(uow: UnitOfWork, *, order_id: UUID, now: datetime) -> bool:
    """The order's copies no longer wait on the shelf; True if this call closed the sale.

    Whatever the reservation's status: a pay-on-collection order's close may come before its
    commit, and the commit then finds the sale closed already. Closing again changes nothing.
    """
    session = uow.session
    closed = await session.execute(
        update(Reservation)
        .where(Reservation.order_id == order_id, Reservation.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if not await session.scalar(select(exists().where(Reservation.order_id == order_id))):
        log.warning("close of the sale of order %s ignored: the order is unknown", order_id)
    return False


async def awaiting_dispatch(session: AsyncSession, isbns: Sequence[str]) -> dict[str, int]:
    """By book, of those given that have any: the copies of paid orders whose sale is not
    closed, less those that came back."""
    rows = await session.execute(
        select(
            ReservationLine.isbn13,
            func.sum(ReservationLine.quantity - ReservationLine.returned),
        )
        .join(Reservation, Reservation.order_id == ReservationLine.order_id)
        .where(
            Reservation.status == Status.COMMITTED.value,
            Reservation.closed_at.is_(None),
            ReservationLine.isbn13.in_(list(isbns)),
        )
        .group_by(ReservationLine.isbn13)
    )
    return {isbn13: int(copies) for isbn13, copies in rows if copies > 0}
