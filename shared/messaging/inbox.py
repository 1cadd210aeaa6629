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
def _record_statement(inbox: Table) -> Insert:
    """Built once per table: every message handled runs it."""
    return insert(inbox)


async def record(
    session: AsyncSession, inbox: Table, message_id: UUID, handler: str, result: Any
) -> None:
    """Record the message as handled, with the handler's reply, in the handler's transaction.

    Written last: a handler changes nothing but its own unit of work (its outgoing messages go
    through the outbox), so a second delivery may run it again and then fails here with an
    IntegrityError, which rolls back all it did: that is what makes it run once in effect.
    """
    connection = await session.connection()
    await connection.execute(
        _record_statement(inbox),
        {"message_id": message_id, "handler": handler, "handled_at": utcnow(), "result": result},
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
