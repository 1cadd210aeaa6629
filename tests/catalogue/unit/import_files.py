"""Import files made to order (as many books as a test needs, each written alike, in any
format), and a book service that records what an import asks it to write."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

from services.catalogue.imports.formats import ImportFormat
from services.catalogue.schemas import BookCreate, UpsertSummary


def isbn13(n: int) -> str:
    first12 = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def books_file(format: ImportFormat, count: int) -> bytes:
    """`count` books, each written alike, in `format`."""
    books = [(isbn13(n), f"Pamphlet {n:05d}") for n in range(count)]
    if format is ImportFormat.CSV:
        return ("isbn13,title,price_pence\n" + "".join(f"{i},{t},299\n" for i, t in books)).encode()
    if format is ImportFormat.JSONL:
        lines = (json.dumps({"isbn13": i, "title": t, "price_pence": 299}) for i, t in books)
        return "\n".join(lines).encode()
    products = "".join(
        f"<Product><RecordReference>{i}</RecordReference><ProductIdentifier><ProductIDType>15"
        f"</ProductIDType><IDValue>{i}</IDValue></ProductIdentifier><DescriptiveDetail>"
        "<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01"
        f"</TitleElementLevel><TitleText>{t}</TitleText></TitleElement></TitleDetail>"
        "</DescriptiveDetail><ProductSupply><SupplyDetail><Price><PriceAmount>2.99</PriceAmount>"
        "<CurrencyCode>GBP</CurrencyCode></Price></SupplyDetail></ProductSupply></Product>"
        for i, t in books
    )
    return f'<ONIXMessage release="3.0"><Header/>{products}</ONIXMessage>'.encode()


class RecordingBookService:
    """Stands in for BookService.upsert_books: remembers what it was asked to write."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[BookCreate], str]] = []

    async def upsert_books(
        self,
        *,
        books: Sequence[BookCreate],
        actor: str,
        given: Mapping[str, frozenset[str]] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> UpsertSummary:
        self.calls.append((list(books), actor))
        if on_progress is not None:
            on_progress(1)  # as if the first chunk held one book
            on_progress(len(books))
        return UpsertSummary(created=len(books) - 1, updated=1, unchanged=0)
