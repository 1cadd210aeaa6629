"""The orders pages: the fulfilment queue and its steps, search, an order's detail, refunds by
line with a reason, and emails sent again; payments go through the Stripe stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import Shop, one, paid_phone_order, phone_order, text_of
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from shared.auth.roles import Role
from shared.shop_time import shop_time

pytestmark = pytest.mark.integration


IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"


def references_in(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [a.text() for a in HTMLParser(response.text).css("#orders tbody td:first-child a")]


async def step(clerk: httpx.AsyncClient, ref: str, name: str) -> httpx.Response:
    return await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": name})


@pytest.mark.usefixtures("stocked")
async def test_the_queue_moves_paid_orders_from_picking_to_dispatched(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    posted = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1)])
    collecting = await phone_order(
        clerk, [(RAGGED, 1)], delivery="collection", name="Clara Zetkin", email=""
    )
    assert (await clerk.post(f"/staff/phone/orders/{collecting}/pay-on-collection")).is_redirect
    unpaid = await phone_order(clerk, [(RAGGED, 2)], name="Karl Liebknecht")
    await clerk.post(f"/staff/phone/orders/{unpaid}/payment-link")

    to_pick = await clerk.get("/staff/orders")
    assert references_in(to_pick) == [posted, collecting]  # oldest first
    assert "pay on collection" in text_of(to_pick)
    assert references_in(await clerk.get("/staff/orders?view=awaiting_payment")) == [unpaid]

    picking = await step(clerk, posted, "picking")
    assert picking.status_code == 303
    assert picking.headers["location"] == f"/staff/orders/{posted}?done=picking"
    assert "Picking started." in text_of(await clerk.get(picking.headers["location"]))
    assert references_in(await clerk.get("/staff/orders?view=to_pick")) == [collecting]
    assert references_in(await clerk.get("/staff/orders?view=picking")) == [posted]
    # A step again, or one already passed, changes nothing.
    await step(clerk, posted, "picking")
    assert (await step(clerk, posted, "packed")).status_code == 303
    await step(clerk, posted, "picking")
    assert references_in(await clerk.get("/staff/orders?view=packed")) == [posted]
    counts = text_of(await clerk.get("/staff/orders"))
    assert "To pick (1)" in counts and "Picking (0)" in counts and "Packed (1)" in counts

    wrong = await step(clerk, posted, "collected")
    assert wrong.status_code == 409 and "to be dispatched, not collected" in wrong.text
    assert (await step(clerk, posted, "dispatched")).status_code == 303
    assert references_in(await clerk.get("/staff/orders?view=done")) == [posted]
    detail = text_of(await clerk.get(f"/staff/orders/{posted}"))
    assert "picking" in detail and "packed" in detail and "dispatched by pat" in detail
    order = next(o for o in await shop.orders() if o.reference == posted)
    assert order.status == "fulfilled"
    assert [c.status for c in order.history][-4:] == ["paid", "picking", "packed", "fulfilled"]
    dispatch = [m for m in await shop.mailbox.wait_for(3) if "dispatched" in m["Subject"]]
    assert len(dispatch) == 1

    # Collected at the counter: paid there and then, and out of the queue.
    assert (await step(clerk, collecting, "collected")).status_code == 303
    assert references_in(await clerk.get("/staff/orders?view=to_pick")) == []
    assert set(references_in(await clerk.get("/staff/orders?view=done"))) == {posted, collecting}
    # An unpaid order is not picked.
    refused = await step(clerk, unpaid, "picking")
    assert refused.status_code == 409 and "only paid orders" in refused.text


@pytest.mark.usefixtures("stocked")
async def test_orders_are_found_by_reference_customer_or_isbn(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    rosa = await phone_order(clerk, [(IMPERIALISM, 1)])
    clara = await phone_order(
        clerk,
        [(RAGGED, 1)],
        name="Clara Zetkin",
        email="clara@example.org",
        phone="0161 496 0000",
    )
    found = {
        query: set(references_in(await clerk.get("/staff/orders", params={"q": query})))
        for query in (
            rosa.lower(),
            f"{clara[:4]}-{clara[4:]}",
            "zetkin",
            "rosa@EXAMPLE",
            "0161 496",
            "+44 161 496 0000",
            "(0161) 496-0000",
            "978-0-7453-3453-0",
            "1788731794",  # the ISBN-10 of the second book
            "nobody",
        )
    }
    assert found == {
        rosa.lower(): {rosa},
        f"{clara[:4]}-{clara[4:]}": {clara},
        "zetkin": {clara},
        "rosa@EXAMPLE": {rosa},
        "0161 496": {clara},
        # Written the international way, or with the area code in brackets.
        "+44 161 496 0000": {clara},
        "(0161) 496-0000": {clara},
        "978-0-7453-3453-0": {rosa},
        "1788731794": {clara},
        "nobody": set(),
    }
    # A search looks in every tab unless one is chosen.
    assert references_in(await clerk.get("/staff/orders?view=done&q=zetkin")) == []


@pytest.mark.usefixtures("stocked")
async def test_a_refund_by_line_with_its_reason(shop: Shop, clerk: httpx.AsyncClient) -> None:
    ref = await paid_phone_order(shop, clerk, [(IMPERIALISM, 1), (RAGGED, 2)])
    detail = await clerk.get(f"/staff/orders/{ref}")
    assert f"refund_{RAGGED}" in detail.text and "Refund" in detail.text

    no_reason = await clerk.post(
        f"/staff/orders/{ref}/refund", data={"what": "lines", f"refund_{RAGGED}": "1"}
    )
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.text
    too_many = await clerk.post(
        f"/staff/orders/{ref}/refund",
        data={"what": "lines", f"refund_{RAGGED}": "3", "reason": "damaged"},
    )
    assert too_many.status_code == 400 and "from 0 to 2 copies" in too_many.text

    refunded = await clerk.post(
        f"/staff/orders/{ref}/refund",
        data={
            "what": "lines",
            f"refund_{IMPERIALISM}": "0",
            f"refund_{RAGGED}": "1",
            "reason": "damaged copy",
        },
    )
    assert refunded.status_code == 303, refunded.text
    shown = text_of(await clerk.get(refunded.headers["location"]))
    assert "Refund made" in shown and "refund £12.99" in shown and "damaged copy" in shown
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert (order.status, order.refunded_pence) == ("paid", 1299)
    assert order.stripe_payment_intent
    intent = await shop.stripe(f"/payment_intents/{order.stripe_payment_intent}")
    charge = await shop.stripe(f"/charges/{intent['latest_charge']}")
    assert charge["amount_refunded"] == 1299
    notice = [m for m in await shop.mailbox.wait_for(3) if "Refund" in m["Subject"]]
    assert len(notice) == 1 and "damaged copy" in notice[0].get_content()

    # The rest, postage and all.
    rest = await clerk.post(
        f"/staff/orders/{ref}/refund", data={"what": "all", "reason": "customer cancelled"}
    )
    assert rest.status_code == 303
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert (order.status, order.refunded_pence) == ("refunded", order.total_pence)
    # Nothing is left to refund: the form is gone.
    after = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    assert after.css_first("form[action$='/refund']") is None


@pytest.mark.usefixtures("stocked")
async def test_an_email_is_sent_again(shop: Shop, clerk: httpx.AsyncClient) -> None:
    ref = await phone_order(clerk, [(IMPERIALISM, 1)])
    await clerk.post(f"/staff/phone/orders/{ref}/payment-link")
    [first] = await shop.mailbox.wait_for(1)
    detail = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    [resend] = detail.css("form[action*='/emails/']")
    again = await clerk.post(resend.attributes["action"] or "")
    assert again.status_code == 303 and again.headers["location"].endswith("?done=resent")
    second = (await shop.mailbox.wait_for(2))[1]
    assert (second["To"], second["Subject"]) == (first["To"], first["Subject"])
    assert second.get_content() == first.get_content()
    listed = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text).css("ul.emails > li")
    assert len(listed) == 2 and all("sent" in item.text() for item in listed)
    missing = await clerk.post(f"/staff/orders/{ref}/emails/999999/resend")
    assert missing.status_code == 404

    # Once the order is cancelled its payment link is dead: it is not sent again.
    cancelled = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{ref}/cancel", headers=shop.staff()
    )
    assert cancelled.status_code == 200, cancelled.text
    refused = await clerk.post(resend.attributes["action"] or "")
    assert refused.status_code == 409
    assert "payment link no longer works" in text_of(refused)
    await asyncio.sleep(0.3)
    # The link and its copy sent again, then word of the cancelling; the link not a third time.
    assert [m["Subject"] for m in shop.mailbox.messages][2:] == [
        f"Your order {ref} has been cancelled"
    ]


async def lapsed_link(shop: Shop, clerk: httpx.AsyncClient, ref: str) -> str:
    """Send the order's payment link and let Stripe expire it; returns the dead link."""
    assert (await clerk.post(f"/staff/phone/orders/{ref}/payment-link")).status_code == 303
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.stripe_session_url
    await shop.standin("POST", f"/_standin/sessions/{order.stripe_session_id}/expire_now")
    await shop.wait_for_status(order.id, "reserved")
    return order.stripe_session_url


