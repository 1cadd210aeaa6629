"""Goods in as a clerk with a scanner uses it (SQLite and Postgres): the scans refused stay
listed until dismissed, a changed quantity updates the totals without replacing the fields
being typed in, and clearing the list is asked first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import Client, OpenClient
from lxml import html

from services.catalogue.service import BookService
from shared.auth.roles import Role

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
        f"{UNKNOWN} is not in the catalogue",
        "12345 is not an ISBN: expected 13 digits (or 10, the last may be X)",
    ]
    assert heading(last) == "This delivery: 4 copies of 3 books"
    # Kept with the delivery: a reload (or the page without script) shows them too.
    assert refused(await client.get(GOODS_IN)) == refused(last)


async def test_the_same_scan_refused_again_is_counted_not_listed_twice(client: Client) -> None:
    await scan(client, UNKNOWN)
    await scan(client, CAPITAL)
    again = await scan(client, "978-1-234-56789-7")

    assert refused(again) == [f"{UNKNOWN} is not in the catalogue (scanned 2 times)"]


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
