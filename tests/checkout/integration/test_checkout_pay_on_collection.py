"""A customer sent a payment link rings back to pay at the counter instead: the link is ended at
Stripe before the order changes, and a customer who paid by it first keeps that payment. The
stand-in sends no webhooks here; each test delivers Stripe's events itself, in the order it
wants them."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import BOOKS, Shop
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from services.checkout.models import Order

pytestmark = pytest.mark.integration

ISBN = "9781788731799"
TITLE, PRICE = BOOKS[ISBN]
RELEASE = "catalogue.release_reservation.v1"


@pytest.fixture
def standin_overrides() -> dict[str, Any]:
    return {"webhook_urls": []}


async def linked_collection(shop: Shop) -> Order:
    """A phone order to collect, sent a payment link that is still open."""
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    placed = await shop.http.post(
        f"{shop.url}/api/checkout/orders",
        json={
            "customer": {"name": "Clara Zetkin", "email": "clara@example.org", "phone": None},
            "lines": [{"isbn": ISBN, "quantity": 1}],
            "delivery": "collection",
        },
        headers=shop.staff() | {"Idempotency-Key": "clara-1"},
    )
    assert placed.status_code == 201, placed.text
    ref = placed.json()["reference"]
    linked = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/payment-link", headers=shop.staff()
    )
    assert linked.json()["status"] == "awaiting_payment", linked.text
    await shop.mailbox.wait_for(1)
    [order] = await shop.orders()
    return order


async def pay_on_collection(shop: Shop, order: Order) -> Any:
    return await shop.http.post(
        f"{shop.url}/api/checkout/orders/{order.reference}/pay-on-collection",
        headers=shop.staff(),
    )


async def event_for(shop: Shop, kind: str, order: Order) -> dict[str, Any]:
    listed = (await shop.stripe(f"/events?type={kind}"))["data"]
    [event] = [e for e in listed if e["data"]["object"]["id"] == order.stripe_session_id]
    return event


async def test_an_open_link_is_ended_at_stripe_and_the_order_paid_at_the_counter(
    shop: Shop,
) -> None:
    order = await linked_collection(shop)
    assert order.stripe_session_url

    switched = await pay_on_collection(shop, order)

    assert switched.status_code == 200, switched.text
    body = switched.json()
    assert (body["status"], body["payment_method"], body["payment_url"]) == (
        "awaiting_payment",
        "on_collection",
        None,
    )
    assert body["history"][-1]["note"] == "pay on collection"
    session = await shop.stripe(f"/checkout/sessions/{order.stripe_session_id}")
    assert (session["status"], session["url"]) == ("expired", None)
    assert (await shop.pay(order.stripe_session_url)).status_code == 400
    # The copies stay held for the collection, for as long as before.
    assert await shop.staged(RELEASE) == []
    assert (await shop.order(order.id)).hold_until == order.hold_until
    # The customer rings twice, or the clerk presses twice: nothing more happens.
    again = await pay_on_collection(shop, order)
    assert again.status_code == 200 and again.json()["history"] == body["history"]

    # Stripe's word that the link ended comes after the switch, and changes nothing.
    expired = await shop.deliver(await event_for(shop, "checkout.session.expired", order))
    assert expired.status_code == 200, expired.text
    assert expired.json() == {"received": "to be paid on collection"}
    after = await shop.order(order.id)
    assert (after.status, after.payment_method) == ("awaiting_payment", "on_collection")
    assert len(after.history) == len(body["history"])
    assert await shop.staged(RELEASE) == []

    collected = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{order.reference}/fulfil",
        json={"how": "collected"},
        headers=shop.staff(),
    )
    assert collected.status_code == 200, collected.text
    assert [c["order_id"] for c in await shop.staged("catalogue.commit_reservation.v1")] == [
        str(order.reservation_id)
    ]


async def test_a_customer_who_just_paid_by_the_link_is_not_switched_to_the_counter(
    shop: Shop,
) -> None:
    order = await linked_collection(shop)
    # The customer pays while the clerk is on the phone; Stripe's webhook is still on its way.
    assert (await shop.pay(order.stripe_session_url or "")).status_code == 303

    refused = await pay_on_collection(shop, order)

    assert refused.status_code == 409, refused.text
    assert "the customer has just paid by the link" in refused.json()["detail"]
    unchanged = await shop.order(order.id)
    assert (unchanged.status, unchanged.payment_method) == ("awaiting_payment", "payment_link")
    session = await shop.stripe(f"/checkout/sessions/{order.stripe_session_id}")
    assert (session["status"], session["payment_status"]) == ("complete", "paid")

    paid = await shop.deliver(await event_for(shop, "checkout.session.completed", order))
    assert paid.status_code == 200, paid.text
    assert (await shop.order(order.id)).status == "paid"
    assert len(await shop.staged("catalogue.commit_reservation.v1")) == 1
    assert await shop.staged(RELEASE) == []


async def test_a_link_stripe_cannot_reach_to_end_leaves_the_order_as_it_was(shop: Shop) -> None:
    order = await linked_collection(shop)
    await shop.standin(
        "POST",
        "/_standin/faults",
        json={"path": f"/v1/checkout/sessions/{order.stripe_session_id}/expire", "kind": "error"},
    )

    unavailable = await pay_on_collection(shop, order)

    assert unavailable.status_code == 503, unavailable.text
    assert "Retry-After" in unavailable.headers
    unchanged = await shop.order(order.id)
    assert (unchanged.status, unchanged.payment_method) == ("awaiting_payment", "payment_link")
    session = await shop.stripe(f"/checkout/sessions/{order.stripe_session_id}")
    assert session["status"] == "open"
    # The clerk tries again a minute later, as told.
    assert (await pay_on_collection(shop, order)).json()["payment_method"] == "on_collection"


async def test_the_customer_looking_up_the_order_is_told_to_pay_when_collecting(
    shop: Shop,
) -> None:
    order = await linked_collection(shop)
    assert (await pay_on_collection(shop, order)).status_code == 200

    looked_up = await shop.http.post(
        f"{shop.url}/orders/status",
        data={"reference": order.reference, "email": "clara@example.org"},
    )

    status = HTMLParser(looked_up.text).css_first("[data-testid=status]")
    assert status is not None
    assert status.text() == "held for you: you pay when you collect"
