"""Checkout under uvicorn on a loopback port, the Stripe stand-in beside it delivering signed
webhooks to it, a real SMTP server catching its emails, and a fake catalogue's replies."""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage as MimeMessage
from hashlib import sha256
from typing import Any, TypeVar
from uuid import UUID

import httpx
import pytest
from aiosmtpd.controller import Controller
from loopback_server import ServerThread, bound_socket, serving, url_of
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode
from sqlalchemy import select
from standin_page import READER_ADDRESS

from services.checkout import handlers
from services.checkout.app import create_app
from services.checkout.models import Order, outbox
from services.checkout.settings import CheckoutSettings
from services.stripe_standin import StripeStandinSettings
from services.stripe_standin import create_app as create_standin
from shared.auth.roles import Role
from shared.auth.settings import StaffAuthSettings
from shared.contracts import (
    BookChanged,
    LinePrice,
    ReservationCommitted,
    ReservationReply,
    ReserveStock,
    ShortLine,
)
from shared.db import Database
from shared.messaging.message import Command
from shared.messaging.unit_of_work import UnitOfWorkFactory

R = TypeVar("R")
WEBHOOK_SECRET = "whsec_checkout_integration"
BOOKS = {
    "9780745334530": ("Imperialism and Global Political Economy", 1999),
    "9781788731799": ("The Ragged Trousered Philanthropists", 1299),
}


@dataclass
class FakeCatalogue:
    """Answers ReserveStock as the catalogue does (all lines or none), from `stock`, with
    the books' `prices` (pence by ISBN) as the catalogue holds them, where set."""

    stock: dict[str, int] = field(default_factory=dict)
    prices: dict[str, int] = field(default_factory=dict)
    held: dict[UUID, dict[str, int]] = field(default_factory=dict)
    requests: list[ReserveStock] = field(default_factory=list)
    silent: bool = False

    async def request(self, command: Command, reply_type: type[R], *, timeout: float) -> R:
        assert isinstance(command, ReserveStock)
        self.requests.append(command)
        if self.silent:
            from shared.messaging.errors import ReplyTimeout

            await asyncio.sleep(timeout)
            raise ReplyTimeout(f"no reply to {command.task} within {timeout:.1f}s")
        short = tuple(
            ShortLine(
                isbn13=line.isbn13,
                requested=line.quantity,
                available=self.stock.get(line.isbn13, 0),
            )
            for line in command.lines
            if self.stock.get(line.isbn13, 0) < line.quantity
        )
        if not short:
            for line in command.lines:
                self.stock[line.isbn13] -= line.quantity
            self.held[command.order_id] = {line.isbn13: line.quantity for line in command.lines}
        reply = ReservationReply(
            order_id=command.order_id,
            ok=not short,
            short=short,
            expires_at=None if short else command.expires_at,
            prices=()
            if short
            else tuple(
                LinePrice(isbn13=line.isbn13, price_pence=self.prices[line.isbn13])
                for line in command.lines
                if line.isbn13 in self.prices
            ),
        )
        assert reply_type is ReservationReply
        return reply  # type: ignore[return-value]


