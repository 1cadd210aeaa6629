"""The recommendation service's own view of a book, and how the stages read it.

The index is fed from `catalogue.book_changed` events, so this is a copy of the
catalogue's facts that matter for ranking, not the catalogue's model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec


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


def read_books(path: Path) -> list[IndexedBook]:
    """Books from a JSON-lines file, one catalogue record a line."""
    return [book_from_record(json.loads(line)) for line in _lines(path)]


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line
