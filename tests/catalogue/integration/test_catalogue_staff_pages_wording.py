"""What the stock pages say when something is refused: a sentence that ends once, an example
that would be taken, and no warning about a half-typed ISBN-13."""

from __future__ import annotations

import pytest
from conftest import Client
from selectolax.lexbor import LexborHTMLParser as HTMLParser

pytestmark = pytest.mark.integration

HTMX = {"hx-request": "true"}


def said(html: str) -> str:
    return " ".join(HTMLParser(html).body.text().split())  # type: ignore[union-attr]


async def test_half_an_isbn_13_typed_is_not_called_a_wrong_isbn_10(client: Client) -> None:
    typing = await client.get("/staff/stock/search", params={"q": "9798463348"}, headers=HTMX)
    assert typing.status_code == 200
    assert "check digit" not in typing.text
    # Ten digits that cannot be the start of an ISBN-13 are still checked as they stand.
    mistyped = await client.get("/staff/stock/search", params={"q": "0140449131"}, headers=HTMX)
    assert "'0140449131' has a wrong ISBN-10 check digit: is a digit mistyped?" in said(
        mistyped.text
    )


async def test_a_refused_scan_and_a_refused_file_end_their_sentence_once(client: Client) -> None:
    scanned = await client.post(
        "/staff/stock/goods-in/scan", data={"isbn": "9780140449137"}, headers=HTMX
    )
    assert "is a digit mistyped?" in said(scanned.text)
    assert "mistyped?." not in scanned.text

    semicolons = b"isbn;title;price\n9780140449136;Capital;12.99\n"
    imported = await client.post(
        "/staff/stock/import",
        files={"file": ("books.csv", semicolons, "text/csv")},
        data={"format": ""},
    )
    assert "save the file with commas." in said(imported.text)
    assert "commas.." not in imported.text
