"""Read a whole import file, then write its books a chunk at a time, in file order.

Every record is parsed and checked before anything is written, so a file that is refused
leaves the catalogue as it was; records with errors are skipped and reported. Each chunk is its
own short transaction (so a reader's reservation is not kept waiting behind a large file); if
writing fails after some chunks, ImportInterrupted says which books were written.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

import msgspec

from services.catalogue.imports.errors import ImportInterrupted, ImportRefused
from services.catalogue.imports.formats import PARSERS, ImportFormat, format_for_name
from services.catalogue.imports.records import Location, ParsedBook, RecordError
from services.catalogue.imports.report import ImportReport
from services.catalogue.schemas import BookCreate, UpsertSummary

Source = Path | bytes
# The most an import may be, from the staff page or the command line: every record of a file is
# held in memory before any is written.
MAX_IMPORT_BYTES = 64 * 1024 * 1024
ProgressCallback = Callable[[int, int], None]
"""Called with (records handled, records in the file)."""


class BookUpserter(Protocol):
    """Writes the books in order, in chunks; after each chunk commits it calls `on_progress`
    with the books written so far, so a failure leaves exactly those written."""

    async def upsert_books(
        self,
        *,
        books: Sequence[BookCreate],
        actor: str,
        given: Mapping[str, frozenset[str]] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> UpsertSummary: ...


class ReadResult(msgspec.Struct, frozen=True, kw_only=True):
    books: tuple[ParsedBook, ...]
    errors: tuple[RecordError, ...]

    @property
    def records(self) -> int:
        return len(self.books) + len(self.errors)


def read_file(source: Source, *, format: ImportFormat | None = None) -> ReadResult:
    """Parse and check every record; raises ImportRefused for a file that cannot be imported."""
    chosen = format or _format_of(source)
    books: list[ParsedBook] = []
    errors: list[RecordError] = []
    first_seen: dict[str, Location] = {}
    with _opened(source) as stream:
        for record in PARSERS[chosen](stream):
            if isinstance(record, RecordError):
                errors.append(record)
            elif (seen := first_seen.get(record.book.isbn13)) is not None:
                errors.append(
                    RecordError(
                        location=record.location,
                        reason=f"ISBN {record.book.isbn13} is already at {seen}: "
                        "a file may hold each book once",
                    )
                )
            else:
                first_seen[record.book.isbn13] = record.location
                books.append(record)
    if not books and not errors:
        raise ImportRefused("the file holds no book records")
    return ReadResult(books=tuple(books), errors=tuple(errors))


async def import_file(
    source: Source,
    *,
    format: ImportFormat | None = None,
    service: BookUpserter,
    actor: str,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a file (a path, or an upload's bytes with its `format`) into the catalogue.

    Raises ImportRefused, having written nothing, for a file that cannot be imported.
    If writing fails part way, raises ImportInterrupted naming the books written; if it fails
    before any is written, the error itself.
    """
    progress = on_progress or _no_progress
    # Parsing a large file takes a while: keep the event loop free for other requests.
    result = await asyncio.to_thread(read_file, source, format=format)
    # The first call: the file is read, and the records skipped are all that is done.
    progress(len(result.errors), result.records)
    summary = UpsertSummary()
    written = 0

    def on_written(books: int) -> None:
        nonlocal written
        written = books
        progress(len(result.errors) + books, result.records)

    if result.books:
        try:
            summary = await service.upsert_books(
                books=[parsed.book for parsed in result.books],
                actor=actor,
                given={parsed.book.isbn13: parsed.given for parsed in result.books},
                on_progress=on_written,
            )
        except Exception as error:
            if not written:
                raise
            raise ImportInterrupted(_interrupted(result.books, written), written=written) from error
    return ImportReport(
        records=result.records,
        created=summary.created,
        updated=summary.updated,
        unchanged=summary.unchanged,
        errors=result.errors,
    )


def _interrupted(books: Sequence[ParsedBook], written: int) -> str:
    return (
        f"writing stopped part way: the first {written} of the file's {len(books)} books "
        f"(to {books[written - 1].location}) were written, the {len(books) - written} from "
        f"{books[written].location} on were not. Import the file again to write them: the "
        "books already written are left as they are"
    )


def _no_progress(done: int, total: int) -> None:
    """Progress goes nowhere when nobody is watching."""


def refuse_if_too_big(size: int) -> None:
    """Refuse a file of `size` bytes over MAX_IMPORT_BYTES."""
    if size > MAX_IMPORT_BYTES:
        raise ImportRefused(
            f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB, the most an import may "
            "be: split it into smaller files and import each"
        )


def _format_of(source: Source) -> ImportFormat:
    if isinstance(source, bytes):
        raise ImportRefused("say which format the file is in (jsonl, csv or onix)")
    return format_for_name(source.name)


@contextmanager
def _opened(source: Source) -> Iterator[BinaryIO]:
    if isinstance(source, bytes):
        if not source:
            raise ImportRefused("the file is empty")
        refuse_if_too_big(len(source))
        yield io.BytesIO(source)
        return
    try:
        stream = source.open("rb")
    except FileNotFoundError as error:
        raise ImportRefused(f"there is no file {source}") from error
    except IsADirectoryError as error:
        raise ImportRefused(f"{source} is a folder, not a file") from error
    except PermissionError as error:
        raise ImportRefused(f"{source} cannot be read: permission denied") from error
    with stream:
        size = source.stat().st_size
        if size == 0:
            raise ImportRefused(f"{source.name} is empty")
        refuse_if_too_big(size)
        yield stream
