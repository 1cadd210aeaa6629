"""Staff refunds by line and in full: a copy is paid back once, a dispatched or collected order
can still be refunded, a refused refund keeps what was typed, and the order's page tells its
status changes and refunds in one story, by time. Payments go through the Stripe stand-in."""

from __future__ import annotations

import httpx
import pytest
from conftest import BOOKS, Shop, one, paid_phone_order, text_of
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from shared.money import format_pence

pytestmark = pytest.mark.integration

IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"
RAGGED_TITLE, RAGGED_PRICE = BOOKS[RAGGED]


async def refund_lines(
    clerk: httpx.AsyncClient, ref: str, copies: dict[str, str], reason: str = "damaged copy"
) -> httpx.Response:
    form = {"what": "lines", "reason": reason} | {f"refund_{i}": q for i, q in copies.items()}
    return await clerk.post(f"/staff/orders/{ref}/refund", data=form)


async def refund_emails(shop: Shop, expected: int) -> list[str]:
    # The payment link and the receipt come first.
    mail = await shop.mailbox.wait_for(2 + expected)
    return [m["Subject"] for m in mail if "Refund" in m["Subject"]]


@pytest.mark.usefixtures("stocked")
async def test_a_copy_refunded_by_line_cannot_be_refunded_again(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1), (RAGGED, 1)])
    left = one(
        HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text), "form[action$='/refund']"
    )
    assert "of 1 left" in one(left, f"[data-testid=copies-left-{RAGGED}]").text()

    first = await refund_lines(clerk, ref, {IMPERIALISM: "0", RAGGED: "1"})
    assert first.status_code == 303, first.text

    # The page shows none left of that book, with nothing to type it in.
    form = one(
        HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text), "form[action$='/refund']"
    )
    assert one(form, f"[data-testid=copies-left-{RAGGED}]").text().strip() == "0 left"
    assert form.css(f"input[name=refund_{RAGGED}]") == []
    assert "of 1 left" in one(form, f"[data-testid=copies-left-{IMPERIALISM}]").text()
    # The form, a tab left open from before the first refund, and the API all refuse it again.
    again = await refund_lines(clerk, ref, {IMPERIALISM: "0", RAGGED: "1"})
    assert again.status_code == 409
    assert (
        f"Refund from 0 to 0 copies of '{RAGGED_TITLE}', not 1: 1 of its 1 refunded already."
        in text_of(again)
    )
    by_api = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/refund",
        json={"lines": [{"isbn": RAGGED, "quantity": 1}], "reason": "damaged copy"},
        headers=shop.staff(),
    )
    assert by_api.status_code == 409 and RAGGED_TITLE in by_api.json()["detail"]
    # Naming the other book twice does not slip past its one copy.
    twice = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/refund",
        json={
            "lines": [{"isbn": IMPERIALISM, "quantity": 1}, {"isbn": IMPERIALISM, "quantity": 1}],
            "reason": "damaged copy",
        },
        headers=shop.staff(),
    )
    assert twice.status_code == 400 and "not 2" in twice.json()["detail"]
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert (order.status, order.refunded_pence) == ("paid", RAGGED_PRICE)
    assert len(await refund_emails(shop, 1)) == 1

    # Everything left is still the money left, postage and all.
    rest = await clerk.post(
        f"/staff/orders/{ref}/refund", data={"what": "all", "reason": "customer cancelled"}
    )
    assert rest.status_code == 303, rest.text
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert (order.status, order.refunded_pence) == ("refunded", order.total_pence)


@pytest.mark.usefixtures("stocked")
async def test_a_dispatched_order_is_refunded_by_line_then_in_full(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1), (RAGGED, 2)])
    dispatched = await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "dispatched"})
    assert dispatched.status_code == 303, dispatched.text
    page = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    assert one(page, "[data-testid=status]").text().strip() == "fulfilled"

    # One copy came back damaged: the order stays dispatched, with the refund counted.
    damaged = await refund_lines(clerk, ref, {RAGGED: "1"})
    assert damaged.status_code == 303, damaged.text
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert (order.status, order.refunded_pence) == ("fulfilled", RAGGED_PRICE)
    refunded = await shop.staged("checkout.order_refunded.v1")
    assert [(e["reference"], e["amount_pence"]) for e in refunded] == [(ref, RAGGED_PRICE)]

    # The customer sends the rest back.
    returned = await clerk.post(
        f"/staff/orders/{ref}/refund", data={"what": "all", "reason": "returned"}
    )
    assert returned.status_code == 303, returned.text
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert (order.status, order.refunded_pence) == ("refunded", order.total_pence)
    refunded = await shop.staged("checkout.order_refunded.v1")
    assert sum(e["amount_pence"] for e in refunded) == order.total_pence
    assert len(await refund_emails(shop, 3)) == 2


@pytest.mark.usefixtures("stocked")
async def test_a_refused_refund_keeps_what_was_typed(shop: Shop, clerk: httpx.AsyncClient) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 2), (RAGGED, 1)])
    assert (await refund_lines(clerk, ref, {RAGGED: "1"})).status_code == 303

    refused = await refund_lines(
        clerk, ref, {IMPERIALISM: "2", RAGGED: "1"}, reason="both arrived wet"
    )
    assert refused.status_code == 409
    form = one(HTMLParser(refused.text), "form[action$='/refund']")
    assert one(form, "input[name=reason]").attributes["value"] == "both arrived wet"
    assert one(form, f"input[name=refund_{IMPERIALISM}]").attributes["value"] == "2"
    assert "checked" in one(form, "input[name=what][value=lines]").attributes
    no_reason = await clerk.post(
        f"/staff/orders/{ref}/refund", data={"what": "all", f"refund_{IMPERIALISM}": "1"}
    )
    assert no_reason.status_code == 400
    form = one(HTMLParser(no_reason.text), "form[action$='/refund']")
    assert "checked" in one(form, "input[name=what][value=all]").attributes
    assert "checked" not in one(form, "input[name=what][value=lines]").attributes
    assert one(form, f"input[name=refund_{IMPERIALISM}]").attributes["value"] == "1"


@pytest.mark.usefixtures("stocked")
async def test_the_history_tells_refunds_and_status_changes_in_time_order(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1), (RAGGED, 1)])
    assert (await refund_lines(clerk, ref, {RAGGED: "1"})).status_code == 303
    await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "dispatched"})

    page = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    history = [item.css_first("strong").text() for item in page.css("[data-testid=history] li")]
    assert history[-3:] == ["paid", f"refund {format_pence(RAGGED_PRICE)}", "fulfilled"]
    refund = page.css("[data-testid=history] li")[-2].text()
    assert f"damaged copy (1 × {RAGGED_TITLE}; back on the shelf)" in " ".join(refund.split())
