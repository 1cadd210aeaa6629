"""A paid order's copies end sold in the catalogue even when the broker loses a message.

kombu's Redis transport takes a message off its queue before it records it unacked, so a worker
killed in between loses it. A lost CommitReservation would leave the paid order's copies held
until the catalogue's expiry sweep put them back on sale: sold twice. So the catalogue confirms
every commit (ReservationCommitted), and checkout sends the commit again, as a new message, for
paid orders it has not heard about while their hold still runs. The catalogue's commit is
idempotent by the reservation's status and confirms a repeat too, so a lost confirmation costs
one more commit, never a second sale.

Why a confirmation rather than re-sending blindly for a while after payment: holds last from 35
minutes (web) to a day (payment link) or a week (collection), so blind re-sends would either stop
long before some holds end or go on for days; a confirmation ends them as soon as it lands, and
as normally no order waits for one, the sweep reads an almost empty partial index.

Releases are not re-sent: a lost ReleaseReservation leaves the copies held until the catalogue's
expiry sweep frees them (at most the hold's length, a week for a collection), so the shop
under-sells for a while and never oversells.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select, update

from services.checkout.models import Order
from services.checkout.orders import restocked_refunds, return_to_stock
from shared.contracts import CommitReservation
from shared.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# Commits sent again in one run; the rest wait for the next run, soonest hold end first.
RESEND_BATCH = 100


async def confirm(uow: UnitOfWork, *, reservation_id: UUID, now: datetime) -> bool:
    """Record that the catalogue sold the copies of this hold, and send the returns of copies
    refunded back onto the shelf before it did; False if already recorded, or if no order has
    this hold any more (a late payment's re-reservation replaced it)."""
    result = await uow.session.execute(
        update(Order)
        .where(Order.reservation_id == reservation_id, Order.stock_committed_at.is_(None))
        .values(stock_committed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    order = await uow.session.scalar(
        select(Order)
        .where(Order.reservation_id == reservation_id)
        .execution_options(populate_existing=True)
    )
    assert order is not None
    for refund in await restocked_refunds(uow.session, order.id):
        await return_to_stock(uow, order, refund)
    return True


async def resend_unconfirmed(
    uows: UnitOfWorkFactory, *, now: datetime, after: timedelta, batch: int = RESEND_BATCH
) -> int:
    """Send CommitReservation again for orders paid at least `after` ago whose sale the catalogue
    has not confirmed and whose hold still runs (past it the catalogue has let the copies go and
    a commit changes nothing); how many were sent."""
    async with uows() as uow:
        reservations = list(
            await uow.session.scalars(
                select(Order.reservation_id)
                .where(
                    # The partial index ix_orders_unconfirmed_commit's condition, then its column.
                    Order.paid_at.is_not(None),
                    Order.stock_committed_at.is_(None),
                    Order.hold_until > now,
                    Order.paid_at <= now - after,
                )
                .order_by(Order.hold_until)
                .limit(batch)
            )
        )
        for reservation_id in reservations:
            await uow.publish(CommitReservation(order_id=reservation_id))
    if reservations:
        log.warning(
            "sent %d commits again that the catalogue had not confirmed %.0fs after payment",
            len(reservations),
            after.total_seconds(),
        )
    return len(reservations)
