"""Refunds of orders paid at the counter: staff hand the money back there and record it on the
order's page. Nothing is asked of Stripe (the stand-in is set to fail any request); the rest is
a card refund's: a refund row with its copies, the shelf's rule, the order's end when all is
refunded, OrderRefunded for the article's revenue, and the customer's email, which says where
the money went. Emails go to a real SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from conftest import BOOKS, Shop, confirm_sale, one, phone_order, text_of
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import select

from services.checkout.models import Email, Order, Refund
from shared.money import format_pence

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("stocked")]

IMPERIALISM = "9780745334530"
RAGGED = "9781788731799"
RAGGED_TITLE, RAGGED_PRICE = BOOKS[RAGGED]
RETURN = "catalogue.return_to_stock.v1"
REFUNDED = "checkout.order_refunded.v1"
# More than any test asks of Stripe, were it asked: the count left says it was not.
STRIPE_FAILS = 1000
# The box ticked: the books came back in a state to sell.
BACK = {"restock_offered": "1", "restock": "yes"}


@pytest.fixture
async def stripe_refuses(shop: Shop) -> AsyncIterator[None]:
    """Every request to Stripe's API fails while the test runs, and none is made."""
    await shop.standin(
        "POST", "/_standin/faults", json={"path": "/v1/*", "kind": "error", "count": STRIPE_FAILS}
    )
    yield
    pending = (await shop.standin("GET", "/_standin/faults")).json()
    assert [fault["remaining"] for fault in pending] == [STRIPE_FAILS]


async def to_pay_at_the_counter(
    clerk: httpx.AsyncClient, lines: list[tuple[str, int]], **customer: str
) -> str:
    ref = await phone_order(clerk, lines, delivery="collection", **customer)
    chosen = await clerk.post(f"/staff/phone/orders/{ref}/pay-on-collection")
    assert chosen.status_code == 303, chosen.text
    return ref


async def paid_at_the_counter(
    shop: Shop, clerk: httpx.AsyncClient, lines: list[tuple[str, int]], **customer: str
) -> str:
    """A collection order paid at the counter as it was collected, its sale confirmed by the
    catalogue; its reference. `customer` overrides the phone order's customer."""
    ref = await to_pay_at_the_counter(clerk, lines, **customer)
    collected = await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "collected"})
    assert collected.status_code == 303, collected.text
    await confirm_sale(shop, ref)
    return ref


async def refund_form(
    clerk: httpx.AsyncClient, ref: str, fields: dict[str, str], *, reason: str = "spare copy"
) -> httpx.Response:
    """The order page's refund form, filled in with `fields` and sent, its key as drawn."""
    page = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    form = one(page, "form[action$='/refund']")
    key = one(form, "input[name=idempotency_key]").attributes["value"] or ""
    return await clerk.post(
        f"/staff/orders/{ref}/refund", data={"idempotency_key": key, "reason": reason} | fields
    )


async def order_of(shop: Shop, ref: str) -> Order:
    return next(o for o in await shop.orders() if o.reference == ref)


async def refunds_of(shop: Shop, ref: str) -> list[Refund]:
    order = await order_of(shop, ref)
    async with shop.db.reading() as session:
        return list(
            await session.scalars(
                select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)
            )
        )


def refund_emails(shop: Shop) -> list[str]:
    return [
        " ".join(m.get_content().split())
        for m in shop.mailbox.messages
        if m["Subject"].startswith("Refund")
    ]


def lines_of(message: dict[str, Any]) -> dict[str, int]:
    return {line["isbn13"]: line["quantity"] for line in message["lines"]}


