"""Refunded copies back on the shelf: a paid order's copies have not left the shop, so a refund
of them tells the catalogue to put them back (a damaged one is then adjusted off); after
dispatch only when staff say the books came back. The return waits for the catalogue to confirm the sale, which it
would otherwise find nothing of. Payments go through the Stripe stand-in."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import Shop, confirm_sale, one, paid_phone_order, text_of
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from services.checkout.models import Order

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("stocked")]

IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"
RETURN = "catalogue.return_to_stock.v1"


async def order_of(shop: Shop, ref: str) -> Order:
    return next(o for o in await shop.orders() if o.reference == ref)


async def returns(shop: Shop) -> list[dict[str, Any]]:
    return await shop.staged(RETURN)


def lines_of(message: dict[str, Any]) -> dict[str, int]:
    return {line["isbn13"]: line["quantity"] for line in message["lines"]}


async def refund(
    clerk: httpx.AsyncClient, ref: str, form: dict[str, str], *, restock: bool | None
) -> httpx.Response:
    """The order page's refund form; `restock` None leaves the box out, as a page drawn
    without copies to refund does."""
    box = (
        {}
        if restock is None
        else {"restock_offered": "1"} | ({"restock": "yes"} if restock else {})
    )
    return await clerk.post(f"/staff/orders/{ref}/refund", data={"reason": "damaged"} | form | box)


async def test_copies_refunded_before_dispatch_go_back_on_the_shelf(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 2), (RAGGED, 1)])
    await confirm_sale(shop, ref)
    page = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    # Not sent yet: no box to untick, the rule is said instead.
    assert page.css("input[name=restock]") == []
    assert "they have not been sent" in one(page, "[data-testid=restock-rule]").text()

    done = await refund(clerk, ref, {"what": "lines", f"refund_{IMPERIALISM}": "1"}, restock=None)
    assert done.status_code == 303, done.text

    order = await order_of(shop, ref)
    [message] = await returns(shop)
    assert message["order_id"] == str(order.reservation_id)
    assert lines_of(message) == {IMPERIALISM: 1}
    assert message["reason"] == "damaged"
    shown = await clerk.get(done.headers["location"])
    assert "the copies are back on the shelf" in text_of(shown)
    assert "damaged (1 × Imperialism and Global Political Economy; back on the shelf)" in text_of(
        shown
    )
    # The packer sees how many of the line are no longer to be sent.
    assert (
        "1 refunded"
        in one(HTMLParser(shown.text), f"[data-testid=refunded-copies-{IMPERIALISM}]").text()
    )

    # Everything left: the copies not refunded before, and the order ends.
    rest = await refund(clerk, ref, {"what": "all"}, restock=None)
    assert rest.status_code == 303, rest.text
    assert [lines_of(m) for m in await returns(shop)] == [
        {IMPERIALISM: 1},
        {IMPERIALISM: 1, RAGGED: 1},
    ]
    assert (await order_of(shop, ref)).status == "refunded"


async def test_a_return_waits_for_the_catalogue_to_confirm_the_sale(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(RAGGED, 2)])
    done = await refund(clerk, ref, {"what": "lines", f"refund_{RAGGED}": "2"}, restock=None)
    assert done.status_code == 303, done.text
    # Sent now, it could overtake the commit and find nothing sold.
    assert await returns(shop) == []

    await confirm_sale(shop, ref)
    [message] = await returns(shop)
    assert lines_of(message) == {RAGGED: 2}
    await confirm_sale(shop, ref)  # the catalogue confirms a repeated commit too
    assert len(await returns(shop)) == 1


async def test_after_dispatch_copies_come_back_only_when_staff_say_so(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 3)])
    await confirm_sale(shop, ref)
    assert (
        await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "dispatched"})
    ).is_redirect
    page = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    assert "checked" not in one(page, "input[name=restock]").attributes

    lost = await refund(clerk, ref, {"what": "lines", f"refund_{IMPERIALISM}": "1"}, restock=False)
    assert lost.status_code == 303, lost.text
    shown = text_of(await clerk.get(lost.headers["location"]))
    assert "Refund made. The customer has been emailed at rosa@example.org." in shown
    assert "; back on the shelf)" not in shown
    assert await returns(shop) == []

    came_back = await refund(
        clerk, ref, {"what": "lines", f"refund_{IMPERIALISM}": "1"}, restock=True
    )
    assert came_back.status_code == 303, came_back.text
    [message] = await returns(shop)
    assert lines_of(message) == {IMPERIALISM: 1}


async def test_every_book_refunded_before_dispatch_refunds_the_postage_and_ends_the_order(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1), (RAGGED, 1)])
    await confirm_sale(shop, ref)
    first = await refund(clerk, ref, {"what": "lines", f"refund_{RAGGED}": "1"}, restock=None)
    assert first.status_code == 303, first.text
    assert (await order_of(shop, ref)).status == "paid"

    last = await refund(clerk, ref, {"what": "lines", f"refund_{IMPERIALISM}": "1"}, restock=None)
    assert last.status_code == 303, last.text

    order = await order_of(shop, ref)
    assert (order.status, order.refunded_pence) == ("refunded", order.total_pence)
    assert [lines_of(m) for m in await returns(shop)] == [{RAGGED: 1}, {IMPERIALISM: 1}]
    # Nothing to pack: not in the queue.
    assert ref not in (await clerk.get("/staff/orders")).text


async def test_the_api_follows_the_rule_unless_told_and_refuses_a_restock_without_copies(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1), (RAGGED, 1)])
    await confirm_sale(shop, ref)
    api = f"{shop.url}/api/checkout/orders/{ref}/refund"

    by_amount = await shop.http.post(
        api, json={"amount_pence": 100, "reason": "late", "restock": True}, headers=shop.staff()
    )
    assert by_amount.status_code == 400
    assert "Only a refund of copies can put them back on the shelf" in by_amount.text
    goodwill = await shop.http.post(
        api, json={"amount_pence": 100, "reason": "late"}, headers=shop.staff()
    )
    assert goodwill.status_code == 200, goodwill.text
    assert await returns(shop) == []

    # Not yet dispatched: back on the shelf without being asked.
    by_line = await shop.http.post(
        api,
        json={"lines": [{"isbn": RAGGED, "quantity": 1}], "reason": "changed mind"},
        headers=shop.staff(),
    )
    assert by_line.status_code == 200, by_line.text
    [message] = await returns(shop)
    assert lines_of(message) == {RAGGED: 1}
    # A copy refunded before it is sent is on the shelf whatever the caller says.
    kept = await shop.http.post(
        api,
        json={
            "lines": [{"isbn": IMPERIALISM, "quantity": 1}],
            "reason": "damaged",
            "restock": False,
        },
        headers=shop.staff(),
    )
    assert kept.status_code == 400
    assert "take a damaged one off with an adjustment" in kept.text
