"""The phone-order page, driven as the clerk's browser drives it (forms and htmx requests) against
checkout under uvicorn, the Stripe stand-in, a real SMTP server and a fake catalogue's replies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from conftest import BOOKS, Shop
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode

from services.checkout.controllers.staff_phone import SPOKEN
from shared.auth.roles import Role

pytestmark = pytest.mark.integration


def one(tree: HTMLParser, selector: str) -> LexborNode:
    found = tree.css_first(selector)
    assert found is not None, f"nothing on the page matches {selector}"
    return found


IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"
HTMX = {"HX-Request": "true"}


async def stocked(shop: Shop, **stock: int) -> None:
    for isbn, (title, price) in BOOKS.items():
        await shop.add_book(isbn, title=title, price_pence=price, stock=stock.get(isbn, 5))


@pytest.fixture
async def clerk(shop: Shop, staff_session: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    """Pat's browser, signed in with the phone_orders role."""
    async with httpx.AsyncClient(base_url=shop.url, timeout=10) as client:
        await staff_session(client, Role.PHONE_ORDERS, username="pat")
        yield client


def page(response: httpx.Response) -> HTMLParser:
    return HTMLParser(response.text)


def text_of(response: httpx.Response) -> str:
    return " ".join(page(response).body.text().split())  # type: ignore[union-attr]


async def order_form(clerk: httpx.AsyncClient) -> dict[str, Any]:
    """The fields of a fresh phone page, as the browser would send them back."""
    response = await clerk.get("/staff/phone")
    assert response.status_code == 200
    key = one(page(response), "input[name=idempotency_key]").attributes["value"]
    assert key
    return {"idempotency_key": key, "delivery": "post"}


def rosa(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Rosa Luxemburg",
        "email": "rosa@example.org",
        "phone": "020 7946 0000",
        "address": "1 Red Lane\nLondon\nN1 1AA",
    } | changes


async def place(
    clerk: httpx.AsyncClient, form: dict[str, Any], lines: list[tuple[str, int]]
) -> httpx.Response:
    body = form | {"isbn": [isbn for isbn, _ in lines], "quantity": [str(q) for _, q in lines]}
    return await clerk.post("/staff/phone/orders", data=body)


def reference_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/staff/phone/orders/")
    return location.rsplit("/", 1)[1]


