"""The editor's desk in a real browser: pinning a book for the seed article, by mouse and by
keyboard, the snippet following the pin, and the desk on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

SEED = "a000"
SEED_HEADLINE = "Revolution in the 'progressive' bloc"


def first_link(snippet: str) -> str:
    found = re.search(r'href="([^"]+)"', snippet)
    assert found, snippet
    return found.group(1)


@pytest.mark.e2e
def test_the_editor_pins_a_book_for_the_seed_article(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "editor")
    page.goto("/staff/editor")
    page.get_by_role("link", name=SEED_HEADLINE, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/staff/editor/articles/{SEED}$"))

    rows = page.locator("#books tbody tr")
    expect(rows).to_have_count(10)
    first_isbn = rows.nth(0).get_attribute("data-isbn")
    chosen = rows.nth(3)
    isbn = chosen.get_attribute("data-isbn")
    title = chosen.locator(".title").inner_text()
    assert isbn and isbn != first_isbn
    assert not first_link(page.locator("#snippet").input_value()).endswith(f"/{isbn}")

    page.get_by_role("button", name=f"Pin {title}", exact=True).click()

    # htmx swapped the books in place: no new page, the message has the focus.
    expect(page.locator("#picks-status")).to_contain_text(f"{title} is pinned")
    expect(page.locator("#picks-status")).to_be_focused()
    expect(page).to_have_url(re.compile(rf"/staff/editor/articles/{SEED}$"))
    expect(rows.nth(0)).to_have_attribute("data-isbn", isbn)
    expect(rows.nth(0)).to_contain_text("Pinned")
    assert first_link(page.locator("#snippet").input_value()).endswith(f"/go/{SEED}/{isbn}")

    # Copy: the whole snippet is selected (and on the clipboard where the browser allows it).
    page.get_by_role("button", name="Copy the snippet").click()
    expect(page.locator("#copy-status")).not_to_be_empty()
    start, end, length = page.locator("#snippet").evaluate(
        "box => [box.selectionStart, box.selectionEnd, box.value.length]"
    )
    assert (start, end) == (0, length)

    # Undo it with the keyboard alone, leaving the seed article as it was.
    page.get_by_role("button", name=f"Unpin {title}", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#picks-status")).to_contain_text("no longer pinned")
    expect(rows.nth(0)).to_have_attribute("data-isbn", first_isbn or "")


@pytest.mark.e2e
def test_the_desk_reads_on_a_phone(phone_page: Page, signed_in: Callable[..., object]) -> None:
    signed_in(phone_page, "editor")
    phone_page.goto(f"/staff/editor/articles/{SEED}")

    expect(phone_page.get_by_role("heading", level=1)).to_have_text(SEED_HEADLINE)
    expect(phone_page.locator("#books tbody tr").first).to_be_visible()
    expect(phone_page.get_by_label(re.compile("HTML to paste"))).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling to reach a button.
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
