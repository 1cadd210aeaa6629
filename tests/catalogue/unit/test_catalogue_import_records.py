"""The rules every import format shares: ISBNs, titles, names, numbers, prices, subjects."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.catalogue.imports.records import FIELDS, Location, RecordInvalid, build_book
from services.catalogue.schemas import BookCreate

CALLINICOS = {"isbn13": "9798463348616", "title": "Imperialism and Global Political Economy"}


def book(**fields: object) -> dict[str, object]:
    return {**CALLINICOS, "price_pence": 1999, **fields}


def test_a_full_record_keeps_every_field() -> None:
    built = build_book(
        book(
            subtitle="A Subtitle",
            authors=["Alex Callinicos", "A. N. Other"],
            publisher="Polity",
            year=2009,
            format="Paperback",
            subjects=["imperialism", "Political Economy"],
            description="Two logics.",
            cover_url="https://covers.example.com/1.jpg",
            reorder_point=2,
            stock=6,
        )
    )
    assert built.isbn13 == "9798463348616"
    assert built.title == "Imperialism and Global Political Economy"
    assert built.subtitle == "A Subtitle"
    assert built.authors == ["Alex Callinicos", "A. N. Other"]
    assert (built.publisher, built.year, built.format) == ("Polity", 2009, "paperback")
    assert built.subjects == ["imperialism", "political-economy"]
    assert (built.description, built.cover_url) == (
        "Two logics.",
        "https://covers.example.com/1.jpg",
    )
    assert (built.reorder_point, built.stock) == (2, 6)


def test_absent_optional_fields_take_the_defaults() -> None:
    built = build_book(book())
    assert built.subtitle is None
    assert built.authors == []
    assert built.description == ""
    assert built.reorder_point is None
    assert built.stock == 0


def test_text_values_are_read_as_a_spreadsheet_writes_them() -> None:
    built = build_book(
        book(
            price_pence="£19.99",
            year="2009",
            stock="6",
            subtitle="  ",
            authors="Karl Marx; Friedrich Engels;",
            subjects="marxist-theory;;Women's liberation",
        )
    )
    assert built.price_pence == 1999
    assert (built.year, built.stock, built.subtitle) == (2009, 6, None)
    assert built.authors == ["Karl Marx", "Friedrich Engels"]
    assert built.subjects == ["marxist-theory", "womens-liberation"]


def test_isbn_10_and_hyphenated_isbns_are_stored_as_isbn_13() -> None:
    assert build_book(book(isbn13="0-14-044913-2")).isbn13 == "9780140449136"
    assert build_book(book(isbn13="979-8-4633-4861-6")).isbn13 == "9798463348616"
    assert build_book(book(isbn13=9798463348616)).isbn13 == "9798463348616"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"isbn13": "9798463348617"}, "invalid ISBN: .* wrong check digit"),
        ({"isbn13": "5012345678900"}, "invalid ISBN: .* not a book"),
        ({"isbn13": None}, "missing ISBN"),
        ({"isbn13": ["9798463348616"]}, "invalid ISBN"),
        ({"title": "   "}, "missing title"),
        ({"title": 42}, "title must be text"),
        ({"price_pence": None}, "missing price"),
        ({"price_pence": Decimal("19.99")}, "bad price 19.99: price_pence must be a whole number"),
        ({"price_pence": "19,99"}, "bad price '19,99'"),
        ({"price_pence": -5}, "cannot be negative"),
        ({"price_pence": True}, "bad price"),
        ({"price_pence": 10**9}, "price_pence 1000000000: expected a number <= 100000000"),
        ({"year": "MMIX"}, "year must be a whole number"),
        ({"year": 20009}, "year 20009: expected a number <= 2100"),
        ({"stock": "-3"}, "stock -3: expected a number >= 0"),
        ({"stock": Decimal("2.5")}, "stock must be a whole number"),
        ({"authors": {"name": "Marx"}}, "authors must be a list of names"),
        ({"authors": ["Marx", 7]}, "authors must be a list of names, but one is int"),
        ({"title": "x" * 501}, "title: expected a text of length <= 500"),
        ({"cover_url": "covers/1.jpg"}, "cover_url must be a web address"),
    ],
)
def test_a_bad_field_gives_a_reason_a_person_can_act_on(
    fields: dict[str, object], reason: str
) -> None:
    with pytest.raises(RecordInvalid, match=reason):
        build_book(book(**fields))


def test_a_location_reads_as_a_person_would_look_for_it() -> None:
    assert str(Location(line=7)) == "line 7"
    assert str(Location(record=3, reference="com.example.3")) == (
        "record 3 (RecordReference com.example.3)"
    )
    assert str(Location(record=3)) == "record 3"


def test_an_import_file_may_give_every_field_of_a_book_and_no_other() -> None:
    # a field added to BookCreate is a column a CSV file may carry, without a second list
    assert sorted(FIELDS) == sorted(BookCreate.__struct_fields__)
    assert FIELDS[0] == "isbn13"
