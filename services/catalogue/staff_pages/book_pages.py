"""Finding a book (search as you type; Enter on an ISBN opens it) and a book's page: its
figures and ledger, adjustments with a reason, its reorder point and its details (price too)."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from litestar import get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from services.catalogue.controllers.dependencies import Actor, Books, Stock
from services.catalogue.domain import fields_digest
from services.catalogue.schemas import Adjustment, BookUpdate, SearchResults
from services.catalogue.service import BookService, DetailsChanged, StockService
from services.catalogue.staff_pages import forms
from services.catalogue.staff_pages.book_form import DETAILS, BookForm, corrected_details
from services.catalogue.staff_pages.submissions import new_token
from services.catalogue.staff_pages.web import (
    NOTICES,
    Cut,
    OnceOnly,
    Query,
    StockArea,
    book_path,
    first_of,
    page,
    see_other,
)
from shared.errors import InvalidInput, NotFound, ShopError
from shared.isbn import InvalidISBN, hyphenless, is_isbn, to_isbn13
from shared.web import Form

SEARCH_RESULTS = 30
CHANGED_MEANWHILE = (
    "Someone changed this book's details while you were editing them, so yours were not "
    "saved. The book as it stands now is shown above; your changes are still in the form: "
    "check them against it and save again."
)
LEDGER_PAGE = 50
# An entry's id (a 64-bit integer): a larger one in an edited address is a 400, not a failed query.
LedgerPosition = Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)]


# What reads as an attempt at an ISBN (13 digits, or 10 the last of which may be X).
_ISBN_SHAPED = re.compile(r"(?:ISBN:?)?(\d{13}|\d{9}[\dXx])", re.IGNORECASE)


def _isbn_mistake(q: str) -> str | None:
    """Why `q`, typed or scanned as an ISBN, is not one (a wrong check digit...): searching
    the words of titles for it would only answer "nothing found"."""
    if _ISBN_SHAPED.fullmatch(hyphenless(q.strip())) is None:
        return None
    try:
        to_isbn13(q)
    except InvalidISBN as error:
        return str(error)
    return None


def _isbn_13_being_typed(q: str) -> bool:
    """Ten digits starting 978 or 979, as the box reads them on the way to an ISBN-13's
    thirteen: warning of a wrong ISBN-10 check digit then would be wrong nearly every time."""
    digits = hyphenless(q.strip())
    return len(digits) == 10 and digits.startswith(("978", "979"))


async def _search(books: BookService, q: str) -> tuple[SearchResults | None, Cut | None]:
    """The first books matching `q` (none for an empty box), and the cut if more matched."""
    if not q.strip():
        return None, None
    results = await books.search(q=q, limit=SEARCH_RESULTS + 1)
    hits, cut = first_of(results.hits, SEARCH_RESULTS)
    return msgspec.structs.replace(results, hits=list(hits)), cut


class BookPages(StockArea):
    @get("/")
    async def index(self, books: Books, q: Query = "") -> Template | Redirect:
        """Search as you type; Enter on an ISBN (a scanner's EAN-13) opens that book."""
        if is_isbn(q):
            isbn13 = to_isbn13(q)
            try:
                await books.get(isbn13=isbn13)
            except NotFound:
                return page(
                    "index.html",
                    {
                        "q": q,
                        "results": None,
                        "error": f"No book with ISBN {isbn13} in the catalogue.",
                        "missing_isbn": isbn13,
                    },
                    status_code=404,
                )
            return see_other(book_path(isbn13))
        mistake = _isbn_mistake(q)
        if mistake is not None:
            return page(
                "index.html",
                {"q": q, "results": None, "error": None, "isbn_mistake": mistake},
                status_code=400,
            )
        results, cut = await _search(books, q)
        return page("index.html", {"q": q, "results": results, "cut": cut, "error": None})

    @get("/search")
    async def search(self, books: Books, q: Query = "") -> Template:
        """The results table alone, for the search box's live updates."""
        mistake = None if _isbn_13_being_typed(q) else _isbn_mistake(q)
        if mistake is not None:
            return page("_results.html", {"q": q, "results": None, "isbn_mistake": mistake})
        results, cut = await _search(books, q)
        return page("_results.html", {"q": q, "results": results, "cut": cut})

    @get("/books/{isbn:str}")
    async def book(
        self,
        books: Books,
        stock: Stock,
        isbn: FromPath[str],
        before: LedgerPosition = None,
        done: FromQuery[str] = "",
    ) -> Template | Redirect:
        isbn13 = to_isbn13(isbn)
        if isbn13 != isbn:
            return see_other(book_path(isbn13))
        return await self._book_page(
            books,
            stock,
            isbn13,
            before=before,
            notice=NOTICES.get(done),
            offer_goods_in=done == "added",
        )

    @post("/books/{isbn:str}/adjust")
    async def adjust(
        self,
        books: Books,
        stock: Stock,
        submissions: OnceOnly,
        actor: Actor,
        isbn: FromPath[str],
        data: Form,
    ) -> Template | Redirect:
        """Adjust once per form shown: a double click on Adjust is one ledger entry."""
        isbn13 = to_isbn13(isbn)
        entered = {
            "change": forms.text(data, "change", limit=20),
            "reason": forms.text(data, "reason"),
        }

        async def write() -> bytes:
            change = forms.whole_number(
                entered["change"], what="The change", low=-1_000_000, high=1_000_000
            )
            if len(entered["reason"]) < 3:
                raise InvalidInput(
                    "Say why the stock changes (damaged, found, lost...): the reason is required."
                )
            await stock.adjust(
                adjustment=Adjustment(isbn13=isbn13, change=change, reason=entered["reason"]),
                actor=actor,
            )
            # the repeat of a post answers as the first did: with the book's page
            return b""

        try:
            await submissions.once_per_form(
                data,
                write,
                busy="An earlier click on this form is still being written: reload the page in "
                "a moment to see the stock.",
            )
        except ShopError as error:
            return await self._book_page(
                books,
                stock,
                isbn13,
                adjust_error=error.message,
                entered=entered,
                status_code=error.status_code,
            )
        return see_other(book_path(isbn13), done="adjusted")

    @post("/books/{isbn:str}/reorder-point")
    async def reorder_point(
        self,
        books: Books,
        stock: Stock,
        actor: Actor,
        isbn: FromPath[str],
        data: Form,
    ) -> Template | Redirect:
        """The reorder point alone: the price changes under Edit details, whose check that
        nobody changed the book meanwhile a second price box here would bypass."""
        isbn13 = to_isbn13(isbn)
        entered = {"reorder_point": forms.text(data, "reorder_point", limit=20)}
        try:
            changes = BookUpdate(
                reorder_point=forms.whole_number(
                    entered["reorder_point"], what="The reorder point", low=0, high=1_000_000
                ),
            )
            await books.update(isbn13=isbn13, changes=changes, actor=actor)
        except ShopError as error:
            return await self._book_page(
                books,
                stock,
                isbn13,
                reorder_point_error=error.message,
                entered=entered,
                status_code=error.status_code,
            )
        return see_other(book_path(isbn13), done="saved")

    @post("/books/{isbn:str}/edit")
    async def edit(
        self,
        books: Books,
        stock: Stock,
        submissions: OnceOnly,
        actor: Actor,
        isbn: FromPath[str],
        data: Form,
    ) -> Template | Redirect:
        """Correct the book's details, once per form shown, and only if nobody has changed
        them since the form was shown: the form carries their digest."""
        isbn13 = to_isbn13(isbn)
        form = BookForm.from_data(data)

        async def write() -> bytes:
            await books.update(
                isbn13=isbn13,
                changes=corrected_details(form, isbn13=isbn13),
                actor=actor,
                shown=forms.text(data, "shown", limit=64),
            )
            return b""

        try:
            await submissions.once_per_form(
                data,
                write,
                busy="An earlier click on this form is still being saved: reload the page in "
                "a moment to see the book.",
            )
        except ShopError as error:
            # After DetailsChanged the page's form carries the details as they stand now, with
            # what was typed kept: saving it again is a change made knowingly.
            problem = CHANGED_MEANWHILE if isinstance(error, DetailsChanged) else None
            return await self._book_page(
                books,
                stock,
                isbn13,
                edit=form.refused(error, problem=problem),
                status_code=error.status_code,
            )
        return see_other(book_path(isbn13), done="edited")

    async def _book_page(
        self,
        books: BookService,
        stock: StockService,
        isbn13: str,
        *,
        before: int | None = None,
        notice: str | None = None,
        adjust_error: str | None = None,
        reorder_point_error: str | None = None,
        entered: dict[str, str] | None = None,
        edit: BookForm | None = None,
        offer_goods_in: bool = False,
        status_code: int = 200,
    ) -> Template:
        """`edit`: the details form as refused, shown open with what was typed;
        `offer_goods_in`: the book was just added, with no stock yet."""
        book = await books.get(isbn13=isbn13)
        ledger = await stock.ledger(isbn13=isbn13, limit=LEDGER_PAGE + 1, before_id=before)
        awaiting_dispatch = await stock.awaiting_dispatch(isbn13=isbn13)
        older = ledger[LEDGER_PAGE - 1].id if len(ledger) > LEDGER_PAGE else None
        return page(
            "book.html",
            {
                "book": book,
                "awaiting_dispatch": awaiting_dispatch,
                "ledger": ledger[:LEDGER_PAGE],
                "older": older,
                "paged": before is not None,
                "notice": notice,
                "adjust_error": adjust_error,
                "reorder_point_error": reorder_point_error,
                "entered": entered or {},
                "submission": new_token(),
                "edit_submission": new_token(),
                "edit": edit or BookForm.of_book(book),
                "edit_open": edit is not None,
                "shown": fields_digest(book, DETAILS),
                "offer_goods_in": offer_goods_in,
            },
            status_code=status_code,
        )
