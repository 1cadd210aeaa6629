"""The recommendation service's migrations keep what it knew, on SQLite and Postgres: refunds
taken off attributed orders before refunds had rows of their own still come off, both ways."""

from __future__ import annotations

from uuid import UUID, uuid4

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import command

from services.recommendation.models import AttributedRefund, RefundedCopies
from shared.db import Database
from shared.messaging.message import utcnow
from shared.migrations import alembic_config, upgrade

MIGRATIONS = "services.recommendation:migrations"
ORDERS = sa.table(
    "attributed_orders",
    sa.column("order_id", GUID),
    sa.column("article_id", sa.String),
    sa.column("isbn13", sa.String),
    sa.column("reference", sa.String),
    sa.column("lines", sa.JSON),
    sa.column("total_pence", sa.Integer),
    sa.column("refunded_pence", sa.Integer),
    sa.column("paid_at", DateTimeUTC),
)


def order(order_id: UUID, reference: str, refunded_pence: int) -> dict[str, object]:
    return {
        "order_id": order_id,
        "article_id": "sw-2308",
        "isbn13": "9798463348616",
        "reference": reference,
        "lines": [{"isbn13": "9798463348616", "quantity": 1}],
        "total_pence": 2349,
        "refunded_pence": refunded_pence,
        "paid_at": utcnow(),
    }


async def test_refunds_kept_on_the_orders_become_refunds_and_go_back_on_a_downgrade(
    database_url: str,
) -> None:
    refunded, whole = uuid4(), uuid4()
    upgrade(MIGRATIONS, database_url, "0001")
    # A database per step: a pooled Postgres connection would keep plans of the old tables.
    db = Database(database_url)
    async with db.writing() as session:
        await session.execute(
            sa.insert(ORDERS), [order(refunded, "BK-1", 1999), order(whole, "BK-2", 0)]
        )
    await db.dispose()

    upgrade(MIGRATIONS, database_url)

    db = Database(database_url)
    async with db.writing() as session:
        kept = (
            await session.execute(
                sa.select(AttributedRefund.order_id, AttributedRefund.amount_pence)
            )
        ).all()
        assert [tuple(row) for row in kept] == [(refunded, 1999)]
        session.add(AttributedRefund(message_id=uuid4(), order_id=refunded, amount_pence=1000))
        session.add(AttributedRefund(message_id=uuid4(), order_id=whole, amount_pence=49))
        # an order whose OrderPaid has not come: nothing to go back on
        session.add(AttributedRefund(message_id=uuid4(), order_id=uuid4(), amount_pence=500))
    await db.dispose()

    command.downgrade(alembic_config(MIGRATIONS, database_url), "0001")

    db = Database(database_url)
    async with db.reading() as session:
        back = (await session.execute(sa.select(ORDERS.c.reference, ORDERS.c.refunded_pence))).all()
    await db.dispose()
    # refunds add up again, and never beyond what was paid
    assert sorted(tuple(row) for row in back) == [("BK-1", 2349), ("BK-2", 49)]


async def test_refunded_copies_have_a_table_that_a_downgrade_drops_leaving_the_refunds(
    database_url: str,
) -> None:
    refund = uuid4()
    upgrade(MIGRATIONS, database_url)
    db = Database(database_url)
    async with db.writing() as session:
        session.add(AttributedRefund(message_id=refund, order_id=uuid4(), amount_pence=1999))
        await session.flush()
        session.add(RefundedCopies(message_id=refund, isbn13="9798463348616", quantity=1))
    await db.dispose()

    command.downgrade(alembic_config(MIGRATIONS, database_url), "0002")

    db = Database(database_url)
    async with db.reading() as session:
        tables = await session.run_sync(lambda s: sa.inspect(s.connection()).get_table_names())
        kept = (await session.execute(sa.select(AttributedRefund.message_id))).scalars().all()
    await db.dispose()
    assert "refunded_copies" not in tables
    assert kept == [refund]
    # and up again
    upgrade(MIGRATIONS, database_url)
    db = Database(database_url)
    async with db.reading() as session:
        assert (await session.execute(sa.select(RefundedCopies))).all() == []
    await db.dispose()