@dataclass
class Mailbox:
    messages: list[MimeMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[MimeMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} emails arrived, wanted {count}")
            await asyncio.sleep(0.05)
        return self.messages


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    probe = bound_socket()
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@dataclass
class Shop:
    """The running checkout, stand-in and mailbox, and ways to look inside."""

    url: str
    standin_url: str
    settings: CheckoutSettings
    catalogue: FakeCatalogue
    mailbox: Mailbox
    db: Database
    http: httpx.AsyncClient
    staff_headers: dict[str, str]

    async def add_book(
        self, isbn13: str, *, title: str, price_pence: int, version: int = 1, stock: int = 5
    ) -> None:
        async with UnitOfWorkFactory(self.db, outbox)() as uow:
            await handlers.on_book_changed(
                BookChanged(
                    isbn13=isbn13,
                    version=version,
                    title=title,
                    price_pence=price_pence,
                    available=stock,
                ),
                uow=uow,
            )
        self.catalogue.stock[isbn13] = stock

    async def buy(self, isbn13: str, quantity: object = 1, **extra: str) -> httpx.Response:
        return await self.http.post(
            f"{self.url}/checkout/buy",
            data={"isbn13": isbn13, "quantity": str(quantity), **extra},
            headers={"Accept": "text/html"},
        )

    async def pay(
        self, payment_url: str, action: str = "pay", address: dict[str, str] | None = None
    ) -> httpx.Response:
        """Press a button on Stripe's page, the shipping address typed in (a session that
        asks for none ignores it)."""
        return await self.http.post(
            payment_url, data={"action": action, **(READER_ADDRESS if address is None else address)}
        )

    async def orders(self) -> list[Order]:
        async with self.db.reading() as session:
            return list(await session.scalars(select(Order).order_by(Order.created_at)))

    async def order(self, order_id: UUID) -> Order:
        async with self.db.reading() as session:
            order = await session.get(Order, order_id)
        assert order is not None
        return order

    async def wait_for_status(self, order_id: UUID, status: str, timeout: float = 10.0) -> Order:
        deadline = time.monotonic() + timeout
        while True:
            order = await self.order(order_id)
            if order.status == status:
                return order
            if time.monotonic() > deadline:
                raise AssertionError(f"order is {order.status}, not {status}")
            await asyncio.sleep(0.05)

    async def staged(self, kind: str) -> list[dict[str, Any]]:
        """Messages checkout queued in its outbox, of one kind (task name)."""
        async with self.db.reading() as session:
            rows = await session.execute(
                select(outbox.c.payload).where(outbox.c.kind == kind).order_by(outbox.c.id)
            )
            return [row.payload for row in rows]

    async def standin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, f"{self.standin_url}{path}", **kwargs)
        response.raise_for_status()
        return response

    async def wait_for_delivery(self, event_type: str, timeout: float = 10.0) -> dict[str, Any]:
        """The stand-in's record of a webhook delivered to checkout (answered 2xx)."""
        deadline = time.monotonic() + timeout
        while True:
            deliveries = (await self.standin("GET", "/_standin/deliveries")).json()
            done = [
                d
                for d in deliveries
                if d["event_type"] == event_type and d["outcome"] == "delivered"
            ]
            if done:
                return done[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event_type} delivered: {deliveries}")
            await asyncio.sleep(0.05)

    async def stripe(self, path: str) -> dict[str, Any]:
        """GET from the stand-in's Stripe API, as the dashboard would show it."""
        response = await self.standin(
            "GET", f"/v1{path}", headers={"Authorization": "Bearer sk_test_x"}
        )
        return dict(response.json())

    async def deliver(
        self, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, signature: str | None = None
    ) -> httpx.Response:
        """Post an event to checkout's webhook, signed as Stripe signs it (or as given)."""
        payload = json.dumps(event, indent=2)
        headers = {"Content-Type": "application/json"}
        if signature is None:
            timestamp = int(time.time())
            digest = hmac.new(
                secret.encode(), f"{timestamp}.{payload}".encode(), sha256
            ).hexdigest()
            signature = f"t={timestamp},v1={digest}"
        if signature:
            headers["Stripe-Signature"] = signature
        return await self.http.post(
            f"{self.url}/checkout/stripe/webhook", content=payload, headers=headers
        )

    def staff(self) -> dict[str, str]:
        """Headers of a request from pat, signed in with the phone_orders role."""
        return self.staff_headers


def shop_settings(
    *,
    database_url: str,
    redis_url: str,
    public_url: str,
    standin_url: str,
    smtp_port: int,
    **extra: Any,
) -> CheckoutSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "public_url": public_url,
        "stripe_api_key": "sk_test_checkout_integration",
        "stripe_api_base": standin_url,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_timeout_seconds": 2.0,
        "stripe_max_network_retries": 0,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "reply_timeout_seconds": 1.0,
    }
    return CheckoutSettings(**(values | extra))


