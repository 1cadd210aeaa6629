"""Phone orders through the staff JSON API: one order per Idempotency-Key, payment link (and a
new one when it expires while the copies are held) or pay on collection, refunds (full and
partial), fulfilment with its email, and the customer's phone number checked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import BOOKS, Shop
from sqlalchemy import update

from services.checkout.models import Order
from shared.auth.csrf import CSRF_COOKIE, CSRF_HEADER
from shared.auth.roles import Role
from shared.messaging.message import utcnow
from shared.money import format_pence
from shared.shop_time import spoken_time

pytestmark = pytest.mark.integration

IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"


def order_body(delivery: str = "post", **customer: Any) -> dict[str, Any]:
    return {
        "customer": {
            "name": "Rosa Luxemburg",
            "email": "rosa@example.org",
            "phone": "020 7946 0000",
            "address": ["1 Red Lane", "London", "N1 1AA"] if delivery == "post" else None,
        }
        | customer,
        "lines": [{"isbn": IMPERIALISM, "quantity": 1}, {"isbn": RAGGED, "quantity": 2}],
        "delivery": delivery,
    }


async def stocked(shop: Shop) -> None:
    for isbn, (title, price) in BOOKS.items():
        await shop.add_book(isbn, title=title, price_pence=price, stock=5)


async def place(shop: Shop, key: str, body: dict[str, Any]) -> Any:
    return await shop.http.post(
        f"{shop.url}/api/checkout/orders",
        json=body,
        headers=shop.staff() | {"Idempotency-Key": key},
    )


async def test_the_same_submit_twice_makes_one_order(shop: Shop) -> None:
    await stocked(shop)
    first, second = await asyncio.gather(
        place(shop, "phone-key-1", order_body()), place(shop, "phone-key-1", order_body())
    )
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["reference"] == second.json()["reference"]
    retry = await place(shop, "phone-key-1", order_body())
    assert retry.status_code == 200 and retry.json()["reference"] == first.json()["reference"]
    orders = await shop.orders()
    assert len(orders) == 1 and orders[0].status == "reserved"
    assert len(shop.catalogue.requests) == 1
    order = retry.json()
    assert order["channel"] == "phone"
    assert order["customer_name"] == "Rosa Luxemburg"
    assert order["address"] == ["1 Red Lane", "London", "N1 1AA"]
    # Three books: 395p postage.
    assert (order["books_pence"], order["postage_pence"], order["total_pence"]) == (
        1999 + 2 * 1299,
        395,
        1999 + 2 * 1299 + 395,
    )


async def test_the_staff_api_needs_a_phone_orders_session_and_the_key(
    shop: Shop, staff_credentials: Callable[..., Awaitable[Any]]
) -> None:
    await stocked(shop)
    stock_staff = await staff_credentials(Role.STOCK, username="sam")
    token = stock_staff.csrf_token
    signed_out = await shop.http.post(
        f"{shop.url}/api/checkout/orders",
        json=order_body(),
        headers={"Idempotency-Key": "k", "Cookie": f"{CSRF_COOKIE}={token}", CSRF_HEADER: token},
    )
    assert signed_out.status_code == 401
    not_phone_staff = await shop.http.post(
        f"{shop.url}/api/checkout/orders",
        json=order_body(),
        headers=stock_staff.headers | {"Idempotency-Key": "k"},
    )
    assert not_phone_staff.status_code == 403
    assert "phone_orders role" in not_phone_staff.json()["detail"]
    no_key = await shop.http.post(
        f"{shop.url}/api/checkout/orders", json=order_body(), headers=shop.staff()
    )
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["detail"]
    no_address = await place(shop, "k2", order_body(address=None))
    assert no_address.status_code == 400 and "postal address" in no_address.json()["detail"]
    no_postcode = await place(shop, "k4", order_body(address=["1 Red Lane", "London"]))
    assert no_postcode.status_code == 400 and "postcode" in no_postcode.json()["detail"]
    # A stray bracket: an address the email package cannot parse, so no email would go.
    unparseable = await place(shop, "k5", order_body(email="rosa@[example.org"))
    assert unparseable.status_code == 400
    silly = order_body()
    silly["lines"] = [{"isbn": IMPERIALISM, "quantity": 11}]
    assert (await place(shop, "k3", silly)).status_code == 400
    assert await shop.orders() == []


async def test_payment_link_is_emailed_and_paying_it_marks_the_order_paid(shop: Shop) -> None:
    await stocked(shop)
    order = (await place(shop, "phone-key-2", order_body())).json()
    ref = order["reference"]
    linked = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/payment-link", headers=shop.staff()
    )
    assert linked.status_code == 200, linked.text
    body = linked.json()
    assert body["status"] == "awaiting_payment" and body["payment_method"] == "payment_link"
    url = body["payment_url"]
    assert url.startswith(f"{shop.standin_url}/pay/cs_")
    again = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/payment-link", headers=shop.staff()
    )
    assert again.json()["payment_url"] == url
    [email] = await shop.mailbox.wait_for(1)
    assert email["To"] == "rosa@example.org" and url in email.get_content()
    session_id = url.rsplit("/", 1)[1]
    session = await shop.stripe(f"/checkout/sessions/{session_id}")
    assert session["customer_email"] == "rosa@example.org"
    assert session["amount_total"] == order["total_pence"]
    # A payment link lives longer than a web session: up to Stripe's 24 hours.
    assert session["expires_at"] - session["created"] > 23 * 3600
    # The address was taken on the phone: Stripe does not ask for it again.
    assert session["shipping_address_collection"] is None

    await shop.pay(url)
    paid = await shop.wait_for_status(order["id"], "paid")
    assert paid.address == ["1 Red Lane", "London", "N1 1AA"]
    assert len(await shop.staged("catalogue.commit_reservation.v1")) == 1
    confirmation = (await shop.mailbox.wait_for(2))[1]
    assert ref in confirmation["Subject"] and "Dear Rosa Luxemburg" in confirmation.get_content()
    assert "We will post it to:\n  1 Red Lane\n  London\n  N1 1AA\n" in (
        confirmation.get_content().replace("\r\n", "\n")
    )

    # Staff refund one copy of the second book, then the rest.
    partial = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/refund",
        json={"lines": [{"isbn": RAGGED, "quantity": 1}], "reason": "damaged copy"},
        headers=shop.staff(),
    )
    assert partial.status_code == 200, partial.text
    assert partial.json()["status"] == "paid"
    assert partial.json()["refunded_pence"] == 1299
    # A double click on the same refund is one refund.
    double = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/refund",
        json={"amount_pence": 100_000, "reason": "too much"},
        headers=shop.staff(),
    )
    assert double.status_code == 409
    rest = paid.total_pence - 1299
    full = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/refund",
        json={"amount_pence": rest, "reason": "customer changed their mind"},
        headers=shop.staff(),
    )
    assert full.status_code == 200 and full.json()["status"] == "refunded"
    assert full.json()["refunded_pence"] == paid.total_pence
    intent = await shop.stripe(f"/payment_intents/{paid.stripe_payment_intent}")
    charge = await shop.stripe(f"/charges/{intent['latest_charge']}")
    assert charge["amount_refunded"] == paid.total_pence
    # charge.refunded events come back for both and count nothing twice.
    await shop.wait_for_delivery("charge.refunded")
    await asyncio.sleep(0.5)
    final = await shop.order(paid.id)
    assert final.refunded_pence == paid.total_pence
    refunded_events = await shop.staged("checkout.order_refunded.v1")
    assert sum(e["amount_pence"] for e in refunded_events) == paid.total_pence


async def test_dispatch_sends_the_notice(shop: Shop) -> None:
    await stocked(shop)
    ref = (await place(shop, "phone-key-3", order_body())).json()["reference"]
    url = (
        await shop.http.post(
            f"{shop.url}/api/checkout/orders/{ref}/payment-link", headers=shop.staff()
        )
    ).json()["payment_url"]
    not_yet = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/fulfil",
        json={"how": "dispatched"},
        headers=shop.staff(),
    )
    assert not_yet.status_code == 409
    await shop.pay(url)
    order = await shop.wait_for_status((await shop.orders())[0].id, "paid")
    done = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/fulfil",
        json={"how": "dispatched"},
        headers=shop.staff(),
    )
    assert done.status_code == 200 and done.json()["status"] == "fulfilled"
    assert done.json()["fulfilled_as"] == "dispatched"
    emails = await shop.mailbox.wait_for(3)
    notice = emails[2]
    assert "dispatched" in notice["Subject"] and "1 Red Lane" in notice.get_content()
    assert order.reference == ref


async def test_pay_on_collection_is_paid_at_the_counter_when_collected(shop: Shop) -> None:
    await stocked(shop)
    created = (await place(shop, "phone-key-4", order_body("collection"))).json()
    ref = created["reference"]
    assert created["postage_pence"] == 0 and created["address"] is None
    posted_ref = (await place(shop, "phone-key-5", order_body())).json()["reference"]
    refused = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{posted_ref}/pay-on-collection", headers=shop.staff()
    )
    assert refused.status_code == 409
    waiting = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/pay-on-collection", headers=shop.staff()
    )
    assert waiting.json()["status"] == "awaiting_payment"
    assert waiting.json()["payment_method"] == "on_collection"
    collected = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/fulfil",
        json={"how": "collected"},
        headers=shop.staff(),
    )
    assert collected.status_code == 200, collected.text
    body = collected.json()
    assert [h["status"] for h in body["history"]] == [
        "pending",
        "reserved",
        "awaiting_payment",
        "paid",
        "fulfilled",
    ]
    assert [c["order_id"] for c in await shop.staged("catalogue.commit_reservation.v1")] == [
        created["id"]
    ]
    [notice] = await shop.mailbox.wait_for(1)
    assert "collected" in notice["Subject"]


async def test_a_collection_orders_expired_link_leaves_the_copies_held_for_a_new_one(
    shop: Shop,
) -> None:
    await stocked(shop)
    created = (await place(shop, "phone-key-6", order_body("collection"))).json()
    ref = created["reference"]
    first = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/payment-link", headers=shop.staff()
    )
    first_url = first.json()["payment_url"]
    first_session = await shop.stripe(f"/checkout/sessions/{first_url.rsplit('/', 1)[1]}")
    [first_email] = await shop.mailbox.wait_for(1)
    expiry = datetime.fromtimestamp(first_session["expires_at"], UTC)
    assert f"The link works until {spoken_time(expiry)} (UK time)" in first_email.get_content()

    # Stripe ends the link after a day; the copies are held for the week a collection waits.
    await shop.standin("POST", f"/_standin/sessions/{first_session['id']}/expire_now")
    lapsed = await shop.wait_for_status(created["id"], "reserved")
    assert lapsed.history[-1].note == "payment link expired; the copies are still held"
    assert lapsed.hold_until is not None
    assert lapsed.hold_until - utcnow() > timedelta(days=6)
    assert await shop.staged("catalogue.release_reservation.v1") == []
    read = await shop.http.get(f"{shop.url}/api/checkout/orders/{ref}", headers=shop.staff())
    assert read.json()["payment_url"] is None

    renewed = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/payment-link", headers=shop.staff()
    )
    assert renewed.status_code == 200, renewed.text
    second_url = renewed.json()["payment_url"]
    assert renewed.json()["status"] == "awaiting_payment" and second_url != first_url
    second_session = await shop.stripe(f"/checkout/sessions/{second_url.rsplit('/', 1)[1]}")
    assert second_session["status"] == "open" and second_session["id"] != first_session["id"]
    second_email = (await shop.mailbox.wait_for(2))[1]
    assert second_url in second_email.get_content()
    assert first_url not in second_email.get_content()
    expiry = datetime.fromtimestamp(second_session["expires_at"], UTC)
    assert f"The link works until {spoken_time(expiry)} (UK time)" in second_email.get_content()

    await shop.pay(second_url)
    paid = await shop.wait_for_status(created["id"], "paid")
    assert [c["order_id"] for c in await shop.staged("catalogue.commit_reservation.v1")] == [
        str(paid.reservation_id)
    ]


async def test_a_posted_orders_link_that_expires_with_its_hold_closes_the_order(
    shop: Shop,
) -> None:
    await stocked(shop)
    created = (await place(shop, "phone-key-7", order_body())).json()
    ref = created["reference"]
    url = (
        await shop.http.post(
            f"{shop.url}/api/checkout/orders/{ref}/payment-link", headers=shop.staff()
        )
    ).json()["payment_url"]
    # The hold ends with the link (a margin after it): no time is left for another.
    async with shop.db.writing() as session:
        await session.execute(
            update(Order)
            .where(Order.reference == ref)
            .values(hold_until=utcnow() + timedelta(minutes=5))
        )
    await shop.standin("POST", f"/_standin/sessions/{url.rsplit('/', 1)[1]}/expire_now")
    await shop.wait_for_status(created["id"], "expired")
    [release] = await shop.staged("catalogue.release_reservation.v1")
    assert release["order_id"] == created["id"]


async def test_a_pay_on_collection_customer_gets_the_receipt_when_collecting(shop: Shop) -> None:
    await stocked(shop)
    created = (await place(shop, "phone-key-8", order_body("collection"))).json()
    ref = created["reference"]
    await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/pay-on-collection", headers=shop.staff()
    )
    collected = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/fulfil",
        json={"how": "collected"},
        headers=shop.staff(),
    )
    assert collected.json()["status"] == "fulfilled"
    [receipt] = await shop.mailbox.wait_for(1)
    assert receipt["To"] == "rosa@example.org"
    assert receipt["Subject"] == f"Your order {ref}: paid and collected"
    content = receipt.get_content().replace("\r\n", "\n")
    assert "You paid for it at the counter when you collected it" in content
    assert "1 x Imperialism and Global Political Economy @ £19.99 = £19.99" in content
    assert "2 x The Ragged Trousered Philanthropists @ £12.99 = £25.98" in content
    assert f"Total: {format_pence(created['total_pence'])}" in content
    # One email: the receipt says the order was collected.
    await asyncio.sleep(0.3)
    assert len(shop.mailbox.messages) == 1


@pytest.mark.parametrize("phone", ["abc", "123", "0207 946 0958 0000 0", "07700 900123 ext 4"])
async def test_a_phone_number_that_is_not_one_is_refused(shop: Shop, phone: str) -> None:
    await stocked(shop)
    refused = await place(shop, "phone-key-9", order_body(phone=phone))
    assert refused.status_code == 400
    assert f"'{phone}' does not look like a phone number" in refused.json()["detail"]
    assert await shop.orders() == []


async def test_phone_numbers_as_people_write_them_are_taken(shop: Shop) -> None:
    for isbn, (title, price) in BOOKS.items():
        await shop.add_book(isbn, title=title, price_pence=price, stock=10)
    for key, phone in enumerate(("07700 900123", "+44 20 7946 0958", "(020) 7946 0958", None)):
        placed = await place(shop, f"phone-key-ok-{key}", order_body(phone=phone))
        assert placed.status_code == 201, placed.text
        assert placed.json()["customer_phone"] == phone
