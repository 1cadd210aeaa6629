"""The catalogue's message handlers: plain async functions, no Celery in them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.catalogue import dispatch, reservations, returns
from shared.contracts import (
    CloseSale,
    CommitReservation,
    ReleaseReservation,
    ReservationCommitted,
    ReservationReply,
    ReserveStock,
    ReturnToStock,
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
        reference=message.reference,
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


async def on_return_to_stock(
    message: ReturnToStock, *, uow: UnitOfWork, clock: Clock = utcnow
) -> None:
    await returns.return_to_stock(
        uow,
        order_id=message.order_id,
        refund_id=message.refund_id,
        lines=[(line.isbn13, line.quantity) for line in message.lines],
        reason=message.reason,
        now=clock(),
    )


async def on_close_sale(message: CloseSale, *, uow: UnitOfWork, clock: Clock = utcnow) -> None:
    await dispatch.close_sale(uow, order_id=message.order_id, now=clock())
