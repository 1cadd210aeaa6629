"""Sold copies back on the shelf: refunded before they left the shop, or sent back.

Never more copies of a book than the order bought, less those returned before. A repeated
message is the inbox's to drop (shared/messaging/consumers.py), so nothing here keys on the
refund.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.changes import announce
from services.catalogue.domain import merge_quantities
from services.catalogue.models import LedgerEntry, Reservation, ReservationLine
from services.catalogue.reservations import ACTOR, Status
from services.catalogue.stock import Movement, Who, move
from shared.messaging.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _reference_start(order_id: UUID) -> str:
    """How the ledger reference of every return for the order begins, the refund's id
    following: the count of copies returned before matches it, so it names exactly this
    order (an id of fixed length, then a space)."""
    return f"order {order_id} refund "


async def _order(session: AsyncSession, order_id: UUID) -> tuple[str | None, dict[str, int]]:
    """The order's reservation status (None if unknown) and, by book, the copies it holds or
    bought.

    On Postgres the reservation's row stays locked until commit, so two returns for the same
    order count what is left one after the other; SQLite's writers queue at BEGIN anyway.
    """
    rows = (
        await session.execute(
            select(Reservation.status, ReservationLine.isbn13, ReservationLine.quantity)
            .outerjoin(ReservationLine, ReservationLine.order_id == Reservation.order_id)
            .where(Reservation.order_id == order_id)
            .with_for_update(of=Reservation)
        )
    ).all()
    if not rows:
        return None, {}
    return rows[0].status, {row.isbn13: row.quantity for row in rows if row.isbn13 is not None}


async def _returned_before(
    session: AsyncSession, order_id: UUID, isbns: Sequence[str]
) -> dict[str, int]:
    rows = await session.execute(
        select(LedgerEntry.isbn13, func.sum(LedgerEntry.on_hand_change))
        .where(
            LedgerEntry.isbn13.in_(isbns),
            LedgerEntry.kind == Movement.RETURNED.value,
            LedgerEntry.reference.startswith(_reference_start(order_id), autoescape=True),
        )
        .group_by(LedgerEntry.isbn13)
    )
    return {isbn13: int(copies) for isbn13, copies in rows}


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
    status, bought = await _order(session, order_id)
    if status != Status.COMMITTED:
        log.warning(
            "return of order %s (refund %s) ignored: its reservation is %s, so nothing was sold",
            order_id,
            refund_id,
            status or "unknown",
        )
        return {}
    asked = merge_quantities(lines)
    for isbn13 in sorted(asked.keys() - bought.keys()):
        log.warning(
            "return of order %s (refund %s): %s ignored, the order did not buy it",
            order_id,
            refund_id,
            isbn13,
        )
    returned_before = await _returned_before(session, order_id, list(asked.keys() & bought))
    who = Who(
        actor=ACTOR,
        batch_id=uuid4(),
        now=now,
        reason=reason,
        reference=f"{_reference_start(order_id)}{refund_id}",
    )
    returned: dict[str, int] = {}
    availability: dict[str, tuple[int, int]] = {}
    for isbn13, wanted in asked.items():
        if isbn13 not in bought:
            continue
        left = bought[isbn13] - returned_before.get(isbn13, 0)
        copies = min(wanted, left)
        if copies < wanted:
            log.warning(
                "return of order %s (refund %s): %s of %s asked back but %s left to return",
                order_id,
                refund_id,
                wanted,
                isbn13,
                max(left, 0),
            )
        if copies <= 0:
            continue
        after = await move(
            session, isbn13=isbn13, kind=Movement.RETURNED, on_hand_change=copies, who=who
        )
        if after is None:
            raise RuntimeError(f"order {order_id}: {isbn13} was sold but has no stock row")
        returned[isbn13] = copies
        availability[isbn13] = (after.available - copies, after.available)
    await announce(uow, returned, now=now, availability=availability)
    return returned
