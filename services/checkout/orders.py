"""Loading and changing orders: the steps every use case shares, inside a unit of work, and the
Buy's own writes, each a transaction of its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache
from uuid import UUID

from sqlalchemy import (
    CTE,
    ColumnDefault,
    Select,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from services.checkout import domain
from services.checkout.domain import OrderStatus, PricedLine
from services.checkout.emails import EmailMessage
from services.checkout.models import Email, Order, OrderLine, Refund, RefundLine, StatusChange
from services.checkout.payments import RefundMade
from shared.contracts import (
    Attribution,
    CloseSale,
    OrderPaid,
    OrderRefunded,
    ReleaseReservation,
    ReturnToStock,
    StockLine,
)
from shared.contracts import OrderLine as PaidLine
from shared.db import Database, mark, table_of
from shared.errors import NotFound
from shared.messaging.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]
REFERENCE_TRIES = 10
EMAILS = "emails"
"""The mark of a transaction that queued emails (shared.db.mark): the sender wakes on it."""

_ORDERS = table_of(Order)
_LINES = table_of(OrderLine)
_HISTORY = table_of(StatusChange)
_LINE_COLUMNS = ("position", "isbn13", "title", "unit_price_pence", "quantity")
_HISTORY_COLUMNS = ("status", "at", "note")
# SQLite's Buy statements, built once: their columns come from the parameters of each
# execution, so SQLAlchemy finds them compiled in its cache instead of building and keying a
# new statement per Buy. `moving_*` name the WHERE's parameters apart from the SET's columns.
_INSERTS = {table: insert(table) for table in (_LINES, _HISTORY)}
_INSERT_ORDER_ON_SQLITE = (
    sqlite.insert(_ORDERS)
    .on_conflict_do_nothing(index_elements=[_ORDERS.c.reference])
    .returning(_ORDERS.c.id)
)
_MOVE_ON_SQLITE = update(_ORDERS).where(
    _ORDERS.c.id == bindparam("moving_id"), _ORDERS.c.status == bindparam("moving_from")
)


async def load_for_update(session: AsyncSession, **where: object) -> Order | None:
    """One order, locked for the rest of the transaction (Postgres; SQLite locks the database)."""
    query = select(Order).filter_by(**where).with_for_update()
    return (await session.scalars(query)).one_or_none()


async def get_by_reference(session: AsyncSession, reference: str) -> Order:
    """The order with this reference, however a person typed it."""
    order = await session.scalar(
        select(Order).where(Order.reference == domain.normalise_reference(reference))
    )
    if order is None:
        raise NotFound(f"No order has the reference {reference!r}.")
    return order


async def get_for_update(session: AsyncSession, reference: str) -> Order:
    order = await load_for_update(session, reference=domain.normalise_reference(reference))
    if order is None:
        raise NotFound(f"No order has the reference {reference!r}.")
    return order


def _columns(row: DeclarativeBase, table: Table) -> dict[str, object]:
    """The column values set on a new ORM object; the table's defaults fill the rest."""
    given = inspect(row).dict
    return {column.key: given[column.key] for column in table.columns if column.key in given}


def _with_defaults(table: Table, given: dict[str, object]) -> dict[str, object]:
    """`given`, and the table's Python-side defaults for the columns it lacks: SQLAlchemy
    fills them in for a plain INSERT, but not for one inside a WITH."""
    filled = dict(given)
    for column in table.columns:
        default = column.default
        if column.key not in filled and isinstance(default, ColumnDefault):
            filled[column.key] = default.arg(None) if default.is_callable else default.arg
    return filled


def _arrays(
    rows: Sequence[Mapping[str, object]], columns: Sequence[str], prefix: str
) -> dict[str, list[object]]:
    """The rows as the parameters of `_children`: one list of values per column."""
    return {f"{prefix}_{name}": [row.get(name) for row in rows] for name in columns}


def _children(parent: CTE, table: Table, columns: Sequence[str], prefix: str) -> CTE:
    """INSERT of `parent`'s child rows, given as one array parameter per column
    (`{prefix}_{column}`), so that one statement serves any number of rows."""
    rows = (
        func.unnest(
            *(
                bindparam(f"{prefix}_{name}", type_=postgresql.ARRAY(table.c[name].type))
                for name in columns
            )
        )
        .table_valued(*columns)
        .render_derived()
    )
    chosen = select(parent.c.id, *(rows.c[name] for name in columns)).select_from(
        parent.join(rows, true())
    )
    return insert(table).from_select(["order_id", *columns], chosen).cte(f"{prefix}_rows")


