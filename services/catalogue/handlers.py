"""The catalogue's message handlers: plain async functions, no Celery in them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.catalogue import reservations
from shared.contracts import (
    CommitReservation,
    ReleaseReservation,
    ReservationCommitted,
    ReservationReply,
    ReserveStock,
)
from shared.messaging.message import utcnow
from shared.messaging.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]


async def on_reserve_stock(
    message: ReserveStock, *, uow: UnitOfWork, clock: Clock = utcnow
) -> ReservationReply:
    return await reservations.reserve(
        uow,
        order_id=message.order_id,
        lines=[(line.isbn13, line.quantity) for line in message.lines],
        expires_at=message.expires_at,
        now=clock(),
    )


async def on_commit_reservation(
    message: CommitReservation, *, uow: UnitOfWork, clock: Clock = utcnow
) -> None:
    """Sell the held copies, and say so whenever they are sold, for a repeated commit too:
    checkout sends the commit again until it hears, so a lost confirmation costs one more."""
    sold = await reservations.commit(uow, order_id=message.order_id, now=clock())
    if sold or await reservations.is_committed(uow.session, message.order_id):
        await uow.publish(ReservationCommitted(order_id=message.order_id))


async def on_release_reservation(
    message: ReleaseReservation, *, uow: UnitOfWork, clock: Clock = utcnow
) -> None:
    await reservations.release(uow, order_id=message.order_id, reason=message.reason, now=clock())