@pytest.mark.usefixtures("stocked")
async def test_a_new_payment_link_when_the_first_expired_with_the_copies_still_held(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(RAGGED, 1)], delivery="collection")
    dead = await lapsed_link(shop, clerk, ref)
    [first] = await shop.mailbox.wait_for(1)

    detail = await clerk.get(f"/staff/orders/{ref}")
    assert "The payment link has expired; the copies are held until" in text_of(detail)
    assert 'data-testid="payment-link"' not in detail.text
    # The first email's link is dead: not sent again, and staff are told what to do instead.
    [old_email] = HTMLParser(detail.text).css("form[action*='/emails/']")
    refused = await clerk.post(old_email.attributes["action"] or "")
    assert refused.status_code == 409
    assert "send a new payment link instead" in text_of(refused)

    choice = one(HTMLParser(detail.text), "[data-testid=payment-choice]")
    renew = one(choice, "form[action$='/payment-link']")
    assert one(renew, "button").text() == "Send a new payment link"
    sent = await clerk.post(renew.attributes["action"] or "")
    assert sent.status_code == 303
    assert "Payment link sent to rosa@example.org" in text_of(
        await clerk.get(sent.headers["location"])
    )
    second = (await shop.mailbox.wait_for(2))[1]
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert (order.status, order.sessions_created) == ("awaiting_payment", 2)
    assert order.stripe_session_url and order.stripe_session_url != dead
    assert order.stripe_session_url in second.get_content() and dead not in second.get_content()
    assert first["Subject"] == second["Subject"]

    # Of the two emails, only the one with the live link is sent again.
    old_email, new_email = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text).css(
        "form[action*='/emails/']"
    )
    assert (await clerk.post(old_email.attributes["action"] or "")).status_code == 409
    assert (await clerk.post(new_email.attributes["action"] or "")).status_code == 303
    third = (await shop.mailbox.wait_for(3))[2]
    assert order.stripe_session_url in third.get_content()


