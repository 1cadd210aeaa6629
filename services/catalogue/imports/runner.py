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

from services.catalogue.imports.errors import ImportInterrupted, ImportRefused, ImportTooLarge
from services.catalogue.imports.formats import PARSERS, ImportFormat, format_for_name
from services.catalogue.imports.limits import MAX_IMPORT_BYTES
from services.catalogue.imports.records import Location, ParsedBook, RecordError
from services.catalogue.imports.report import ImportReport
from services.catalogue.schemas import BookCreate, UpsertSummary

Source = Path | bytes
ProgressCallback = Callable[[int, int], None]
"""Called with (records handled, records in the file)."""
ReadingCallback = Callable[[int, int], None]
"""Called while the file is read with (records read, records the file holds by the share of it
read so far, 0 while that share says nothing)."""
# Often enough for a bar polled twice a second, rarely enough to cost nothing.
READING_STEP = 1000


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


def read_file(
    source: Source,
    *,
    format: ImportFormat | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
    on_reading: ReadingCallback | None = None,
) -> ReadResult:
    """Parse and check every record; raises ImportRefused for a file that cannot be imported."""
    chosen = format or _format_of(source)
    books: list[ParsedBook] = []
    errors: list[RecordError] = []
    first_seen: dict[str, Location] = {}
    estimate = 0
    with _opened(source, max_bytes=max_bytes) as (stream, size):
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
            read = len(books) + len(errors)
            if on_reading is not None and read % READING_STEP == 0:
                estimate = _estimate(read, stream.tell(), size) or estimate
                on_reading(read, estimate)
    if not books and not errors:
        raise ImportRefused("the file holds no book records")
    return ReadResult(books=tuple(books), errors=tuple(errors))


def _estimate(read: int, position: int, size: int) -> int | None:
    """The records in a file of `size` bytes whose first `position` bytes held `read`; None when
    the parser has taken in the whole file ahead of its records (a CSV with CR-only line endings
    is one line to Python), so the share read says nothing."""
    if not 0 < position < size:
        return None
    return max(read, read * size // position)


async def import_file(
    source: Source,
    *,
    format: ImportFormat | None = None,
    service: BookUpserter,
    actor: str,
    max_bytes: int = MAX_IMPORT_BYTES,
    on_reading: ReadingCallback | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a file (a path, or an upload's bytes with its `format`) into the catalogue.

    Raises ImportRefused, having written nothing, for a file that cannot be imported (over
    `max_bytes`, ImportTooLarge). `on_reading` is called while the file is read, in the event
    loop's thread; `on_progress` after it is read and as its books are written.
    If writing fails part way, raises ImportInterrupted naming the books written; if it fails
    before any is written, the error itself.
    """
    progress = on_progress or _no_progress
    reading = None if on_reading is None else _in_this_loop(on_reading)
    # Parsing a large file takes a while: keep the event loop free for other requests.
    result = await asyncio.to_thread(
        read_file, source, format=format, max_bytes=max_bytes, on_reading=reading
    )
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


def _in_this_loop(on_reading: ReadingCallback) -> ReadingCallback:
    """`on_reading` for the thread that reads the file: each call is run in the running event
    loop, where the caller's progress lives (the staff page's job, saved to Redis from there)."""
    loop = asyncio.get_running_loop()

    def hand_over(read: int, expected: int) -> None:
        loop.call_soon_threadsafe(on_reading, read, expected)

    return hand_over


def _interrupted(books: Sequence[ParsedBook], written: int) -> str:
    return (
        f"writing stopped part way: the first {written} of the file's {len(books)} books "
        f"(to {books[written - 1].location}) were written, the {len(books) - written} from "
        f"{books[written].location} on were not. Import the file again to write them: the "
        "books already written are left as they are"
    )


def _no_progress(done: int, total: int) -> None:
    """Progress goes nowhere when nobody is watching."""


def refuse_if_too_big(size: int, *, limit: int = MAX_IMPORT_BYTES) -> None:
    """Refuse a file of `size` bytes over `limit`."""
    if size > limit:
        raise ImportTooLarge(limit)


def _format_of(source: Source) -> ImportFormat:
    if isinstance(source, bytes):
        raise ImportRefused("say which format the file is in (jsonl, csv or onix)")
    return format_for_name(source.name)


@contextmanager
def _opened(source: Source, *, max_bytes: int) -> Iterator[tuple[BinaryIO, int]]:
    """The file's stream and its size in bytes."""
    if isinstance(source, bytes):
        if not source:
            raise ImportRefused("the file is empty")
        refuse_if_too_big(len(source), limit=max_bytes)
        yield io.BytesIO(source), len(source)
        return
    try:
        stream = source.open("rb")
    except FileNotFoundError as error:
        raise ImportRefused(f"there is no file {source}") from error
    except IsADirectoryError as error:
        raise ImportRefused(f"{source} is a folder, not a file") from error
    except OSError as error:
        raise ImportRefused(f"{source} cannot be read: {_why(error)}") from error
    with stream:
        size = source.stat().st_size
        if size == 0:
            raise ImportRefused(f"{source.name} is empty")
        refuse_if_too_big(size, limit=max_bytes)
        try:
            yield stream, size
        except OSError as error:
            # A disk or network share failing part way: the file's fault, not the catalogue's.
            raise ImportRefused(f"{source} could not be read to its end: {_why(error)}") from error


def _why(error: OSError) -> str:
    """The system's reason, as the rest of a sentence: "permission denied"."""
    reason = error.strerror or str(error)
    return reason[:1].lower() + reason[1:]
