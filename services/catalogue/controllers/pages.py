"""The public pages: a book (with its Buy form) and a simple search page."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_301_MOVED_PERMANENTLY

from services.catalogue.controllers.dependencies import Books
from services.catalogue.domain import availability_label
from services.catalogue.page_cache import Shopfront
from services.catalogue.schemas import BookRead
from shared.auth.sessions import WITHOUT_STAFF_SESSION
from shared.contracts.recommendation import ARTICLE_ID
from shared.errors import NotFound
from shared.isbn import InvalidISBN, hyphenless, to_isbn13
from shared.web import get_and_head, sentence

MAX_BUY_QUANTITY = 10
SEARCH_SHOWN = 30
# An ISBN-13 written with hyphens or spaces.
_LONGEST_ISBN = 17


def _attribution(value: str | None) -> str | None:
    """An article's link's attribution, copied into the Buy form only if it is an article id."""
    return value if value and ARTICLE_ID.fullmatch(value) else None


def _gone_isbn(value: str | None) -> str | None:
    """The ISBN-13 of the gone book an article's link was for; anything else is dropped, so
    nothing but a checked ISBN reaches the page or its cache key."""
    if not value or len(value) > _LONGEST_ISBN:
        return None
    try:
        return to_isbn13(value)
    except InvalidISBN:
        return None


async def _gone_book(get: Callable[..., Awaitable[BookRead]], isbn13: str | None) -> str | None:
    """How the page names the gone book: its title while the catalogue knows it, else its ISBN."""
    if isbn13 is None:
        return None
    try:
        return f"“{(await get(isbn13=isbn13)).title}”"
    except NotFound:
        return isbn13


# A book page is cached for every reader, but its Buy form's submission id must be each view's
# own: checkout makes one order of the submits that carry the same id (a double click).
_SUBMISSION_SLOT = "submission-of-this-view"


def _page(html: str) -> Response[Any]:
    return Response(
        html.replace(_SUBMISSION_SLOT, secrets.token_urlsafe(16), 1), media_type=MediaType.HTML
    )


def _sorry(status_code: int, heading: str, message: str, query: str = "") -> Template:
    return Template(
        template_name="sorry.html",
        context={"heading": heading, "message": message, "q": query},
        status_code=status_code,
        media_type=MediaType.HTML,
    )


class PublicPages(Controller):
    include_in_schema = False
    opt = WITHOUT_STAFF_SESSION

    @get_and_head("/books/{isbn:str}", media_type=MediaType.HTML)
    async def book(
        self,
        request: Request[Any, Any, Any],
        shopfront: NamedDependency[Shopfront],
        isbn: FromPath[str],
        article: FromQuery[str | None] = None,
        link: FromQuery[str | None] = None,
        gone: FromQuery[str | None] = None,
    ) -> Response[Any] | Template:
        article, link, gone = _attribution(article), _attribution(link), _gone_isbn(gone)
        # Most requests: a page kept under the address as given was built for a valid ISBN-13,
        # so the ISBN needs no checking again.
        kept = shopfront.pages.fresh(("book", isbn, article, link, gone))
        if kept is not None:
            return _page(kept)
        try:
            isbn13 = to_isbn13(isbn)
        except InvalidISBN as error:
            return _sorry(
                400,
                "That is not an ISBN",
                f"{sentence(str(error))} Check the link, or search:",
                isbn,
            )
        if isbn13 != isbn:
            # ISBN-10 or hyphenated in the link: one address per book.
            carried = (("article", article), ("link", link), ("gone", gone))
            query = urlencode({k: v for k, v in carried if v})
            return Redirect(
                f"/books/{isbn13}" + (f"?{query}" if query else ""),
                status_code=HTTP_301_MOVED_PERMANENTLY,
            )

        async def render() -> str:
            book = await shopfront.books.get(isbn13=isbn13)
            template = request.app.template_engine.get_template("book.html")  # type: ignore[union-attr]
            return template.render(
                book=book,
                availability=availability_label(book.available),
                max_quantity=min(book.available, MAX_BUY_QUANTITY),
                article=article,
                link=link,
                gone=await _gone_book(shopfront.books.get, gone if gone != isbn13 else None),
                submission=_SUBMISSION_SLOT,
            )

        try:
            page = await shopfront.pages.get(("book", isbn13, article, link, gone), render)
        except NotFound:
            return _sorry(
                404,
                "We don't have that book",
                f"There is no book with ISBN {hyphenless(isbn)} in our catalogue. Try a search:",
                hyphenless(isbn),
            )
        return _page(page)

    @get("/search", media_type=MediaType.HTML)
    async def search(
        self,
        books: Books,
        q: Annotated[str, QueryParameter(max_length=200)] = "",
        gone: FromQuery[str | None] = None,
    ) -> Template:
        # one more than is shown tells whether the list goes on, which the page then says
        results = await books.search(q=q, limit=SEARCH_SHOWN + 1) if q.strip() else None
        hits = results.hits if results else []
        return Template(
            template_name="search.html",
            context={
                "q": q,
                "gone": await _gone_book(books.get, _gone_isbn(gone)),
                "results": results,
                "hits": hits[:SEARCH_SHOWN],
                "more": len(hits) > SEARCH_SHOWN,
                "availability": availability_label,
            },
            media_type=MediaType.HTML,
        )
