"""One book record of an import file: where it came from, and its fields checked on the way in.

Every format hands its fields over as a mapping with the JSON lines keys; values are text
(CSV, ONIX) or JSON values (JSON lines). `build_book` applies the same rules to all of them,
so a price or an ISBN means the same whatever file it came in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import partial

import msgspec

from services.catalogue.imports.prices import BadPrice, price_to_pence
from services.catalogue.schemas import BookCreate, BookUpdate
from shared.isbn import InvalidISBN, to_isbn13

# The keys of a JSON lines record and the columns of a CSV file (BookCreate's fields, in the
# order a CSV file's header is best written: the ISBN, what describes the book, the stock).
FIELDS = ("isbn13", *BookUpdate.__struct_fields__, "stock")

_SUBJECT_SEPARATORS = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile(r"['’]")
_WHOLE = re.compile(r"-?[0-9]+")
# How a spreadsheet shows a 13-digit number in a cell not formatted as text (its last
# digits are gone by then).
_SCIENTIFIC_NOTATION = re.compile(r"\d(?:[.,]\d*)?[eE]\+?\d+")


class Location(msgspec.Struct, frozen=True, kw_only=True):
    """Where a record sits in its file, as a person would look for it."""

    line: int | None = None
    """JSON lines and CSV: the line the record starts on, counting from 1."""
    record: int | None = None
    """ONIX: the Product's position in the file, counting from 1."""
    reference: str | None = None
    """ONIX: the Product's RecordReference."""

    def __str__(self) -> str:
        if self.line is not None:
            return f"line {self.line}"
        where = f"record {self.record}"
        return f"{where} (RecordReference {self.reference})" if self.reference else where


class RecordError(msgspec.Struct, frozen=True, kw_only=True):
    """A record that was skipped, and why."""

    location: Location
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class ParsedBook(msgspec.Struct, frozen=True, kw_only=True):
    location: Location
    book: BookCreate
    given: frozenset[str]
    """The fields the record names (a CSV file's columns, a JSON line's keys, the fields an
    ONIX Product carries): a book already held keeps the others as they are."""


ParsedRecord = ParsedBook | RecordError


class RecordInvalid(ValueError):
    """A record's fields break a rule; the message says which and how to fix it."""


def parsed(location: Location, fields: Mapping[str, object]) -> ParsedRecord:
    """The record at `location`, or the reason it must be skipped."""
    try:
        return ParsedBook(
            location=location,
            book=build_book(fields),
            given=frozenset(name for name in fields if name in FIELDS),
        )
    except RecordInvalid as error:
        return RecordError(location=location, reason=str(error))


def build_book(fields: Mapping[str, object]) -> BookCreate:
    """Check and normalise one record's fields; raises RecordInvalid with the first problem."""
    checked = check_book(fields)
    if isinstance(checked, BookCreate):
        return checked
    raise RecordInvalid(next(iter(checked.values())))


def check_book(fields: Mapping[str, object]) -> BookCreate | dict[str, str]:
    """The book the fields make, or each field's problem by key, in the order build_book
    meets them: every field is checked, so a form can say all that is wrong at once."""
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    for name, check in _CHECKS.items():
        try:
            value = check(fields.get(name))
        except RecordInvalid as error:
            problems[name] = str(error)
            continue
        # Absent optional fields take BookCreate's defaults.
        if value is not None:
            values[name] = value
    if not problems:
        try:
            return msgspec.convert(values, BookCreate)
        except msgspec.ValidationError:
            pass
    # BookCreate's constraints (lengths, ranges), field by field to find every one broken.
    for name in BookCreate.__struct_fields__:
        if name not in values:
            continue
        try:
            msgspec.convert(values[name], _TYPES[name])
        except msgspec.ValidationError as error:
            problems[name] = _explain(name, error, values[name])
    return problems