@cache
def _insert_statement(order_columns: tuple[str, ...]) -> Select[tuple[UUID]]:
    """Postgres: the order, its lines and its history in one statement, which is one round
    trip and its own transaction; nothing at all is written if the reference is taken."""
    new_order = (
        postgresql.insert(_ORDERS)
        .values(
            {name: bindparam(f"order_{name}", type_=_ORDERS.c[name].type) for name in order_columns}
        )
        .on_conflict_do_nothing(index_elements=[_ORDERS.c.reference])
        .returning(_ORDERS.c.id)
        .cte("new_order")
    )
    return select(new_order.c.id).add_cte(
        _children(new_order, _LINES, _LINE_COLUMNS, "line"),
        _children(new_order, _HISTORY, _HISTORY_COLUMNS, "step"),
    )


@cache
def _move_statement(set_columns: tuple[str, ...]) -> Select[tuple[UUID]]:
    """Postgres: the guarded UPDATE and its history rows in one statement; neither is written
    if the order has moved."""
    moved = (
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("moving_id"), _ORDERS.c.status == bindparam("moving_from"))
        .values(
            {name: bindparam(f"set_{name}", type_=_ORDERS.c[name].type) for name in set_columns}
        )
        .returning(_ORDERS.c.id)
        .cte("moved")
    )
    return select(moved.c.id).add_cte(_children(moved, _HISTORY, _HISTORY_COLUMNS, "step"))


async def insert_order(db: Database, order: Order) -> None:
    """Write a new order, its lines and its first history, in a transaction of its own.

    Every Buy comes through here, so it uses neither the ORM (its flush cost the web process
    more CPU than the writes) nor, on Postgres, more than one round trip. The order stays
    detached; whoever changes it later loads it. A reference another order took (1 in 10^12
    a try) draws a new one.
    """
    insert_once = _insert_on_postgres if db.is_postgres else _insert_on_sqlite
    for _ in range(REFERENCE_TRIES):
        if await insert_once(db, order):
            return
        order.reference = domain.new_reference()
    raise RuntimeError("No free order reference after several tries; the space is too full.")


async def _insert_on_postgres(db: Database, order: Order) -> bool:
    given = _with_defaults(_ORDERS, _columns(order, _ORDERS))
    parameters = {
        **{f"order_{name}": value for name, value in given.items()},
        **_arrays([_columns(row, _LINES) for row in order.lines], _LINE_COLUMNS, "line"),
        **_arrays([_columns(row, _HISTORY) for row in order.history], _HISTORY_COLUMNS, "step"),
    }
    async with db.autocommitting() as connection:
        written = await connection.execute(_insert_statement(tuple(given)), parameters)
        return written.first() is not None


async def _insert_on_sqlite(db: Database, order: Order) -> bool:
    async with db.writing() as session:
        connection = await session.connection()
        written = await connection.execute(_INSERT_ORDER_ON_SQLITE, _columns(order, _ORDERS))
        if written.first() is None:
            return False
        for rows, table in ((order.lines, _LINES), (order.history, _HISTORY)):
            await connection.execute(
                _INSERTS[table], [{**_columns(row, table), "order_id": order.id} for row in rows]
            )
        return True


async def move_detached(
    db: Database,
    order: Order,
    steps: Sequence[tuple[OrderStatus, str | None]],
    *,
    at: datetime,
    values: dict[str, object],
) -> bool:
    """Take an order not loaded anywhere through `steps`, setting `values`, in a transaction
    of its own, by one UPDATE guarded by the status it had; False (nothing written) if it has
    moved since.

    The Buy's second write: the same rules as `move`, without loading the order, its lines
    and history back. On False, load the order and use `move`, which says what is wrong.
    """
    status = OrderStatus(order.status)
    for wanted, _ in steps:
        status = domain.check_transition(status, wanted)
    history = [{"status": wanted.value, "at": at, "note": note} for wanted, note in steps]
    # updated_at named, since SQLAlchemy's onupdate does not reach an UPDATE inside a WITH.
    changes = {**values, "status": status.value, "updated_at": at}
    guard = {"moving_id": order.id, "moving_from": order.status}
    if db.is_postgres:
        async with db.autocommitting() as connection:
            moved = await connection.execute(
                _move_statement(tuple(changes)),
                {
                    **guard,
                    **{f"set_{name}": value for name, value in changes.items()},
                    **_arrays(history, _HISTORY_COLUMNS, "step"),
                },
            )
            if moved.first() is None:
                return False
    else:
        async with db.writing() as session:
            connection = await session.connection()
            if (await connection.execute(_MOVE_ON_SQLITE, {**guard, **changes})).rowcount != 1:
                return False
            await connection.execute(
                _INSERTS[_HISTORY],
                [{**row, "order_id": order.id} for row in history],
            )
    for key, value in changes.items():
        setattr(order, key, value)
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


