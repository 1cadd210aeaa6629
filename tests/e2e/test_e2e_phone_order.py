"""A phone order from the first key to the read-back reference, with the keyboard only: no
clicks, only typing and key presses, as a practised clerk takes it with a customer on the line."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from conftest import ARTIFACTS
from playwright.sync_api import Page, Route, expect

STATE_AND_REVOLUTION = "9798069814539"
PEOPLES_HISTORY = "9798319747327"


@pytest.mark.e2e
def test_a_phone_order_from_the_first_key_to_the_read_back_reference(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "phone_orders")
    page.goto("/staff/phone")
    expect(page.locator("#customer-search")).to_be_focused()
    email = f"clara-{uuid.uuid4().hex[:6]}@example.org"

    # A new customer: the number finds nobody, Enter starts them with it filled in.
    page.keyboard.type("0161 496 0" + str(uuid.uuid4().int % 1000).zfill(3))
    expect(page.locator("#customer-results")).to_contain_text("No customer matches")
    page.keyboard.press("Enter")
    expect(page.locator("#name")).to_be_focused()
    expect(page.locator("#phone")).to_have_value(re.compile(r"^0161 496 0\d{3}$"))
    page.keyboard.type("Clara Zetkin")
    page.keyboard.press("Enter")  # moves on like Tab
    expect(page.locator("#phone")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type("10 Frauenstrasse")
    page.keyboard.press("Enter")
    page.keyboard.type("Manchester")
    page.keyboard.press("Enter")
    page.keyboard.type("M1 1AA")
    page.keyboard.press("Tab")
    expect(page.locator("#book-search")).to_be_focused()

    # Two books: Enter adds the first match and puts the cursor in its quantity.
    page.keyboard.type("state and rev")
    expect(page.locator("#book-results [role=option]").first).to_contain_text(
        "The State and Revolution"
    )
    page.keyboard.press("Enter")
    quantity = page.locator(f"#qty-{STATE_AND_REVOLUTION}")
    expect(quantity).to_be_focused()
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.locator("#book-search")).to_be_focused()
    # Typed fast, before the results arrive: Enter waits for them.
    page.keyboard.type("people's history of the world")
    page.keyboard.press("Enter")
    expect(page.locator(f"#qty-{PEOPLES_HISTORY}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#book-search")).to_be_focused()

    basket = page.locator("#basket")
    expect(basket).to_contain_text("The State and Revolution")
    expect(basket).to_contain_text("A People's History of the World")
    expect(page.locator(f"#qty-{STATE_AND_REVOLUTION}")).to_have_value("2")
    # Three books posted: the total includes the postage band for 2-3 books.
    expect(basket).to_contain_text("Postage")
    total = page.locator("#total").inner_text()
    assert re.fullmatch(r"£\d+\.\d\d", total), total
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone_order_basket.png"), full_page=True)

    # Ctrl+Enter places the order; the copies are held and the reference comes up.
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    expect(page).to_have_url(re.compile(r"/staff/phone/orders/[A-Z0-9]{8}$"))
    reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"[ACDEFGHJKMNPQRTUVWXY34679]{8}", reference)
    spelled = page.get_by_test_id("spelled").inner_text()
    assert all(ch in spelled for ch in reference)
    expect(page.get_by_test_id("total")).to_have_text(total)

    # A posted order: "Send payment link" has the focus, Enter sends it.
    send = page.get_by_role("button", name="Send payment link")
    expect(send).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("payment")).to_have_text(f"Payment link sent to {email}.")
    expect(page.get_by_test_id("reference")).to_have_text(reference)
    expect(page.get_by_role("link", name="Take another order")).to_be_focused()
    page.screenshot(path=str(ARTIFACTS / "phone_order_reference.png"), full_page=True)

    # The order's page lists the email, sent, and the link in it.
    page.goto(f"/staff/orders/{reference}")
    emails = page.locator("ul.emails > li")
    for _ in range(20):
        if "sent" in emails.first.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(emails.first).to_contain_text(f"Pay for your order {reference}")
    expect(emails.first).to_contain_text(f"payment link to {email} · sent")
    expect(page.get_by_test_id("payment-link")).to_have_text(re.compile(r"/stripe/pay/cs_"))


@pytest.mark.e2e
def test_typing_on_while_a_book_is_added_keeps_the_keys_in_the_search_box(
    page: Page, signed_in: Callable[..., object]
) -> None:
    """The taken book's quantity box gets the focus when the basket comes back, unless the
    clerk has already moved on: the next search's letters must not land in the quantity."""
    signed_in(page, "phone_orders")
    page.goto("/staff/phone")
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/staff/phone/basket", hold)
    search = page.locator("#book-search")
    search.fill("state and rev")
    page.locator(f"#book-results [data-isbn='{STATE_AND_REVOLUTION}']").click()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the basket was asked for"

    # The clerk types the next search while the basket's answer is still on its way.
    search.fill("people's history")
    held[0].continue_()

    quantity = page.locator(f"#qty-{STATE_AND_REVOLUTION}")
    expect(quantity).to_have_value("1")
    page.wait_for_timeout(200)  # past htmx's settle, where the focus used to move
    expect(search).to_be_focused()
    expect(search).to_have_value("people's history")
    expect(page.locator(f"#book-results [data-isbn='{PEOPLES_HISTORY}']")).to_be_visible()
    expect(quantity).to_have_value("1")
