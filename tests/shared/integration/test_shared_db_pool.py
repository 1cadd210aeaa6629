"""Pooled Postgres connections that died while idle (a database restart, an idle timeout) are
replaced before use, so no request meets them; a connection used a moment ago is not pinged
(a ping costs three round trips), and if it died in that moment it fails one request and the
pool renews itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import PING_AFTER_IDLE_SECONDS, Database

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(postgres_database_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_database_url, pool_size=1, max_overflow=0)
    yield database
    await database.dispose()


async def _backend_pid(db: Database) -> int:
    async with db.reading() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def _terminate(postgres_database_url: str, pid: int) -> None:
    admin_url = postgres_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_a_connection_that_died_idle_is_replaced_without_an_error(
    db: Database, postgres_database_url: str
) -> None:
    first = await _backend_pid(db)
    _terminate(postgres_database_url, first)
    await asyncio.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
    second = await _backend_pid(db)
    assert second != first, "the pool connected afresh"


async def test_a_connection_used_a_moment_ago_is_not_pinged_and_a_dead_one_fails_once(
    db: Database, postgres_database_url: str
) -> None:
    first = await _backend_pid(db)
    assert await _backend_pid(db) == first, "the one pooled connection, reused"
    _terminate(postgres_database_url, first)
    with pytest.raises(DBAPIError):
        await _backend_pid(db)
    assert await _backend_pid(db) != first, "the next request has a new connection"
