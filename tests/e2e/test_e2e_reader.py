"""A reader follows a book link in the seed article, buys the book through the Stripe
stand-in and sees the order confirmed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

ISBN = "9798463348616"
TITLE = "Imperialism and Global Political Economy"
READER_EMAIL = "reader-e2e@example.org"
READER_NAME = "Rosa Reader"


@pytest.mark.e2e
def test_a_reader_buys_from_an_article_link_through_the_stripe_stand_in(page: Page) -> None:
    page.goto(f"/go/a000/{ISBN}")

    # The link lands on the book's page, carrying the article along to the Buy form.
    expect(page).to_have_url(re.compile(rf"/books/{ISBN}\?article=a000"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("form.buy input[name=article]")).to_have_value("a000")

    page.get_by_role("button", name="Buy").click()

    # The stand-in's hosted checkout page: the book and the total, the reader's email (Stripe
    # Checkout always asks for it) and, the book being posted, where to, then pay by card.
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text(TITLE)
    page.get_by_label("Email (for your receipt)").fill(READER_EMAIL)
    page.get_by_label("Full name").fill(READER_NAME)
    expect(page.get_by_label("Country")).to_have_value("GB")
    page.get_by_label("Address line 1").fill("1 Red Lane")
    page.get_by_label("Town or city").fill("London")
    page.get_by_label("Postcode").fill("n1 1aa")
    page.get_by_role("button", name=re.compile(r"^Pay .* by card$")).click()

    # The success page refreshes itself until the webhook has marked the order paid.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your order is paid", timeout=30_000
    )
    reference = page.get_by_test_id("reference")
    expect(reference).to_have_text(re.compile(r"^[A-Z0-9]{8}$"))
    expect(page.locator("table")).to_contain_text(TITLE)
    # The address typed on Stripe's page is the order's.
    expect(page.get_by_test_id("delivery")).to_have_text("By post to:1 Red LaneLondonN1 1AA")

    # And the reader's status page, found by reference and email, says the same.
    order_reference = reference.inner_text()
    page.goto("/orders/status")
    page.get_by_label("Order reference").fill(order_reference)
    page.get_by_label("Email address").fill(READER_EMAIL)
    page.get_by_role("button", name="Show my order").click()
    expect(page.get_by_test_id("status")).to_have_text("paid")
    expect(page.get_by_test_id("delivery")).to_contain_text("1 Red Lane")


@pytest.mark.e2e
def test_a_reader_who_leaves_the_checkout_can_go_back_or_give_the_order_up(page: Page) -> None:
    page.goto(f"/books/{ISBN}")
    page.get_by_role("button", name="Buy").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    payment_page = page.url
    page.get_by_role("button", name="Cancel and return to the shop").click()

    # Back in the shop, nothing has been closed yet: the way back to the same payment page.
    expect(page.get_by_role("heading", level=1)).to_have_text("You left the checkout")
    expect(page.get_by_text("Nothing has been charged")).to_be_visible()
    expect(page.get_by_test_id("return-to-payment")).to_have_attribute("href", payment_page)
    page.get_by_test_id("return-to-payment").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    page.get_by_role("button", name="Cancel and return to the shop").click()

    # Giving the order up puts the book back on the shelf.
    page.get_by_role("button", name="Cancel the order").click()
    expect(page.get_by_text("the books have gone back on the shelf")).to_be_visible()
