"""Buy -> Stripe Checkout (the stand-in) -> signed webhook -> paid, with the copies committed once."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from conftest import BOOKS, Shop
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from shared.shop_time import spoken_time

pytestmark = pytest.mark.integration

ISBN = "9780745334530"
TITLE, PRICE = BOOKS[ISBN]


async def placed(shop: Shop, quantity: int = 1, **extra: str):
    response = await shop.buy(ISBN, quantity, **extra)
    assert response.status_code == 303, response.text
    [order] = [o for o in await shop.orders() if o.status == "awaiting_payment"][-1:]
    return order, response.headers["location"]


async def test_buy_redirects_to_stripe_and_the_webhook_marks_the_order_paid(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=3)
    order, location = await placed(
        shop,
        2,
        article="stalinism-and-the-progressive-bloc",
        link="/go/a1/9780745334530",
        email="reader@example.org",
    )
    assert location == f"{shop.standin_url}/pay/{order.stripe_session_id}"
    assert order.channel == "web"
    assert [(line.title, line.unit_price_pence, line.quantity) for line in order.lines] == [
        (TITLE, PRICE, 2)
    ]
    # Two books: 395p postage with 66p VAT in it.
    assert (order.books_pence, order.postage_pence, order.postage_vat_pence) == (3998, 395, 66)
    assert order.total_pence == 4393
    assert order.article_id == "stalinism-and-the-progressive-bloc"
    assert order.article_link == "/go/a1/9780745334530"
    assert len(order.reference) == 8

    [reserve] = shop.catalogue.requests
    assert reserve.order_id == order.reservation_id == order.id
    assert [(line.isbn13, line.quantity) for line in reserve.lines] == [(ISBN, 2)]
    assert reserve.expires_at == order.hold_until
    # The hold outlasts the Checkout Session, which Stripe keeps open at least 30 minutes.
    assert order.stripe_session_expires_at is not None and order.hold_until is not None
    assert order.stripe_session_expires_at >= order.created_at + timedelta(minutes=30)
    assert order.hold_until > order.stripe_session_expires_at

    session = (
        await shop.standin(
            "GET",
            f"/v1/checkout/sessions/{order.stripe_session_id}",
            headers={"Authorization": "Bearer sk_test_x"},
        )
    ).json()
    assert session["amount_total"] == 4393
    assert session["metadata"]["order_id"] == str(order.id)
    # Posted books: Stripe's page asks for a UK address.
    assert session["shipping_address_collection"] == {"allowed_countries": ["GB"]}
    items = (
        await shop.standin(
            "GET",
            f"/v1/checkout/sessions/{order.stripe_session_id}/line_items",
            headers={"Authorization": "Bearer sk_test_x"},
        )
    ).json()["data"]
    assert [(i["description"], i["quantity"], i["amount_total"]) for i in items] == [
        (TITLE, 2, 3998),
        ("UK postage (includes VAT £0.66)", 1, 395),
    ]

    # Back from Stripe before the webhook: the page says so and refreshes itself.
    paying = await shop.pay(location)
    assert paying.status_code == 303
    success_url = paying.headers["location"]
    assert success_url == f"{shop.url}/checkout/success?session_id={order.stripe_session_id}"

    paid = await shop.wait_for_status(order.id, "paid")
    assert paid.stripe_payment_intent
    # The address typed on Stripe's page, and the name, are the order's.
    assert paid.address == ["1 Red Lane", "Flat 2", "London", "N1 1AA"]
    assert paid.customer_name == "Rosa Reader"
    assert [change.status for change in paid.history] == [
        "pending",
        "reserved",
        "awaiting_payment",
        "paid",
    ]
    commits = await shop.staged("catalogue.commit_reservation.v1")
    assert [c["order_id"] for c in commits] == [str(order.id)]
    [event] = await shop.staged("checkout.order_paid.v1")
    assert event["reference"] == order.reference and event["total_pence"] == 4393
    assert event["attribution"] == {
        "article_id": "stalinism-and-the-progressive-bloc",
        "isbn13": ISBN,
    }

    page = await shop.http.get(success_url)
    assert "is paid" in page.text and order.reference in page.text
    assert 'http-equiv="refresh"' not in page.text
    assert "1 Red Lane<br>Flat 2<br>London<br>N1 1AA" in page.text

    [email] = await shop.mailbox.wait_for(1)
    assert email["To"] == "reader@example.org"
    assert order.reference in email["Subject"]
    body = email.get_content().replace("\r\n", "\n")
    assert TITLE in body and "£43.93" in body and "VAT" in body and "£0.66" in body
    assert "Dear Rosa Reader" in body
    assert "We will post it to:\n  1 Red Lane\n  Flat 2\n  London\n  N1 1AA\n" in body


async def staged_refunds(shop: Shop, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(refunds := await shop.staged("checkout.order_refunded.v1")) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(refunds)} refunds staged, wanted {count}")
        await asyncio.sleep(0.05)
    return refunds


async def test_the_refunds_of_an_order_from_an_article_name_the_article(shop: Shop) -> None:
    """Celery may deliver a refund before its OrderPaid: it says itself which article's revenue
    it comes off, as the payment does."""
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=3)
    order, location = await placed(shop, 2, article="stalinism-and-the-progressive-bloc")
    await shop.pay(location)
    paid = await shop.wait_for_status(order.id, "paid")
    attribution = {"article_id": "stalinism-and-the-progressive-bloc", "isbn13": ISBN}

    # A refund made by staff here,
    part = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{paid.reference}/refund",
        json={"amount_pence": 500, "reason": "damaged copy"},
        headers=shop.staff(),
    )
    assert part.status_code == 200, part.text
    # and the rest on Stripe's dashboard, which comes back as charge.refunded.
    await shop.standin(
        "POST",
        "/v1/refunds",
        data={"payment_intent": paid.stripe_payment_intent or ""},
        headers={"Authorization": "Bearer sk_test_x"},
    )
    refunds = await staged_refunds(shop, 2)

    assert [(r["amount_pence"], r["attribution"]) for r in refunds] == [
        (500, attribution),
        (paid.total_pence - 500, attribution),
    ]


async def test_stripe_completes_no_session_without_the_address(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    order, location = await placed(shop)

    refused = await shop.pay(location, address={"shipping_name": "Rosa Reader"})

    assert refused.status_code == 400
    session = await shop.stripe(f"/checkout/sessions/{order.stripe_session_id}")
    assert session["status"] == "open"
    assert (await shop.order(order.id)).status == "awaiting_payment"


async def test_a_parcel_for_someone_else_is_addressed_to_them(shop: Shop) -> None:
    """The payer is the customer; an addressee of another name heads the address. The event
    here has the older API versions' shape, the address in the session's `shipping_details`."""
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    order, _ = await placed(shop)
    session = await shop.stripe(f"/checkout/sessions/{order.stripe_session_id}")
    session.update(
        status="complete",
        payment_status="paid",
        payment_intent="pi_gift",
        customer_details={"email": "rosa@example.org", "name": "Rosa Reader", "address": None},
        shipping_details={
            "name": "Clara Zetkin",
            "address": {
                "line1": "9 Green Street",
                "line2": None,
                "city": "Manchester",
                "postal_code": "M1 1AA",
                "country": "GB",
                "state": None,
            },
        },
    )
    session.pop("collected_information")
    event = {
        "id": "evt_gift",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }

    delivered = await shop.deliver(event)

    assert delivered.json() == {"received": "paid"}
    paid = await shop.order(order.id)
    assert (paid.customer_name, paid.customer_email) == ("Rosa Reader", "rosa@example.org")
    assert paid.address == ["Clara Zetkin", "9 Green Street", "Manchester", "M1 1AA"]


async def test_the_success_page_waits_for_the_webhook_and_never_marks_paid(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    order, _ = await placed(shop)
    # The reader lands on the success page without having paid (or before the webhook).
    page = await shop.http.get(f"{shop.url}/checkout/success?session_id={order.stripe_session_id}")
    assert page.status_code == 200
    assert "being confirmed" in page.text
    assert 'http-equiv="refresh"' in page.text
    assert (await shop.order(order.id)).status == "awaiting_payment"
    assert await shop.staged("catalogue.commit_reservation.v1") == []


async def test_a_bank_transfer_on_its_way_is_not_awaited_as_a_card_payment(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    order, location = await placed(shop, email="rosa@example.org")
    chosen = await shop.pay(location, action="bank_transfer")
    assert chosen.status_code == 303, chosen.text
    await shop.wait_for_delivery("checkout.session.completed")
    under_way = await shop.order(order.id)
    assert under_way.status == "awaiting_payment" and under_way.stripe_payment_intent
    assert under_way.hold_until is not None

    page = await shop.http.get(chosen.headers["location"])

    assert page.status_code == 200
    text = " ".join(HTMLParser(page.text).body.text().split())  # type: ignore[union-attr]
    assert "Your bank transfer is on its way" in text
    assert f"held for you until {spoken_time(under_way.hold_until)} (UK time)" in text
    assert "email rosa@example.org when it arrives" in text
    assert "card payment" not in text
    # Days, not seconds: the page no longer reloads itself every two.
    assert 'http-equiv="refresh"' not in page.text
    assert (await shop.order(order.id)).status == "awaiting_payment"


async def test_a_failed_bank_transfer_cancels_the_order_and_tells_the_reader(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    order, location = await placed(shop, email="rosa@example.org")
    chosen = await shop.pay(location, action="bank_transfer")
    await shop.wait_for_delivery("checkout.session.completed")

    await shop.standin(
        "POST", f"/_standin/sessions/{order.stripe_session_id}/settle", json={"outcome": "failed"}
    )
    await shop.wait_for_delivery("checkout.session.async_payment_failed")

    assert (await shop.order(order.id)).status == "cancelled"
    assert [m["reason"] for m in await shop.staged("catalogue.release_reservation.v1")] == [
        "payment failed"
    ]
    [told] = await shop.mailbox.wait_for(1)
    assert told["To"] == "rosa@example.org"
    assert "did not go through" in told["Subject"]
    assert "nothing has been taken" in " ".join(told.get_content().split())
    # The page the reader bookmarked, and the order look-up, say what happened.
    page = await shop.http.get(chosen.headers["location"])
    said = " ".join(HTMLParser(page.text).body.text().split())  # type: ignore[union-attr]
    assert "Your bank transfer did not go through" in said
    assert "timed out" not in said
    looked_up = await shop.http.post(
        f"{shop.url}/orders/status",
        data={"reference": order.reference, "email": "rosa@example.org"},
    )
    status = HTMLParser(looked_up.text).css_first("[data-testid=status]")
    assert status is not None
    assert (
        status.text() == "cancelled: your bank transfer did not go through, and nothing was taken"
    )


async def test_the_form_price_is_ignored_and_silly_quantities_refused(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    order, _ = await placed(shop, 1, price="1", unit_price_pence="1", total="1")
    assert order.lines[0].unit_price_pence == PRICE
    assert order.total_pence == PRICE + 295
    for silly in ("0", "-1", "11", "2.5", "lots", ""):
        response = await shop.buy(ISBN, silly)
        assert response.status_code == 400, silly
        assert "Quantity" in response.text
    unknown = await shop.buy("9781234567897")
    assert unknown.status_code == 404 and "We do not sell" in unknown.text
    not_an_isbn = await shop.buy("12345")
    assert not_an_isbn.status_code == 400
    assert len(shop.catalogue.requests) == 1
    assert len(await shop.orders()) == 1


async def test_stale_book_changes_are_ignored(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=1500, version=3)
    await shop.add_book(ISBN, title="Old title", price_pence=900, version=2)
    order, _ = await placed(shop)
    assert (order.lines[0].title, order.lines[0].unit_price_pence) == (TITLE, 1500)
    await shop.add_book(ISBN, title=TITLE, price_pence=1700, version=4)
    second, _ = await placed(shop)
    assert second.lines[0].unit_price_pence == 1700
    # A placed order keeps the price it was placed at.
    assert (await shop.order(order.id)).lines[0].unit_price_pence == 1500


async def test_a_short_line_is_a_clear_409_and_the_order_is_rejected(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=2)
    response = await shop.buy(ISBN, 3)
    assert response.status_code == 409
    assert (
        f"only 2 left of &#39;{TITLE}&#39;" in response.text
        or f"only 2 left of '{TITLE}'" in response.text
    )
    [order] = await shop.orders()
    assert order.status == "rejected"
    assert order.stripe_session_id is None
    as_json = await shop.http.post(
        f"{shop.url}/checkout/buy", data={"isbn13": ISBN, "quantity": "3"}
    )
    assert as_json.status_code == 409
    assert as_json.json()["short"] == [{"isbn13": ISBN, "requested": 3, "available": 2}]


async def test_reader_leaving_checkout_keeps_the_order_until_they_cancel_it(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    order, location = await placed(shop)
    back = await shop.pay(location, action="cancel")
    assert back.status_code == 303
    # Landing on (or prefetching) the page Stripe's back link leads to changes nothing.
    for _ in range(2):
        page = await shop.http.get(back.headers["location"])
        assert page.status_code == 200
        assert order.reference in page.text and "Cancel the order" in page.text
        assert location in page.text  # the way back to the same payment page
    assert (await shop.order(order.id)).status == "awaiting_payment"
    assert await shop.staged("catalogue.release_reservation.v1") == []

    given_up = await shop.http.post(f"{shop.url}/checkout/cancel", data={"order_id": str(order.id)})
    assert given_up.status_code == 200
    assert "Nothing was charged" in given_up.text
    cancelled = await shop.order(order.id)
    assert cancelled.status == "cancelled"
    releases = await shop.staged("catalogue.release_reservation.v1")
    assert [r["order_id"] for r in releases] == [str(order.id)]
    # Stripe's session was ended too, and its expired event changes nothing more.
    await shop.wait_for_delivery("checkout.session.expired")
    assert (await shop.order(order.id)).status == "cancelled"
    assert len(await shop.staged("catalogue.release_reservation.v1")) == 1
    again = await shop.http.post(f"{shop.url}/checkout/cancel", data={"order_id": str(order.id)})
    assert again.status_code == 200
    assert len(await shop.staged("catalogue.release_reservation.v1")) == 1


async def test_a_buy_whose_article_is_no_article_id_is_placed_without_the_credit(
    shop: Shop,
) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=3)

    order, _ = await placed(shop, article="<script>alert(1)</script>", link="/go/x/y")

    assert order.article_id is None
    assert order.article_link == "/go/x/y"


async def test_a_double_clicked_buy_makes_one_order_and_both_submits_land_on_its_payment_page(
    shop: Shop,
) -> None:
    # The last copy: a second order would find it held by the first and be refused.
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=1)

    first, second = await asyncio.gather(
        shop.buy(ISBN, 1, article="a1", submission="view-1"),
        shop.buy(ISBN, 1, article="a1", submission="view-1"),
    )

    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert first.headers["location"] == second.headers["location"]
    [order] = await shop.orders()
    assert order.status == "awaiting_payment" and order.article_id == "a1"
    assert len(shop.catalogue.requests) == 1


async def test_a_buy_from_a_page_shown_again_after_the_order_ended_is_a_new_order(
    shop: Shop,
) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=5)
    order, location = await placed(shop, submission="view-1")
    await shop.http.post(f"{shop.url}/checkout/cancel", data={"order_id": str(order.id)})

    # The browser's Back button shows the same page, with the same submission id.
    again = await shop.buy(ISBN, 1, submission="view-1")
    other_quantity = await shop.buy(ISBN, 2, submission="view-1")

    assert again.status_code == 303 and again.headers["location"] != location
    assert other_quantity.status_code == 303
    assert other_quantity.headers["location"] not in {location, again.headers["location"]}
    assert [o.status for o in await shop.orders()] == [
        "cancelled",
        "awaiting_payment",
        "awaiting_payment",
    ]


async def test_a_cancel_without_an_order_id_is_a_clear_400(shop: Shop) -> None:
    answer = await shop.http.post(f"{shop.url}/checkout/cancel", data={"order_id": "nonsense"})
    assert answer.status_code == 400
    assert "order_id" in answer.text


async def test_the_reader_status_page_needs_reference_and_email(shop: Shop) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    order, location = await placed(shop, email="Reader@Example.org")
    await shop.pay(location)
    await shop.wait_for_status(order.id, "paid")
    form = await shop.http.get(f"{shop.url}/orders/status")
    assert form.status_code == 200 and 'name="reference"' in form.text
    right = await shop.http.post(
        f"{shop.url}/orders/status",
        data={"reference": order.reference.lower(), "email": "reader@example.org"},
    )
    assert right.status_code == 200
    assert order.reference in right.text and "paid" in right.text and TITLE in right.text
    assert "By post to:<br>1 Red Lane<br>Flat 2<br>London<br>N1 1AA" in right.text
    # the order's life in the reader's words, not the shop's states
    history = [" ".join(li.split()) for li in re.findall(r"<li>(.*?)</li>", right.text, re.S)]
    assert [item.split(": ", 1)[1] for item in history] == [
        "order received",
        "books held for you",
        "waiting for your payment",
        "paid",
    ]
    for reference, email in [
        (order.reference, "someone@example.org"),
        ("ACDEFGHJ", "reader@example.org"),
    ]:
        wrong = await shop.http.post(
            f"{shop.url}/orders/status", data={"reference": reference, "email": email}
        )
        assert wrong.status_code == 404
        assert TITLE not in wrong.text
        assert "No order matches" in wrong.text


async def test_the_status_page_keeps_what_was_typed_when_no_order_matches(shop: Shop) -> None:
    typed = {"reference": "acde-fghj", "email": 'reader@example.org"><b id="x'}

    wrong = await shop.http.post(f"{shop.url}/orders/status", data=typed)

    assert wrong.status_code == 404
    page = HTMLParser(wrong.text)
    for name, value in typed.items():
        field = page.css_first(f"input[name={name}]")
        assert field is not None and field.attributes["value"] == value
    assert page.css_first("#x") is None


async def test_health(shop: Shop) -> None:
    response = await shop.http.get(f"{shop.url}/health/checkout")
    assert response.status_code == 200
    assert response.json() == {
        "service": "checkout",
        "status": "ok",
        "database": "ok",
        "broker": "ok",
    }


@pytest.mark.parametrize("typo", ["a,b@example.org", "jo@[example.org", "(jo@example.org"])
async def test_a_buy_with_an_email_address_that_would_go_astray_is_refused(
    shop: Shop, typo: str
) -> None:
    # "a,b@example.org" would mail the receipt to "a" and "b@example.org"; the others stop the
    # email library when the receipt is built
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=3)

    response = await shop.buy(ISBN, 1, email=typo)

    assert response.status_code == 400, response.text
    assert "does not look like an email address" in response.text
    assert await shop.orders() == []


async def test_the_order_charges_the_price_the_catalogue_held_the_copies_at(shop: Shop) -> None:
    # Checkout's copy of the price follows BookChanged, minutes behind after a big import:
    # the reader saw £7.99 on the catalogue's page while Stripe charged the old £6.99.
    await shop.add_book(ISBN, title=TITLE, price_pence=699)
    shop.catalogue.prices[ISBN] = 799

    order, _ = await placed(shop, 2)

    assert order.lines[0].unit_price_pence == 799
    assert (order.books_pence, order.postage_pence, order.total_pence) == (1598, 395, 1993)
    session = (
        await shop.standin(
            "GET",
            f"/v1/checkout/sessions/{order.stripe_session_id}",
            headers={"Authorization": "Bearer sk_test_x"},
        )
    ).json()
    assert session["amount_total"] == 1993
