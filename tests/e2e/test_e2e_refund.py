"""A refund from the orders page: a phone order paid through its payment link on the Stripe
stand-in, found on the orders page, one copy refunded with a reason, and the customer told."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from conftest import Shop
from playwright.sync_api import Page, expect

NEW_IMPERIALISM = "9798151804356"  # £8.99
MASS_STRIKE = "9798299211283"  # £13.99


def take_phone_order(page: Page, email: str) -> str:
    """Two books for Rosa, posted, with a payment link sent; returns the reference."""
    page.goto("/staff/phone")
    page.get_by_label("Name", exact=True).fill("Rosa Luxemburg")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Postal address").fill("1 Red Lane\nLondon\nN1 1AA")
    for query, isbn in (("new imperialism", NEW_IMPERIALISM), ("mass strike", MASS_STRIKE)):
        page.get_by_label("Search by title or ISBN").fill(query)
        page.locator(f"#book-results [data-isbn='{isbn}']").click()
        expect(page.locator(f"#qty-{isbn}")).to_be_visible()
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/staff/phone/orders/[A-Z0-9]{8}$"))
    reference = page.get_by_test_id("reference").inner_text()
    page.get_by_role("button", name="Send payment link").click()
    expect(page.get_by_test_id("payment")).to_contain_text("Payment link sent")
    return reference


def wait_for_refund_email(shop: Shop, to: str, timeout: float = 30.0) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in shop.emails():
            if to in str(message["To"]) and "Refund" in str(message["Subject"]):
                return message
        time.sleep(0.25)
    raise AssertionError(f"no refund email to {to} within {timeout}s")


@pytest.mark.e2e
def test_a_refund_from_the_orders_page(
    shop: Shop, page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "phone_orders")
    email = f"rosa-{uuid.uuid4().hex[:6]}@example.org"
    reference = take_phone_order(page, email)

    # The customer pays through the link in the email, on the stand-in's checkout page.
    link = re.search(r"https?://\S+/stripe/pay/\S+", shop.wait_for_email(email).get_content())
    assert link, "no payment link in the email"
    page.goto(link.group(0))
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
    page.get_by_role("button", name="Refund", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("Refund made; the customer has been emailed.")
    expect(page.get_by_test_id("refunded")).to_have_text("£13.99")
    expect(page.get_by_test_id("history")).to_contain_text("refund £13.99")
    expect(page.get_by_test_id("history")).to_contain_text("damaged in the post")
    # Still paid: the other book and the postage are not refunded.
    expect(page.get_by_test_id("status")).to_contain_text("paid")
    refund_email = wait_for_refund_email(shop, email)
    assert "damaged in the post" in refund_email.get_content()
    assert "£13.99" in refund_email.get_content()
