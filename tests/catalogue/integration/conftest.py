"""The catalogue's integration fixtures: a migrated database (SQLite and Postgres), its services,
its app under a test client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from services.catalogue import handlers, models
from services.catalogue.app import create_app
from services.catalogue.models import Stock
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService, StockService
from services.catalogue.settings import CatalogueSettings
from shared.auth.roles import Role
from shared.auth.sessions import StaffIdentity
from shared.auth.settings import StaffAuthSettings
from shared.contracts import CommitReservation, ReserveStock, StockLine
from shared.db import Database
from shared.messaging.message import utcnow
from shared.messaging.unit_of_work import UnitOfWorkFactory

Client = AsyncTestClient[Any]
OpenClient = Callable[..., AbstractAsyncContextManager[Client]]
StaffSignIn = Callable[..., Awaitable[StaffIdentity]]


@pytest.fixture
def catalogue_url(database_url: str, migrate: Callable[[str, str], None]) -> str:
    """The catalogue's schema, by its migrations, on a fresh SQLite file or Postgres database."""
    migrate("services.catalogue:migrations", database_url)
    return database_url


@pytest.fixture
async def db(catalogue_url: str) -> AsyncIterator[Database]:
    database = Database(catalogue_url)
    yield database
    await database.dispose()


@pytest.fixture
def uows(db: Database) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(db, models.outbox)


@pytest.fixture
def books(db: Database, uows: UnitOfWorkFactory) -> BookService:
    return BookService(uow=uows, db=db)


@pytest.fixture
def stock(db: Database, uows: UnitOfWorkFactory) -> StockService:
    return StockService(uow=uows, db=db)


def _isbn13(n: int) -> str:
    first12 = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


class Catalogue:
    """Small helpers the catalogue's tests share: valid ISBNs, books, what is in the outbox."""

    def __init__(self, db: Database) -> None:
        self.db = db

    isbn = staticmethod(_isbn13)

    @staticmethod
    def book(
        isbn13: str, title: str, *, authors: tuple[str, ...] = (), stock: int = 0, **more: Any
    ) -> BookCreate:
        return BookCreate(
            isbn13=isbn13, title=title, authors=list(authors), price_pence=999, stock=stock, **more
        )

    async def events(self, isbn13: str | None = None) -> list[dict[str, Any]]:
        """BookChanged payloads in the outbox, oldest first."""
        async with self.db.reading() as session:
            rows = await session.execute(
                select(models.outbox.c.payload)
                .where(models.outbox.c.kind == "catalogue.book_changed.v1")
                .order_by(models.outbox.c.id)
            )
            payloads = [row.payload for row in rows]
        return [p for p in payloads if isbn13 is None or p["isbn13"] == isbn13]

    async def count(self, table: Any) -> int:
        async with self.db.reading() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)

    async def sell(self, isbn13: str, copies: int = 1) -> None:
        """A reader's purchase as the catalogue's worker makes it: copies held for an order,
        then sold. On connections of its own, as a worker's are, so any event loop may call it
        (an app under test runs in a loop of its own)."""
        worker = Database(self.db.url)
        uows = UnitOfWorkFactory(worker, models.outbox)
        order_id = uuid4()
        hold = ReserveStock(
            order_id=order_id,
            lines=(StockLine(isbn13=isbn13, quantity=copies),),
            expires_at=utcnow() + timedelta(minutes=30),
        )
        try:
            async with uows() as uow:
                reply = await handlers.on_reserve_stock(hold, uow=uow)
            assert reply.ok, reply
            async with uows() as uow:
                await handlers.on_commit_reservation(CommitReservation(order_id=order_id), uow=uow)
        finally:
            await worker.dispose()

    async def counters(self, isbn13: str) -> tuple[int, int]:
        """(on hand, reserved)"""
        async with self.db.reading() as session:
            row = (
                await session.execute(
                    select(Stock.on_hand, Stock.reserved).where(Stock.isbn13 == isbn13)
                )
            ).one()
        return row.on_hand, row.reserved


@pytest.fixture
def catalogue(db: Database) -> Catalogue:
    return Catalogue(db)


@pytest.fixture
def open_client(
    catalogue_url: str, redis_url: str, staff_auth: StaffAuthSettings, staff_session: StaffSignIn
) -> OpenClient:
    """`async with open_client(Role.STOCK) as client:` the catalogue's app on the test's database
    and Redis, its client signed in with those roles (as sam unless `username=` says otherwise);
    with no roles, a reader's."""
    settings = CatalogueSettings(
        database_url=catalogue_url, redis_url=redis_url, staff_auth=staff_auth
    )

    @asynccontextmanager
    async def opened(*roles: Role, username: str = "sam") -> AsyncIterator[Client]:
        async with AsyncTestClient(app=create_app(settings)) as test_client:
            if roles:
                await staff_session(test_client, *roles, username=username)
            yield test_client

    return opened


@pytest.fixture
async def client(open_client: OpenClient) -> AsyncIterator[Client]:
    """Signed in as sam, of the stock staff. A test file whose app should find books in the
    catalogue has a fixture of this name of its own, that puts them in first."""
    async with open_client(Role.STOCK) as test_client:
        yield test_client