async def test_a_phone_order_from_search_to_the_reference_read_back(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    await stocked(shop, **{RAGGED: 2})
    form = await order_form(clerk)

    # Search as the clerk types: title words or ISBN digits, with price and copies left.
    found = await clerk.get("/staff/phone/books", params={"q": "imperialism glob"}, headers=HTMX)
    options = page(found).css("[role=option]")
    assert [o.attributes["data-isbn"] for o in options] == [IMPERIALISM]
    assert "£19.99" in options[0].text() and "5 in stock" in options[0].text()
    by_isbn = await clerk.get("/staff/phone/books", params={"q": "978-17887"}, headers=HTMX)
    assert "Ragged Trousered" in by_isbn.text and "only 2 left" in by_isbn.text
    nothing = await clerk.get("/staff/phone/books", params={"q": "zzz"}, headers=HTMX)
    assert "No book for sale matches" in nothing.text

    # Adding books: the basket comes back priced, with postage for the delivery chosen.
    basket = await clerk.post("/staff/phone/basket", data=form | {"add": IMPERIALISM}, headers=HTMX)
    assert "£19.99" in basket.text and "£2.95" in basket.text  # one book: 295p postage
    assert "data-focus" in one(page(basket), f"#qty-{IMPERIALISM}").attributes
    two = await clerk.post(
        "/staff/phone/basket",
        data=form | {"isbn": [IMPERIALISM], "quantity": ["1"], "add": RAGGED},
        headers=HTMX,
    )
    assert one(page(two), "#total").text() == "£36.93"  # 1999 + 1299 + 395
    collecting = await clerk.post(
        "/staff/phone/basket",
        data={"isbn": [IMPERIALISM, RAGGED], "quantity": ["1", "3"], "delivery": "collection"},
        headers=HTMX,
    )
    assert one(page(collecting), "#total").text() == "£58.96"  # 1999 + 3 * 1299, no postage
    assert "only 2 left" in collecting.text
    # A quantity the order cannot take prices nothing: no total to read out until it is right.
    for refused in ("", "0", "1000"):
        unpriced = await clerk.post(
            "/staff/phone/basket",
            data={"isbn": [IMPERIALISM, RAGGED], "quantity": ["1", refused]},
            headers=HTMX,
        )
        assert one(page(unpriced), "#total").text() == "—", refused
        assert "Put the quantities right to see the total." in unpriced.text

    placed = await place(clerk, form | rosa(), [(IMPERIALISM, 1), (RAGGED, 2)])
    ref = reference_of(placed)
    result = await clerk.get(f"/staff/phone/orders/{ref}")
    assert one(page(result), "[data-testid=reference]").text() == ref
    spelled = one(page(result), "[data-testid=spelled]").text()
    # Each character with the word that says it: "K Kilo · 7 seven · ...".
    assert spelled.split(" · ") == [f"{ch} {SPOKEN[ch]}" for ch in ref]
    assert "Send payment link" in result.text and "Pay on collection" not in result.text
    assert one(page(result), "[data-testid=total]").text() == "£49.92"

    [order] = await shop.orders()
    assert order.reference == ref and order.status == "reserved" and order.channel == "phone"
    assert (order.customer_name, order.customer_phone) == ("Rosa Luxemburg", "020 7946 0000")
    assert order.address == ["1 Red Lane", "London", "N1 1AA"]
    assert [(line.isbn13, line.quantity) for line in order.lines] == [(IMPERIALISM, 1), (RAGGED, 2)]
    assert shop.catalogue.stock == {IMPERIALISM: 4, RAGGED: 0}


async def test_a_double_submit_makes_one_order(shop: Shop, clerk: httpx.AsyncClient) -> None:
    await stocked(shop)
    form = await order_form(clerk) | rosa()
    first, second = await asyncio.gather(
        place(clerk, form, [(IMPERIALISM, 1)]), place(clerk, form, [(IMPERIALISM, 1)])
    )
    assert reference_of(first) == reference_of(second)
    assert len(await shop.orders()) == 1
    assert len(shop.catalogue.requests) == 1
    # A fresh page is a new order.
    other = await place(clerk, await order_form(clerk) | rosa(), [(IMPERIALISM, 1)])
    assert reference_of(other) != reference_of(first)


async def test_short_stock_says_how_many_are_left_and_places_nothing(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    await stocked(shop, **{RAGGED: 1})
    form = await order_form(clerk) | rosa()
    refused = await place(clerk, form, [(IMPERIALISM, 1), (RAGGED, 2)])
    assert refused.status_code == 409
    said = text_of(refused)
    assert "only 1 left of 'The Ragged Trousered Philanthropists'" in said
    assert "Only 1 left: reduce the quantity or remove the book." in said
    # What was typed is still there, and the next try is a new order.
    again = page(refused)
    assert one(again, "#name").attributes["value"] == "Rosa Luxemburg"
    assert one(again, f"#qty-{RAGGED}").attributes["value"] == "2"
    new_key = one(again, "input[name=idempotency_key]").attributes["value"]
    assert new_key and new_key != form["idempotency_key"]
    assert [o.status for o in await shop.orders()] == ["rejected"]
    assert shop.catalogue.stock == {IMPERIALISM: 5, RAGGED: 1}

    # The same refused submit arriving again says the same, and holds nothing.
    repeated = await place(clerk, form, [(IMPERIALISM, 1), (RAGGED, 2)])
    assert repeated.status_code == 409 and "only 1 left" in text_of(repeated)
    assert len(shop.catalogue.requests) == 1

    fixed = await place(clerk, form | {"idempotency_key": new_key}, [(IMPERIALISM, 1), (RAGGED, 1)])
    ref = reference_of(fixed)
    assert {o.reference: o.status for o in await shop.orders()}[ref] == "reserved"


async def test_what_is_missing_is_said_on_the_page(shop: Shop, clerk: httpx.AsyncClient) -> None:
    await stocked(shop)
    form = await order_form(clerk)
    no_books = await place(clerk, form | rosa(), [])
    assert no_books.status_code == 400 and "Add at least one book" in no_books.text
    no_address = await place(clerk, form | rosa(address=""), [(IMPERIALISM, 1)])
    assert no_address.status_code == 400 and "postal address" in no_address.text
    no_email = await place(clerk, form | rosa(email=""), [(IMPERIALISM, 1)])
    assert no_email.status_code == 400 and "payment link" in no_email.text
    too_many = await place(clerk, form | rosa(), [(IMPERIALISM, 11)])
    assert too_many.status_code == 400
    assert await shop.orders() == []


async def test_an_email_address_that_would_go_astray_is_refused(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    await stocked(shop)
    form = await order_form(clerk)
    # A stray bracket or comma: unparseable, or several addresses, once in the To header.
    for typo in ("rosa@[example.org", "(rosa@example.org", "rosa,lux@example.org"):
        refused = await place(clerk, form | rosa(email=typo), [(IMPERIALISM, 1)])
        assert refused.status_code == 400, typo
        assert f"'{typo}' does not look like an email address" in text_of(refused)
        assert one(page(refused), "#email").attributes["value"] == typo
    assert await shop.orders() == []
    accepted = await place(
        clerk,
        await order_form(clerk) | rosa(name="Seán O'Brien", email="seán.o'brien@example.ie"),
        [(IMPERIALISM, 1)],
    )
    reference_of(accepted)
    [order] = await shop.orders()
    assert (order.customer_name, order.customer_email) == (
        "Seán O'Brien",
        "seán.o'brien@example.ie",
    )


async def test_a_posted_order_needs_a_uk_postcode(shop: Shop, clerk: httpx.AsyncClient) -> None:
    await stocked(shop)
    form = await order_form(clerk)
    for address in ("1 Red Lane\nLondon", "1 Red Lane\nLondon\nN1 1A"):
        refused = await place(clerk, form | rosa(address=address), [(IMPERIALISM, 1)])
        assert refused.status_code == 400
        assert "add the postcode to the address" in text_of(refused)
        # What was typed is still there to correct.
        assert one(page(refused), "#address").text() == address
        assert one(page(refused), f"#qty-{IMPERIALISM}").attributes["value"] == "1"
    assert await shop.orders() == []
    # In small letters, without its space, after the town: still a postcode.
    placed = await place(
        clerk, await order_form(clerk) | rosa(address="1 Red Lane\nLondon n11aa"), [(RAGGED, 1)]
    )
    reference_of(placed)


async def test_a_phone_number_that_is_not_one_is_refused_on_the_page(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    await stocked(shop)
    form = await order_form(clerk)
    for typo in ("abc", "123", "020 7946 000O"):
        refused = await place(clerk, form | rosa(phone=typo), [(IMPERIALISM, 2)])
        assert refused.status_code == 400, typo
        assert f"'{typo}' does not look like a phone number" in text_of(refused)
        # What was typed is still there to correct.
        assert one(page(refused), "#phone").attributes["value"] == typo
        assert one(page(refused), "#name").attributes["value"] == "Rosa Luxemburg"
        assert one(page(refused), "#address").text() == "1 Red Lane\nLondon\nN1 1AA"
        assert one(page(refused), f"#qty-{IMPERIALISM}").attributes["value"] == "2"
    assert await shop.orders() == []
    placed = await place(clerk, form | rosa(phone="(020) 7946 0958"), [(IMPERIALISM, 1)])
    reference_of(placed)


async def test_the_payment_link_is_emailed(shop: Shop, clerk: httpx.AsyncClient) -> None:
    await stocked(shop)
    ref = reference_of(await place(clerk, await order_form(clerk) | rosa(), [(IMPERIALISM, 1)]))
    sent = await clerk.post(f"/staff/phone/orders/{ref}/payment-link")
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/staff/phone/orders/{ref}?done=link"
    shown = await clerk.get(sent.headers["location"])
    assert "Payment link sent to rosa@example.org" in text_of(shown)
    [email] = await shop.mailbox.wait_for(1)
    assert email["To"] == "rosa@example.org" and ref in email["Subject"]
    [order] = await shop.orders()
    assert order.status == "awaiting_payment" and order.payment_method == "payment_link"
    assert order.stripe_session_url and order.stripe_session_url in email.get_content()
    # Pressing it again sends nothing new.
    await clerk.post(f"/staff/phone/orders/{ref}/payment-link")
    await asyncio.sleep(0.3)
    assert len(shop.mailbox.messages) == 1


async def test_pay_on_collection(shop: Shop, clerk: httpx.AsyncClient) -> None:
    await stocked(shop)
    form = await order_form(clerk) | rosa(email="", address="") | {"delivery": "collection"}
    ref = reference_of(await place(clerk, form, [(RAGGED, 1)]))
    result = await clerk.get(f"/staff/phone/orders/{ref}")
    assert "Pay on collection" in result.text
    # No email address: no payment link to send.
    assert "disabled" in one(page(result), "form[action$=payment-link] button").attributes
    chosen = await clerk.post(f"/staff/phone/orders/{ref}/pay-on-collection")
    assert chosen.status_code == 303
    shown = await clerk.get(chosen.headers["location"])
    assert "To be paid on collection" in text_of(shown)
    [order] = await shop.orders()
    assert (order.status, order.payment_method, order.postage_pence) == (
        "awaiting_payment",
        "on_collection",
        0,
    )
    link = await clerk.post(f"/staff/phone/orders/{ref}/payment-link")
    assert (
        link.status_code == 409
        and "is to be paid on collection; it cannot be sent a link" in link.text
    )


async def test_customers_are_found_by_phone_or_email(shop: Shop, clerk: httpx.AsyncClient) -> None:
    await stocked(shop)
    await place(clerk, await order_form(clerk) | rosa(), [(IMPERIALISM, 1)])
    for typed in ("7946 0000", "+44 20 7946", "rosa@ex", "ROSA@EXAMPLE.ORG", "Luxem"):
        found = await clerk.get("/staff/phone/customers", params={"q": typed}, headers=HTMX)
        [option] = page(found).css("[role=option]")
        assert option.attributes["data-name"] == "Rosa Luxemburg", typed
        assert option.attributes["data-email"] == "rosa@example.org"
        assert option.attributes["data-address"] == "1 Red Lane\nLondon\nN1 1AA"
    nobody = await clerk.get("/staff/phone/customers", params={"q": "0161 000"}, headers=HTMX)
    assert "No customer matches" in nobody.text and 'data-name="' not in nobody.text


async def test_only_phone_staff_and_admins_take_phone_orders(
    shop: Shop, staff_session: Callable[..., Any]
) -> None:
    async with httpx.AsyncClient(base_url=shop.url) as anonymous:
        to_sign_in = await anonymous.get("/staff/phone")
        assert to_sign_in.status_code == 303
        assert to_sign_in.headers["location"] == "/staff/login?next=%2Fstaff%2Fphone"
        fragment = await anonymous.get("/staff/phone/books", params={"q": "x"}, headers=HTMX)
        assert fragment.status_code == 401 and "HX-Redirect" in fragment.headers
    async with httpx.AsyncClient(base_url=shop.url) as stock_clerk:
        await staff_session(stock_clerk, Role.STOCK, username="sam")
        for path in ("/staff/phone", "/staff/orders"):
            refused = await stock_clerk.get(path)
            assert refused.status_code == 403 and "phone_orders" in refused.text
    async with httpx.AsyncClient(base_url=shop.url) as admin:
        await staff_session(admin, Role.ADMIN, username="ada")
        assert (await admin.get("/staff/phone")).status_code == 200
        assert (await admin.get("/staff/orders")).status_code == 200


async def test_a_form_without_the_csrf_token_is_refused(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    await stocked(shop)
    form = await order_form(clerk) | rosa()
    del clerk.headers["x-csrftoken"]
    refused = await place(clerk, form, [(IMPERIALISM, 1)])
    assert refused.status_code == 403
    assert await shop.orders() == []


async def test_book_search_puts_the_typed_phrase_then_stock_first(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    titles = {
        "9798943470868": ("A People's History of the Second World War", 5),
        "9798319747327": ("A People's History of the World", 0),
        "9798362399245": ("A People's History of the United States", 0),
        "9798186064503": ("A People's History of Sports in the United States", 3),
    }
    for isbn, (title, stock) in titles.items():
        await shop.add_book(isbn, title=title, price_pence=999, stock=stock)

    def found(response: httpx.Response) -> list[str]:
        return [str(o.attributes["data-isbn"]) for o in page(response).css("[data-isbn]")]

    world = await clerk.get("/staff/phone/books", params={"q": "people's history of the world"})
    assert found(world) == ["9798319747327", "9798943470868"]
    united = await clerk.get("/staff/phone/books", params={"q": "peo hist united"})
    assert found(united) == ["9798186064503", "9798362399245"]  # in stock first
    percent = await clerk.get("/staff/phone/books", params={"q": "100%"})
    assert found(percent) == []
