"""Migration 0005, on SQLite and Postgres: reservations made before it keep everything and have
no reference (their ledger entries go on naming their id), and a downgrade gives the table back
as 0004 left it, its lines and indexes too."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import command

from services.catalogue.models import Reservation
from shared.db import Database
from shared.migrations import alembic_config, upgrade

MIGRATIONS = "services.catalogue:migrations"
HELD_AT = datetime(2030, 4, 1, 9, 30, tzinfo=UTC)
RESERVATIONS = sa.table(
    "reservations",
    sa.column("order_id", GUID),
    sa.column("status", sa.String),
    sa.column("created_at", DateTimeUTC),
    sa.column("updated_at", DateTimeUTC),
)


async def test_reservations_made_before_have_no_reference_and_a_downgrade_drops_it(
    database_url: str,
) -> None:
    held = uuid4()
    upgrade(MIGRATIONS, database_url, "0004")
    # A database per step: a pooled Postgres connection would keep plans of the old tables.
    db = Database(database_url)
    async with db.writing() as session:
        await session.execute(
            sa.insert(RESERVATIONS).values(
                order_id=held, status="held", created_at=HELD_AT, updated_at=HELD_AT
            )
        )
    await db.dispose()

    upgrade(MIGRATIONS, database_url)

    db = Database(database_url)
    async with db.writing() as session:
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
    await db.dispose()
    assert found == [("held", None)]

    command.downgrade(alembic_config(MIGRATIONS, database_url), "0004")

    db = Database(database_url)
    async with db.reading() as session:
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
    await db.dispose()
    assert kept == [("held",)]
    assert "reference" not in columns and "closed_at" in columns
    assert {"ix_reservations_status_expires_at", "ix_reservations_status_closed_at"} <= indexes
    upgrade(MIGRATIONS, database_url)
