"""Holding copies for orders: reserve (all lines or none), commit (sold), release, expire.

Each works inside the caller's unit of work (a handler's, with its inbox row), and each is safe
to repeat: the reservation's status only moves forward through conditional UPDATEs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple
from uuid import UUID, uuid4

from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    Select,
    String,
    bindparam,
    delete,
    exists,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.changes import announce
from services.catalogue.domain import Movement, merge_quantities
from services.catalogue.models import Book, Reservation, ReservationLine, Stock
from services.catalogue.stock import Who, hold, ledger_parameters, move, move_within
from shared.contracts import LinePrice, ReservationReply, ShortLine
from shared.db import insert_for, table_of
from shared.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

ACTOR = "checkout"
SWEEP_BATCH = 200
_HOLD_LINE = insert(table_of(ReservationLine))


class Status(StrEnum):
    HELD = "held"
    COMMITTED = "committed"
    # Released by checkout; also the marker a release leaves when it arrives before its reserve.
    RELEASED = "released"
    # Let go by the expiry sweep; a late payment may hold copies for the order again.
    EXPIRED = "expired"


def ledger_reference(order_id: UUID, reference: str | None) -> str:
    """How the ledger names an order: by the reference the orders pages show, which staff can
    look up; by the reservation's id for a hold asked for without one."""
    return f"order {reference or order_id}"


class _Known(NamedTuple):
    status: str
    expires_at: datetime | None
    reference: str | None


async def _status(session: AsyncSession, order_id: UUID) -> _Known | None:
    row = (
        await session.execute(
            select(Reservation.status, Reservation.expires_at, Reservation.reference).where(
                Reservation.order_id == order_id
            )
        )
    ).first()
    return None if row is None else _Known(row.status, row.expires_at, row.reference)


async def _move_status(
    session: AsyncSession,
    order_id: UUID,
    *,
    before: Status,
    after: Status,
    now: datetime,
    only_if: ColumnElement[bool] | None = None,
    **values: object,
) -> bool:
    """Move the order from `before` to `after` (if `only_if` holds too); False if someone else
    moved it first."""
    result = await session.execute(
        update(Reservation)
        .where(
            Reservation.order_id == order_id,
            Reservation.status == before.value,
            only_if if only_if is not None else true(),
        )
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
    session: AsyncSession,
    order_id: UUID,
    *,
    expires_at: datetime,
    reference: str | None,
    now: datetime,
) -> bool:
    """Start the order's hold record; False if the order already has one (its answer stands).

    On Postgres a concurrent reserve of the same order waits here for the first to commit,
    then finds its row: both give the same answer.
    """
    connection = await session.connection()
    opened = await connection.execute(
        _OPEN_FOR[connection.dialect.name],
        {"holding": order_id, "until": expires_at, "reference": reference, "now": now},
    )
    # Counted rather than returned: on SQLite a returned row costs one more trip to
    # aiosqlite's thread.
    return opened.rowcount == 1


def _open_statement(dialect: str) -> Insert:
    table = table_of(Reservation)
    return (
        insert_for(dialect, table)
        .values(
            order_id=bindparam("holding", type_=table.c.order_id.type),
            status=Status.HELD.value,
            expires_at=bindparam("until", type_=table.c.expires_at.type),
            reference=bindparam("reference", type_=table.c.reference.type),
            created_at=bindparam("now", type_=table.c.created_at.type),
            updated_at=bindparam("now", type_=table.c.updated_at.type),
        )
        .on_conflict_do_nothing(index_elements=[table.c.order_id])
    )


# Built once: a reserve is on every reader's way to the payment page, and building a
# statement costs more than running it.
_OPEN_FOR = {dialect: _open_statement(dialect) for dialect in ("postgresql", "sqlite")}


def _open_and_hold_statement() -> Select[tuple[UUID, int | None, int | None, int | None]]:
    """Postgres, one book: `_open`, the hold's stock move and ledger row, and the hold's line,
    in one statement, which also reads the book's price for the reply. The move and the line
    are made only if the order was opened here; a row with empty counters means opened but
    short, no row means the order had a record already."""
    opened = _OPEN_FOR["postgresql"].returning(table_of(Reservation).c.order_id).cte("opened")
    moved, recorded = move_within(exists(select(opened.c.order_id)))
    line = (
        insert(table_of(ReservationLine))
        .from_select(
            ["order_id", "isbn13", "quantity"],
            select(
                bindparam("holding", type_=ReservationLine.order_id.type),
                bindparam("target", type_=String),
                bindparam("reserved_change", type_=Integer),
            ).select_from(moved),
        )
        .cte("line")
    )
    price = select(Book.price_pence).where(Book.isbn13 == bindparam("target", type_=String))
    return (
        select(
            opened.c.order_id,
            moved.c.on_hand,
            moved.c.reserved,
            price.scalar_subquery().label("price_pence"),
        )
        .select_from(opened.outerjoin(moved, true()))
        .add_cte(recorded, line)
    )