def _explain(name: str, error: msgspec.ValidationError, value: object) -> str:
    """ "Expected `int` <= 2100" of the year as "year 20009: expected a number <= 2100"."""
    message = str(error).partition(" - at `$")[0]
    shown = f" {value!r}" if isinstance(value, str) and len(value) <= 40 else ""
    if isinstance(value, int):
        shown = f" {value}"
    described = message.replace("Expected `int`", "expected a number")
    described = described.replace("Expected `str` of length", "expected a text of length")
    described = described.replace("Expected `array` of length", "expected a list of length")
    return f"{name}{shown}: {described[0].lower()}{described[1:]}"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _isbn(value: object) -> str:
    if _blank(value):
        raise RecordInvalid("missing ISBN (isbn13)")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RecordInvalid(f"invalid ISBN: {value!r} is not text")
    if _SCIENTIFIC_NOTATION.fullmatch(value.strip()):
        shown = value.strip()
        kept = sum(character.isdigit() for character in shown.lower().partition("e")[0])
        raise RecordInvalid(
            f"a spreadsheet turned this ISBN into the number {shown}, which keeps only {kept} of "
            "its 13 digits, so the book cannot be known from it: in the spreadsheet the file was "
            "saved from, format the ISBN column as text (or as a number with no decimal places) "
            "so that every cell shows all 13 digits, then save the CSV again"
        )
    try:
        return to_isbn13(value)
    except InvalidISBN as error:
        raise RecordInvalid(f"invalid ISBN: {error}") from error


def _text(name: str, value: object, *, required: bool = False) -> str | None:
    if _blank(value):
        if required:
            raise RecordInvalid(f"missing {name}")
        return None
    if not isinstance(value, str):
        raise RecordInvalid(f"{name} must be text, not {_kind(value)}")
    return value.strip()


def _names(name: str, value: object) -> list[str]:
    """A list of names, or one text with the names separated by ";"."""
    if _blank(value):
        return []
    items: Iterable[object]
    if isinstance(value, str):
        items = value.split(";")
    elif isinstance(value, list):
        items = value
    else:
        raise RecordInvalid(f"{name} must be a list of names, not {_kind(value)}")
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise RecordInvalid(f"{name} must be a list of names, but one is {_kind(item)}")
        if item.strip():
            names.append(item.strip())
    return names


def _subjects(value: object) -> list[str]:
    """Subjects are stored as slugs ("political-economy"), each once, in the order given."""
    slugs = (
        _SUBJECT_SEPARATORS.sub("-", _APOSTROPHES.sub("", subject.lower())).strip("-")
        for subject in _names("subjects", value)
    )
    return list(dict.fromkeys(slug for slug in slugs if slug))


def _whole(name: str, value: object) -> int | None:
    if _blank(value):
        return None
    number: int
    if isinstance(value, bool | Decimal | float):
        raise RecordInvalid(f"{name} must be a whole number, not {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise RecordInvalid(f"{name} must be a whole number, not {value!r}")
    return number


def _price(value: object) -> int:
    if _blank(value):
        raise RecordInvalid("missing price (price_pence)")
    if isinstance(value, bool | Decimal | float):
        raise RecordInvalid(
            f"bad price {value}: price_pence must be a whole number of pence "
            f'(write 1299, or "£12.99" as text)'
        )
    if isinstance(value, int):
        pence = value
    elif isinstance(value, str):
        try:
            pence = price_to_pence(value)
        except BadPrice as error:
            raise RecordInvalid(str(error)) from error
    else:
        raise RecordInvalid(f"bad price: {_kind(value)} is not a price")
    if pence < 0:
        raise RecordInvalid(f"bad price {pence}: a price cannot be negative")
    return pence


def _format(value: object) -> str | None:
    text = _text("format", value)
    return text.lower() if text else None


def _url(name: str, value: object) -> str | None:
    text = _text(name, value)
    if text is not None and not text.startswith(("https://", "http://")):
        raise RecordInvalid(f"{name} must be a web address starting https://, not {text!r}")
    return text


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


# Each field's check and normalisation by key, in the order they are checked (None: absent).
_CHECKS: dict[str, Callable[[object], object]] = {
    "isbn13": _isbn,
    "title": partial(_text, "title", required=True),
    "subtitle": partial(_text, "subtitle"),
    "authors": partial(_names, "authors"),
    "publisher": partial(_text, "publisher"),
    "year": partial(_whole, "year"),
    "format": _format,
    "price_pence": _price,
    "subjects": _subjects,
    "description": lambda value: _text("description", value) or "",
    "cover_url": partial(_url, "cover_url"),
    "reorder_point": partial(_whole, "reorder_point"),
    "stock": partial(_whole, "stock"),
}
# Each field's type in BookCreate, with its constraints.
_TYPES = {field.name: field.type for field in msgspec.structs.fields(BookCreate)}
