"""A refund from the orders page: a phone order paid through its payment link on the Stripe
stand-in, found on the orders page, one copy refunded with a reason, the customer told, and the
copy, which never left the shop, back on the shelf in the catalogue."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from conftest import ARTIFACTS
from playwright.sync_api import Page, expect

NEW_IMPERIALISM = "9798151804356"  # £8.99
MASS_STRIKE = "9798299211283"  # £13.99


def take_phone_order(page: Page, email: str) -> str:
    """Two books for Rosa, posted, with a payment link sent; returns the reference."""
    page.goto("/staff/phone")
    page.get_by_label("Name", exact=True).fill("Rosa Luxemburg")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Postal address").fill("1 Red Lane\nLondon\nN1 1AA")
    search = page.get_by_label("Search by title or ISBN")
    for query, isbn in (("new imperialism", NEW_IMPERIALISM), ("mass strike", MASS_STRIKE)):
        result = page.locator(f"#book-results [data-isbn='{isbn}']")
        search.fill(query)
        result.click()
        expect(page.locator(f"#qty-{isbn}")).to_be_visible()
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/staff/phone/orders/[A-Z0-9]{8}$"))
    reference = page.get_by_test_id("reference").inner_text()
    page.get_by_role("button", name="Send payment link").click()
    expect(page.get_by_test_id("payment")).to_contain_text("Payment link sent")
    return reference


@pytest.mark.e2e
def test_a_refund_from_the_orders_page(page: Page, signed_in: Callable[..., object]) -> None:
    signed_in(page, "phone_orders")
    email = f"rosa-{uuid.uuid4().hex[:6]}@example.org"
    reference = take_phone_order(page, email)

    # The customer pays through the link (the one emailed, shown on the order's page), on the
    # stand-in's checkout page.
    page.goto(f"/staff/orders/{reference}")
    link = page.get_by_test_id("payment-link").get_attribute("href")
    assert link and "/stripe/pay/" in link
    page.goto(link)
    page.get_by_role("button", name=re.compile(r"^Pay .* by card$")).click()

    # On the orders page: find it by the customer's email, open it, refund a copy.
    page.goto("/staff/orders")
    page.get_by_label("Find by reference, customer or ISBN").fill(email)
    page.get_by_role("button", name="Find").click()
    row = page.locator("#orders tbody tr", has_text=reference)
    expect(row).to_contain_text("Rosa Luxemburg")
    row.get_by_role("link", name=reference).click()
    expect(page.get_by_test_id("reference")).to_have_text(reference)
    # The webhook marks it paid; the page shows the refund form once it is.
    for _ in range(30):
        if page.get_by_test_id("status").inner_text().startswith("paid"):
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.get_by_test_id("status")).to_contain_text("paid")

    page.get_by_label(re.compile(r"^The Mass Strike")).fill("1")
    page.get_by_label("Reason (the customer is told it)").fill("damaged in the post")
    # Not yet dispatched: the copy goes back on the shelf, and the page says so.
    expect(page.get_by_test_id("restock-rule")).to_contain_text("go back on the shelf")
    page.get_by_role("button", name="Refund", exact=True).click()

    expect(page.get_by_role("status")).to_have_text(
        "Refund made, and the copies are back on the shelf. "
        f"The customer has been emailed at {email}."
    )
    expect(page.get_by_test_id("refunded")).to_have_text("£13.99")
    expect(page.get_by_test_id("history")).to_contain_text("refund £13.99")
    expect(page.get_by_test_id("history")).to_contain_text("damaged in the post")
    # Still paid: the other book and the postage are not refunded.
    expect(page.get_by_test_id("status")).to_contain_text("paid")
    # The customer is told: the refund email is on the order's list of emails, sent.
    refund_email = page.locator("ul.emails > li", has_text="Refund on your order")
    for _ in range(20):
        if refund_email.count() and "· sent" in refund_email.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(refund_email).to_contain_text(f"refund to {email} · sent")

    # In the catalogue, once checkout has heard the sale confirmed: the refunded copy is back
    # on hand, and the other book, paid and not yet posted, is counted with the shelf.
    signed_in(page, "stock")
    page.goto(f"/staff/stock/books/{MASS_STRIKE}")
    ledger = page.locator("#ledger tbody tr").first
    for _ in range(30):
        if "returned from a customer's order" in ledger.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(ledger).to_contain_text("returned from a customer's order")
    expect(ledger).to_contain_text("+1")
    expect(ledger).to_contain_text("damaged in the post")
    page.goto(f"/staff/stock/books/{NEW_IMPERIALISM}")
    expect(page.locator("#awaiting-dispatch")).to_have_text("1")
    signed_in(page, "phone_orders")

    # The queue on a phone: one column, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/staff/orders?q={email}")
    expect(page.locator("#orders")).to_contain_text(reference)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "orders_queue_phone.png"), full_page=True)
