"""The books JSON API: add, change, read, search, and a book's stock ledger."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from services.catalogue.controllers.dependencies import Actor, Books, Stock
from services.catalogue.controllers.guards import LOOK_UP_BOOKS, STOCK
from services.catalogue.schemas import (
    BookCreate,
    BookRead,
    BookUpdate,
    LedgerEntryRead,
    SearchResults,
)


class BookController(Controller):
    path = "/api/catalogue/books"
    tags = ["books"]

    @post("/", guards=[STOCK], status_code=201)
    async def create(self, books: Books, data: JSONBody[BookCreate], actor: Actor) -> BookRead:
        """Add a book; ISBN-10 or hyphenated input is stored as ISBN-13."""
        return await books.create(book=data, actor=actor)

    @get("/{isbn:str}", guards=[LOOK_UP_BOOKS])
    async def read(self, books: Books, isbn: FromPath[str]) -> BookRead:
        return await books.get(isbn13=isbn)

    @patch("/{isbn:str}", guards=[STOCK])
    async def update(
        self, books: Books, isbn: FromPath[str], data: JSONBody[BookUpdate], actor: Actor
    ) -> BookRead:
        """Change the fields given; the others stay as they are."""
        return await books.update(isbn13=isbn, changes=data, actor=actor)

    @get("/{isbn:str}/ledger", guards=[STOCK])
    async def ledger(
        self,
        stock: Stock,
        isbn: FromPath[str],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        before_id: Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)] = None,
    ) -> list[LedgerEntryRead]:
        """The book's stock movements, newest first; page back with `before_id`."""
        return await stock.ledger(isbn13=isbn, limit=limit, before_id=before_id)


class SearchController(Controller):
    path = "/api/catalogue/search"
    tags = ["search"]
    guards = [LOOK_UP_BOOKS]

    @get("/")
    async def search(
        self,
        books: Books,
        q: Annotated[str, QueryParameter(max_length=200, description="what was typed so far")],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> SearchResults:
        """Search as you type: exact ISBN, then title prefix, author prefix, words anywhere;
        in stock first within each. A whole or partial ISBN or barcode is looked up as one."""
        return await books.search(q=q, limit=limit)
