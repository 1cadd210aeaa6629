"""Stock take by shelf: count, preview the differences (nothing written), write corrections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.response import Template

from services.catalogue.controllers.dependencies import Actor, Stock
from services.catalogue.schemas import CountedLine, StockDifference, StockTake, StockTakeResult
from services.catalogue.service import FiguresChanged
from services.catalogue.staff_pages import forms
from services.catalogue.staff_pages.shelves import ShelfBook, Shelves
from services.catalogue.staff_pages.web import Cut, Query, StockArea, page
from shared.errors import InvalidInput, ShopError
from shared.web import Form

# The shelves to count (the app's `shelves` dependency).
Shelving = NamedDependency[Shelves]


class StockTakePages(StockArea):
    @get("/stock-take")
    async def stock_take(self, shelves: Shelving, subject: Query = "") -> Template:
        """Choose a shelf (a subject), then count its books."""
        if not subject:
            return page("stock_take.html", {"shelves": await shelves.all(), "subject": ""})
        books = await shelves.books(subject)
        size = await shelves.size(subject)
        cut = Cut(shown=len(books), total=size) if size > len(books) else None
        return page(
            "stock_take.html", {"subject": subject, "books": books, "counts": {}, "cut": cut}
        )

    @post("/stock-take/preview")
    async def preview_stock_take(
        self, shelves: Shelving, stock: Stock, actor: Actor, data: Form
    ) -> Template:
        """The differences between the counts and the books' figures; writes nothing."""
        subject = forms.text(data, "subject", limit=60)
        shelf = await shelves.books(subject)
        try:
            counts = self._counts(data, shelf)
            result = await stock.stock_take(
                take=StockTake(
                    counts=[CountedLine(isbn13=i, counted=c) for i, c in counts.items()]
                ),
                actor=actor,
                apply=False,
            )
        except ShopError as error:
            return _counting(
                subject, shelf, data, error=error.message, status_code=error.status_code
            )
        return _preview(subject, result, counts, shelf)

    @post("/stock-take/recount")
    async def recount(self, shelves: Shelving, data: Form) -> Template:
        """Back from the preview to the counts as typed, those to count again blank."""
        subject = forms.text(data, "subject", limit=60)
        shelf = await shelves.books(subject)
        return _counting(subject, shelf, data, again=_again(data, shelf))

    @post("/stock-take/write")
    async def write_stock_take(
        self, shelves: Shelving, stock: Stock, actor: Actor, data: Form
    ) -> Template:
        """Write the previewed corrections, unless the stock moved since the preview: the
        check and the write are one transaction (StockService.stock_take)."""
        subject = forms.text(data, "subject", limit=60)
        shelf = await shelves.books(subject)
        try:
            counts = self._counts(data, shelf)
            previewed = self._previewed(data, counts, shelf)
            take = StockTake(
                counts=[
                    CountedLine(
                        isbn13=i,
                        counted=c,
                        expected_on_hand=previewed[i][0],
                        expected_awaiting_dispatch=previewed[i][1],
                    )
                    for i, c in counts.items()
                ],
                reason=f"stock take: {subject}"[:200],
            )
            result = await stock.stock_take(take=take, actor=actor, apply=True)
        except FiguresChanged as changed:
            return await _count_again(stock, actor, subject, shelf, counts, changed.isbns)
        except ShopError as error:
            return _counting(
                subject, shelf, data, error=error.message, status_code=error.status_code
            )
        return _preview(subject, result, counts, shelf, again=_again(data, shelf))

    @staticmethod
    def _counts(data: dict[str, Any], shelf: Sequence[ShelfBook]) -> dict[str, int]:
        """The counted books of the shelf; a blank count means not counted (left as it is)."""
        typed = forms.prefixed(data, "count-")
        counts = {
            book.isbn13: forms.whole_number(
                typed[book.isbn13], what=f"The count for {_named(book)}", low=0, high=1_000_000
            )
            for book in shelf
            if typed.get(book.isbn13, "").strip()
        }
        if not counts:
            raise InvalidInput("Type a count for at least one book (blank means not counted).")
        return counts

    @staticmethod
    def _previewed(
        data: dict[str, Any], counts: dict[str, int], shelf: Sequence[ShelfBook]
    ) -> dict[str, tuple[int, int]]:
        """The figures the preview showed for each counted book: (on hand, sold copies
        awaiting dispatch)."""
        on_hand = forms.prefixed(data, "expected-")
        awaiting = forms.prefixed(data, "awaiting-")
        try:
            return {
                book.isbn13: (
                    forms.whole_number(
                        on_hand[book.isbn13],
                        what=f"The previewed figure for {_named(book)}",
                        low=0,
                        high=1_000_000,
                    ),
                    forms.whole_number(
                        awaiting[book.isbn13],
                        what=f"The previewed copies awaiting dispatch for {_named(book)}",
                        low=0,
                        high=1_000_000,
                    ),
                )
                for book in shelf
                if book.isbn13 in counts
            }
        except KeyError:
            raise InvalidInput(
                "Preview the differences again before writing them: the form lacks the figures "
                "they were previewed against."
            ) from None


