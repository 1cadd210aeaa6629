"""CSV with a header row: good files, bad rows by line number, files without the header."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from services.catalogue.imports.csv_format import parse_csv
from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.records import ParsedBook, ParsedRecord, RecordError

IMPORTS = Path(__file__).resolve().parents[2] / "data" / "imports"


def parse(text: str | bytes) -> list[ParsedRecord]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_csv(io.BytesIO(data)))


def test_a_good_file_reads_every_column() -> None:
    records = list(parse_csv((IMPORTS / "good.csv").open("rb")))
    assert all(isinstance(record, ParsedBook) for record in records)
    books = [record.book for record in records]  # type: ignore[union-attr]
    assert [book.price_pence for book in books] == [1999, 2399, 1499]
    assert books[1].authors == ["Karl Marx", "Friedrich Engels"]
    assert books[0].subjects == ["imperialism", "political-economy", "marxist-theory"]
    assert books[0].subtitle is None
    assert books[2].subtitle == "Global Crisis and the Relevance of Marx"
    assert books[2].description.startswith("How the system lumbers on after the long boom ended:\n")
    assert [book.stock for book in books] == [6, 3, 4]


def test_a_quoted_value_over_two_lines_keeps_the_next_rows_line_numbers_right() -> None:
    records = parse(
        "isbn13,title,price_pence,description\n"
        '9798463348616,A,100,"first\nsecond\nthird"\n'
        "9798776421921,,100,\n"
    )
    assert [record.location.line for record in records] == [2, 5]
    assert isinstance(records[1], RecordError)
    assert records[1].reason == "missing title"


def test_bad_rows_are_reported_by_line_and_the_good_ones_kept() -> None:
    records = list(parse_csv((IMPORTS / "bad-records.csv").open("rb")))
    good = [(r.location.line, r.book.isbn13) for r in records if isinstance(r, ParsedBook)]
    bad = {r.location.line: r.reason for r in records if isinstance(r, RecordError)}
    assert good == [(2, "9798463348616"), (3, "9780140449136")]
    assert list(bad) == [4, 5, 6, 8, 9, 10]
    assert bad[4] == "missing title"
    assert bad[5].startswith("bad price '14,99'")
    assert bad[6].startswith("invalid ISBN: 'not-an-isbn'")
    assert bad[8] == "bad price '£23.999': it is not a whole number of pence"
    assert bad[9].startswith("has 8 fields but the header names 9 columns")
    assert bad[10] == "year must be a whole number, not 'two thousand'"


def test_header_names_are_matched_loosely_and_unknown_columns_ignored() -> None:
    [record] = parse(" ISBN13 ,Title,PRICE_PENCE,shelf\n9798463348616,A,12.99,B4\n")
    assert isinstance(record, ParsedBook)
    assert (record.book.title, record.book.price_pence) == ("A", 1299)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("isbn13,title\n9798463348616,A\n", "lacks the column\\(s\\) price_pence"),
        ("9798463348616,A,1299\n", "lacks the column\\(s\\) isbn13, title, price_pence"),
        ("isbn13;title;price_pence\n9798463348616;A;1299\n", "separated by semicolons"),
        ("isbn13,title,price_pence,title\n", "names these columns twice: title"),
        ('isbn13,title,price_pence\n9798463348616,"A,1299\n', "quote mark not closed"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "not a UTF-8 text file"),
        (
            b"isbn13,title,price_pence\n9798463348616,Caf\xe9,\xa312\n",
            "not a UTF-8 text file: line 2",
        ),
    ],
)
def test_a_file_without_the_header_or_not_csv_is_refused(
    content: str | bytes, message: str
) -> None:
    with pytest.raises(ImportRefused, match=message):
        parse(content)


def test_a_row_names_the_fields_its_header_gives_blank_or_not() -> None:
    [record] = parse("ISBN13,Title,price_pence,authors,notes\n9798463348616,T,1299,,x\n")
    assert isinstance(record, ParsedBook)
    assert record.given == {"isbn13", "title", "price_pence", "authors"}


def test_an_isbn_a_spreadsheet_turned_into_a_number_says_its_digits_are_lost() -> None:
    records = parse(
        'isbn13,title,price_pence\n9.79846E+12,A,1299\n9780140449136,B,1299\n"9,78014E+12",C,1299\n'
    )
    assert [(r.location.line, r.reason) for r in records if isinstance(r, RecordError)] == [
        (
            2,
            "a spreadsheet turned this ISBN into the number 9.79846E+12, which keeps only 6 of "
            "its 13 digits, so the book cannot be known from it: in the spreadsheet the file was "
            "saved from, format the ISBN column as text (or as a number with no decimal places) "
            "so that every cell shows all 13 digits, then save the CSV again",
        ),
        (
            4,
            "a spreadsheet turned this ISBN into the number 9,78014E+12, which keeps only 6 of "
            "its 13 digits, so the book cannot be known from it: in the spreadsheet the file was "
            "saved from, format the ISBN column as text (or as a number with no decimal places) "
            "so that every cell shows all 13 digits, then save the CSV again",
        ),
    ]


def test_a_file_with_old_mac_line_endings_is_read_line_by_line() -> None:
    records = parse(
        b'isbn13,title,price_pence,description\r9798463348616,A,1299,"two\rlines"\r'
        b"9798776421921,,100,\r9780140449136,C,899,\r"
    )
    assert [record.location.line for record in records] == [2, 4, 5]
    first, missing_title, last = records
    assert isinstance(first, ParsedBook) and first.book.description == "two\rlines"
    assert isinstance(missing_title, RecordError) and missing_title.reason == "missing title"
    assert isinstance(last, ParsedBook) and last.book.isbn13 == "9780140449136"


SAVE_IN_UTF_8 = (
    "and its accented letters and £ signs would be read wrong: save it again as "
    '"CSV UTF-8" (in Excel: File, Save As) and import that'
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            # "CSV (Macintosh)": CR-only line endings, in Mac Roman (é is 0x8e, £ 0xa3).
            b"isbn13,title,price_pence\r9798463348616,Caf\x8e,\xa312.99\r",
            "this is not a UTF-8 text file: line 2 has the byte 0x8e at column 18, so it was "
            'saved in Mac Roman, as old Mac Excel saves "CSV (Macintosh)" (its lines end in a CR '
            f"alone), {SAVE_IN_UTF_8}",
        ),
        (
            b"isbn13,title,price_pence\r\n9798463348616,Caf\xe9,\xa312.99\r\n",
            "this is not a UTF-8 text file: line 2 has the byte 0xe9 at column 18, so it was "
            f"saved in an older encoding than UTF-8 (Windows or Mac), {SAVE_IN_UTF_8}",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "this is not a UTF-8 text file: line 1 has the byte 0x89 at column 1 (is it a "
            "spreadsheet or another binary file? Save it as UTF-8 text)",
        ),
        (
            # The header typed on one machine, the rows pasted from an old Mac spreadsheet.
            b"isbn13,title,price_pence\n9798463348616,A,1299\r9780140449136,B,899\r",
            "line 2 ends in a CR alone, as old Mac spreadsheets end lines, but the lines before "
            'it do not: a file must end every line the same way. Save it again as "CSV UTF-8" '
            "(in Excel: File, Save As) and import that",
        ),
    ],
    ids=["old-mac-excel", "windows-encoding", "image", "mixed-line-endings"],
)
def test_a_file_saved_the_wrong_way_says_how_it_was_saved_and_how_to_save_it(
    content: bytes, message: str
) -> None:
    with pytest.raises(ImportRefused) as refused:
        parse(content)
    assert refused.value.message == message


def test_a_cr_inside_a_quoted_value_of_a_file_with_lf_endings_stays_in_its_line() -> None:
    records = parse(
        'isbn13,title,price_pence,description\n9798463348616,A,1,"a\rb"\n9780140449136,,1,\n'
    )
    assert [record.location.line for record in records] == [2, 3]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "x" * 200_000,
            "line 3 has a value over 131,072 characters long, longer than any of a book's "
            "columns may be: check that line, or that this is the right file",
        ),
        (
            '"unclosed\n' + "9798776421921,B,1299,x\n" * 10_000,
            "line 3 starts a quoted value that runs on to line 5702, past 131,072 characters: "
            "is its closing quote mark missing?",
        ),
    ],
    ids=["long-value", "runaway-quote"],
)
def test_a_value_over_the_csv_field_limit_is_refused_naming_its_line(
    value: str, message: str
) -> None:
    with pytest.raises(ImportRefused) as refused:
        parse(
            f"isbn13,title,price_pence,description\n9798463348616,A,1,\n9780140449136,B,1,{value}\n"
        )
    assert refused.value.message == message


def test_a_bare_whole_number_among_prices_in_pounds_is_refused_as_ambiguous() -> None:
    records = parse(
        "isbn13,title,price_pence\n"
        "9798463348616,Imperialism,12.99\n"
        '9798776421921,The Manifesto,"£ 10"\n'
        "9798319747327,Capital,10\n"
    )
    assert [r.book.price_pence for r in records if isinstance(r, ParsedBook)] == [1299, 1000]
    [refused] = [r for r in records if isinstance(r, RecordError)]
    assert str(refused) == (
        "line 4: 10 in a column of prices in pounds: write 10.00 for £10, or 1000 for pence"
    )


def test_a_column_of_whole_numbers_alone_is_pence() -> None:
    records = parse("isbn13,title,price_pence\n9798463348616,Imperialism,10\n")
    assert [r.book.price_pence for r in records if isinstance(r, ParsedBook)] == [10]
