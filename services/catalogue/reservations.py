"""Holding copies for orders: reserve (all lines or none), commit (sold), release, expire.

Each works inside the caller's unit of work (a handler's, with its inbox row), and each is safe
to repeat: the reservation's status only moves forward through conditional UPDATEs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.changes import announce
from services.catalogue.domain import merge_quantities
from services.catalogue.models import Reservation, ReservationLine, Stock
from services.catalogue.stock import Movement, Who, move
from shared.contracts import ReservationReply, ShortLine
from shared.db import insert_for
from shared.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

ACTOR = "checkout"
SWEEP_BATCH = 200
_HOLD_LINE = insert(ReservationLine.__table__)


class Status(StrEnum):
    HELD = "held"
    COMMITTED = "committed"
    # Released by checkout; also the marker a release leaves when it arrives before its reserve.
    RELEASED = "released"
    # Let go by the expiry sweep; a late payment may hold copies for the order again.
    EXPIRED = "expired"


async def _status(session: AsyncSession, order_id: UUID) -> tuple[str, datetime | None] | None:
    row = (
        await session.execute(
            select(Reservation.status, Reservation.expires_at).where(
                Reservation.order_id == order_id
            )
        )
    ).first()
    return None if row is None else (row.status, row.expires_at)


async def _move_status(
    session: AsyncSession, order_id: UUID, *, before: Status, after: Status, now: datetime, **values
) -> bool:
    """Move the order from `before` to `after`; False if someone else moved it first."""
    result = await session.execute(
        update(Reservation)
        .where(Reservation.order_id == order_id, Reservation.status == before.value)
        .values(status=after.value, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def _lines(session: AsyncSession, order_id: UUID) -> dict[str, int]:
    rows = await session.execute(
        select(ReservationLine.isbn13, ReservationLine.quantity)
        .where(ReservationLine.order_id == order_id)
        .order_by(ReservationLine.isbn13)
    )
    return {isbn13: quantity for isbn13, quantity in rows}


async def _open(
    session: AsyncSession, order_id: UUID, *, expires_at: datetime, now: datetime
) -> bool:
    """Start the order's hold record; False if the order already has one (its answer stands).

    On Postgres a concurrent reserve of the same order waits here for the first to commit,
    then finds its row: both give the same answer.
    """
    connection = await session.connection()
    opened = await connection.execute(
        insert_for(connection.dialect.name, Reservation)
        .values(
            order_id=order_id,
            status=Status.HELD.value,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Reservation.order_id])
        .returning(Reservation.order_id)
    )
    return opened.first() is not None


async def reserve(
    uow: UnitOfWork,
    *,
    order_id: UUID,
    lines: Sequence[tuple[str, int]],
    expires_at: datetime,
    now: datetime,
) -> ReservationReply:
    """Hold every line until `expires_at`, or none and say which lines are short.

    Asking again for an order already held (or sold) gives the same answer; an order released
    before this arrived holds nothing (ok false, no short lines: the order is closed). This is
    on every reader's way to the payment page, so the usual case (a new order) costs one
    statement per table it writes and nothing else.
    """
    session = uow.session
    renewing = False
    if not await _open(session, order_id, expires_at=expires_at, now=now):
        known = await _status(session, order_id)
        if known is None:
            # The row that conflicted was gone a statement later: a concurrent short reserve of
            # the same order removed its own. The task's retry meets a settled state.
            raise RuntimeError(f"reservation {order_id} changed while being opened; retry")
        status, held_until = known
        if status in (Status.HELD, Status.COMMITTED):
            return ReservationReply(order_id=order_id, ok=True, expires_at=held_until)
        if status == Status.RELEASED:
            return ReservationReply(order_id=order_id, ok=False)
        renewing = True
    wanted = merge_quantities(lines)
    who = Who(actor=ACTOR, batch_id=uuid4(), now=now, reference=f"order {order_id}")
    short: list[str] = []
    availability: dict[str, tuple[int, int]] = {}
    # All or none: with several lines, a savepoint undoes the lines already held when a later one
    # is short; one line needs none, since a refused conditional UPDATE changed nothing.
    attempt = session.begin_nested() if len(wanted) > 1 else contextlib.nullcontext()
    async with attempt:
        for isbn13, quantity in wanted.items():
            held = await move(
                session, isbn13=isbn13, kind=Movement.RESERVED, reserved_change=quantity, who=who
            )
            if held is None:
                short.append(isbn13)
            else:
                availability[isbn13] = (held.available + quantity, held.available)
        if short and len(wanted) > 1:
            await attempt.rollback()  # type: ignore[union-attr]
    if short:
        if not renewing:
            await session.execute(delete(Reservation).where(Reservation.order_id == order_id))
        return await _short_reply(session, order_id, wanted, short)
    if renewing:
        if not await _move_status(
            session,
            order_id,
            before=Status.EXPIRED,
            after=Status.HELD,
            now=now,
            expires_at=expires_at,
        ):
            raise RuntimeError(f"reservation {order_id} changed while being renewed; retry")
        await session.execute(delete(ReservationLine).where(ReservationLine.order_id == order_id))
    connection = await session.connection()
    await connection.execute(
        _HOLD_LINE,
        [
            {"order_id": order_id, "isbn13": isbn13, "quantity": quantity}
            for isbn13, quantity in wanted.items()
        ],
    )
    await announce(uow, wanted, now=now, availability=availability, hold=True)
    return ReservationReply(order_id=order_id, ok=True, expires_at=expires_at)


async def _short_reply(
    session: AsyncSession, order_id: UUID, wanted: dict[str, int], short: list[str]
) -> ReservationReply:
    rows = await session.execute(
        select(Stock.isbn13, Stock.on_hand - Stock.reserved).where(Stock.isbn13.in_(short))
    )
    available = {isbn13: count for isbn13, count in rows}
    return ReservationReply(
        order_id=order_id,
        ok=False,
        short=tuple(
            ShortLine(
                isbn13=isbn13,
                requested=wanted[isbn13],
                available=max(available.get(isbn13, 0), 0),
            )
            for isbn13 in short
        ),
    )


async def commit(uow: UnitOfWork, *, order_id: UUID, now: datetime) -> bool:
    """The held copies are sold: on hand and held both go down, a 'sold' entry each.

    True if this call sold them; committing again, or an order not held, changes nothing.
    """
    session = uow.session
    known = await _status(session, order_id)
    if known is None or known[0] != Status.HELD:
        if known is None or known[0] != Status.COMMITTED:
            log.warning(
                "commit of order %s ignored: its reservation is %s, so no copies are held",
                order_id,
                known[0] if known else "unknown",
            )
        return False
    if not await _move_status(
        session, order_id, before=Status.HELD, after=Status.COMMITTED, now=now
    ):
        return False
    lines = await _lines(session, order_id)
    who = Who(actor=ACTOR, batch_id=uuid4(), now=now, reference=f"order {order_id}")
    for isbn13, quantity in lines.items():
        sold = await move(
            session,
            isbn13=isbn13,
            kind=Movement.SOLD,
            on_hand_change=-quantity,
            reserved_change=-quantity,
            who=who,
        )
        if sold is None:
            raise RuntimeError(
                f"order {order_id}: {quantity} of {isbn13} were held but the stock row disagrees"
            )
    await announce(uow, lines, now=now)
    return True


async def is_committed(session: AsyncSession, order_id: UUID) -> bool:
    known = await _status(session, order_id)
    return known is not None and known[0] == Status.COMMITTED


async def _give_back(uow: UnitOfWork, order_id: UUID, *, now: datetime, reason: str) -> None:
    session = uow.session
    lines = await _lines(session, order_id)
    who = Who(actor=ACTOR, batch_id=uuid4(), now=now, reason=reason, reference=f"order {order_id}")
    for isbn13, quantity in lines.items():
        if (
            await move(
                session, isbn13=isbn13, kind=Movement.RELEASED, reserved_change=-quantity, who=who
            )
            is None
        ):
            raise RuntimeError(
                f"order {order_id}: {quantity} of {isbn13} were held but the stock row disagrees"
            )
    await announce(uow, lines, now=now)


async def release(uow: UnitOfWork, *, order_id: UUID, reason: str, now: datetime) -> bool:
    """Copies back on the shelf. True if this call released them.

    A release before its reserve leaves a released marker, so the late reserve holds nothing.
    Releasing a sold, released or expired order changes nothing.
    """
    session = uow.session
    known = await _status(session, order_id)
    if known is None:
        await session.execute(
            insert(Reservation).values(
                order_id=order_id,
                status=Status.RELEASED.value,
                reason=reason[:200],
                created_at=now,
                updated_at=now,
            )
        )
        return False
    if known[0] != Status.HELD or not await _move_status(
        session, order_id, before=Status.HELD, after=Status.RELEASED, now=now, reason=reason[:200]
    ):
        return False
    await _give_back(uow, order_id, now=now, reason=reason)
    return True


async def expire_due(uows: UnitOfWorkFactory, *, now: datetime, batch: int = SWEEP_BATCH) -> int:
    """Release reservations whose time is up, each in its own transaction; how many."""
    async with uows.db.reading() as session:
        due = list(
            await session.scalars(
                select(Reservation.order_id)
                .where(Reservation.status == Status.HELD.value, Reservation.expires_at < now)
                .order_by(Reservation.expires_at)
                .limit(batch)
            )
        )
    expired = 0
    for order_id in due:
        async with uows() as uow:
            if await _move_status(
                uow.session,
                order_id,
                before=Status.HELD,
                after=Status.EXPIRED,
                now=now,
                reason="reservation expired",
            ):
                await _give_back(uow, order_id, now=now, reason="reservation expired")
                expired += 1
    return expired
