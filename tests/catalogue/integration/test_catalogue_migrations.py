"""The catalogue's migrations keep what it knew, on SQLite and Postgres: orders sold before the
shop tracked dispatch count as dispatched, returns made before lines counted them still cap
the next, and a downgrade gives back the tables as they were."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import command
from sqlalchemy.exc import IntegrityError

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
    # A database per step: a pooled Postgres connection would keep plans of the old tables.
    db = Database(database_url)
    async with db.writing() as session:
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
    await db.dispose()

    upgrade(MIGRATIONS, database_url)

    db = Database(database_url)
    async with db.reading() as session:
        closed = dict(
            (await session.execute(sa.select(Reservation.order_id, Reservation.closed_at))).all()
        )
        counted = dict(
            (
                await session.execute(sa.select(ReservationLine.order_id, ReservationLine.returned))
            ).all()
        )
        awaiting = await dispatch.awaiting_dispatch(session, [ISBN])
    await db.dispose()
    assert closed == {sold: SOLD_AT, refunded: SOLD_AT, held: None}
    assert counted == {sold: 0, refunded: 2, held: 0}
    assert awaiting == {}

    command.downgrade(alembic_config(MIGRATIONS, database_url), "0003")

    db = Database(database_url)
    async with db.writing() as session:
        kept = (await session.execute(sa.select(LINES.c.order_id, LINES.c.quantity))).all()
        columns = await session.run_sync(
            lambda sync: {
                table: {c["name"] for c in sa.inspect(sync.connection()).get_columns(table)}
                for table in ("reservations", "reservation_lines")
            }
        )
    await db.dispose()
    assert sorted(kept, key=lambda row: row.quantity) == [(sold, 1), (held, 2), (refunded, 3)]
    assert "closed_at" not in columns["reservations"]
    assert "returned" not in columns["reservation_lines"]

    # The lines as 0001 made them, a line of no order refused.
    db = Database(database_url)
    with pytest.raises(IntegrityError):
        async with db.writing() as session:
            await session.execute(
                sa.insert(LINES).values(order_id=uuid4(), isbn13=ISBN, quantity=1)
            )
    await db.dispose()
    upgrade(MIGRATIONS, database_url)
