"""A reader's whole journey on real Redis and Postgres, with the real catalogue: the book page,
Buy, Stripe Checkout (the stand-in) paid, the webhook, the order paid, the copy sold in the
catalogue's ledger, and the confirmation email received."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from conftest import ServerThread, Shop, bound_socket, url_of
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import select
from standin_page import READER_ADDRESS
from waiting import eventually

from services.catalogue import models as catalogue_models
from services.catalogue.app import create_app as create_catalogue_app
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService
from services.catalogue.settings import CatalogueSettings
from services.checkout.models import Book
from shared.auth.settings import StaffAuthSettings
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade

pytestmark = pytest.mark.integration

ISBN = "9780745334530"
TITLE = "Imperialism and Global Political Economy"
PRICE = 1999


@pytest.fixture
def database_url(postgres_database_url: str) -> str:
    """Checkout on Postgres here, as deployed."""
    return postgres_database_url


@pytest.fixture
def use_real_catalogue_requests() -> bool:
    return True


@pytest.fixture
async def catalogue(
    second_postgres_url: str, redis_url: str, staff_auth: StaffAuthSettings
) -> AsyncIterator[tuple[str, Database]]:
    """The catalogue's web app (the book page) on a loopback port, on its own database."""
    await asyncio.to_thread(upgrade, "services.catalogue:migrations", second_postgres_url)
    sock = bound_socket()
    app = create_catalogue_app(
        CatalogueSettings(
            database_url=second_postgres_url, redis_url=redis_url, staff_auth=staff_auth
        )
    )
    db = Database(second_postgres_url)
    with ServerThread(app, sock):
        yield url_of(sock), db
    await db.dispose()


async def test_a_reader_buys_a_book_from_an_article_link(
    shop: Shop,
    catalogue: tuple[str, Database],
    second_postgres_url: str,
    redis_url: str,
    run_worker,  # type: ignore[no-untyped-def]
) -> None:
    catalogue_url, catalogue_db = catalogue
    run_worker("catalogue", {"CATALOGUE_DATABASE_URL": second_postgres_url, "REDIS_URL": redis_url})
    run_worker(
        "checkout",
        {"CHECKOUT_DATABASE_URL": shop.settings.database_url, "REDIS_URL": redis_url},
    )
    # Stock staff add the book; its BookChanged reaches checkout's read model through Redis.
    books = BookService(
        uow=UnitOfWorkFactory(catalogue_db, catalogue_models.outbox), db=catalogue_db
    )
    await books.upsert_books(
        books=[BookCreate(isbn13=ISBN, title=TITLE, price_pence=PRICE, stock=3)], actor="test"
    )

    async def known_to_checkout() -> bool:
        async with shop.db.reading() as session:
            book = await session.get(Book, ISBN)
            return book is not None and book.available == 3

    await eventually(known_to_checkout)

    # The reader follows the article's link to the book page and presses Buy.
    page = await shop.http.get(f"{catalogue_url}/books/{ISBN}?article=stalinism-2024&link=l1")
    assert page.status_code == 200
    form = HTMLParser(page.text).css_first("form.buy")
    assert form.attributes["action"] == "/checkout/buy"
    fields = {
        node.attributes["name"]: node.attributes.get("value") or "1"
        for node in form.css("input[name], select[name]")
    }
    assert fields["isbn13"] == ISBN and fields["article"] == "stalinism-2024"
    # Stripe Checkout asks for the email; the stand-in's page does not, so it is prefilled.
    started = time.monotonic()
    bought = await shop.http.post(
        f"{shop.url}{form.attributes['action']}", data=fields | {"email": "reader@example.org"}
    )
    assert bought.status_code == 303, bought.text
    assert time.monotonic() - started < 3
    [order] = await shop.orders()
    assert order.status == "awaiting_payment" and order.article_id == "stalinism-2024"

    async def held() -> bool:
        async with catalogue_db.reading() as session:
            stock = await session.get(catalogue_models.Stock, ISBN)
            return stock is not None and (stock.on_hand, stock.reserved) == (3, 1)

    await eventually(held)

    # Stripe's page asks where to post the book; the reader types it, pays, and comes back to
    # the success page, which says where the book goes.
    stripe_page = await shop.http.get(bought.headers["location"])
    assert 'name="shipping_line1"' in stripe_page.text
    paid_redirect = await shop.pay(bought.headers["location"], address=READER_ADDRESS)
    assert paid_redirect.status_code == 303
    paid = await shop.wait_for_status(order.id, "paid", timeout=15)
    assert paid.address == ["1 Red Lane", "Flat 2", "London", "N1 1AA"]
    assert paid.customer_name == "Rosa Reader"
    success = await shop.http.get(paid_redirect.headers["location"])
    assert "is paid" in success.text and order.reference in success.text
    assert "1 Red Lane<br>Flat 2<br>London<br>N1 1AA" in success.text

    # The catalogue sells the held copy: a ledger entry, and the counters after it.
    async def sold() -> bool:
        async with catalogue_db.reading() as session:
            entries = list(
                await session.scalars(
                    select(catalogue_models.LedgerEntry).where(
                        catalogue_models.LedgerEntry.isbn13 == ISBN,
                        catalogue_models.LedgerEntry.kind == "sold",
                    )
                )
            )
            return len(entries) == 1 and (entries[0].on_hand_after, entries[0].reserved_after) == (
                2,
                0,
            )

    await eventually(sold)
    [email] = await shop.mailbox.wait_for(1)
    assert email["To"] == "reader@example.org"
    assert order.reference in email["Subject"] and TITLE in email.get_content()

    # And the new availability comes back to checkout's read model.
    async def two_left() -> bool:
        async with shop.db.reading() as session:
            book = await session.get(Book, ISBN)
            return book is not None and book.available == 2

    await eventually(two_left)
