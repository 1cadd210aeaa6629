"""CSV with a header row naming the columns as the JSON lines keys.

Authors and subjects hold several values separated by ";". Columns the catalogue does not
know are ignored, so a spreadsheet may keep its own notes beside the books.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.prices import ambiguous_in_pounds, written_in_pounds
from services.catalogue.imports.records import (
    FIELDS,
    Location,
    ParsedBook,
    ParsedRecord,
    RecordError,
    parsed,
)
from services.catalogue.imports.textfiles import text_lines

REQUIRED_COLUMNS = ("isbn13", "title", "price_pence")
# How a spreadsheet saves a CSV file the import reads.
SAVE_AS = '"CSV UTF-8" (in Excel: File, Save As)'


def parse_csv(stream: BinaryIO) -> Iterator[ParsedRecord]:
    """Every data row's record or error; refuses a file without the required header columns.

    If any price in the file is in pounds (12.99, £10), a bare whole number among them that
    could be either (10) is skipped, saying so, rather than read as 10p. So the file is read
    twice: once for its prices, then row by row, each record made as its row is read (the
    import's progress counts them, and a large file's rows are never all held at once).
    """
    start = stream.tell()
    in_pounds = any(
        not isinstance(row, RecordError) and written_in_pounds(row[1].get("price_pence", ""))
        for row in _rows(stream)
    )
    stream.seek(start)
    for row in _rows(stream):
        if isinstance(row, RecordError):
            yield row
            continue
        location, fields = row
        record = parsed(location, fields)
        ambiguous = in_pounds and isinstance(record, ParsedBook)
        reason = ambiguous_in_pounds(fields["price_pence"]) if ambiguous else None
        yield record if reason is None else RecordError(location=location, reason=reason)


def _rows(stream: BinaryIO) -> Iterator[tuple[Location, dict[str, str]] | RecordError]:
    """Each data row's cells by column name, or why the row cannot be read."""
    # strict: an unclosed quote would otherwise swallow every later row into one field.
    lines = text_lines(stream, mac_line_endings=True, save_as=SAVE_AS)
    reader = csv.reader(lines, strict=True)
    end_of_previous = 0
    try:
        header = _header(next(reader, None))
        end_of_previous = reader.line_num
        for row in reader:
            location = Location(line=end_of_previous + 1)
            end_of_previous = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield RecordError(
                    location=location,
                    reason=f"has {len(row)} fields but the header names {len(header)} columns "
                    "(is a comma inside a value missing its quotes?)",
                )
                continue
            yield location, {name: cell for name, cell in zip(header, row, strict=True) if name}
    except csv.Error as error:
        raise ImportRefused(
            _unreadable(error, start=end_of_previous + 1, end=reader.line_num)
        ) from error


def _unreadable(error: csv.Error, *, start: int, end: int) -> str:
    """Why the record from line `start` to line `end` cannot be read."""
    # The csv module says which error only in its message.
    if str(error).startswith("field larger than field limit"):
        limit = csv.field_size_limit()
        if end > start:
            return (
                f"line {start} starts a quoted value that runs on to line {end}, past "
                f"{limit:,} characters: is its closing quote mark missing?"
            )
        return (
            f"line {start} has a value over {limit:,} characters long, longer than any of a "
            "book's columns may be: check that line, or that this is the right file"
        )
    if str(error).startswith("new-line character seen in unquoted field"):
        return (
            f"line {end} ends in a CR alone, as old Mac spreadsheets end lines, but the lines "
            f"before it do not: a file must end every line the same way. Save it again as "
            f"{SAVE_AS} and import that"
        )
    return f"this CSV cannot be read past line {end}: {error} (is a quote mark not closed?)"


def _header(row: list[str] | None) -> list[str]:
    """The known column names by position; an unknown column's name becomes ""."""
    if row is None:
        raise ImportRefused("the file is empty: a CSV import needs a header row and books")
    names = [cell.strip().lower() for cell in row]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        hint = ""
        if len(row) == 1 and (";" in row[0] or "\t" in row[0]):
            hint = " The header looks separated by semicolons or tabs: save the file with commas."
        raise ImportRefused(
            f"the CSV header lacks the column(s) {', '.join(missing)}; the first line must name "
            f"the columns ({', '.join(FIELDS)}), but it reads: "
            f"{', '.join(row)[:200]}.{hint}"
        )
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise ImportRefused(f"the CSV header names these columns twice: {', '.join(repeated)}")
    return [name if name in FIELDS else "" for name in names]
