"""Lines of a text import file (JSON lines, CSV): UTF-8, with or without a byte-order mark."""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterator
from typing import BinaryIO

from services.catalogue.imports.errors import ImportRefused

_BINARY_ADVICE = "is it a spreadsheet or another binary file? Save it as UTF-8 text"
_LONE_CR = re.compile(rb"\r(?!\n)")
_AFTER_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")
# Bytes no text file holds in any encoding (tabs, line and page breaks aside).
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
# The lines looked at, past one that is not UTF-8, to tell text in another encoding from a
# binary file (a PNG's first line is 0x89 PNG, its binary starts on the next).
_LINES_AHEAD = 50


def text_lines(
    stream: BinaryIO, *, mac_line_endings: bool = False, save_as: str = "UTF-8 text"
) -> Iterator[str]:
    """Each line decoded, line endings kept (the csv module needs them).

    Decoded line by line, so a refusal names the line that is not text; `save_as` says how to
    save the file in UTF-8. With `mac_line_endings`, a file whose first line ends in a CR alone
    (saved as "CSV (Macintosh)") is read as lines that all end so.
    """
    raws = iter(_lines_ending_in_cr(stream) if mac_line_endings else stream)
    for number, raw in enumerate(raws, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if b"\x00" in raw:
            raise ImportRefused(
                f"this is not a UTF-8 text file: line {number} holds binary data ({_BINARY_ADVICE})"
            )
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            where = (
                f"line {number} has the byte {raw[error.start]:#04x} at column {error.start + 1}"
            )
            ahead = b"".join(itertools.islice(raws, _LINES_AHEAD))
            if _CONTROL.search(raw + ahead):
                message = f"this is not a UTF-8 text file: {where} ({_BINARY_ADVICE})"
            else:
                message = _other_encoding(where, raw, save_as)
            raise ImportRefused(message) from error


def _other_encoding(where: str, raw: bytes, save_as: str) -> str:
    """A line of text that is not UTF-8: saved in an older encoding, which a CR-only line
    ending names."""
    encoding = "an older encoding than UTF-8 (Windows or Mac)"
    if raw.endswith(b"\r"):
        encoding = (
            'Mac Roman, as old Mac Excel saves "CSV (Macintosh)" (its lines end in a CR alone)'
        )
    return (
        f"this is not a UTF-8 text file: {where}, so it was saved in {encoding}, and its "
        f"accented letters and £ signs would be read wrong: save it again as {save_as} and "
        "import that"
    )


def _lines_ending_in_cr(stream: BinaryIO) -> Iterator[bytes]:
    """The file's lines split at CRs too if its first line ends in one alone. Decided by the
    first line, so a CR inside a quoted value of a file with LF endings stays in its line."""
    raws = iter(stream)
    first = next(raws, None)
    if first is None:
        return
    if _LONE_CR.search(first) is None:
        # Through chain: `yield from` the file itself would close it when this generator is
        # closed, and the caller may read the file again.
        yield from itertools.chain([first], raws)
        return
    for raw in itertools.chain([first], raws):
        yield from (line for line in _AFTER_LONE_CR.split(raw) if line)