@pytest.mark.usefixtures("stripe_refuses")
async def test_a_counter_refund_is_refused_until_the_order_is_paid_then_recorded(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await to_pay_at_the_counter(clerk, [(RAGGED, 2)])
    unpaid = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    assert unpaid.css("form[action$='/refund']") == []
    refused = await clerk.post(
        f"/staff/orders/{ref}/refund", data={"what": "all", "reason": "changed mind"}
    )
    assert refused.status_code == 409
    assert "only an order paid by card or at the counter" in text_of(refused)

    collected = await clerk.post(f"/staff/orders/{ref}/fulfilment", data={"step": "collected"})
    assert collected.status_code == 303, collected.text
    await confirm_sale(shop, ref)
    page = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    assert "give the money back there" in one(page, "[data-testid=counter-refund]").text()

    # One copy brought straight back, in a state to sell.
    done = await refund_form(clerk, ref, {"what": "lines", f"refund_{RAGGED}": "1"} | BACK)

    assert done.status_code == 303, done.text
    shown = text_of(await clerk.get(done.headers["location"]))
    assert (
        "Refund given at the counter recorded, and the copies are back on the shelf. "
        "The customer has been emailed at rosa@example.org." in shown
    )
    assert f"refund {format_pence(RAGGED_PRICE)} at the counter" in shown
    order = await order_of(shop, ref)
    assert (order.status, order.refunded_pence) == ("fulfilled", RAGGED_PRICE)
    [refund] = await refunds_of(shop, ref)
    assert (refund.stripe_refund_id, refund.amount_pence, refund.restocked) == (
        None,
        RAGGED_PRICE,
        True,
    )
    [message] = await shop.staged(RETURN)
    assert (message["order_id"], lines_of(message)) == (str(order.reservation_id), {RAGGED: 1})
    [event] = await shop.staged(REFUNDED)
    assert (event["reference"], event["amount_pence"]) == (ref, RAGGED_PRICE)
    # The receipt at collection, then the refund's email.
    await shop.mailbox.wait_for(2)
    assert refund_emails(shop) == [
        f"Dear Rosa Luxemburg, We have refunded {format_pence(RAGGED_PRICE)} of your order "
        f"{ref} (spare copy). The money was returned to you at the shop counter. In all, "
        f"{format_pence(RAGGED_PRICE)} of {format_pence(order.total_pence)} has been refunded."
    ]


@pytest.mark.usefixtures("stripe_refuses")
async def test_staff_are_told_to_tell_a_customer_with_no_email_address_of_the_refund(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_at_the_counter(shop, clerk, [(RAGGED, 1)], email="")

    done = await refund_form(clerk, ref, {"what": "all", "restock_offered": "1"})

    assert done.status_code == 303, done.text
    shown = text_of(await clerk.get(done.headers["location"]))
    assert (
        "Refund given at the counter recorded. No email address on the order: tell the "
        "customer yourself." in shown
    )
    assert "has been emailed" not in shown
    async with shop.db.reading() as session:
        assert list(await session.scalars(select(Email.kind).where(Email.kind == "refund"))) == []


@pytest.mark.usefixtures("stripe_refuses")
async def test_copies_taken_home_go_back_on_the_shelf_only_when_staff_say_they_came_back(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_at_the_counter(shop, clerk, [(IMPERIALISM, 3)])

    kept = await refund_form(
        clerk, ref, {"what": "lines", f"refund_{IMPERIALISM}": "1", "restock_offered": "1"}
    )
    assert kept.status_code == 303, kept.text
    assert await shop.staged(RETURN) == []

    came_back = await refund_form(
        clerk, ref, {"what": "lines", f"refund_{IMPERIALISM}": "1"} | BACK
    )
    assert came_back.status_code == 303, came_back.text
    [message] = await shop.staged(RETURN)
    assert lines_of(message) == {IMPERIALISM: 1}
    assert [r.restocked for r in await refunds_of(shop, ref)] == [False, True]


@pytest.mark.usefixtures("stripe_refuses")
async def test_everything_refunded_at_the_counter_ends_the_order(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_at_the_counter(shop, clerk, [(IMPERIALISM, 1), (RAGGED, 1)])

    goodwill = await refund_form(clerk, ref, {"what": "amount", "amount": "£2.50"})
    assert goodwill.status_code == 303, goodwill.text
    assert (await order_of(shop, ref)).status == "fulfilled"
    rest = await refund_form(clerk, ref, {"what": "all", "restock_offered": "1"})
    assert rest.status_code == 303, rest.text

    order = await order_of(shop, ref)
    assert (order.status, order.refunded_pence) == ("refunded", order.total_pence)
    assert order.history[-1].status == "refunded"
    refunded = await shop.staged(REFUNDED)
    assert [e["amount_pence"] for e in refunded] == [250, order.total_pence - 250]
    await shop.mailbox.wait_for(3)
    assert len(refund_emails(shop)) == 2
    # Nothing is left to refund: no form.
    page = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    assert page.css("form[action$='/refund']") == []


@pytest.mark.usefixtures("stripe_refuses")
async def test_more_than_was_paid_is_refused(shop: Shop, clerk: httpx.AsyncClient) -> None:
    ref = await paid_at_the_counter(shop, clerk, [(RAGGED, 2)])
    assert (await refund_form(clerk, ref, {"what": "lines", f"refund_{RAGGED}": "1"})).is_redirect
    left = 2 * RAGGED_PRICE - RAGGED_PRICE

    too_much = await refund_form(clerk, ref, {"what": "amount", "amount": "13.00"})
    assert too_much.status_code == 409
    assert (
        f"Only {format_pence(left)} of this order is left to refund; £13.00 was asked for."
        in text_of(too_much)
    )
    form = one(HTMLParser(too_much.text), "form[action$='/refund']")
    assert one(form, "input[name=amount]").attributes["value"] == "13.00"
    too_many = await refund_form(clerk, ref, {"what": "lines", f"refund_{RAGGED}": "2"})
    assert too_many.status_code == 409
    assert "1 of its 2 refunded already" in text_of(too_many)
    not_money = await refund_form(clerk, ref, {"what": "amount", "amount": "lots"})
    assert not_money.status_code == 400

    assert (await order_of(shop, ref)).refunded_pence == RAGGED_PRICE
    assert len(await refunds_of(shop, ref)) == 1


@pytest.mark.usefixtures("stripe_refuses")
async def test_a_second_submit_of_the_form_records_no_second_refund(
    shop: Shop, clerk: httpx.AsyncClient
) -> None:
    ref = await paid_at_the_counter(shop, clerk, [(RAGGED, 2)])
    page = HTMLParser((await clerk.get(f"/staff/orders/{ref}")).text)
    key = one(page, "input[name=idempotency_key]").attributes["value"] or ""
    form = {"idempotency_key": key, "what": "amount", "amount": "1.00", "reason": "late"}

    first = await clerk.post(f"/staff/orders/{ref}/refund", data=form)
    again = await clerk.post(f"/staff/orders/{ref}/refund", data=form)

    assert (first.status_code, again.status_code) == (303, 303)
    assert (await order_of(shop, ref)).refunded_pence == 100
    assert [r.amount_pence for r in await refunds_of(shop, ref)] == [100]
    assert len(await shop.staged(REFUNDED)) == 1
    async with shop.db.reading() as session:
        written = await session.scalars(select(Email.kind).where(Email.kind == "refund"))
        assert list(written) == ["refund"]
    # The page drawn again has a new key: the same amount once more is a new refund.
    assert (await refund_form(clerk, ref, {"what": "amount", "amount": "1.00"})).is_redirect
    assert (await order_of(shop, ref)).refunded_pence == 200
