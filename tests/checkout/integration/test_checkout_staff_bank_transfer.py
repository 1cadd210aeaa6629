"""A phone order's customer who pays by bank transfer through the emailed link: the clerk sees
the transfer on its way, not a link to read out, and the used link is not sent again."""

from __future__ import annotations

import re

import httpx
import pytest
from conftest import Shop, phone_order, text_of
from selectolax.lexbor import LexborHTMLParser as HTMLParser

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("stocked")]

RAGGED = "9781788731799"


async def test_a_transfer_on_its_way_is_shown_and_its_link_not_sent_again(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(RAGGED, 1)])
    assert (await clerk.post(f"/staff/phone/orders/{ref}/payment-link")).status_code == 303
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.stripe_session_url
    await shop.pay(order.stripe_session_url, action="bank_transfer")
    await shop.wait_for_delivery("checkout.session.completed")

    page = await clerk.get(f"/staff/orders/{ref}")
    shown = text_of(page)
    assert "Paying by bank transfer: it is on its way" in shown
    assert HTMLParser(page.text).css("[data-testid=payment-link]") == []

    [resend] = [
        form.attributes["action"] or ""
        for form in HTMLParser(page.text).css("form")
        if re.search(r"/emails/\d+/resend$", form.attributes.get("action") or "")
    ]
    again = await clerk.post(resend)
    assert again.status_code == 409
    assert "payment link no longer works" in text_of(again)


async def test_a_link_asked_for_an_order_to_pay_on_collection_is_refused_in_words(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    """As from a second tab left open before pay on collection was chosen."""
    ref = await phone_order(clerk, [(RAGGED, 1)], delivery="collection")
    assert (await clerk.post(f"/staff/phone/orders/{ref}/pay-on-collection")).is_redirect

    link = await clerk.post(f"/staff/phone/orders/{ref}/payment-link")

    assert link.status_code == 409
    assert f"Order {ref} is to be paid on collection; it cannot be sent a link." in text_of(link)
