"""The recommendation service's own view of a book, and how the stages read it.

The index is fed from `catalogue.book_changed` events, so this is a copy of the
catalogue's facts that matter for ranking, not the catalogue's model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import msgspec

_T = TypeVar("_T")


class IndexedBook(msgspec.Struct, frozen=True, kw_only=True):
    isbn13: str
    title: str
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    publisher: str | None = None
    year: int | None = None
    format: str | None = None
    price_pence: int = 0
    subjects: tuple[str, ...] = ()
    description: str = ""
    available: int = 0

    @property
    def subject_words(self) -> str:
        """Subjects as words ("marxist-theory" reads as "marxist theory")."""
        return ", ".join(s.replace("-", " ") for s in self.subjects)

    @property
    def work_key(self) -> tuple[str, tuple[str, ...]]:
        """Editions of one work share title and authors; the rules keep one of them."""
        return (
            " ".join(self.title.casefold().split()),
            tuple(sorted(" ".join(a.casefold().split()) for a in self.authors)),
        )

    def text_fingerprint(self) -> tuple[object, ...]:
        """The fields the stages index: when only price or stock change, nothing is re-indexed."""
        return (self.title, self.subtitle, self.authors, self.subjects, self.description)


def books_matching(books: Iterable[IndexedBook], words: str, *, limit: int) -> list[IndexedBook]:
    """The books whose title, subtitle or authors hold every one of `words`, ignoring case,
    by title: how an editor finds a book the ranking missed."""
    wanted = words.casefold().split()
    if not wanted:
        return []
    found = []
    for book in books:
        named = " ".join((book.title, book.subtitle or "", *book.authors)).casefold()
        if all(word in named for word in wanted):
            found.append(book)
    return sorted(found, key=lambda book: (book.title.casefold(), book.isbn13))[:limit]


def book_from_record(record: dict[str, object]) -> IndexedBook:
    """An IndexedBook from a catalogue record (books.jsonl: `stock` is the quantity on hand)."""
    available = record.get("available", record.get("stock", 0))
    return msgspec.convert(
        {
            **{k: v for k, v in record.items() if k not in {"stock", "available"}},
            "available": available or 0,
        },
        IndexedBook,
    )


class UnreadableFile(Exception):
    """An input file, or a line of it, that is not what it should hold; the message says where."""


def read_books(path: Path) -> list[IndexedBook]:
    """Books from a JSON-lines file, one catalogue record a line; a file without any is refused."""
    books = read_json_lines(path, _book_from_line)
    if not books:
        raise UnreadableFile(f"no books in {path}")
    return books


def _book_from_line(line: bytes) -> IndexedBook:
    return book_from_record(msgspec.json.decode(line, type=dict[str, object]))


def read_json_lines(path: Path, decode: Callable[[bytes], _T]) -> list[_T]:
    """Each non-blank line of a JSON-lines file, decoded; the first that does not decode is
    refused with its file and line number."""
    with path.open("rb") as handle:
        return [
            _decode_line(decode, line, where=f"{path}:{number}")
            for number, line in enumerate(handle, start=1)
            if line.strip()
        ]


def _decode_line(decode: Callable[[bytes], _T], line: bytes, *, where: str) -> _T:
    # msgspec's ValidationError (a field missing or of the wrong type) is a DecodeError too.
    try:
        return decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise UnreadableFile(f"{where}: {error}") from error
