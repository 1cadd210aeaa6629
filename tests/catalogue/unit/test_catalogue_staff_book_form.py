"""The new-book and edit-details form: what staff type, read by the rules imports follow, with
every problem said beside its field."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from services.catalogue.domain import fields_digest
from services.catalogue.imports.records import check_book
from services.catalogue.schemas import BookCreate, BookRead
from services.catalogue.staff_pages.book_form import (
    DETAILS,
    FIELDS,
    BookForm,
    FormInvalid,
    corrected_details,
    names,
    new_book,
)

CAPITAL = "9780140449136"


def typed(**fields: str) -> BookForm:
    """The form as posted: every field, blank unless given."""
    return BookForm.from_data({name: "" for name in FIELDS} | fields)


def refused(form: BookForm) -> dict[str, str]:
    with pytest.raises(FormInvalid) as invalid:
        new_book(form)
    return invalid.value.errors


def held(**fields: object) -> BookRead:
    now = datetime(2025, 5, 1, tzinfo=UTC)
    book = {
        "isbn13": CAPITAL,
        "title": "Capital",
        "subtitle": "Volume 1",
        "authors": ["Karl Marx"],
        "publisher": "Penguin Classics",
        "year": 1990,
        "format": "paperback",
        "price_pence": 1299,
        "subjects": ["marxist-theory", "political-economy"],
        "description": "A critique of political economy.",
        "cover_url": None,
        "reorder_point": 2,
        "on_hand": 3,
        "reserved": 0,
        "available": 3,
        "version": 4,
        "created_at": now,
        "updated_at": now,
    }
    return BookRead(**(book | fields))


def test_a_new_book_is_read_as_an_import_reads_it() -> None:
    book = new_book(
        typed(
            isbn=" 0-14-044913-2 ",
            title="  Capital ",
            subtitle="A Critique of Political Economy",
            authors="Karl Marx, Friedrich Engels",
            publisher="Penguin Classics",
            year="1990",
            format="Paperback",
            price="£12.99",
            subjects="Marxist theory; Political Economy",
            description="Volume one.",
        )
    )

    assert book == BookCreate(
        isbn13=CAPITAL,
        title="Capital",
        subtitle="A Critique of Political Economy",
        authors=["Karl Marx", "Friedrich Engels"],
        publisher="Penguin Classics",
        year=1990,
        format="paperback",
        price_pence=1299,
        subjects=["marxist-theory", "political-economy"],
        description="Volume one.",
    )
    # No opening stock: goods in books the copies in.
    assert book.stock == 0


@pytest.mark.parametrize(("price", "pence"), [("9.99", 999), ("£9.99", 999), ("12", 1200)])
def test_the_price_is_typed_in_pounds(price: str, pence: int) -> None:
    assert new_book(typed(isbn=CAPITAL, title="Capital", price=price)).price_pence == pence


def test_optional_fields_left_blank_are_left_out() -> None:
    book = new_book(typed(isbn=CAPITAL, title="Capital", price="9.99"))

    assert (book.subtitle, book.authors, book.publisher, book.year) == (None, [], None, None)
    assert (book.format, book.subjects, book.description) == (None, [], "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Karl Marx\nFriedrich Engels\n", ["Karl Marx", "Friedrich Engels"]),
        ("Karl Marx\r\nFriedrich Engels", ["Karl Marx", "Friedrich Engels"]),
        ("Karl Marx, Friedrich Engels", ["Karl Marx", "Friedrich Engels"]),
        ("Karl Marx; Friedrich Engels", ["Karl Marx", "Friedrich Engels"]),
        # One a line, a comma stays in its name.
        ("Verso, Inc.\n", ["Verso, Inc."]),
        (" \n\n", []),
        ("", []),
    ],
)
def test_names_are_one_a_line_or_separated_by_commas(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_every_problem_is_said_beside_its_field_at_once() -> None:
    errors = refused(
        typed(
            isbn="978-0-14-044913-7",
            title="",
            authors="x" * 201,
            year="20009",
            price="12.999",
            description="d" * 20_001,
        )
    )

    assert errors == {
        "isbn": "Invalid ISBN: '978-0-14-044913-7' has a wrong check digit: is a digit mistyped?",
        "title": "Missing title.",
        "authors": "Authors: expected a text of length <= 200.",
        "year": "Year 20009: expected a number <= 2100.",
        "price": "'12.999' is not a price: type pounds and pence, like 12.99.",
        "description": "Description: expected a text of length <= 20000.",
    }


def test_the_required_fields_are_named_as_the_form_names_them() -> None:
    assert refused(typed()) == {
        "isbn": "Missing ISBN.",
        "title": "Missing title.",
        "price": "Missing price.",
    }


@pytest.mark.parametrize(
    ("isbn", "said"),
    [
        ("12345", "is not an ISBN"),
        ("5012345678900", "not a book"),
        ("0-14-044913-3", "wrong ISBN-10 check digit"),
    ],
)
def test_an_isbn_that_is_not_one_says_why(isbn: str, said: str) -> None:
    assert said in refused(typed(isbn=isbn, title="Capital", price="9.99"))["isbn"]


def test_the_first_refused_field_in_the_pages_order_takes_the_cursor() -> None:
    with pytest.raises(FormInvalid) as invalid:
        new_book(typed(isbn=CAPITAL, price="lots", year="MMIX", title="Capital"))
    form = BookForm(typed={}, errors=invalid.value.errors)

    assert form.first_error == "year"
    assert BookForm(typed={}).first_error is None


def test_a_correction_sets_every_detail_and_clears_those_left_blank() -> None:
    changes = corrected_details(
        typed(title="Capital", price="14.50", subtitle="", year="", description=""),
        isbn13=CAPITAL,
    )

    given = {name: getattr(changes, name) for name in changes.__struct_fields__}
    assert {name for name, value in given.items() if value is not msgspec.UNSET} == set(DETAILS)
    assert (changes.title, changes.price_pence) == ("Capital", 1450)
    assert (changes.subtitle, changes.year, changes.publisher, changes.description) == (
        None,
        None,
        None,
        "",
    )


def test_a_correction_is_refused_as_a_new_book_would_be() -> None:
    with pytest.raises(FormInvalid) as invalid:
        corrected_details(typed(title="", price="9.99"), isbn13=CAPITAL)

    assert invalid.value.errors == {"title": "Missing title."}


def test_a_book_shown_to_correct_and_saved_untouched_changes_nothing() -> None:
    book = held(authors=["Verso, Inc.", "Karl Marx"], publisher=None, year=None)
    shown = BookForm.of_book(book)
    assert shown.typed["authors"] == "Verso, Inc.\nKarl Marx\n"
    assert shown.typed["price"] == "12.99"

    saved = corrected_details(BookForm.from_data(dict(shown.typed)), isbn13=CAPITAL)

    assert {name: getattr(saved, name) for name in DETAILS} == {
        name: getattr(book, name) for name in DETAILS
    }


def test_one_author_whose_name_holds_a_comma_is_kept_whole() -> None:
    book = held(authors=["Marx, Karl"])

    saved = corrected_details(
        BookForm.from_data(dict(BookForm.of_book(book).typed)), isbn13=CAPITAL
    )

    assert saved.authors == ["Marx, Karl"]


def test_the_digest_of_the_details_moves_with_them_and_not_with_the_stock() -> None:
    book = held()
    digest = fields_digest(book, DETAILS)

    assert fields_digest(held(on_hand=0, available=0, version=9), DETAILS) == digest
    assert fields_digest(held(reorder_point=7), DETAILS) == digest
    assert fields_digest(held(price_pence=1399), DETAILS) != digest
    assert fields_digest(held(authors=["Karl Marx", "Friedrich Engels"]), DETAILS) != digest
    assert fields_digest(held(subtitle=None), DETAILS) != digest


def test_the_import_rules_report_every_problem_of_a_record() -> None:
    problems = check_book(
        {"isbn13": "9780140449137", "title": "x" * 501, "price_pence": 999, "year": 3000}
    )

    assert problems == {
        "isbn13": "invalid ISBN: '9780140449137' has a wrong check digit: is a digit mistyped?",
        "title": "title: expected a text of length <= 500",
        "year": "year 3000: expected a number <= 2100",
    }
