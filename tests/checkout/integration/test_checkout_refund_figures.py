"""After a partial refund the reader's look-up page and the staff order page show what the order
now is: each line's copies bought and refunded, and the money refunded and still paid, not the
quantities and total it was bought with. Payments go through the Stripe stand-in."""

from __future__ import annotations

import httpx
import pytest
from conftest import BOOKS, Shop, one, paid_phone_order
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from shared.money import format_pence

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("stocked")]

IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"
RAGGED_PRICE = BOOKS[RAGGED][1]


def said(page: HTMLParser, testid: str) -> str:
    return " ".join(one(page, f"[data-testid={testid}]").text().split())


async def test_one_of_two_copies_refunded_is_shown_refunded_to_the_reader_and_the_staff(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(RAGGED, 2), (IMPERIALISM, 1)])
    refunded = await clerk.post(
        f"/staff/orders/{ref}/refund",
        data={"what": "lines", "reason": "one copy too many", f"refund_{RAGGED}": "1"},
    )
    assert refunded.status_code == 303, refunded.text
    order = next(o for o in await shop.orders() if o.reference == ref)
    still_paid = format_pence(order.total_pence - RAGGED_PRICE)

    reader = await shop.http.post(
        f"{shop.url}/orders/status", data={"reference": ref, "email": "rosa@example.org"}
    )
    staff = await clerk.get(f"/staff/orders/{ref}")

    for response in (reader, staff):
        assert response.status_code == 200, response.text
        page = HTMLParser(response.text)
        assert said(page, f"copies-{RAGGED}") == "2 bought, 1 refunded"
        assert said(page, f"line-money-{RAGGED}") == (
            f"{format_pence(RAGGED_PRICE)} refunded, {format_pence(RAGGED_PRICE)} paid"
        )
        # The line nothing was refunded of is as it was bought.
        assert said(page, f"copies-{IMPERIALISM}") == "1"
        assert page.css(f"[data-testid=line-money-{IMPERIALISM}]") == []
        assert said(page, "refunded") == format_pence(RAGGED_PRICE)
        assert said(page, "paid") == still_paid
