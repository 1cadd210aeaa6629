"""The catalogue's migrations keep what it knew, on SQLite and Postgres: orders sold before the
shop tracked dispatch count as dispatched, returns made before lines counted them still cap
the next, reservations made before orders had references have none (their ledger entries go on
naming their id), and a downgrade gives back the tables as they were, lines and indexes too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import command
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue import dispatch
from services.catalogue.models import Reservation, ReservationLine
from shared.db import Database
from shared.migrations import alembic_config, upgrade

MIGRATIONS = "services.catalogue:migrations"
SOLD_AT = datetime(2030, 4, 1, 9, 30, tzinfo=UTC)
ISBN = "9798463348616"
BOOKS = sa.table(
    "books",
    sa.column("isbn13", sa.String),
    sa.column("title", sa.String),
    sa.column("authors", sa.JSON),
    sa.column("price_pence", sa.Integer),
    sa.column("subjects", sa.JSON),
    sa.column("description", sa.Text),
    sa.column("reorder_point", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("created_at", DateTimeUTC),
    sa.column("updated_at", DateTimeUTC),
)
RESERVATIONS = sa.table(
    "reservations",
    sa.column("order_id", GUID),
    sa.column("status", sa.String),
    sa.column("created_at", DateTimeUTC),
    sa.column("updated_at", DateTimeUTC),
)
LINES = sa.table(
    "reservation_lines",
    sa.column("order_id", GUID),
    sa.column("isbn13", sa.String),
    sa.column("quantity", sa.Integer),
)
LEDGER = sa.table(
    "stock_ledger",
    sa.column("batch_id", GUID),
    sa.column("isbn13", sa.String),
    sa.column("kind", sa.String),
    sa.column("on_hand_change", sa.Integer),
    sa.column("reserved_change", sa.Integer),
    sa.column("on_hand_after", sa.Integer),
    sa.column("reserved_after", sa.Integer),
    sa.column("actor", sa.String),
    sa.column("reference", sa.String),
    sa.column("created_at", DateTimeUTC),
)


@asynccontextmanager
async def step(database_url: str, *, writing: bool = False) -> AsyncIterator[AsyncSession]:
    """A session on a database of its own, for one step between migrations: a pooled Postgres
    connection would keep plans of the old tables."""
    db = Database(database_url)
    try:
        async with db.writing() if writing else db.reading() as session:
            yield session
    finally:
        await db.dispose()


def reservation(order_id: UUID, status: str) -> dict[str, Any]:
    return {"order_id": order_id, "status": status, "created_at": SOLD_AT, "updated_at": SOLD_AT}


def returned(order_id: UUID, copies: int, refund_id: int) -> dict[str, Any]:
    return {
        "batch_id": uuid4(),
        "isbn13": ISBN,
        "kind": "returned",
        "on_hand_change": copies,
        "reserved_change": 0,
        "on_hand_after": 0,
        "reserved_after": 0,
        "actor": "checkout",
        "reference": f"order {order_id} refund {refund_id}",
        "created_at": SOLD_AT,
    }


async def test_sales_made_before_count_as_dispatched_and_a_downgrade_drops_the_columns(
    database_url: str,
) -> None:
    sold, refunded, held = uuid4(), uuid4(), uuid4()
    upgrade(MIGRATIONS, database_url, "0003")
    async with step(database_url, writing=True) as session:
        await session.execute(
            sa.insert(BOOKS).values(
                isbn13=ISBN,
                title="Imperialism",
                authors=[],
                price_pence=999,
                subjects=[],
                description="",
                reorder_point=1,
                version=1,
                created_at=SOLD_AT,
                updated_at=SOLD_AT,
            )
        )
        await session.execute(
            sa.insert(RESERVATIONS),
            [
                reservation(sold, "committed"),
                reservation(refunded, "committed"),
                reservation(held, "held"),
            ],
        )
        await session.execute(
            sa.insert(LINES),
            [
                {"order_id": sold, "isbn13": ISBN, "quantity": 1},
                {"order_id": refunded, "isbn13": ISBN, "quantity": 3},
                {"order_id": held, "isbn13": ISBN, "quantity": 2},
            ],
        )
        await session.execute(
            sa.insert(LEDGER),
            [returned(refunded, 1, 7), returned(refunded, 1, 8), returned(uuid4(), 1, 9)],
        )

    upgrade(MIGRATIONS, database_url)

    async with step(database_url) as session:
        closed = dict(
            (await session.execute(sa.select(Reservation.order_id, Reservation.closed_at))).all()
        )
        counted = dict(
            (
                await session.execute(sa.select(ReservationLine.order_id, ReservationLine.returned))
            ).all()
        )
        awaiting = await dispatch.awaiting_dispatch(session, [ISBN])
    assert closed == {sold: SOLD_AT, refunded: SOLD_AT, held: None}
    assert counted == {sold: 0, refunded: 2, held: 0}
    assert awaiting == {}

    command.downgrade(alembic_config(MIGRATIONS, database_url), "0003")

    async with step(database_url, writing=True) as session:
        kept = (await session.execute(sa.select(LINES.c.order_id, LINES.c.quantity))).all()
        columns = await session.run_sync(
            lambda sync: {
                table: {c["name"] for c in sa.inspect(sync.connection()).get_columns(table)}
                for table in ("reservations", "reservation_lines")
            }
        )
    assert sorted(kept, key=lambda row: row.quantity) == [(sold, 1), (held, 2), (refunded, 3)]
    assert "closed_at" not in columns["reservations"]
    assert "returned" not in columns["reservation_lines"]

    # The lines as 0001 made them, a line of no order refused.
    with pytest.raises(IntegrityError):
        async with step(database_url, writing=True) as session:
            await session.execute(
                sa.insert(LINES).values(order_id=uuid4(), isbn13=ISBN, quantity=1)
            )
    upgrade(MIGRATIONS, database_url)


async def test_reservations_made_before_have_no_reference_and_a_downgrade_drops_it(
    database_url: str,
) -> None:
    held = uuid4()
    upgrade(MIGRATIONS, database_url, "0004")
    async with step(database_url, writing=True) as session:
        await session.execute(sa.insert(RESERVATIONS).values(reservation(held, "held")))

    upgrade(MIGRATIONS, database_url)

    async with step(database_url, writing=True) as session:
        found = (
            await session.execute(
                sa.select(Reservation.status, Reservation.reference).where(
                    Reservation.order_id == held
                )
            )
        ).all()
        await session.execute(
            sa.update(Reservation).where(Reservation.order_id == held).values(reference="V9PDJV46")
        )
    assert found == [("held", None)]

    command.downgrade(alembic_config(MIGRATIONS, database_url), "0004")

    async with step(database_url) as session:
        # Found by its id: the copied table kept the order id's type.
        kept = (
            await session.execute(
                sa.select(RESERVATIONS.c.status).where(RESERVATIONS.c.order_id == held)
            )
        ).all()
        columns, indexes = await session.run_sync(
            lambda sync: (
                {c["name"] for c in sa.inspect(sync.connection()).get_columns("reservations")},
                {i["name"] for i in sa.inspect(sync.connection()).get_indexes("reservations")},
            )
        )
    assert kept == [("held",)]
    assert "reference" not in columns and "closed_at" in columns
    assert {"ix_reservations_status_expires_at", "ix_reservations_status_closed_at"} <= indexes
    upgrade(MIGRATIONS, database_url)
