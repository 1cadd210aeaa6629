"""The inbox: which messages a service's handlers have already handled, and what they answered."""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    JSON,
    Column,
    Insert,
    MetaData,
    String,
    Table,
    Update,
    bindparam,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.message import utcnow


def define_inbox(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("message_id", GUID, primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("handled_at", DateTimeUTC, nullable=False),
        Column("result", JSON, nullable=True),
    )


@functools.cache
def _statements(inbox: Table) -> tuple[Insert, Update]:
    """Built once per table: handlers run these on every message."""
    claim = insert(inbox)
    record = (
        inbox.update()
        .where(
            inbox.c.message_id == bindparam("b_message_id", type_=GUID),
            inbox.c.handler == bindparam("b_handler", type_=String),
        )
        .values(result=bindparam("result", type_=JSON))
    )
    return claim, record


async def claim(session: AsyncSession, inbox: Table, message_id: UUID, handler: str) -> None:
    """Record the message as handled in the caller's transaction.

    A second delivery fails here with an IntegrityError, which rolls the whole unit of
    work back: that is what makes the handler run once in effect.
    """
    connection = await session.connection()
    await connection.execute(
        _statements(inbox)[0],
        {"message_id": message_id, "handler": handler, "handled_at": utcnow()},
    )


async def record_result(
    session: AsyncSession, inbox: Table, message_id: UUID, handler: str, result: Any
) -> None:
    connection = await session.connection()
    await connection.execute(
        _statements(inbox)[1],
        {"b_message_id": message_id, "b_handler": handler, "result": result},
    )


async def stored_result(session: AsyncSession, inbox: Table, message_id: UUID, handler: str) -> Any:
    row = (
        await session.execute(
            select(inbox.c.result).where(
                inbox.c.message_id == message_id, inbox.c.handler == handler
            )
        )
    ).first()
    return None if row is None else row.result


async def handled(session: AsyncSession, inbox: Table, message_id: UUID, handler: str) -> bool:
    row = await session.execute(
        select(inbox.c.message_id).where(
            inbox.c.message_id == message_id, inbox.c.handler == handler
        )
    )
    return row.first() is not None