_OPEN_AND_HOLD = _open_and_hold_statement()


@dataclass(frozen=True)
class _Holding:
    """What holding an order's lines came to: each held book's available copies (before,
    after), and the books that were short (then nothing is held); the held books' prices
    where the hold read them."""

    availability: dict[str, tuple[int, int]]
    short: list[str]
    prices: dict[str, int] = field(default_factory=dict)


async def _open_and_hold(
    session: AsyncSession,
    order_id: UUID,
    wanted: dict[str, int],
    *,
    expires_at: datetime,
    reference: str | None,
    who: Who,
) -> _Holding | None:
    """`_open`, `_hold` and `_record_lines` for one book on Postgres, in one round trip
    instead of four. None if the order had a record already."""
    ((isbn13, quantity),) = wanted.items()
    connection = await session.connection()
    row = (
        await connection.execute(
            _OPEN_AND_HOLD,
            {
                "holding": order_id,
                "until": expires_at,
                "reference": reference,
                "now": who.now,
                **ledger_parameters(
                    who, isbn13=isbn13, kind=Movement.RESERVED, reserved_change=quantity
                ),
            },
        )
    ).first()
    if row is None:
        return None
    if row.on_hand is None:
        return _Holding(availability={}, short=[isbn13])
    available = row.on_hand - row.reserved
    return _Holding(
        availability={isbn13: (available + quantity, available)},
        short=[],
        prices={isbn13: row.price_pence},
    )


async def _hold(session: AsyncSession, wanted: dict[str, int], who: Who) -> _Holding:
    """Move every line's copies to held, or none."""
    holding = _Holding(availability={}, short=[])
    # All or none: with several lines, a savepoint undoes the lines already held when a later one
    # is short; one line needs none, since a refused conditional UPDATE changed nothing.
    attempt = session.begin_nested() if len(wanted) > 1 else contextlib.nullcontext()
    async with attempt:
        for isbn13, quantity in wanted.items():
            held = await hold(session, isbn13=isbn13, quantity=quantity, who=who)
            if held is None:
                holding.short.append(isbn13)
            else:
                holding.availability[isbn13] = (held.available + quantity, held.available)
                holding.prices[isbn13] = held.price_pence
        if holding.short and len(wanted) > 1:
            await attempt.rollback()  # type: ignore[union-attr]
    return holding


async def _record_lines(session: AsyncSession, order_id: UUID, wanted: dict[str, int]) -> None:
    connection = await session.connection()
    await connection.execute(
        _HOLD_LINE,
        [
            {"order_id": order_id, "isbn13": isbn13, "quantity": quantity}
            for isbn13, quantity in wanted.items()
        ],
    )


async def reserve(
    uow: UnitOfWork,
    *,
    order_id: UUID,
    lines: Sequence[tuple[str, int]],
    expires_at: datetime,
    now: datetime,
    reference: str | None = None,
) -> ReservationReply:
    """Hold every line until `expires_at`, or none and say which lines are short.

    `reference`, the order's as staff know it, is kept with the hold and names the order in
    its ledger entries (this one's, and its sale's, release's and returns').

    Asking again for an order already held (or sold) gives the same answer; an order released
    before this arrived holds nothing (ok false, no short lines: the order is closed). This is
    on every reader's way to the payment page, so the usual case (a new order) costs one
    statement per table it writes and nothing else, and on Postgres, for one book, a single
    statement.
    """
    session = uow.session
    wanted = merge_quantities(lines)
    who = Who(
        actor=ACTOR, batch_id=uuid4(), now=now, reference=ledger_reference(order_id, reference)
    )
    connection = await session.connection()
    holding: _Holding | None = None
    if connection.dialect.name == "postgresql" and len(wanted) == 1:
        holding = await _open_and_hold(
            session, order_id, wanted, expires_at=expires_at, reference=reference, who=who
        )
    elif await _open(session, order_id, expires_at=expires_at, reference=reference, now=now):
        holding = await _hold(session, wanted, who)
        if not holding.short:
            await _record_lines(session, order_id, wanted)
    if holding is None:
        return await _reserve_again(
            uow, order_id, wanted, expires_at=expires_at, reference=reference, now=now
        )
    if holding.short:
        await session.execute(delete(Reservation).where(Reservation.order_id == order_id))
        return await _short_reply(session, order_id, wanted, holding.short)
    await announce(uow, wanted, now=now, availability=holding.availability, hold=True)
    return await _held_reply(session, order_id, wanted, expires_at, read=holding.prices)


