"""The Buy's plain-statement writes (orders.insert_order, orders.move_detached) on SQLite and
Postgres: what they write is what the ORM would have written, and they refuse what `move`
refuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import event, select, update

from services.checkout.domain import IllegalTransition, OrderStatus, PricedLine
from services.checkout.models import Order, StatusChange, outbox
from services.checkout.orders import add_lines, get_for_update, insert_order, move_detached
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    await asyncio.to_thread(upgrade, "services.checkout:migrations", database_url)
    db = Database(database_url)
    yield UnitOfWorkFactory(db, outbox)
    await db.dispose()


def new_order(reference: str) -> Order:
    order_id = uuid4()
    order = Order(
        id=order_id,
        reference=reference,
        channel="web",
        status=OrderStatus.PENDING.value,
        delivery="post",
        books_pence=3998,
        postage_pence=350,
        postage_vat_pence=58,
        total_pence=4348,
        refunded_pence=0,
        reservation_id=order_id,
        hold_until=NOW + timedelta(minutes=35),
        sessions_created=0,
        created_at=NOW,
        lines=[],
        history=[],
    )
    add_lines(
        order,
        [
            PricedLine(
                isbn13="9780745334530", title="Imperialism", unit_price_pence=1999, quantity=2
            )
        ],
    )
    order.history.append(StatusChange(status=OrderStatus.PENDING.value, at=NOW, note="web order"))
    return order


async def test_a_new_order_is_written_with_its_lines_and_history(uow: UnitOfWorkFactory) -> None:
    order = new_order("ACDE3467")
    await insert_order(uow.db, order)

    async with uow() as unit:
        stored = await get_for_update(unit.session, "ACDE3467")
        assert (stored.id, stored.status, stored.total_pence) == (order.id, "pending", 4348)
        assert stored.updated_at is not None  # the table's default filled what was not given
        assert [(line.isbn13, line.quantity, line.unit_price_pence) for line in stored.lines] == [
            ("9780745334530", 2, 1999)
        ]
        assert [(change.status, change.note) for change in stored.history] == [
            ("pending", "web order")
        ]


async def test_a_taken_reference_draws_another(uow: UnitOfWorkFactory) -> None:
    await insert_order(uow.db, new_order("ACDE4679"))
    second = new_order("ACDE4679")
    await insert_order(uow.db, second)

    assert second.reference != "ACDE4679"
    async with uow() as unit:
        assert (await get_for_update(unit.session, second.reference)).id == second.id


async def test_moving_on_writes_each_step_and_the_values(uow: UnitOfWorkFactory) -> None:
    order = new_order("MNPQ3467")
    await insert_order(uow.db, order)
    later = NOW + timedelta(minutes=1)
    moved = await move_detached(
        uow.db,
        order,
        [(OrderStatus.RESERVED, None), (OrderStatus.AWAITING_PAYMENT, "Stripe cs_1")],
        at=later,
        values={"stripe_session_id": "cs_1", "sessions_created": 1},
    )
    assert moved
    assert (order.status, order.stripe_session_id) == ("awaiting_payment", "cs_1")
    async with uow() as unit:
        stored = await get_for_update(unit.session, "MNPQ3467")
        assert (stored.status, stored.stripe_session_id, stored.sessions_created) == (
            "awaiting_payment",
            "cs_1",
            1,
        )
        assert [(change.status, change.note) for change in stored.history] == [
            ("pending", "web order"),
            ("reserved", None),
            ("awaiting_payment", "Stripe cs_1"),
        ]


async def test_an_order_that_moved_meanwhile_is_left_as_it_is(uow: UnitOfWorkFactory) -> None:
    order = new_order("TUVW3467")
    await insert_order(uow.db, order)
    # The expiry sweep (or a cancel) gets there while the Buy waits on Stripe.
    async with uow() as unit:
        await unit.session.execute(
            update(Order).where(Order.id == order.id).values(status=OrderStatus.CANCELLED.value)
        )

    moved = await move_detached(uow.db, order, [(OrderStatus.RESERVED, None)], at=NOW, values={})
    assert not moved
    assert order.status == "pending"
    async with uow() as unit:
        statuses = await unit.session.scalars(
            select(StatusChange.status).where(StatusChange.order_id == order.id)
        )
        assert list(statuses) == ["pending"]
        assert (await get_for_update(unit.session, "TUVW3467")).status == "cancelled"


async def test_an_illegal_step_is_refused_before_anything_is_written(
    uow: UnitOfWorkFactory,
) -> None:
    order = new_order("RTXY3467")
    await insert_order(uow.db, order)

    with pytest.raises(IllegalTransition):
        await move_detached(uow.db, order, [(OrderStatus.PAID, None)], at=NOW, values={})
    async with uow() as unit:
        assert (await get_for_update(unit.session, "RTXY3467")).status == "pending"


async def test_every_line_of_a_longer_order_is_written_in_its_place(
    uow: UnitOfWorkFactory,
) -> None:
    order = new_order("BCDF3467")
    order.lines.clear()
    add_lines(
        order,
        [
            PricedLine(
                isbn13="9780745334530", title="Imperialism", unit_price_pence=1999, quantity=2
            ),
            PricedLine(isbn13="9781608462223", title="Marx", unit_price_pence=1250, quantity=1),
            PricedLine(isbn13="9781784785406", title="Lenin", unit_price_pence=899, quantity=3),
        ],
    )
    await insert_order(uow.db, order)

    async with uow() as unit:
        stored = await get_for_update(unit.session, "BCDF3467")
        assert [
            (line.position, line.isbn13, line.title, line.unit_price_pence, line.quantity)
            for line in sorted(stored.lines, key=lambda line: line.position)
        ] == [
            (0, "9780745334530", "Imperialism", 1999, 2),
            (1, "9781608462223", "Marx", 1250, 1),
            (2, "9781784785406", "Lenin", 899, 3),
        ]


async def test_on_postgres_each_buy_write_is_one_statement_outside_a_transaction(
    postgres_database_url: str,
) -> None:
    """Each is a single round trip: no BEGIN, no COMMIT, no second statement."""
    await asyncio.to_thread(upgrade, "services.checkout:migrations", postgres_database_url)
    db = Database(postgres_database_url)
    statements: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _connection, _cursor, statement, *_: statements.append(statement),
    )
    order = new_order("GHJK3467")
    try:
        await insert_order(db, order)
        assert len(statements) == 1
        assert statements[0].startswith("WITH new_order AS")
        assert await move_detached(
            db, order, [(OrderStatus.RESERVED, None)], at=NOW, values={"sessions_created": 1}
        )
        assert len(statements) == 2
        async with db.reading() as session:
            stored = await get_for_update(session, "GHJK3467")
            assert (stored.status, stored.sessions_created) == ("reserved", 1)
            assert [change.status for change in stored.history] == ["pending", "reserved"]
    finally:
        await db.dispose()
