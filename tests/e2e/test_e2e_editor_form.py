"""The editor's desk in a real browser, where an editor trips: a refused article puts the cursor
in the field to correct, the browser checks an article id as the shop does (accents and all),
saving under an id already used asks before replacing that article, and a sign-in that ended
mid-pin comes back to the article rather than to an error."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from conftest import StaffAccount
from playwright.sync_api import Page, expect

TEXT = (
    "Tony Cliff's State Capitalism in Russia argued that the Soviet Union was no workers' "
    "state: its bureaucracy accumulated capital as any ruling class does."
)


def new_article(page: Page, article_id: str, text: str) -> None:
    page.goto("/staff/editor")
    page.get_by_label("Article id").fill(article_id)
    page.get_by_label("The article's text or HTML").fill(text)
    page.get_by_role("button", name="Save and find its books").click()


@pytest.mark.e2e
def test_a_refused_article_puts_the_cursor_in_the_field_to_correct(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "editor")

    new_article(page, f"e2e-{uuid.uuid4().hex[:6]}", "")

    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Paste the article's text or give its address.")
    text = page.get_by_label("The article's text or HTML")
    expect(text).to_be_focused()
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(text).to_have_accessible_description(re.compile("Paste the article's text"))


@pytest.mark.e2e
def test_the_browser_checks_an_article_id_as_the_shop_does(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "editor")
    page.goto("/staff/editor")
    # the shop takes letters and digits of any script, "_", ".", "-" and ":", not dots alone
    ids = {
        "grève-générale": True,
        "Ωμέγα_2024": True,
        "記事:12": True,
        "sw-2308.v2": True,
        "...a": True,
        "x" * 120: True,
        "...": False,
        "a b": False,
        "a/b": False,
        "e\u0301": False,
    }

    lets_through = page.get_by_label("Article id").evaluate(
        "(field, ids) => ids.map(id => { field.value = id; return field.validity.valid; })",
        list(ids),
    )

    assert dict(zip(ids, lets_through, strict=True)) == ids
    new_article(page, f"grève-{uuid.uuid4().hex[:6]}", TEXT)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Tony Cliff"))


@pytest.mark.e2e
def test_saving_under_an_id_in_use_asks_before_replacing_that_article(
    page: Page, signed_in: Callable[..., object]
) -> None:
    signed_in(page, "editor")
    article_id = f"e2e-{uuid.uuid4().hex[:6]}"
    new_article(page, article_id, TEXT)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Tony Cliff"))

    new_article(page, article_id, "Lenin's Imperialism, the Highest Stage of Capitalism.")

    # Nothing replaced yet: the desk says what saving would do, the id field has the cursor.
    expect(page.get_by_role("alert")).to_contain_text(
        f"already an article with the id {article_id}"
    )
    expect(page.get_by_label("Article id")).to_be_focused()
    expect(page.get_by_label("The article's text or HTML")).to_have_value(
        "Lenin's Imperialism, the Highest Stage of Capitalism."
    )
    page.get_by_role("button", name="Replace it and find its books").click()

    expect(page).to_have_url(re.compile(rf"/staff/editor/articles/{article_id}\?done=replaced$"))
    expect(page.locator("#picks-status")).to_contain_text("Replaced.")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Lenin's Imperialism"))


@pytest.mark.e2e
def test_a_pin_whose_sign_in_ended_comes_back_to_the_article_after_signing_in(
    page: Page, signed_in: Callable[..., StaffAccount]
) -> None:
    editor = signed_in(page, "editor")
    article_id = f"e2e-{uuid.uuid4().hex[:6]}"
    new_article(page, article_id, TEXT)
    title = page.locator("#books tbody tr .title").nth(2).inner_text()

    # The sign-in ends while the page is open (it expired, or the editor signed out elsewhere).
    page.context.clear_cookies(name="bookshop_staff")
    page.get_by_role("button", name=f"Pin {title}", exact=True).click()

    expect(page).to_have_url(re.compile(r"/staff/login\?"))
    page.get_by_label("Username").fill(editor.username)
    page.get_by_label("Password").fill(editor.password)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(rf"/staff/editor/articles/{article_id}$"))
    expect(page.get_by_role("button", name=f"Pin {title}", exact=True)).to_be_visible()
