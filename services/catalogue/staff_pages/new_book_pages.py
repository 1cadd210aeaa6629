"""Adding one book by hand: the form, then the book's stock page, where goods in is offered
(the book is added with no stock: copies come in as a delivery, through the ledger)."""

from __future__ import annotations

from litestar import get, post
from litestar.response import Redirect, Template

from services.catalogue.controllers.dependencies import Actor, Books
from services.catalogue.schemas import BookRead
from services.catalogue.service import BookExists
from services.catalogue.staff_pages.book_form import BookForm, new_book
from services.catalogue.staff_pages.submissions import new_token
from services.catalogue.staff_pages.web import (
    OnceOnly,
    Query,
    StockArea,
    book_path,
    page,
    see_other,
)
from shared.errors import ShopError
from shared.web import Form


def _form_page(form: BookForm, *, existing: BookRead | None = None, status_code: int) -> Template:
    """`existing`: the book the catalogue holds already under the ISBN typed."""
    return page(
        "new_book.html",
        {"form": form, "existing": existing, "submission": new_token()},
        status_code=status_code,
    )


class NewBookPages(StockArea):
    @get("/new-book")
    async def new_book_form(self, isbn: Query = "") -> Template:
        """The empty form; `isbn` fills in the ISBN (goods in's link from a scan it refused)."""
        return _form_page(BookForm(typed={"isbn": isbn.strip()}), status_code=200)

    @post("/new-book")
    async def add_book(
        self, books: Books, submissions: OnceOnly, actor: Actor, data: Form
    ) -> Template | Redirect:
        """Add the book once per form shown: a double click on Add is one book, and the repeat
        lands on its page as the first did."""
        form = BookForm.from_data(data)

        async def write() -> bytes:
            added = await books.create(book=new_book(form), actor=actor)
            return added.isbn13.encode()

        try:
            written = await submissions.once_per_form(
                data,
                write,
                busy="An earlier click on this form is still adding the book: reload the page "
                "in a moment to see it.",
            )
        except BookExists as exists:
            held = await books.get(isbn13=exists.isbn13)
            return _form_page(form, existing=held, status_code=exists.status_code)
        except ShopError as error:
            return _form_page(form.refused(error), status_code=error.status_code)
        isbn13 = written.decode() if isinstance(written, bytes) else written
        return see_other(book_path(isbn13), done="added")
