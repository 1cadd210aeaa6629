"""The stock clerk in a real browser: goods in by ISBNs typed on the keyboard (as a barcode
scanner types them: the digits, then Enter), then the new stock on the book's page."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

LENIN = "9798693011533"  # Imperialism, the Highest Stage of Capitalism (demo catalogue)
BUKHARIN = "9798159361806"  # Imperialism and World Economy


def on_hand(page: Page, isbn13: str) -> int:
    page.goto(f"/staff/stock/books/{isbn13}")
    return int(page.locator("#on-hand").inner_text())


@pytest.mark.e2e
def test_goods_in_by_typed_isbns_then_the_stock_on_the_book_page(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "stock")
    # The shop is shared by the session's tests: start from what is there now.
    before = {isbn: on_hand(page, isbn) for isbn in (LENIN, BUKHARIN)}

    page.goto("/staff/stock/goods-in")
    scan_box = page.locator("#scan")
    expect(scan_box).to_be_focused()

    # A scanner's pace: three barcodes one after another, no waiting between them.
    for isbn in (LENIN, BUKHARIN, LENIN):
        page.keyboard.type(isbn)
        page.keyboard.press("Enter")
    expect(page.locator(f"#qty-{LENIN}")).to_have_value("2")
    expect(page.locator(f"#qty-{BUKHARIN}")).to_have_value("1")
    expect(page.locator("#delivery-heading")).to_contain_text("3 copies of 2 books")

    # A mistyped barcode: a clear message in place, nothing added, the box keeps the focus.
    page.keyboard.type("9798693011534")
    page.keyboard.press("Enter")
    expect(page.locator("#scan-message [role=alert]")).to_contain_text("wrong check digit")
    expect(scan_box).to_be_focused()
    expect(page.locator("#delivery-heading")).to_contain_text("3 copies of 2 books")

    # An accidental reload keeps the list.
    page.reload()
    expect(page.locator(f"#qty-{LENIN}")).to_have_value("2")

    # The supplier's note, then confirm, by keyboard.
    page.locator("#reference").focus()
    page.keyboard.type("Bookmarks delivery 1917")
    page.locator("#confirm").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    written = page.locator("#written")
    expect(written).to_contain_text("Delivery written: 3 copies of 2 books")
    expect(written).to_contain_text("Bookmarks delivery 1917")

    # The book's page shows the new stock and the delivery at the top of its ledger.
    written.get_by_role("link", name=re.compile("^Imperialism$")).click()
    expect(page).to_have_url(re.compile(f"/staff/stock/books/{LENIN}$"))
    expect(page.locator("#on-hand")).to_have_text(str(before[LENIN] + 2))
    latest = page.locator("#ledger tbody tr").first
    expect(latest).to_contain_text("received")
    expect(latest).to_contain_text("+2")
    expect(latest).to_contain_text("ref. Bookmarks delivery 1917")
    assert on_hand(page, BUKHARIN) == before[BUKHARIN] + 1
    page.goto(f"/staff/stock/books/{LENIN}")
