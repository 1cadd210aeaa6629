"""Books through BookService on SQLite and Postgres: create, change, bulk upsert for imports."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.catalogue import models
from services.catalogue.schemas import BookUpdate, UpsertSummary
from services.catalogue.service import BookService
from shared.errors import Conflict, NotFound
from shared.isbn import InvalidISBN


async def test_a_new_book_is_stored_as_isbn13_with_its_opening_stock_and_announced(
    books: BookService, catalogue
) -> None:
    created = await books.create(
        book=catalogue.book(
            "0-14-044913-2", "Crime and Punishment", authors=("Fyodor Dostoevsky",), stock=3
        ),
        actor="sam",
    )

    assert created.isbn13 == "9780140449136"
    assert (created.on_hand, created.available, created.version) == (3, 3, 1)
    assert created.reorder_point == 1
    [event] = await catalogue.events()
    assert event["isbn13"] == "9780140449136"
    assert (event["version"], event["available"]) == (1, 3)
    assert event["authors"] == ["Fyodor Dostoevsky"]


async def test_a_second_create_of_the_same_isbn_is_a_conflict(
    books: BookService, catalogue
) -> None:
    await books.create(book=catalogue.book(catalogue.isbn(1), "Once"), actor="t")
    with pytest.raises(Conflict, match="already has ISBN"):
        await books.create(book=catalogue.book(catalogue.isbn(1), "Twice"), actor="t")


async def test_authors_keep_their_order(books: BookService, catalogue) -> None:
    authors = ("Karl Marx", "Friedrich Engels", "Anna Zetkin")
    created = await books.create(
        book=catalogue.book(catalogue.isbn(2), "Manifesto", authors=authors), actor="t"
    )
    assert created.authors == list(authors)


async def test_an_update_changes_only_what_is_given_and_raises_the_version(
    books: BookService, catalogue
) -> None:
    isbn = catalogue.isbn(3)
    await books.create(
        book=catalogue.book(isbn, "Old Title", subtitle="A subtitle", publisher="Verso"), actor="t"
    )

    updated = await books.update(
        isbn13=isbn, changes=BookUpdate(title="New Title", subtitle=None), actor="t"
    )
    unchanged = await books.update(isbn13=isbn, changes=BookUpdate(title="New Title"), actor="t")

    assert (updated.title, updated.subtitle, updated.publisher) == ("New Title", None, "Verso")
    assert updated.version == 2 and unchanged.version == 2
    assert [event["version"] for event in await catalogue.events(isbn)] == [1, 2]
    assert [hit.isbn13 for hit in (await books.search(q="new tit")).hits] == [isbn]
    assert (await books.search(q="old title")).hits == []


async def test_many_books_are_read_at_once_with_their_stock(books: BookService, catalogue) -> None:
    first, second = catalogue.isbn(40), catalogue.isbn(41)
    for isbn in (first, second):
        await books.create(book=catalogue.book(isbn, f"Book {isbn}"), actor="t")
    found = await books.get_many(isbn13s=[first, second, catalogue.isbn(404)])
    assert set(found) == {first, second}, "an unknown book is left out"
    assert found[first] == await books.get(isbn13=first)


async def test_unknown_and_invalid_isbns_are_told_apart(books: BookService, catalogue) -> None:
    with pytest.raises(NotFound):
        await books.get(isbn13=catalogue.isbn(404))
    with pytest.raises(InvalidISBN):
        await books.get(isbn13="9798463348617")


async def test_upsert_creates_updates_and_leaves_the_same_books_untouched(
    books: BookService, catalogue
) -> None:
    first = [
        catalogue.book(catalogue.isbn(10), "Ten", stock=4),
        catalogue.book(catalogue.isbn(11), "Eleven"),
    ]
    assert await books.upsert_books(books=first, actor="import") == UpsertSummary(created=2)

    again = await books.upsert_books(books=first, actor="import")
    changed = await books.upsert_books(
        books=[
            catalogue.book(catalogue.isbn(10), "Ten, revised", stock=50),
            catalogue.book(catalogue.isbn(11), "Eleven"),
            catalogue.book(catalogue.isbn(12), "Twelve", stock=1),
        ],
        actor="import",
    )

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (changed.created, changed.updated, changed.unchanged) == (1, 1, 1)
    ten = await books.get(isbn13=catalogue.isbn(10))
    assert (ten.title, ten.on_hand, ten.version) == ("Ten, revised", 4, 2)  # stock only when new
    assert len(await catalogue.events()) == 4
    async with catalogue.db.reading() as session:
        received = list(
            await session.scalars(
                select(models.LedgerEntry.isbn13).where(models.LedgerEntry.kind == "received")
            )
        )
    assert sorted(received) == [catalogue.isbn(10), catalogue.isbn(12)]


async def test_upsert_keeps_a_reorder_point_the_record_does_not_give(
    books: BookService, catalogue
) -> None:
    isbn = catalogue.isbn(20)
    await books.create(book=catalogue.book(isbn, "Kept", reorder_point=5), actor="staff")
    summary = await books.upsert_books(books=[catalogue.book(isbn, "Kept")], actor="import")
    assert summary.unchanged == 1
    assert (await books.get(isbn13=isbn)).reorder_point == 5


async def test_an_invalid_isbn_refuses_the_whole_batch(books: BookService, catalogue) -> None:
    with pytest.raises(InvalidISBN):
        await books.upsert_books(
            books=[catalogue.book(catalogue.isbn(30), "Fine"), catalogue.book("12345", "Bad")],
            actor="import",
        )
    assert await catalogue.count(models.Book.__table__) == 0
    assert await catalogue.events() == []
