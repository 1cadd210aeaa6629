"""One database per service: engine, transactions and the unit of work.

SQLite (the embedded default) and Postgres (deployment) behave alike here: on SQLite
every write transaction starts with BEGIN IMMEDIATE so concurrent writers queue on the
busy timeout instead of failing when a reader upgrades to a writer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

SQLITE_BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_SECONDS = 10
PING_AFTER_IDLE_SECONDS = 1.0


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # A migrated file is WAL already (shared.migrations switches it, before any service
        # connects, since SQLite refuses the switch at once while another connection reads):
        # then this changes nothing. It makes a file no migration made WAL too.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Connections kept open between requests: enough for a web process's busy moments (20
    # readers at once), since one opened and closed per request costs more than its queries.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_timeout", 5)
    if make_url(url).get_driver_name() == "asyncpg":
        # Without them a database that stops answering (a lost route rather than a refused
        # connection) holds every request for minutes; with them the request fails in seconds
        # and the web layer answers 503. Longer work passes its own connect_args.
        kwargs.setdefault(
            "connect_args",
            {"timeout": CONNECT_TIMEOUT_SECONDS, "command_timeout": STATEMENT_TIMEOUT_SECONDS},
        )
    engine = create_async_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Test a pooled connection before use only if it sat idle: one that served a request
    a moment ago is as good as a ping, and on asyncpg a ping is three round trips (BEGIN,
    a query, ROLLBACK), a third of a busy Buy's statements. A connection that broke while
    in use is thrown away there and then, with every older one, by SQLAlchemy's own
    disconnect handling; one that died idle (a database restart) fails this ping and the
    pool connects afresh (SQLAlchemy's pessimistic disconnect handling, by pool events)."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise exc.DisconnectionError(str(error)) from error


def table_of(model: type[DeclarativeBase]) -> Table:
    """A mapped class's table, typed as one: SQLAlchemy types `__table__` as any FROM clause,
    which Core's insert and update do not take."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_for(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT (DO NOTHING), in the dialect's own construct:
    the two databases spell it alike, but SQLAlchemy keeps one class per dialect."""
    make = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return make(table)


def mark(session: AsyncSession, name: str) -> None:
    """Say that this transaction wrote something that `name`'s on_commit callbacks deliver."""
    session.info[name] = True


class Database:
    """A service's engine and its sessions: `reading()` for queries, `writing()` for changes,
    and on Postgres `autocommitting()` for a change written as one statement."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # On Postgres a read needs no transaction: at READ COMMITTED each statement sees its
        # own snapshot either way, and BEGIN and ROLLBACK would cost two round trips around
        # every read (a one-query read, a price or a page, would make three).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = (
            async_sessionmaker(self._autocommit, expire_on_commit=False)
            if self.is_postgres
            else self._sessions
        )
        # SQLite: a write transaction takes the file's lock at its BEGIN (IMMEDIATE, so two
        # writers never deadlock upgrading a read lock), and the BEGIN goes with its first
        # statement: what a handler does before it writes (fetch a page, rank) holds no lock.
        self._write_sessions = (
            async_sessionmaker(
                self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
            )
            if is_sqlite(url)
            else self._sessions
        )
        self._after_commit: list[tuple[str, Callable[[], None]]] = []

    def on_commit(self, mark: str, callback: Callable[[], None]) -> None:
        """Run `callback` after each committed write that was marked with `mark` (see `mark`):
        a relay or a sender wakes up when there is something for it, not after every write."""
        self._after_commit.append((mark, callback))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def autocommitting(self) -> AsyncIterator[AsyncConnection]:
        """A Postgres connection on which each statement is its own transaction: a change
        written as one statement (a data-modifying WITH) then costs one round trip instead of
        BEGIN, its statements and COMMIT. SQLite has no such statements; use `writing()`."""
        if not self.is_postgres:
            raise RuntimeError("autocommitting() is for Postgres; SQLite writes in writing()")
        async with self._autocommit.connect() as connection:
            yield connection

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any exception."""
        async with self._write_sessions() as session, session.begin():
            yield session
        for wanted, callback in self._after_commit:
            if session.info.get(wanted):
                callback()

    async def dispose(self) -> None:
        await self.engine.dispose()
