"""The reorder list: books below their reorder point, how many to order, and the CSV of it."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import msgspec

from services.catalogue.schemas import LowStockRow

CSV_COLUMNS = (
    "isbn13",
    "title",
    "authors",
    "on_hand",
    "reserved",
    "available",
    "reorder_point",
    "suggested_order",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ReorderLine(msgspec.Struct, frozen=True, kw_only=True):
    book: LowStockRow
    suggested_order: int


def suggested_order(row: LowStockRow) -> int:
    """Enough to bring the copies for sale up to twice the reorder point: one order then lasts
    through a reorder point's worth of sales before the book is low again."""
    return max(2 * row.reorder_point - row.available, 1)


def reorder_lines(rows: Sequence[LowStockRow]) -> list[ReorderLine]:
    return [ReorderLine(book=row, suggested_order=suggested_order(row)) for row in rows]


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def reorder_csv(lines: Sequence[ReorderLine]) -> str:
    # a byte-order mark first: without it Excel on Windows reads the file as ANSI and garbles
    # accented names
    out = io.StringIO("\ufeff")
    out.seek(0, io.SEEK_END)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        book = line.book
        writer.writerow(
            [
                book.isbn13,
                _cell(book.title),
                _cell("; ".join(book.authors)),
                book.on_hand,
                book.reserved,
                book.available,
                book.reorder_point,
                line.suggested_order,
            ]
        )
    return out.getvalue()
