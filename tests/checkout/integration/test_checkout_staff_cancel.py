"""Staff cancel an order not yet paid from the staff pages, as the error messages tell them to: the
copies go back on the shelf and any payment link stops working, through the same use case as
the JSON API's cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import Shop, one, phone_order, text_of
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode

from shared.auth.roles import Role

pytestmark = pytest.mark.integration

IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"
RELEASE = "catalogue.release_reservation.v1"


def cancel_form(response: httpx.Response) -> LexborNode:
    assert response.status_code == 200, response.text
    return one(HTMLParser(response.text), "[data-testid=cancel] form[action$='/cancel']")


@pytest.mark.usefixtures("stocked")
async def test_an_order_taken_by_mistake_is_cancelled_from_the_placed_page(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(IMPERIALISM, 1), (RAGGED, 2)])
    form = cancel_form(await clerk.get(f"/staff/phone/orders/{ref}"))
    one(form, "input[name=_csrf_token]")
    assert one(form, "button").text().strip().startswith("Yes, cancel the order")

    cancelled = await clerk.post(form.attributes["action"] or "")

    assert cancelled.status_code == 303, cancelled.text
    shown = await clerk.get(cancelled.headers["location"])
    assert "Cancelled; the copies are back on the shelf" in text_of(shown)
    assert one(HTMLParser(shown.text), "[data-testid=status]").text() == "cancelled"
    assert "cancelled by pat" in text_of(shown)
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.status == "cancelled"
    [release] = await shop.staged(RELEASE)
    assert release["order_id"] == str(order.reservation_id)
    # Done: neither page offers it again, and a second press (a double click) changes nothing.
    for path in (f"/staff/phone/orders/{ref}", f"/staff/orders/{ref}"):
        assert HTMLParser((await clerk.get(path)).text).css("[data-testid=cancel]") == []
    again = await clerk.post(form.attributes["action"] or "")
    assert again.status_code == 303
    assert len(await shop.staged(RELEASE)) == 1


@pytest.mark.usefixtures("stocked")
async def test_cancelling_an_order_awaiting_payment_ends_its_payment_link(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(RAGGED, 1)], delivery="collection")
    assert (await clerk.post(f"/staff/phone/orders/{ref}/payment-link")).status_code == 303
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.status == "awaiting_payment" and order.stripe_session_id

    detail = await clerk.get(f"/staff/orders/{ref}")
    warning = one(HTMLParser(detail.text), "[data-testid=cancel]").text()
    assert "the payment link stops working" in " ".join(warning.split())
    form = cancel_form(detail)
    cancelled = await clerk.post(form.attributes["action"] or "")

    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"/staff/orders/{ref}?done=cancelled"
    assert (await shop.order(order.id)).status == "cancelled"
    session = await shop.stripe(f"/checkout/sessions/{order.stripe_session_id}")
    assert session["status"] == "expired"
    assert len(await shop.staged(RELEASE)) == 1
    # Sent the link, the customer is told it no longer works.
    link, told = await shop.mailbox.wait_for(2)
    assert "Pay for your order" in link["Subject"]
    assert told["Subject"] == f"Your order {ref} has been cancelled"
    assert "The payment link we sent you no longer works." in told.get_content()


@pytest.mark.usefixtures("stocked")
async def test_an_order_to_be_paid_on_collection_can_be_cancelled(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(RAGGED, 1)], delivery="collection")
    assert (await clerk.post(f"/staff/phone/orders/{ref}/pay-on-collection")).status_code == 303
    form = cancel_form(await clerk.get(f"/staff/phone/orders/{ref}"))

    assert (await clerk.post(form.attributes["action"] or "")).status_code == 303

    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.status == "cancelled"
    assert len(await shop.staged(RELEASE)) == 1


@pytest.mark.usefixtures("stocked")
async def test_a_paid_order_is_not_offered_for_cancelling_and_is_refused(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(IMPERIALISM, 1)])
    assert (await clerk.post(f"/staff/phone/orders/{ref}/payment-link")).status_code == 303
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.stripe_session_url
    await shop.pay(order.stripe_session_url)
    await shop.wait_for_status(order.id, "paid")

    for path in (f"/staff/phone/orders/{ref}", f"/staff/orders/{ref}"):
        assert HTMLParser((await clerk.get(path)).text).css("[data-testid=cancel]") == []
    refused = await clerk.post(f"/staff/orders/{ref}/cancel")

    assert refused.status_code == 409
    assert "An order that is paid cannot become cancelled" in text_of(refused)
    assert (await shop.order(order.id)).status == "paid"
    assert await shop.staged(RELEASE) == []


async def test_cancelling_needs_the_phone_orders_role(
    shop: Shop, staff_session: Callable[..., Any]
) -> None:
    async with httpx.AsyncClient(base_url=shop.url) as editor:
        await staff_session(editor, Role.EDITOR, username="eve")
        assert (await editor.post("/staff/orders/ACDEFGHJ/cancel")).status_code == 403