async def _count_again(
    stock: Stock,
    actor: str,
    subject: str,
    shelf: Sequence[ShelfBook],
    counts: dict[str, int],
    changed: Sequence[str],
) -> Template:
    """After a write refused because some books' figures moved: a count taken before they
    moved may have included copies since posted, or missed a sale's, so those books must be
    counted again (their counts are dropped, never written against the new figures). The
    others' counts still hold: previewed again, ready to write."""
    again = [book for book in shelf if book.isbn13 in changed]
    kept = {isbn13: count for isbn13, count in counts.items() if isbn13 not in changed}
    one = len(again) == 1
    titles = "; ".join(book.title for book in again)
    error = (
        f"The stock of {titles if one else f'{len(again)} books ({titles})'} moved since you"
        " counted (a sale, a delivery, or sold copies posted or collected), so"
        f" {'its count was' if one else 'their counts were'} dropped: count"
        f" {'it' if one else 'them'} again."
    )
    if not kept:
        typed = {f"count-{isbn13}": str(count) for isbn13, count in counts.items()}
        return _counting(subject, shelf, typed, error=error, again=again, status_code=409)
    result = await stock.stock_take(
        take=StockTake(counts=[CountedLine(isbn13=i, counted=c) for i, c in kept.items()]),
        actor=actor,
        apply=False,
    )
    return _preview(
        subject,
        result,
        kept,
        shelf,
        again=again,
        error=f"{error} The other counts are kept: check their differences, then write them.",
        status_code=409,
    )


def _again(data: dict[str, Any], shelf: Sequence[ShelfBook]) -> list[ShelfBook]:
    """The books a refused write asked to count again, carried by the forms that follow it
    until the clerk previews new counts."""
    marked = forms.prefixed(data, "again-")
    return [book for book in shelf if book.isbn13 in marked]


def _missing(d: StockDifference) -> str | None:
    """In plain words, the copies sold or held for orders that a count is short of, which the
    stock take does not write off; None if it is short of none."""
    if not (d.missing_sold or d.missing_held):
        return None
    said = f"{d.title}: {d.counted} counted"
    if d.missing_sold:
        one = d.missing_sold == 1
        said += (
            f", but {d.awaiting_dispatch} {'is' if d.awaiting_dispatch == 1 else 'are'} sold and"
            f" waiting to be posted or collected: {_copies(d.missing_sold, 'paid-for copy')}"
            f" {'is' if one else 'are'} missing. Find {'it' if one else 'them'}, or refund"
            f" {'its order' if one else 'their orders'}: a stock take does not write off sold"
            " copies."
        )
    if d.missing_held:
        one = d.missing_held == 1
        said += (
            f"{' Also' if d.missing_sold else ', but'} {_copies(d.missing_held, 'copy')} held"
            f" for unpaid orders {'is' if one else 'are'} not on the shelf: find"
            f" {'it' if one else 'them'}, or release {'its order' if one else 'their orders'},"
            " then count again."
        )
    after = d.on_hand + d.difference
    # Never up: the count is short of copies spoken for, so none unsold is on the shelf.
    return f"{said} On hand {f'goes down to {after}' if d.difference else f'stays at {after}'}."


def _copies(n: int, copy: str) -> str:
    """'1 copy', '2 copies': `copy` ends in the word 'copy'."""
    return f"{n} {copy if n == 1 else copy.removesuffix('copy') + 'copies'}"


def _named(book: ShelfBook) -> str:
    """A book as the clerk finds it on the shelf: by title, the ISBN to tell editions apart."""
    return f"{book.title} ({book.isbn13})"


def _counting(
    subject: str,
    shelf: Sequence[ShelfBook],
    data: dict[str, Any],
    *,
    error: str | None = None,
    again: Sequence[ShelfBook] = (),
    status_code: int = 200,
) -> Template:
    """The shelf's count sheet with the counts as typed, blank and marked for the books to
    count again."""
    recount = {book.isbn13 for book in again}
    return page(
        "stock_take.html",
        {
            "subject": subject,
            "books": shelf,
            "counts": {
                isbn13: count
                for isbn13, count in forms.prefixed(data, "count-").items()
                if isbn13 not in recount
            },
            "again": recount,
            "error": error,
        },
        status_code=status_code,
    )


def _preview(
    subject: str,
    result: StockTakeResult,
    counts: dict[str, int],
    shelf: Sequence[ShelfBook],
    *,
    error: str | None = None,
    again: Sequence[ShelfBook] = (),
    status_code: int = 200,
) -> Template:
    """The differences the counts make, the copies sold or held that counts are short of, the
    counted books' sold copies awaiting dispatch, the books to count again, and the shelf's
    books left uncounted (none once written)."""
    awaiting = result.awaiting_dispatch
    recount = {book.isbn13 for book in again}
    return page(
        "stock_take_preview.html",
        {
            "subject": subject,
            "result": result,
            "counts": counts,
            # What the write must find still on hand: a book whose count matched had its count,
            # less its copies awaiting dispatch.
            "previewed": {i: c - awaiting.get(i, 0) for i, c in counts.items()}
            | {d.isbn13: d.on_hand for d in result.differences},
            "awaiting": {i: awaiting.get(i, 0) for i in counts},
            "awaiting_books": [
                (book, awaiting[book.isbn13]) for book in shelf if book.isbn13 in awaiting
            ],
            "corrections": [d for d in result.differences if d.difference],
            "missing": [note for d in result.differences if (note := _missing(d))],
            "again": again,
            "uncounted": []
            if result.applied
            else [book for book in shelf if book.isbn13 not in counts.keys() | recount],
            "error": error,
        },
        status_code=status_code,
    )
