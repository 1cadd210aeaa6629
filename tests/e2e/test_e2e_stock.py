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


def on_hand_by_request(page: Page, isbn13: str) -> int:
    """The book page's on-hand figure, fetched with the page's session without leaving it."""
    found = re.search(
        r'id="on-hand">(\d+)<', page.request.get(f"/staff/stock/books/{isbn13}").text()
    )
    assert found is not None
    return int(found.group(1))


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


@pytest.mark.e2e
def test_search_as_you_type_and_a_scanned_isbn_on_a_phone(
    phone_page: Page, signed_in: Callable[..., object]
) -> None:
    page = phone_page
    signed_in(page, "stock")
    page.goto("/staff/stock")
    expect(page.locator("#q")).to_be_focused()

    page.keyboard.type("imperiali")
    # The results come as the letters are typed, without pressing Enter.
    expect(page.locator("#results tbody tr").first).to_contain_text("Imperialism")
    assert page.url.endswith("/staff/stock")

    page.locator("#q").fill("")
    page.keyboard.type(LENIN)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/staff/stock/books/{LENIN}$"))
    expect(page.locator("h1")).to_contain_text("Imperialism")


@pytest.mark.e2e
def test_stock_take_of_a_shelf_shows_the_differences_before_writing(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "stock")
    page.goto("/staff/stock/stock-take")
    expect(page.locator("#subject")).to_be_focused()
    page.locator("#subject").select_option("gardening")
    page.keyboard.press("Tab")  # to "Count this shelf"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    counts = page.locator("input[name^='count-']")
    expect(counts).to_have_count(4)
    isbns = [name.removeprefix("count-") for name in counts.evaluate_all("i => i.map(e => e.name)")]
    held = {isbn: on_hand_by_request(page, isbn) for isbn in isbns}
    short = next(isbn for isbn in isbns if held[isbn] > 0)

    # Count the shelf with the keyboard: one copy missing of the first book, the rest right.
    expect(counts.first).to_be_focused()
    for index, isbn in enumerate(isbns):
        page.keyboard.type(str(held[isbn] - 1 if isbn == short else held[isbn]))
        if index < len(isbns) - 1:
            page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    rows = page.locator("#differences tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(1)).to_have_text(str(held[short]))
    expect(cells.nth(2)).to_have_text(str(held[short] - 1))
    expect(cells.nth(3)).to_have_text("-1")
    # Previewing wrote nothing.
    assert on_hand_by_request(page, short) == held[short]

    with page.expect_navigation():
        page.get_by_role("button", name="Write corrections").click()
    expect(page.locator("#written")).to_contain_text("Corrections written: 1 book changed")
    page.goto(f"/staff/stock/books/{short}")
    expect(page.locator("#on-hand")).to_have_text(str(held[short] - 1))
    expect(page.locator("#ledger tbody tr").first).to_contain_text("stock take: gardening")


@pytest.mark.e2e
def test_an_import_shows_its_progress_then_its_report(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "stock")
    page.goto("/staff/stock/import")
    rows = [f"97910000{n:04d}" for n in range(1, 301)]
    lines = ["isbn13,title,authors,price_pence,stock"]
    for n, first12 in enumerate(rows):
        check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12)) % 10) % 10
        lines.append(f"{first12}{check},Pamphlet {n},Branch {n % 7},300,1")
    lines.append("97910000xxxx,Broken,Nobody,300,1")
    page.locator("#file").set_input_files(
        files=[
            {"name": "pamphlets.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}
        ]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    expect(page.locator("h1")).to_have_text("Import of pamphlets.csv")
    job_url = page.url

    # The report replaces the progress bar in place: the page polls, nobody reloads it.
    result = page.locator("#import-result")
    expect(page.locator("#import-bar")).to_be_visible()
    expect(result).to_contain_text("Import finished: 301 records:", timeout=120_000)
    expect(result).to_contain_text("1 skipped")
    expect(page.locator("#skipped tbody tr")).to_have_count(1)
    expect(page.locator("#skipped tbody tr").first).to_contain_text("line 302")
    assert page.url == job_url


NEW_IMPERIALISM = "9780745334530"  # not in the demo catalogue: the test adds it


@pytest.mark.e2e
def test_a_new_book_added_through_the_form_then_booked_in_and_corrected(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "stock")
    page.goto("/staff/stock")
    with page.expect_navigation():
        page.get_by_role("link", name="Add a new book").click()

    # An ISBN-10 as printed on the back cover; the cursor starts in its box.
    expect(page.locator("#book-isbn")).to_be_focused()
    page.keyboard.type("0-7453-3453-9")
    page.locator("#book-title").fill("The New Imperialism")
    page.locator("#book-authors").fill("David Harvey")
    page.locator("#book-format").fill("paperback")
    page.locator("#book-price").fill("£14.99")
    page.locator("#book-subjects").fill("imperialism, political-economy")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the book").click()

    # The book's stock page, stored under its ISBN-13, with no stock yet and goods in offered.
    expect(page).to_have_url(re.compile(f"/staff/stock/books/{NEW_IMPERIALISM}\\?done=added$"))
    expect(page.get_by_role("status")).to_contain_text("Book added to the catalogue")
    expect(page.locator("h1")).to_have_text("The New Imperialism")
    expect(page.locator("#on-hand")).to_have_text("0")
    with page.expect_navigation():
        page.get_by_role("button", name="Add it to the delivery in goods in").click()
    quantity = page.locator(f"#qty-{NEW_IMPERIALISM}")
    expect(quantity).to_have_value("1")
    quantity.fill("4")
    with page.expect_navigation():
        page.locator("#confirm").click()
    expect(page.locator("#written")).to_contain_text("4 copies of 1 book")

    # Its details corrected on its stock page.
    page.goto(f"/staff/stock/books/{NEW_IMPERIALISM}")
    expect(page.locator("#on-hand")).to_have_text("4")
    page.get_by_text("Edit details", exact=True).click()
    page.locator("#book-price").fill("15.99")
    with page.expect_navigation():
        page.get_by_role("button", name="Save details").click()
    expect(page.get_by_role("status")).to_have_text("Details saved.")
    expect(page.locator("dl.figures")).to_contain_text("£15.99")

    # A reader finds it in the shop, at its new price.
    page.goto(f"/books/{NEW_IMPERIALISM}")
    expect(page.locator("h1")).to_contain_text("The New Imperialism")
    expect(page.locator("main")).to_contain_text("£15.99")