async def _reserve_again(
    uow: UnitOfWork,
    order_id: UUID,
    wanted: dict[str, int],
    *,
    expires_at: datetime,
    reference: str | None,
    now: datetime,
) -> ReservationReply:
    """A reserve for an order that has a record: the same answer again, or for an expired
    hold (a payment that came after it lapsed) a new hold if the copies are still there."""
    session = uow.session
    known = await _status(session, order_id)
    if known is None:
        # The row that conflicted was gone a statement later: a concurrent short reserve of
        # the same order removed its own. The task's retry meets a settled state.
        raise RuntimeError(f"reservation {order_id} changed while being opened; retry")
    if known.status in (Status.HELD, Status.COMMITTED):
        return await _held_reply(session, order_id, wanted, known.expires_at)
    if known.status == Status.RELEASED:
        return ReservationReply(order_id=order_id, ok=False)
    # A renewal asked for in the old form still names the order as its first hold did.
    reference = reference or known.reference
    who = Who(
        actor=ACTOR, batch_id=uuid4(), now=now, reference=ledger_reference(order_id, reference)
    )
    holding = await _hold(session, wanted, who)
    if holding.short:
        return await _short_reply(session, order_id, wanted, holding.short)
    if not await _move_status(
        session,
        order_id,
        before=Status.EXPIRED,
        after=Status.HELD,
        now=now,
        expires_at=expires_at,
        reference=reference,
    ):
        raise RuntimeError(f"reservation {order_id} changed while being renewed; retry")
    await session.execute(delete(ReservationLine).where(ReservationLine.order_id == order_id))
    await _record_lines(session, order_id, wanted)
    await announce(uow, wanted, now=now, availability=holding.availability, hold=True)
    return await _held_reply(session, order_id, wanted, expires_at, read=holding.prices)


async def _held_reply(
    session: AsyncSession,
    order_id: UUID,
    wanted: dict[str, int],
    expires_at: datetime | None,
    *,
    read: dict[str, int] | None = None,
) -> ReservationReply:
    """Yes, with the books' prices as held: checkout charges these, not its own copy."""
    prices = dict(read or {})
    if prices.keys() != wanted.keys():
        rows = await session.execute(
            select(Book.isbn13, Book.price_pence).where(Book.isbn13.in_(list(wanted)))
        )
        prices = {isbn13: price for isbn13, price in rows}
    return ReservationReply(
        order_id=order_id,
        ok=True,
        expires_at=expires_at,
        prices=tuple(LinePrice(isbn13=i, price_pence=p) for i, p in prices.items()),
    )


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
    if known is None or known.status != Status.HELD:
        if known is None or known.status != Status.COMMITTED:
            log.warning(
                "commit of order %s ignored: its reservation is %s, so no copies are held",
                order_id,
                known.status if known else "unknown",
            )
        return False
    if not await _move_status(
        session, order_id, before=Status.HELD, after=Status.COMMITTED, now=now
    ):
        return False
    lines = await _lines(session, order_id)
    who = Who(
        actor=ACTOR,
        batch_id=uuid4(),
        now=now,
        reference=ledger_reference(order_id, known.reference),
    )
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
    return known is not None and known.status == Status.COMMITTED


async def _give_back(
    uow: UnitOfWork, order_id: UUID, reference: str | None, *, now: datetime, reason: str
) -> None:
    session = uow.session
    lines = await _lines(session, order_id)
    who = Who(
        actor=ACTOR,
        batch_id=uuid4(),
        now=now,
        reason=reason,
        reference=ledger_reference(order_id, reference),
    )
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
    if known.status != Status.HELD or not await _move_status(
        session, order_id, before=Status.HELD, after=Status.RELEASED, now=now, reason=reason[:200]
    ):
        return False
    await _give_back(uow, order_id, known.reference, now=now, reason=reason)
    return True


async def expire_due(uows: UnitOfWorkFactory, *, now: datetime, batch: int = SWEEP_BATCH) -> int:
    """Release reservations whose time is up, each in its own transaction; how many."""
    async with uows.db.reading() as session:
        due = (
            await session.execute(
                select(Reservation.order_id, Reservation.reference)
                .where(Reservation.status == Status.HELD.value, Reservation.expires_at < now)
                .order_by(Reservation.expires_at)
                .limit(batch)
            )
        ).all()
    expired = 0
    for order_id, reference in due:
        async with uows() as uow:
            if await _move_status(
                uow.session,
                order_id,
                before=Status.HELD,
                after=Status.EXPIRED,
                now=now,
                # Read as due a moment ago, the hold may since have been let go by another
                # sweep and held again, until later, for a late payment: that hold stays.
                only_if=Reservation.expires_at < now,
                reason="reservation expired",
            ):
                await _give_back(uow, order_id, reference, now=now, reason="reservation expired")
                expired += 1
    return expired
