"""A collection customer is told, once, when their order is packed and ready to collect: what to
bring, where, and what is left to pay at the counter. Emails go through the outbox to a real SMTP
server; payments through the Stripe stand-in."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from conftest import Shop, phone_order, text_of
from sqlalchemy import select

from services.checkout.models import Email

pytestmark = pytest.mark.integration

IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"
READY = "is ready to collect"


async def collection_order(
    clerk: httpx.AsyncClient,
    lines: list[tuple[str, int]],
    *,
    delivery: str = "collection",
    email: str = "clara@example.org",
) -> str:
    return await phone_order(
        clerk,
        lines,
        delivery=delivery,
        name="Clara Zetkin",
        email=email,
        phone="0161 496 0000",
        address="9 Green Street\nManchester\nM1 1AA",
    )


async def paid_by_link(shop: Shop, clerk: httpx.AsyncClient, ref: str) -> None:
    assert (await clerk.post(f"/staff/phone/orders/{ref}/payment-link")).status_code == 303
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.stripe_session_url
    await shop.pay(order.stripe_session_url)
    await shop.wait_for_status(order.id, "paid")


async def step(clerk: httpx.AsyncClient, ref: str, name: str) -> httpx.Response:
    return await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": name})


async def kinds_written(shop: Shop, ref: str) -> list[str]:
    order = next(o for o in await shop.orders() if o.reference == ref)
    async with shop.db.reading() as session:
        return list(
            await session.scalars(
                select(Email.kind).where(Email.order_id == order.id).order_by(Email.id)
            )
        )


@pytest.mark.usefixtures("stocked")
async def test_a_paid_collection_order_packed_is_ready_to_collect_once(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await collection_order(clerk, [(RAGGED, 2)])
    await paid_by_link(shop, clerk, ref)
    _, confirmation = await shop.mailbox.wait_for(2)
    assert "We will let you know when it is ready to collect" in confirmation.get_content()
    assert (await step(clerk, ref, "picking")).status_code == 303
    await asyncio.sleep(0.3)
    assert len(shop.mailbox.messages) == 2  # picking tells the customer nothing

    packed = await step(clerk, ref, "packed")

    assert packed.status_code == 303
    assert packed.headers["location"] == f"/staff/orders/{ref}?done=ready"
    shown = text_of(await clerk.get(packed.headers["location"]))
    assert "the customer has been emailed that it is ready to collect" in shown
    ready = (await shop.mailbox.wait_for(3))[2]
    assert (ready["To"], ready["Subject"]) == ("clara@example.org", f"Your order {ref} {READY}")
    body = " ".join(ready.get_content().split())
    assert "2 x The Ragged Trousered Philanthropists" in body
    assert "at the shop counter during opening hours" in body
    assert f"bring your order reference, {ref}" in body
    assert "already paid" in body and "Please pay" not in body
    # The step again changes nothing, and emails no one.
    assert (await step(clerk, ref, "packed")).status_code == 303
    await asyncio.sleep(0.3)
    assert len(shop.mailbox.messages) == 3
    assert await kinds_written(shop, ref) == ["payment_link", "confirmation", "ready_to_collect"]
    assert "ready to collect to clara@example.org" in text_of(
        await clerk.get(f"/staff/orders/{ref}")
    )


@pytest.mark.usefixtures("stocked")
async def test_an_order_to_pay_on_collection_is_told_what_to_pay_at_the_counter(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await collection_order(clerk, [(RAGGED, 1), (IMPERIALISM, 1)])
    assert (await clerk.post(f"/staff/phone/orders/{ref}/pay-on-collection")).status_code == 303

    assert (await step(clerk, ref, "packed")).status_code == 303

    [ready] = await shop.mailbox.wait_for(1)
    assert ready["Subject"] == f"Your order {ref} {READY}"
    body = " ".join(ready.get_content().split())
    assert "Please pay £32.98 at the counter when you collect it" in body  # 1299 + 1999
    assert "We keep the books for you until" in body and "(UK time)" in body
    assert f"bring your order reference, {ref}" in body


@pytest.mark.usefixtures("stocked")
async def test_staff_are_told_to_ring_a_collection_customer_without_an_email_address(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await collection_order(clerk, [(RAGGED, 1)], email="")
    assert (await clerk.post(f"/staff/phone/orders/{ref}/pay-on-collection")).status_code == 303

    packed = await step(clerk, ref, "packed")

    assert packed.headers["location"] == f"/staff/orders/{ref}?done=ready_unemailed"
    shown = text_of(await clerk.get(packed.headers["location"]))
    assert "No email address: ring the customer to say it is ready to collect" in shown
    assert await kinds_written(shop, ref) == []


@pytest.mark.usefixtures("stocked")
async def test_a_posted_order_packed_is_not_ready_to_collect(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await collection_order(clerk, [(IMPERIALISM, 1)], delivery="post")
    await paid_by_link(shop, clerk, ref)
    await shop.mailbox.wait_for(2)

    packed = await step(clerk, ref, "packed")

    assert packed.headers["location"] == f"/staff/orders/{ref}?done=packed"
    await asyncio.sleep(0.3)
    assert len(shop.mailbox.messages) == 2
    assert await kinds_written(shop, ref) == ["payment_link", "confirmation"]
