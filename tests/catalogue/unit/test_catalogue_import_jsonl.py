"""JSON lines: good files, bad records by line number, files that are not JSON lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.jsonl import parse_jsonl
from services.catalogue.imports.records import ParsedBook, ParsedRecord, RecordError

DATA = Path(__file__).resolve().parents[2] / "data"


def parse(text: str | bytes) -> list[ParsedRecord]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_jsonl(io.BytesIO(data)))


def test_the_catalogue_data_set_reads_without_a_single_error() -> None:
    lines = (DATA / "books.jsonl").read_text().splitlines()
    records = list(parse_jsonl((DATA / "books.jsonl").open("rb")))
    assert len(records) == len(lines) == 208
    assert all(isinstance(record, ParsedBook) for record in records)
    first = json.loads(lines[0])
    book = records[0].book  # type: ignore[union-attr]
    assert (book.isbn13, book.title, book.price_pence, book.stock) == (
        first["isbn13"],
        first["title"],
        first["price_pence"],
        first["stock"],
    )
    assert book.authors == first["authors"]
    assert book.subjects == first["subjects"]


def test_bad_records_are_reported_by_line_and_the_good_ones_kept() -> None:
    records = list(parse_jsonl((DATA / "imports" / "bad-records.jsonl").open("rb")))
    good = [(r.location.line, r.book.isbn13) for r in records if isinstance(r, ParsedBook)]
    bad = [(r.location.line, r.reason) for r in records if isinstance(r, RecordError)]
    assert good == [(1, "9798463348616"), (8, "9798668485680"), (9, "9798463348616")]
    assert [line for line, _ in bad] == [2, 4, 5, 6, 7]
    reasons = dict(bad)
    assert reasons[2].startswith("invalid ISBN")
    assert reasons[4] == "missing title"
    assert reasons[5].startswith("bad price 9.99")
    assert reasons[6].startswith("not valid JSON (Expecting ',' delimiter")
    assert reasons[7] == "expected a JSON object {...} for a book, found a list"


def test_a_pound_price_written_as_text_is_converted_exactly() -> None:
    [record] = parse('{"isbn13": "9798668485680", "title": "T", "price_pence": "£23.99"}\n')
    assert isinstance(record, ParsedBook)
    assert record.book.price_pence == 2399


def test_windows_line_endings_and_a_byte_order_mark_are_fine() -> None:
    text = '{"isbn13": "9798668485680", "title": "T", "price_pence": 1}\r\n' * 2
    records = parse(b"\xef\xbb\xbf" + text.encode())
    assert [r.location.line for r in records] == [1, 2]
    assert all(isinstance(r, ParsedBook) for r in records)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"isbn13": "9798668485680"},\n {"title": "T"}]\n', "not a JSON lines file"),
        ("isbn13,title,price_pence\n9798668485680,T,1\n", "not a JSON lines file"),
        ('[\n  {\n    "isbn13": "9798668485680"\n  }\n]\n', "no line holds a JSON object"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a UTF-8 text file"),
        (b'{"title": "Caf\xe9"}\n', "line 1 has the byte 0xe9"),
        ("\ufeff".encode("utf-16"), "not a UTF-8 text file"),
    ],
)
def test_a_file_that_is_not_json_lines_is_refused(content: str | bytes, message: str) -> None:
    with pytest.raises(ImportRefused, match=message):
        parse(content)


def test_a_nested_or_huge_value_is_a_bad_record_not_a_crash() -> None:
    records = parse(
        "[" * 100_000 + "\n" + '{"isbn13": "9798668485680", "title": "T", "price_pence": 1}\n'
    )
    assert isinstance(records[0], RecordError)
    assert isinstance(records[1], ParsedBook)


def test_a_line_names_the_fields_it_has_null_or_not() -> None:
    [record] = parse('{"isbn13": "9798463348616", "title": "T", "price_pence": 1, "year": null}')
    assert isinstance(record, ParsedBook)
    assert record.given == {"isbn13", "title", "price_pence", "year"}
