"""Search as you type on SQLite and Postgres: ISBNs and barcodes, then title, author and word
matches, in stock first within each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert, select

from services.catalogue.domain import TermKind, search_terms, words_mask
from services.catalogue.models import Book, SearchTerm
from services.catalogue.schemas import CountedLine, Delivery, DeliveryLine, StockTake
from services.catalogue.service import BookService, StockService
from shared.db import Database
from shared.migrations import sync_url, upgrade


async def seed(books: BookService, catalogue) -> dict[str, str]:
    isbns = {
        name: catalogue.isbn(n)
        for n, name in enumerate(["title", "author", "words", "sold_out_title", "other"], start=1)
    }
    await books.upsert_books(
        books=[
            catalogue.book(
                isbns["title"], "Marxism and Freedom", authors=("Raya Dunayevskaya",), stock=2
            ),
            catalogue.book(isbns["author"], "Capital", authors=("Karl Marx",), stock=5),
            catalogue.book(
                isbns["words"], "Reading Capital Politically", subtitle="After Marx", stock=1
            ),
            catalogue.book(
                isbns["sold_out_title"], "Marx's Ecology", authors=("John Bellamy Foster",)
            ),
            catalogue.book(
                isbns["other"], "The Joy of Cooking", authors=("Irma Rombauer",), stock=9
            ),
        ],
        actor="t",
    )
    return isbns


async def test_title_prefix_beats_author_prefix_beats_words_and_in_stock_comes_first(
    books: BookService, catalogue
) -> None:
    isbns = await seed(books, catalogue)

    results = await books.search(q="marx")

    assert [(hit.isbn13, hit.match) for hit in results.hits] == [
        (isbns["title"], "title"),
        (isbns["sold_out_title"], "title"),
        (isbns["author"], "author"),
        (isbns["words"], "words"),
    ]
    assert not results.isbn_lookup


async def test_every_word_must_match_somewhere(books: BookService, catalogue) -> None:
    isbns = await seed(books, catalogue)
    hits = (await books.search(q="capital mar")).hits
    assert {hit.isbn13 for hit in hits} == {isbns["author"], isbns["words"]}
    assert (await books.search(q="capital cooking")).hits == []


async def test_an_author_is_found_by_any_of_their_names_as_typed(
    books: BookService, catalogue
) -> None:
    isbns = await seed(books, catalogue)
    for typed in ("bellamy fos", "foster", "John Bell"):
        assert [hit.isbn13 for hit in (await books.search(q=typed)).hits][:1] == [
            isbns["sold_out_title"]
        ]


async def test_isbns_are_looked_up_whole_partial_hyphenated_or_scanned(
    books: BookService, catalogue
) -> None:
    isbns = await seed(books, catalogue)
    wanted = isbns["other"]
    hyphenated = f"{wanted[:3]}-{wanted[3:5]}-{wanted[5:12]}-{wanted[12]}"
    for typed in (wanted, hyphenated, wanted + "51299", wanted[:12]):
        results = await books.search(q=typed)
        assert results.isbn_lookup
        assert results.hits[0].isbn13 == wanted
        assert results.hits[0].match == "isbn"


async def test_stock_changes_reorder_books_within_a_tier(
    books: BookService, stock: StockService, catalogue
) -> None:
    isbns = await seed(books, catalogue)
    await stock.stock_take(
        take=StockTake(counts=[CountedLine(isbn13=isbns["title"], counted=0)]),
        actor="t",
        apply=True,
    )
    await stock.receive(
        delivery=Delivery(lines=[DeliveryLine(isbn13=isbns["sold_out_title"], quantity=1)]),
        actor="t",
    )
    hits = (await books.search(q="marx")).hits
    assert [(hit.isbn13, hit.available) for hit in hits[:2]] == [
        (isbns["sold_out_title"], 1),
        (isbns["title"], 0),
    ]


async def test_nothing_typed_finds_nothing(books: BookService, catalogue) -> None:
    await seed(books, catalogue)
    assert (await books.search(q="  ")).hits == []
    assert (await books.search(q="zzzz")).hits == []


async def test_a_search_leaves_its_pooled_connection_transactional(
    books: BookService, db: Database, catalogue
) -> None:
    # On Postgres a search reads outside a transaction; the next user of the connection must not.
    await seed(books, catalogue)
    await books.search(q="capital mar")
    with pytest.raises(RuntimeError):
        async with db.writing() as session:
            await session.execute(SearchTerm.__table__.delete().where(SearchTerm.term == "capital"))
            raise RuntimeError("rolled back")
    assert len((await books.search(q="capital")).hits) == 2


def test_the_migration_gives_books_already_indexed_their_words_mask(database_url: str) -> None:
    upgrade("services.catalogue:migrations", database_url, "0002")
    now = datetime.now(UTC)
    catalogue = {
        "9790000000018": ("Reading Capital Politically", ["Harry Cleaver"]),
        "9790000000025": ("The Joy of Cooking", ["Irma Rombauer"]),
    }
    engine = create_engine(sync_url(database_url))
    with engine.begin() as connection:
        for isbn13, (title, authors) in catalogue.items():
            connection.execute(
                insert(Book.__table__).values(
                    isbn13=isbn13,
                    title=title,
                    subtitle=None,
                    authors=authors,
                    price_pence=999,
                    subjects=[],
                    description="",
                    reorder_point=1,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            connection.execute(
                insert(SearchTerm.__table__).values(
                    [
                        {"isbn13": isbn13, "kind": int(kind), "term": term, "out_of_stock": 1}
                        for kind, term in search_terms(
                            isbn13=isbn13, title=title, subtitle=None, authors=authors
                        )
                    ]
                ),
            )
    upgrade("services.catalogue:migrations", database_url)
    with engine.connect() as connection:
        masks = connection.execute(select(SearchTerm.isbn13, SearchTerm.words_mask)).all()
    engine.dispose()
    expected = {
        isbn13: words_mask(
            term
            for kind, term in search_terms(
                isbn13=isbn13, title=title, subtitle=None, authors=authors
            )
            if kind == TermKind.WORD
        )
        for isbn13, (title, authors) in catalogue.items()
    }
    assert masks and all(mask == expected[isbn13] for isbn13, mask in masks)