@pytest.fixture
def second_postgres_url(postgres_database_url: str) -> Iterator[str]:
    """Another fresh Postgres database beside `postgres_database_url`, for a second service."""
    import psycopg

    admin_url = os.environ.get(
        "BOOKSHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = postgres_database_url.rsplit("/", 1)[1] + "_second"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_database_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def shop_overrides() -> dict[str, Any]:
    """Extra checkout settings; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def standin_overrides() -> dict[str, Any]:
    """Extra stand-in settings; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def use_real_catalogue_requests() -> bool:
    """True: reserve through the real broker (and whatever catalogue worker is running)."""
    return False


@pytest.fixture
async def shop(
    database_url: str,
    redis_url: str,
    mailbox: tuple[Mailbox, int],
    shop_overrides: dict[str, Any],
    standin_overrides: dict[str, Any],
    use_real_catalogue_requests: bool,
    staff_auth: StaffAuthSettings,
    staff_credentials: Callable[..., Awaitable[Any]],
    migrate: Callable[[str, str], None],
) -> AsyncIterator[Shop]:
    await asyncio.to_thread(migrate, "services.checkout:migrations", database_url)
    checkout_sock, standin_sock = bound_socket(), bound_socket()
    checkout_url, standin_url = url_of(checkout_sock), url_of(standin_sock)
    settings = shop_settings(
        database_url=database_url,
        redis_url=redis_url,
        public_url=checkout_url,
        standin_url=standin_url,
        smtp_port=mailbox[1],
        staff_auth=staff_auth,
        **shop_overrides,
    )
    standin_values: dict[str, Any] = {
        "webhook_urls": [f"{checkout_url}/checkout/stripe/webhook"],
        "webhook_secret": WEBHOOK_SECRET,
        "public_base_url": standin_url,
        "webhook_retry_delays": [0.2, 0.5, 1.0],
        "expiry_sweep_seconds": 0.2,
    }
    standin_app = create_standin(StripeStandinSettings(**(standin_values | standin_overrides)))
    catalogue = FakeCatalogue()
    shop_app = create_app(settings, requester=None if use_real_catalogue_requests else catalogue)
    db = Database(database_url)
    with serving(ServerThread(standin_app, standin_sock), ServerThread(shop_app, checkout_sock)):
        async with httpx.AsyncClient(timeout=10) as http:
            pat = await staff_credentials(Role.PHONE_ORDERS, username="pat")
            yield Shop(
                url=checkout_url,
                standin_url=standin_url,
                settings=settings,
                catalogue=catalogue,
                mailbox=mailbox[0],
                db=db,
                http=http,
                staff_headers=pat.headers,
            )
    await db.dispose()


# -- staff pages ---------------------------------------------------------------------------------


def one(tree: HTMLParser | LexborNode, selector: str) -> LexborNode:
    found = tree.css_first(selector)
    assert found is not None, f"nothing on the page matches {selector}"
    return found


def text_of(response: httpx.Response) -> str:
    return " ".join(HTMLParser(response.text).body.text().split())  # type: ignore[union-attr]


@pytest.fixture
async def clerk(shop: Shop, staff_session: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as pat, of the phone-order staff."""
    async with httpx.AsyncClient(base_url=shop.url, timeout=10) as client:
        await staff_session(client, Role.PHONE_ORDERS, username="pat")
        yield client


@pytest.fixture
async def stocked(shop: Shop) -> None:
    for isbn, (title, price) in BOOKS.items():
        await shop.add_book(isbn, title=title, price_pence=price, stock=20)


async def phone_order(
    clerk: httpx.AsyncClient,
    lines: list[tuple[str, int]],
    *,
    delivery: str = "post",
    **customer: str,
) -> str:
    """An order taken on the phone-order page; its reference. `customer` overrides Rosa's
    name, email, phone or address."""
    page = HTMLParser((await clerk.get("/staff/phone")).text)
    form = {
        "idempotency_key": one(page, "input[name=idempotency_key]").attributes["value"],
        "name": "Rosa Luxemburg",
        "email": "rosa@example.org",
        "phone": "020 7946 0000",
        "address": "1 Red Lane\nLondon\nN1 1AA",
        "delivery": delivery,
        "isbn": [isbn for isbn, _ in lines],
        "quantity": [str(q) for _, q in lines],
    } | customer
    placed = await clerk.post("/staff/phone/orders", data=form)
    assert placed.status_code == 303, placed.text
    return placed.headers["location"].rsplit("/", 1)[1]


async def confirm_sale(shop: Shop, ref: str) -> None:
    """The catalogue's ReservationCommitted for the order, as its worker would deliver it."""
    order = next(o for o in await shop.orders() if o.reference == ref)
    async with UnitOfWorkFactory(shop.db, outbox)() as uow:
        await handlers.on_reservation_committed(
            ReservationCommitted(order_id=order.reservation_id), uow=uow
        )


async def paid_phone_order(
    shop: Shop, clerk: httpx.AsyncClient, lines: list[tuple[str, int]], **customer: str
) -> str:
    """A posted phone order paid through its payment link, as the customer would pay it."""
    ref = await phone_order(clerk, lines, **customer)
    assert (await clerk.post(f"/staff/phone/orders/{ref}/payment-link")).status_code == 303
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.stripe_session_url
    await shop.pay(order.stripe_session_url)
    await shop.wait_for_status(order.id, "paid")
    return ref
