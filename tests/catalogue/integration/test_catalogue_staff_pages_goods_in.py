"""Goods in as a clerk with a scanner uses it (SQLite and Postgres): the scans refused stay
listed until dismissed, a changed quantity updates the totals without replacing the fields
being typed in, and clearing the list is asked first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import Client, OpenClient
from lxml import html

from services.catalogue.service import BookService, StockService
from shared.auth.roles import Role
from shared.errors import TemporarilyUnavailable

HTMX = {"hx-request": "true"}
CAPITAL = "9780140449136"
MANIFESTO = "9798463348616"
IMPERIALISM = "9798693011533"
UNKNOWN = "9781234567897"  # a valid ISBN the catalogue does not have
GOODS_IN = "/staff/stock/goods-in"


@pytest.fixture
async def client(
    open_client: OpenClient, books: BookService, catalogue: Any
) -> AsyncIterator[Client]:
    """Signed in as sam, of the stock staff; three books in the catalogue."""
    for isbn, title in (
        (CAPITAL, "Capital"),
        (MANIFESTO, "The Communist Manifesto"),
        (IMPERIALISM, "The New Imperialism"),
    ):
        await books.create(book=catalogue.book(isbn, title, stock=1), actor="setup")
    async with open_client(Role.STOCK) as test_client:
        yield test_client


def doc(response: Any) -> Any:
    return html.fromstring(response.text)


def words(node: Any) -> str:
    return " ".join(node.text_content().split())


def refused(response: Any) -> list[str]:
    return [words(item) for item in doc(response).xpath("//*[@id='refused-scans']//li")]


def heading(response: Any) -> str:
    return words(doc(response).xpath("//h2[@id='delivery-heading']")[0])


async def scan(client: Client, isbn: str, headers: dict[str, str] = HTMX) -> Any:
    response = await client.post(f"{GOODS_IN}/scan", data={"isbn": isbn}, headers=headers)
    assert response.status_code in (200, 303, 400, 404), response.text[:300]
    return response


# The scans refused stay listed ----------------------------------------------------------------


async def test_scans_refused_at_a_scanners_pace_stay_listed_after_later_scans(
    client: Client,
) -> None:
    for isbn in (CAPITAL, MANIFESTO, CAPITAL, UNKNOWN, "12345"):
        await scan(client, isbn)
    last = await scan(client, IMPERIALISM)

    assert "Added The New Imperialism: 1 on this delivery." in last.text
    assert refused(last) == [
        f"{UNKNOWN} is not in the catalogue: add it",
        "12345 is not an ISBN: expected 13 digits (or 10, the last may be X)",
    ]
    assert heading(last) == "This delivery: 4 copies of 3 books"
    # Kept with the delivery: a reload (or the page without script) shows them too.
    assert refused(await client.get(GOODS_IN)) == refused(last)


async def test_the_same_scan_refused_again_is_counted_not_listed_twice(client: Client) -> None:
    await scan(client, UNKNOWN)
    await scan(client, CAPITAL)
    again = await scan(client, "978-1-234-56789-7")

    assert refused(again) == [f"{UNKNOWN} is not in the catalogue (scanned 2 times): add it"]


async def test_scans_refused_without_script_are_listed_on_the_page(client: Client) -> None:
    plain = await scan(client, "9780140449137", headers={})

    assert plain.status_code == 400
    assert refused(plain) == ["9780140449137 has a wrong check digit: is a digit mistyped?"]
    # An empty box is no scan: nothing to list.
    await scan(client, "   ", headers={})
    assert len(refused(await client.get(GOODS_IN))) == 1


async def test_the_list_of_refused_scans_goes_when_dismissed(client: Client) -> None:
    await scan(client, CAPITAL)
    await scan(client, UNKNOWN)
    page = doc(await client.get(GOODS_IN))
    [dismiss] = page.xpath("//*[@id='refused-scans']//form")
    assert dict(dismiss.form_values()).get("list") == "refused"

    dismissed = await client.post(
        dismiss.get("action"), data=dict(dismiss.form_values()), headers=HTMX
    )

    assert dismissed.status_code == 200
    assert refused(dismissed) == []
    assert refused(await client.get(GOODS_IN)) == []
    # Only the refused scans went: the delivery is as it was.
    assert heading(dismissed) == "This delivery: 1 copy of 1 book"


@pytest.mark.parametrize("ending", ["confirm", "clear"])
async def test_the_list_of_refused_scans_goes_with_the_delivery(
    client: Client, ending: str
) -> None:
    await scan(client, CAPITAL)
    await scan(client, UNKNOWN)
    token = doc(await client.get(GOODS_IN)).xpath("string(//input[@name='token']/@value)")

    if ending == "confirm":
        done = await client.post(f"{GOODS_IN}/confirm", data={"token": token})
    else:
        done = await client.post(f"{GOODS_IN}/clear", data={"confirmed": "yes"})

    assert done.status_code == 200
    assert refused(done) == []


# A changed quantity ---------------------------------------------------------------------------


async def test_a_changed_quantity_swaps_in_the_totals_not_the_fields_being_typed_in(
    client: Client,
) -> None:
    for isbn in (CAPITAL, CAPITAL, MANIFESTO):
        await scan(client, isbn)
    [form] = doc(await client.get(GOODS_IN)).xpath("//form[@id='delivery-form']")
    assert form.get("hx-post") == f"{GOODS_IN}/save"
    assert form.get("hx-trigger") == "change"
    # The totals and the message only; the next change waits for this one, and then goes.
    assert (form.get("hx-target"), form.get("hx-select")) == ("#delivery-status",) * 2
    assert form.get("hx-swap") == "outerHTML"
    assert form.get("hx-sync") == "this:queue last"
    # Checked by the server, which says what is wrong: htmx would drop an invalid change unsaid.
    assert form.get("novalidate") is not None

    saved = await client.post(
        f"{GOODS_IN}/save", data={f"qty-{CAPITAL}": "7", f"qty-{MANIFESTO}": "0"}, headers=HTMX
    )

    assert saved.status_code == 200
    [status] = doc(saved).xpath("//*[@id='delivery-status']")
    assert words(status) == "Saved. This delivery: 7 copies of 1 book"
    # The row set to 0 is deleted from the page (out of band, the tbody is not swapped).
    [gone] = doc(saved).xpath("//template/tr[@hx-swap-oob='delete']")
    assert gone.get("id") == f"line-{MANIFESTO}"
    assert "HX-Retarget" not in saved.headers


async def test_a_refused_quantity_is_shown_in_place(client: Client) -> None:
    await scan(client, CAPITAL)

    refused_save = await client.post(
        f"{GOODS_IN}/save", data={f"qty-{CAPITAL}": "-2"}, headers=HTMX
    )

    assert refused_save.status_code == 200  # htmx swaps only a 2xx answer
    [status] = doc(refused_save).xpath("//*[@id='delivery-status']")
    [alert] = status.xpath(".//p[@role='alert']")
    assert "must be from 0 to 10000" in words(alert)
    assert words(status).endswith("This delivery: 1 copy of 1 book")


async def test_a_save_that_empties_the_list_swaps_the_whole_list(client: Client) -> None:
    await scan(client, CAPITAL)

    emptied = await client.post(f"{GOODS_IN}/save", data={f"qty-{CAPITAL}": "0"}, headers=HTMX)

    assert emptied.headers["HX-Retarget"] == emptied.headers["HX-Reselect"] == "#delivery"
    assert "Nothing scanned yet." in emptied.text


# Clearing the list ----------------------------------------------------------------------------


async def test_clearing_the_list_is_asked_first_and_kept_unless_answered(client: Client) -> None:
    for isbn in (CAPITAL, CAPITAL, MANIFESTO):
        await scan(client, isbn)
    page = doc(await client.get(GOODS_IN))
    # Not beside Confirm: no button of the delivery form clears it.
    assert page.xpath("//form[@id='delivery-form']//*[contains(@formaction, 'clear')]") == []
    [clear] = page.xpath("//form[@id='clear-list']")

    asked = await client.post(clear.get("action"), data=dict(clear.form_values()))

    assert asked.status_code == 200
    assert words(doc(asked).xpath("//*[@id='clear-question']")[0]).startswith(
        "Clear all 2 lines of this delivery (3 copies)?"
    )
    assert doc(asked).xpath("string(//a[@id='keep']/@href)") == GOODS_IN
    assert heading(await client.get(GOODS_IN)) == "This delivery: 3 copies of 2 books"

    [answer] = doc(asked).xpath("//form[.//button[@id='clear']]")
    cleared = await client.post(answer.get("action"), data=dict(answer.form_values()))

    assert "The delivery list was cleared." in cleared.text
    assert heading(cleared) == "This delivery: 0 copies of 0 books"


async def test_asking_to_clear_an_empty_list_goes_back_to_it(client: Client) -> None:
    asked = await client.post(f"{GOODS_IN}/clear", follow_redirects=False)

    assert asked.status_code == 303
    assert asked.headers["location"] == GOODS_IN


# A confirm from a page whose list has changed since -------------------------------------------

CHANGED = (
    "The list changed since this page was shown (another tab?): here it is as it stands now; "
    "check it and confirm again."
)


def quantities(response: Any) -> dict[str, str]:
    return {
        field.get("name").removeprefix("qty-"): field.get("value")
        for field in doc(response).xpath(
            "//form[@id='delivery-form']//input[starts-with(@name, 'qty-')]"
        )
    }


def confirm_form(response: Any) -> tuple[str, dict[str, str]]:
    [form] = doc(response).xpath("//form[@id='delivery-form']")
    return form.get("action"), dict(form.form_values())


async def test_a_confirm_from_a_page_whose_list_changed_since_writes_nothing_and_shows_it_now(
    client: Client, catalogue: Any
) -> None:
    await scan(client, CAPITAL)
    # The page kept open (a second tab, or the Back button): one Capital.
    action, old = confirm_form(await client.get(GOODS_IN))
    # Meanwhile, elsewhere, the same clerk scans three more Capitals and another book.
    for isbn in (CAPITAL, CAPITAL, CAPITAL, MANIFESTO):
        await scan(client, isbn)

    stale = await client.post(action, data=old, follow_redirects=False)

    assert stale.status_code == 409
    assert [words(alert) for alert in doc(stale).xpath("//p[@role='alert']")] == [CHANGED]
    # The list as it stands, not as the old page typed it.
    assert quantities(stale) == {CAPITAL: "4", MANIFESTO: "1"}
    assert heading(stale) == "This delivery: 5 copies of 2 books"
    assert await catalogue.counters(CAPITAL) == (1, 0)
    assert await catalogue.counters(MANIFESTO) == (1, 0)
    assert heading(await client.get(GOODS_IN)) == "This delivery: 5 copies of 2 books"

    # The page it redrew confirms what it shows.
    action, fresh = confirm_form(stale)
    done = await client.post(action, data=fresh, follow_redirects=False)

    assert done.status_code == 303
    assert await catalogue.counters(CAPITAL) == (5, 0)
    assert await catalogue.counters(MANIFESTO) == (2, 0)
    assert (
        "Delivery written: 5 copies of 2 books" in (await client.get(done.headers["location"])).text
    )


async def test_a_quantity_saved_from_the_page_itself_does_not_make_its_confirm_stale(
    client: Client, catalogue: Any
) -> None:
    await scan(client, CAPITAL)
    await scan(client, MANIFESTO)
    action, form = confirm_form(await client.get(GOODS_IN))
    # htmx saves the change and swaps in the totals only: the form keeps what it was drawn with.
    form[f"qty-{CAPITAL}"] = "3"
    await client.post(f"{GOODS_IN}/save", data=form, headers=HTMX)

    done = await client.post(action, data=form, follow_redirects=False)

    assert done.status_code == 303
    assert await catalogue.counters(CAPITAL) == (4, 0)
    assert await catalogue.counters(MANIFESTO) == (2, 0)


async def test_a_page_whose_saved_quantity_was_changed_again_elsewhere_is_refused(
    client: Client, catalogue: Any
) -> None:
    await scan(client, CAPITAL)
    action, form = confirm_form(await client.get(GOODS_IN))
    form[f"qty-{CAPITAL}"] = "3"
    await client.post(f"{GOODS_IN}/save", data=form, headers=HTMX)
    await scan(client, CAPITAL)  # elsewhere: a fourth

    stale = await client.post(action, data=form, follow_redirects=False)

    assert stale.status_code == 409
    assert quantities(stale) == {CAPITAL: "4"}
    assert await catalogue.counters(CAPITAL) == (1, 0)


async def test_a_confirm_that_fails_to_write_puts_the_list_back_for_the_same_page(
    client: Client, catalogue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scan(client, CAPITAL)
    await scan(client, MANIFESTO)
    action, form = confirm_form(await client.get(GOODS_IN))
    form[f"qty-{CAPITAL}"] = "2"

    async def down(self: StockService, **_: Any) -> None:
        raise TemporarilyUnavailable("The stock database is not answering: try again.")

    with monkeypatch.context() as patched:
        patched.setattr(StockService, "receive", down)
        failed = await client.post(action, data=form, follow_redirects=False)

    assert failed.status_code == 503
    # Taken off to be written, then back as the page typed it: nothing lost, nothing written.
    assert quantities(failed) == {CAPITAL: "2", MANIFESTO: "1"}
    assert heading(await client.get(GOODS_IN)) == "This delivery: 3 copies of 2 books"
    assert await catalogue.counters(CAPITAL) == (1, 0)

    again = await client.post(action, data=form, follow_redirects=False)

    assert again.status_code == 303
    assert await catalogue.counters(CAPITAL) == (3, 0)
    assert await catalogue.counters(MANIFESTO) == (2, 0)
