"""The fault suite's fixtures: a Redis of its own to restart, a cuttable line to Postgres, fresh
databases for two services, the shop's apps on loopback ports and helpers to look inside."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import httpx
import psycopg
import pytest
import redis
from loopback_server import ServerThread, bound_socket, url_of
from sqlalchemy import func, select
from standin_page import READER_ADDRESS
from waiting import eventually

from services.catalogue import models as cat
from services.catalogue.app import create_app as create_catalogue
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService
from services.catalogue.settings import CatalogueSettings
from services.checkout import models as co
from services.checkout.app import create_app as create_checkout
from services.checkout.settings import CheckoutSettings
from services.stripe_standin import StripeStandinSettings
from services.stripe_standin import create_app as create_standin
from shared.auth.settings import StaffAuthSettings
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade

REDIS_SERVER = shutil.which("redis-server")
ADMIN_POSTGRES_URL = os.environ.get(
    "BOOKSHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with bound_socket() as sock:
        return int(sock.getsockname()[1])


# --- a Redis of the test's own -------------------------------------------------------------


class RedisServer:
    """A redis-server subprocess on its own port, to crash and restart.

    It keeps an append-only file synced on every write, as the deployed broker does (the
    compose file runs Redis with --appendonly yes): a broker that forgets its queues when it
    restarts loses the messages in them by definition, and no outbox can bring those back.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self._process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)
        client.close()

    def crash(self) -> None:
        """SIGKILL: no goodbye to clients, nothing flushed beyond what was synced."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=10)

    def restart(self, *, down_for: float) -> None:
        self.crash()
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.fail("redis-server is not installed; the broker restart tests need it")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    server.stop()


# --- a line to Postgres that can be cut ------------------------------------------------------


class TcpProxy:
    """Forwards a loopback port to Postgres on a thread of its own; `cut(how)` and `restore()`.

    Cut "refuse": every open connection dropped, new ones accepted and closed at once (a
    database restarting). Cut "blackhole": connections stay open but nothing gets through
    either way, new ones included (a lost route, a frozen server): only timeouts notice.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._state = "open"
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0
        self.refused = 0
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", 0), self._loop
        ).result(timeout=5)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._state != "open":
            self.refused += 1
            if self._state == "refuse":
                writer.transport.abort()
            else:
                self._writers.add(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        self._writers -= {writer, up_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self._state == "open":
                    writer.write(data)
                    await writer.drain()
        finally:
            writer.transport.abort()

    def _set(self, state: str) -> None:
        if state == "refuse" or self._state == "blackhole":
            # Refused, or back from a blackhole that swallowed bytes: those connections are gone.
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
        self._state = state

    def cut(self, how: str = "refuse") -> None:
        assert how in ("refuse", "blackhole")
        self._loop.call_soon_threadsafe(self._set, how)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(self._set, "open")

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._set("refuse")
            self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@pytest.fixture
def postgres_proxy() -> Iterator[TcpProxy]:
    target = psycopg.conninfo.conninfo_to_dict(ADMIN_POSTGRES_URL)
    proxy = TcpProxy(str(target.get("host") or "127.0.0.1"), int(target.get("port") or 5432))
    proxy.start()
    yield proxy
    proxy.stop()


# --- fresh Postgres databases ----------------------------------------------------------------

NewDatabase = Callable[[str], str]


@pytest.fixture
def new_postgres_database() -> Iterator[NewDatabase]:
    """`new_postgres_database("catalogue")`: a fresh database (asyncpg URL), dropped after the
    test; one per service, since each service owns its database."""
    names: list[str] = []
    try:
        admin = psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        pytest.fail(f"Postgres is not reachable ({error}); the fault suite needs it")

    def create(service: str) -> str:
        name = f"bookshop_faults_{service}_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        base = ADMIN_POSTGRES_URL.rsplit("/", 1)[0]
        return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"

    yield create
    for name in names:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def libpq_url(asyncpg_url: str) -> str:
    return asyncpg_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def through_proxy(asyncpg_url: str, proxy: TcpProxy) -> str:
    """The same database, reached through the proxy's port."""
    prefix, rest = asyncpg_url.split("@", 1)
    database = rest.split("/", 1)[1]
    return f"{prefix}@127.0.0.1:{proxy.port}/{database}"


@pytest.fixture
async def row_lock() -> AsyncIterator[Callable[[str, str, str], Awaitable[None]]]:
    """`await row_lock(db_url, "stock", isbn)`: hold that row FOR UPDATE until the test calls
    `row_lock.release()` (the fixture's `release` attribute) or ends."""
    connections: list[psycopg.AsyncConnection[Any]] = []

    async def lock(url: str, table: str, isbn13: str) -> None:
        connection = await psycopg.AsyncConnection.connect(libpq_url(url))
        connections.append(connection)
        await connection.execute(f"SELECT 1 FROM {table} WHERE isbn13 = %s FOR UPDATE", [isbn13])

    async def release() -> None:
        while connections:
            connection = connections.pop()
            await connection.rollback()
            await connection.close()

    lock.release = release  # type: ignore[attr-defined]
    yield lock
    await release()


async def lock_waiters(url: str) -> int:
    """Sessions of that database waiting for a row lock right now."""
    name = url.rsplit("/", 1)[1]
    async with await psycopg.AsyncConnection.connect(ADMIN_POSTGRES_URL, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [name],
        )
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def isbn13(n: int) -> str:
    first12 = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def report(title: str, **figures: object) -> None:
    """What a fault test tried and checked, printed for the log (pytest -s shows it)."""
    print(f"\n[{title}]")
    for name, value in figures.items():
        print(f"  {name.replace('_', ' ')}: {value}")


# --- looking inside the catalogue ------------------------------------------------------------


class CatalogueProbe:
    """Reads the catalogue's counters, ledger, reservations, inbox and outbox."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def counters(self, isbn: str) -> tuple[int, int]:
        """(on hand, reserved)"""
        async with self.db.reading() as session:
            row = (
                await session.execute(
                    select(cat.Stock.on_hand, cat.Stock.reserved).where(cat.Stock.isbn13 == isbn)
                )
            ).one()
        return row.on_hand, row.reserved

    async def ledger(self, isbn: str, kind: str) -> list[cat.LedgerEntry]:
        async with self.db.reading() as session:
            return list(
                await session.scalars(
                    select(cat.LedgerEntry)
                    .where(cat.LedgerEntry.isbn13 == isbn, cat.LedgerEntry.kind == kind)
                    .order_by(cat.LedgerEntry.id)
                )
            )

    async def reservations(self) -> dict[UUID, str]:
        async with self.db.reading() as session:
            rows = await session.execute(select(cat.Reservation.order_id, cat.Reservation.status))
            return {order_id: status for order_id, status in rows}

    async def held_copies(self, isbn: str) -> int:
        """Copies on the lines of reservations still held: what `reserved` must equal."""
        async with self.db.reading() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(cat.ReservationLine.quantity), 0))
                .join(cat.Reservation, cat.Reservation.order_id == cat.ReservationLine.order_id)
                .where(cat.ReservationLine.isbn13 == isbn, cat.Reservation.status == "held")
            )
        return int(total or 0)

    async def count(self, table: Any) -> int:
        async with self.db.reading() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def unpublished(db: Database, outbox: Any) -> int:
    """Outbox rows no relay has published yet."""
    async with db.reading() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            or 0
        )


# --- the whole shop: checkout, the stand-in, real workers, on real Postgres and a given Redis --

WEBHOOK_SECRET = "whsec_fault_suite"


class WebhookGate:
    """Stands between the stand-in and checkout's webhook: forwards each delivery, or (shut)
    swallows it with a 200 so the stand-in believes it delivered, remembering the event ids."""

    def __init__(self) -> None:
        self.target = ""
        self.forwarding = True
        self.swallowed: list[str] = []
        self.forwarded = 0
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            if self._client is not None:
                await self._client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if self.forwarding:
            self._client = self._client or httpx.AsyncClient(timeout=30)
            answer = await self._client.post(
                self.target,
                content=body,
                headers={
                    "Content-Type": headers.get("content-type", "application/json"),
                    "Stripe-Signature": headers.get("stripe-signature", ""),
                },
            )
            self.forwarded += 1
            status, content = answer.status_code, answer.content
        else:
            self.swallowed.append(json.loads(body)["id"])
            status, content = 200, b"{}"
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": content})


class WholeShop:
    """Catalogue, checkout and the Stripe stand-in in this process, catalogue and checkout workers as
    subprocesses, each service on its own Postgres database, all on the given Redis."""

    def __init__(
        self,
        *,
        catalogue_db_url: str,
        checkout_db_url: str,
        redis_url: str,
        checkout_url: str,
        catalogue_url: str,
        standin_url: str,
        gate: WebhookGate,
        http: httpx.AsyncClient,
    ) -> None:
        self.catalogue_db_url = catalogue_db_url
        self.checkout_db_url = checkout_db_url
        self.redis_url = redis_url
        self.checkout_url = checkout_url
        self.catalogue_url = catalogue_url
        self.standin_url = standin_url
        self.gate = gate
        self.http = http
        self.catalogue_db = Database(catalogue_db_url)
        self.checkout_db = Database(checkout_db_url)
        self.catalogue = CatalogueProbe(self.catalogue_db)

    def worker_env(self) -> dict[str, str]:
        return {
            "CATALOGUE_DATABASE_URL": self.catalogue_db_url,
            "CHECKOUT_DATABASE_URL": self.checkout_db_url,
            "REDIS_URL": self.redis_url,
            "BOOKSHOP_VISIBILITY_TIMEOUT_SECONDS": "5",
        }

    async def add_book(self, isbn: str, *, stock: int, price_pence: int = 1999) -> None:
        """Stock staff add the book; checkout learns of it through Redis (BookChanged)."""
        books = BookService(
            uow=UnitOfWorkFactory(self.catalogue_db, cat.outbox), db=self.catalogue_db
        )
        await books.upsert_books(
            books=[
                BookCreate(isbn13=isbn, title=f"Book {isbn}", price_pence=price_pence, stock=stock)
            ],
            actor="test",
        )

        async def known() -> bool:
            async with self.checkout_db.reading() as session:
                book = await session.get(co.Book, isbn)
                return book is not None and book.available == stock

        await eventually(known, what="checkout learning of the book")

    async def buy(self, isbn: str, quantity: int = 1) -> httpx.Response:
        return await self.http.post(
            f"{self.checkout_url}/checkout/buy",
            data={"isbn13": isbn, "quantity": str(quantity), "email": "reader@example.org"},
            headers={"Accept": "text/html"},
        )

    async def on_stripe_page(self, payment_url: str, action: str) -> httpx.Response:
        """The reader presses a button on the hosted page, the shipping address typed in; a
        cancel follows the redirect back, then gives the order up with that page's button."""
        answer = await self.http.post(payment_url, data={"action": action, **READER_ADDRESS})
        if action == "cancel" and answer.status_code == 303:
            back = answer.headers["location"]
            await self.http.get(back, headers={"Accept": "text/html"})
            page, _, query = back.partition("?")
            return await self.http.post(
                page, data=dict(parse_qsl(query)), headers={"Accept": "text/html"}
            )
        return answer

    async def standin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"{self.standin_url}{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    async def orders(self) -> list[co.Order]:
        async with self.checkout_db.reading() as session:
            return list(await session.scalars(select(co.Order).order_by(co.Order.created_at)))

    async def checkout_book(self, isbn: str) -> co.Book | None:
        async with self.checkout_db.reading() as session:
            return await session.get(co.Book, isbn)

    async def unpublished(self) -> tuple[int, int]:
        """(catalogue, checkout) outbox rows not yet published."""
        return (
            await unpublished(self.catalogue_db, cat.outbox),
            await unpublished(self.checkout_db, co.outbox),
        )

    async def close(self) -> None:
        await self.catalogue_db.dispose()
        await self.checkout_db.dispose()


@pytest.fixture
def checkout_overrides() -> dict[str, Any]:
    """Extra checkout settings; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
async def whole_shop(
    new_postgres_database: NewDatabase,
    own_redis: RedisServer,
    staff_auth: StaffAuthSettings,
    csrf_token_for: Callable[[httpx.AsyncClient], str],
    checkout_overrides: dict[str, Any],
) -> AsyncIterator[WholeShop]:
    catalogue_db_url, checkout_db_url = (new_postgres_database(s) for s in ("cat", "co"))
    await asyncio.to_thread(upgrade, "services.catalogue:migrations", catalogue_db_url)
    await asyncio.to_thread(upgrade, "services.checkout:migrations", checkout_db_url)
    checkout_sock, standin_sock, gate_sock, catalogue_sock = (bound_socket() for _ in range(4))
    checkout_url, standin_url = url_of(checkout_sock), url_of(standin_sock)
    # The catalogue's web app serves the book pages and relays the catalogue's outbox.
    catalogue_app = create_catalogue(
        CatalogueSettings(
            database_url=catalogue_db_url, redis_url=own_redis.url, staff_auth=staff_auth
        )
    )
    gate = WebhookGate()
    gate.target = f"{checkout_url}/checkout/stripe/webhook"
    standin_app = create_standin(
        StripeStandinSettings(
            webhook_urls=[url_of(gate_sock)],
            webhook_secret=WEBHOOK_SECRET,
            public_base_url=standin_url,
            webhook_retry_delays=[0.2, 0.5, 1.0, 2.0, 4.0],
            expiry_sweep_seconds=0.5,
        )
    )
    settings = CheckoutSettings(
        **{
            "database_url": checkout_db_url,
            "redis_url": own_redis.url,
            "public_url": checkout_url,
            "stripe_api_key": "sk_test_fault_suite",
            "stripe_api_base": standin_url,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_timeout_seconds": 2.0,
            "stripe_max_network_retries": 0,
            "reply_timeout_seconds": 3.0,
            "staff_auth": staff_auth,
        }
        | checkout_overrides
    )
    with (
        ServerThread(standin_app, standin_sock),
        ServerThread(gate, gate_sock),
        ServerThread(create_checkout(settings), checkout_sock),
        ServerThread(catalogue_app, catalogue_sock),
    ):
        async with httpx.AsyncClient(timeout=30) as http:
            csrf_token_for(http)
            shop = WholeShop(
                catalogue_db_url=catalogue_db_url,
                checkout_db_url=checkout_db_url,
                redis_url=own_redis.url,
                checkout_url=checkout_url,
                catalogue_url=url_of(catalogue_sock),
                standin_url=standin_url,
                gate=gate,
                http=http,
            )
            yield shop
            await shop.close()