def reprice(
    order: Order,
    prices: Mapping[str, int],
    *,
    postage: domain.PostageTable,
    postage_vat_percent: int,
) -> None:
    """Charge the lines at `prices` (pence by ISBN), and the totals to match."""
    for line in order.lines:
        line.unit_price_pence = prices.get(line.isbn13, line.unit_price_pence)
    totals = domain.totals_for(
        priced_lines(order),
        delivery=domain.Delivery(order.delivery),
        postage=postage,
        postage_vat_percent=postage_vat_percent,
    )
    order.books_pence = totals.books_pence
    order.postage_pence = totals.postage_pence
    order.postage_vat_pence = totals.postage_vat_pence
    order.total_pence = totals.total_pence


def stock_lines(order: Order) -> tuple[StockLine, ...]:
    return tuple(StockLine(isbn13=line.isbn13, quantity=line.quantity) for line in order.lines)


async def release(uow: UnitOfWork, order: Order, reason: str) -> None:
    """Queue the copies' release; the catalogue closes the hold even if its reserve is late."""
    await uow.publish(ReleaseReservation(order_id=order.reservation_id, reason=reason))


async def close_sale(uow: UnitOfWork, order: Order) -> None:
    """Queue word that the order's sold copies are off the shelf (sent, collected, or the
    order refunded in full): until then a stock take counts them there."""
    await uow.publish(CloseSale(order_id=order.reservation_id))


async def end_if_refunded(uow: UnitOfWork, order: Order, *, at: datetime, note: str) -> None:
    """A refund of the whole total ends a paid or fulfilled order; one never sent closes its
    sale too, its copies no longer waiting on the shelf. A partial refund changes neither."""
    if order.status in domain.REFUNDABLE and domain.status_after_refund(
        total_pence=order.total_pence, refunded_pence=order.refunded_pence
    ):
        if order.status == OrderStatus.PAID:
            await close_sale(uow, order)
        move(order, OrderStatus.REFUNDED, at=at, note=note)


def transfer_under_way(order: Order) -> bool:
    """Stripe completed the session with the money still to come (a bank transfer): the
    webhook stored its payment and left the order awaiting it, for days rather than seconds."""
    return order.status == OrderStatus.AWAITING_PAYMENT and order.stripe_payment_intent is not None


def attribution_of(order: Order) -> Attribution | None:
    """The article whose link brought the order, if one did."""
    if not order.article_id:
        return None
    return Attribution(article_id=order.article_id, isbn13=order.lines[0].isbn13)


async def order_paid_event(uow: UnitOfWork, order: Order) -> None:
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
            attribution=attribution_of(order),
        )
    )


async def order_refunded_event(
    uow: UnitOfWork, order: Order, *, before: int, refund: Refund | None = None
) -> None:
    """Tell of the money refunded on the order since its refunded figure was `before`, and of
    the copies `refund` (the one just recorded, if any) paid back, if either: the events add
    up to the figure, whichever of our refund and Stripe's charge.refunded raised it first (the
    later finds no more money to tell, but the refund's copies are only ours to tell).

    The attribution goes with the refund as with the payment: Celery may deliver the refund
    first, and the recommendation service must know then whether an article's revenue is
    owed it.
    """
    copies = refund_copies(refund) if refund is not None else ()
    if order.refunded_pence <= before and not copies:
        return
    await uow.publish(
        OrderRefunded(
            order_id=order.id,
            reference=order.reference,
            amount_pence=max(order.refunded_pence - before, 0),
            attribution=attribution_of(order),
            copies=copies,
        )
    )