@pytest.mark.usefixtures("stocked")
async def test_pay_on_collection_when_the_payment_link_expired(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(RAGGED, 1)], delivery="collection")
    await lapsed_link(shop, clerk, ref)
    placed_page = await clerk.get(f"/staff/phone/orders/{ref}")
    assert "The payment link sent to rosa@example.org has expired" in text_of(placed_page)

    choice = one(
        HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text), "[data-testid=payment-choice]"
    )
    counter = one(choice, "form[action$='/pay-on-collection']")
    chosen = await clerk.post(counter.attributes["action"] or "")
    assert chosen.status_code == 303
    assert "To be paid on collection" in text_of(await clerk.get(chosen.headers["location"]))
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert (order.status, order.payment_method) == ("awaiting_payment", "on_collection")
    assert references_in(await clerk.get("/staff/orders?view=to_pick")) == [ref]
    # The copies never went back to the shelf.
    assert await shop.staged("catalogue.release_reservation.v1") == []


@pytest.mark.usefixtures("stocked")
async def test_pay_on_collection_instead_of_a_payment_link_still_open(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await phone_order(clerk, [(RAGGED, 1)], delivery="collection")
    assert (await clerk.post(f"/staff/phone/orders/{ref}/payment-link")).status_code == 303
    await shop.mailbox.wait_for(1)
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.stripe_session_url

    # The customer rings back to pay at the counter: both pages offer it, and no second link.
    for path in (f"/staff/phone/orders/{ref}", f"/staff/orders/{ref}"):
        choice = one(HTMLParser((await clerk.get(path)).text), "[data-testid=payment-choice]")
        assert choice.css("form[action$='/payment-link']") == []
        counter = one(choice, "form[action$='/pay-on-collection']")
    chosen = await clerk.post(counter.attributes["action"] or "")

    assert chosen.status_code == 303
    assert "To be paid on collection" in text_of(await clerk.get(chosen.headers["location"]))
    session = await shop.stripe(f"/checkout/sessions/{order.stripe_session_id}")
    assert session["status"] == "expired"
    # Stripe's news that the link ended arrives, and undoes nothing.
    await shop.wait_for_delivery("checkout.session.expired")
    switched = await shop.order(order.id)
    assert (switched.status, switched.payment_method) == ("awaiting_payment", "on_collection")
    assert references_in(await clerk.get("/staff/orders?view=to_pick")) == [ref]
    assert await shop.staged("catalogue.release_reservation.v1") == []
    detail = await clerk.get(f"/staff/orders/{ref}")
    assert 'data-testid="payment-link"' not in detail.text
    # The emailed link no longer works, so it is not sent again.
    [link_email] = HTMLParser(detail.text).css("form[action*='/emails/']")
    refused = await clerk.post(link_email.attributes["action"] or "")
    assert refused.status_code == 409
    assert "payment link no longer works" in text_of(refused)


async def test_the_orders_pages_need_the_phone_orders_role(
    shop: Shop, staff_session: Callable[..., Any]
) -> None:
    async with httpx.AsyncClient(base_url=shop.url) as editor:
        await staff_session(editor, Role.EDITOR, username="eve")
        assert (await editor.get("/staff/orders")).status_code == 403
        refused = await editor.post("/staff/orders/ACDEFGHJ/refund", data={"reason": "x"})
        assert refused.status_code == 403
    async with httpx.AsyncClient(base_url=shop.url) as anonymous:
        signing_in = await anonymous.get("/staff/orders?view=packed")
        assert signing_in.status_code == 303
        assert signing_in.headers["location"].startswith("/staff/login?next=")


@pytest.mark.usefixtures("stocked")
async def test_a_web_orders_address_from_stripe_shows_on_its_detail(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    bought = await shop.buy(IMPERIALISM, email="reader@example.org")
    assert bought.status_code == 303, bought.text
    await shop.pay(bought.headers["location"])
    [order] = await shop.orders()
    await shop.wait_for_status(order.id, "paid")

    aside = one(HTMLParser((await clerk.get(f"/staff/orders/{order.reference}")).text), "aside")

    assert aside.html is not None
    assert "Rosa Reader<br>" in aside.html
    assert "1 Red Lane<br>Flat 2<br>London<br>N1 1AA" in aside.html


@pytest.mark.usefixtures("stocked")
async def test_an_orders_times_are_shown_by_the_shops_clock(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    # They were shown in UTC, an hour out from the shop's clock all summer.
    ref = await phone_order(clerk, [(RAGGED, 1)])
    order = next(o for o in await shop.orders() if o.reference == ref)
    assert order.hold_until is not None

    detail = text_of(await clerk.get(f"/staff/orders/{ref}"))
    listed = text_of(await clerk.get(f"/staff/orders?q={ref}"))

    assert f"held until {shop_time(order.hold_until)}" in detail
    assert shop_time(order.history[0].at) in detail
    assert shop_time(order.created_at) in listed
    assert "UTC" not in detail + listed


@pytest.mark.usefixtures("stocked")
async def test_a_customer_who_gave_only_a_phone_number_can_look_their_order_up(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    # The look-up asked for the email address alone, which such a customer never gave.
    ref = await phone_order(clerk, [(RAGGED, 1)], delivery="collection", email="")

    found = await shop.http.post(
        f"{shop.url}/orders/status", data={"reference": ref, "email": "+44 20 7946 0000"}
    )
    wrong = await shop.http.post(
        f"{shop.url}/orders/status", data={"reference": ref, "email": "020 7946 0001"}
    )

    assert found.status_code == 200 and ref in found.text
    assert wrong.status_code == 404 and "No order matches" in wrong.text
