"""A paid order's sold copies stay on the shelf until they are posted or collected, or the order
is refunded in full: checkout tells the catalogue then (CloseSale), so that a stock take counts
them as the customer's until that moment and not as the shop's after it."""

from __future__ import annotations

import httpx
import pytest
from conftest import Shop, paid_phone_order, phone_order

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("stocked")]

IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"
CLOSE = "catalogue.close_sale.v1"
COMMIT = "catalogue.commit_reservation.v1"


async def reservation_of(shop: Shop, ref: str) -> str:
    return str(next(o for o in await shop.orders() if o.reference == ref).reservation_id)


async def orders_in(shop: Shop, task: str) -> list[str]:
    """The reservations named by the messages of one kind checkout queued."""
    return [message["order_id"] for message in await shop.staged(task)]


async def test_a_posted_order_closes_its_sale_when_dispatched(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 2)])
    # Paid and packed, the copies are still here.
    await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "packed"})
    assert await orders_in(shop, CLOSE) == []

    sent = await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "dispatched"})
    assert sent.is_redirect, sent.text
    assert await orders_in(shop, CLOSE) == [await reservation_of(shop, ref)]


async def test_paid_at_the_counter_the_sale_is_made_and_closed_together(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(RAGGED, 1)], delivery="collection")
    assert (await clerk.post(f"/staff/phone/orders/{ref}/pay-on-collection")).is_redirect
    collected = await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "collected"})
    assert collected.is_redirect, collected.text

    reservation = await reservation_of(shop, ref)
    assert await orders_in(shop, COMMIT) == [reservation]
    assert await orders_in(shop, CLOSE) == [reservation]


async def test_a_paid_order_refunded_in_full_closes_its_sale_and_a_part_refund_does_not(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1), (RAGGED, 1)])
    part = await clerk.post(
        f"/staff/orders/{ref}/refund",
        data={"what": "lines", f"refund_{RAGGED}": "1", "reason": "damaged"},
    )
    assert part.status_code == 303, part.text
    assert await orders_in(shop, CLOSE) == []

    rest = await clerk.post(f"/staff/orders/{ref}/refund", data={"what": "all", "reason": "sorry"})
    assert rest.status_code == 303, rest.text
    assert await orders_in(shop, CLOSE) == [await reservation_of(shop, ref)]


async def test_a_dispatched_order_refunded_later_is_closed_once(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1)])
    await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "dispatched"})
    refunded = await clerk.post(
        f"/staff/orders/{ref}/refund", data={"what": "all", "reason": "lost in the post"}
    )
    assert refunded.status_code == 303, refunded.text
    assert len(await shop.staged(CLOSE)) == 1