def refund_copies(refund: Refund) -> tuple[StockLine, ...]:
    return tuple(StockLine(line.isbn13, line.quantity) for line in refund.lines)


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
    refund: RefundMade,
    *,
    reason: str,
    at: datetime,
    copies: Mapping[str, int] | None = None,
    restocked: bool = False,
    idempotency_key: str | None = None,
) -> Refund | None:
    """Remember a refund once, with the copies (ISBN -> copies) it paid back and whether they
    go back on the shelf, and bring the order's refunded figure up to the refund's running
    total (Stripe's, for a card); None if this Stripe refund was already recorded.
    `idempotency_key`: that of the form that asked for it."""
    if refund.id is not None:
        known = await session.scalar(
            select(func.count()).where(Refund.stripe_refund_id == refund.id)
        )
        if known:
            return None
    row = Refund(
        order_id=order.id,
        stripe_refund_id=refund.id,
        idempotency_key=idempotency_key,
        amount_pence=refund.amount_pence,
        reason=reason,
        created_at=at,
        restocked=restocked,
        lines=[
            RefundLine(isbn13=isbn13, quantity=quantity)
            for isbn13, quantity in (copies or {}).items()
        ],
    )
    session.add(row)
    # Stripe's running total, not ours plus this refund: it counts dashboard refunds we have
    # not heard of, and a charge.refunded handled first may have counted this one already.
    order.refunded_pence = max(order.refunded_pence, refund.charge_refunded_pence)
    await session.flush()
    return row


def handed_back(order: Order, amount_pence: int) -> RefundMade:
    """Money given back at the shop counter, told as Stripe tells a refund, with no Stripe id:
    the running total is the order's own, read under its lock."""
    return RefundMade(
        id=None,
        amount_pence=amount_pence,
        charge_refunded_pence=order.refunded_pence + amount_pence,
    )


async def refund_asked_before(session: AsyncSession, idempotency_key: str | None) -> bool:
    """Whether the form that carries this key has already made its refund (a second submit)."""
    if not idempotency_key:
        return False
    found = await session.scalar(
        select(func.count()).where(Refund.idempotency_key == idempotency_key)
    )
    return bool(found)


async def return_to_stock(uow: UnitOfWork, order: Order, refund: Refund) -> None:
    """Tell the catalogue a restocked refund's copies are back on the shelf. Only once it has
    confirmed their sale: a return that overtook the commit would find nothing sold and be
    dropped, so until then the confirmation sends it (`restocked_refunds`)."""
    if refund.restocked and refund.lines and order.stock_committed_at is not None:
        await uow.publish(
            ReturnToStock(
                order_id=order.reservation_id,
                refund_id=refund.id,
                lines=refund_copies(refund),
                reason=refund.reason,
            )
        )


async def restocked_refunds(session: AsyncSession, order_id: UUID) -> list[Refund]:
    return list(
        await session.scalars(
            select(Refund).where(Refund.order_id == order_id, Refund.restocked).order_by(Refund.id)
        )
    )


async def copies_refunded(session: AsyncSession, order: Order) -> dict[str, int]:
    """Copies of each of the order's lines (ISBN -> copies) that refunds by line paid back."""
    refunded = await session.execute(
        select(RefundLine.isbn13, func.sum(RefundLine.quantity))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .where(Refund.order_id == order.id)
        .group_by(RefundLine.isbn13)
    )
    return {isbn13: int(copies) for isbn13, copies in refunded}


async def after_refunds(session: AsyncSession, order: Order) -> domain.OrderAfterRefunds:
    """What the order now is, its refunds taken off: per line and in money."""
    # Every refund raises refunded_pence: an order without one needs no look at refund lines,
    # which spares the success page's refreshes a query.
    refunded = await copies_refunded(session, order) if order.refunded_pence else {}
    return domain.after_refunds(
        priced_lines(order),
        refunded,
        total_pence=order.total_pence,
        refunded_pence=order.refunded_pence,
    )


def priced_lines(order: Order) -> list[PricedLine]:
    """The order's lines as the domain's rules take them."""
    return [
        PricedLine(
            isbn13=line.isbn13,
            title=line.title,
            unit_price_pence=line.unit_price_pence,
            quantity=line.quantity,
        )
        for line in order.lines
    ]


def is_duplicate(error: IntegrityError) -> bool:
    return "unique" in str(error.orig).lower() or "duplicate" in str(error.orig).lower()


def order_id_from(metadata: dict[str, str]) -> UUID | None:
    try:
        return UUID(metadata["order_id"])
    except (KeyError, ValueError):
        return None
