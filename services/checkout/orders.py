"""Loading and changing orders inside a unit of work: the steps every use case shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from uuid import UUID

from sqlalchemy import Executable, Table, bindparam, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from services.checkout import domain
from services.checkout.domain import OrderStatus, PricedLine
from services.checkout.emails import EmailMessage
from services.checkout.models import Email, Order, OrderLine, Refund, StatusChange
from shared.contracts import Attribution, OrderPaid, ReleaseReservation, StockLine
from shared.contracts import OrderLine as PaidLine
from shared.db import insert_for, mark
from shared.errors import NotFound
from shared.messaging.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]
REFERENCE_TRIES = 10
EMAILS = "emails"
"""The mark of a transaction that queued emails (shared.db.mark): the sender wakes on it."""

_ORDERS: Table = Order.__table__  # type: ignore[assignment]
_LINES: Table = OrderLine.__table__  # type: ignore[assignment]
_HISTORY: Table = StatusChange.__table__  # type: ignore[assignment]
# The Buy's statements, built once: their columns come from the parameters of each
# execution, so SQLAlchemy finds them compiled in its cache instead of building and keying a
# new statement per Buy. `moving_*` name the WHERE's parameters apart from the SET's columns.
_INSERTS = {table: insert(table) for table in (_LINES, _HISTORY)}
_MOVE = update(_ORDERS).where(
    _ORDERS.c.id == bindparam("moving_id"), _ORDERS.c.status == bindparam("moving_from")
)


async def load_for_update(session: AsyncSession, **where: object) -> Order | None:
    """One order, locked for the rest of the transaction (Postgres; SQLite locks the database)."""
    query = select(Order).filter_by(**where).with_for_update()
    return (await session.scalars(query)).one_or_none()


async def get_for_update(session: AsyncSession, reference: str) -> Order:
    order = await load_for_update(session, reference=domain.normalise_reference(reference))
    if order is None:
        raise NotFound(f"No order has the reference {reference!r}.")
    return order


def _columns(row: DeclarativeBase, table: Table) -> dict[str, object]:
    """The column values set on a new ORM object; the table's defaults fill the rest."""
    given = inspect(row).dict
    return {column.key: given[column.key] for column in table.columns if column.key in given}


@cache
def _insert_order_for(dialect: str) -> Executable:
    return (
        insert_for(dialect, _ORDERS)
        .on_conflict_do_nothing(index_elements=[_ORDERS.c.reference])
        .returning(_ORDERS.c.id)
    )


async def insert_order(session: AsyncSession, order: Order) -> None:
    """Write a new order, its lines and its first history by plain INSERTs.

    Every Buy comes through here: the ORM's flush (change tracking, dependency sort, a
    RETURNING for every key) cost the web process more CPU than the writes themselves. The
    order stays detached; whoever changes it later loads it. A reference another order took
    (1 in 10^12 a try) draws a new one without failing the transaction.
    """
    connection = await session.connection()
    statement = _insert_order_for(connection.dialect.name)
    for _ in range(REFERENCE_TRIES):
        written = await connection.execute(statement, _columns(order, _ORDERS))
        if written.first() is not None:
            break
        order.reference = domain.new_reference()
    else:
        raise RuntimeError("No free order reference after several tries; the space is too full.")
    for rows, table in ((order.lines, _LINES), (order.history, _HISTORY)):
        await connection.execute(
            _INSERTS[table], [{**_columns(row, table), "order_id": order.id} for row in rows]
        )


async def move_detached(
    session: AsyncSession,
    order: Order,
    steps: Sequence[tuple[OrderStatus, str | None]],
    *,
    at: datetime,
    values: dict[str, object],
) -> bool:
    """Take an order not loaded in this session through `steps`, setting `values`, by one
    UPDATE guarded by the status it had; False (nothing written) if it has moved since.

    The Buy's second write: the same rules as `move`, without loading the order, its lines
    and history back. On False, load the order and use `move`, which says what is wrong.
    """
    status = OrderStatus(order.status)
    for wanted, _ in steps:
        status = domain.check_transition(status, wanted)
    connection = await session.connection()
    changed = await connection.execute(
        _MOVE,
        {"moving_id": order.id, "moving_from": order.status, "status": status.value, **values},
    )
    if changed.rowcount != 1:
        return False
    await connection.execute(
        _INSERTS[_HISTORY],
        [
            {"order_id": order.id, "status": wanted.value, "at": at, "note": note}
            for wanted, note in steps
        ],
    )
    for key, value in values.items():
        setattr(order, key, value)
    order.status = status.value
    return True


def move(order: Order, status: OrderStatus, *, at: datetime, note: str | None = None) -> None:
    """Change the order's status by the rules of its life, and write it in its history."""
    domain.check_transition(OrderStatus(order.status), status)
    order.status = status.value
    order.history.append(StatusChange(status=status.value, at=at, note=note))


def add_lines(order: Order, lines: Sequence[PricedLine]) -> None:
    for position, line in enumerate(lines):
        order.lines.append(
            OrderLine(
                position=position,
                isbn13=line.isbn13,
                title=line.title,
                unit_price_pence=line.unit_price_pence,
                quantity=line.quantity,
            )
        )


def stock_lines(order: Order) -> tuple[StockLine, ...]:
    return tuple(StockLine(isbn13=line.isbn13, quantity=line.quantity) for line in order.lines)


async def release(uow: UnitOfWork, order: Order, reason: str) -> None:
    """Queue the copies' release; the catalogue closes the hold even if its reserve is late."""
    await uow.publish(ReleaseReservation(order_id=order.reservation_id, reason=reason))


async def order_paid_event(uow: UnitOfWork, order: Order) -> None:
    attribution = (
        Attribution(article_id=order.article_id, isbn13=order.lines[0].isbn13)
        if order.article_id
        else None
    )
    await uow.publish(
        OrderPaid(
            order_id=order.id,
            reference=order.reference,
            lines=tuple(
                PaidLine(
                    isbn13=line.isbn13,
                    quantity=line.quantity,
                    unit_price_pence=line.unit_price_pence,
                )
                for line in order.lines
            ),
            total_pence=order.total_pence,
            attribution=attribution,
        )
    )


def queue_email(session: AsyncSession, order: Order | None, email: EmailMessage) -> None:
    """Written in the caller's transaction; the sender delivers it after commit."""
    mark(session, EMAILS)
    session.add(
        Email(
            order_id=order.id if order is not None else None,
            kind=email.kind,
            to_address=email.to_address,
            subject=email.subject,
            body=email.body,
        )
    )


async def record_refund(
    session: AsyncSession,
    order: Order,
    *,
    stripe_refund_id: str,
    amount_pence: int,
    reason: str,
) -> bool:
    """Remember a refund once; False if this Stripe refund was already recorded."""
    known = await session.scalar(
        select(func.count()).where(Refund.stripe_refund_id == stripe_refund_id)
    )
    if known:
        return False
    session.add(
        Refund(
            order_id=order.id,
            stripe_refund_id=stripe_refund_id,
            amount_pence=amount_pence,
            reason=reason,
        )
    )
    await session.flush()
    recorded = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_pence), 0)).where(Refund.order_id == order.id)
    )
    # Stripe's charge.refunded may have told us first; never count the same money twice.
    order.refunded_pence = max(order.refunded_pence, int(recorded or 0))
    return True


def is_duplicate(error: IntegrityError) -> bool:
    return "unique" in str(error.orig).lower() or "duplicate" in str(error.orig).lower()


def order_id_from(metadata: dict[str, str]) -> UUID | None:
    try:
        return UUID(metadata["order_id"])
    except (KeyError, ValueError):
        return None
