"""Lines of a text import file (JSON lines, CSV): UTF-8, with or without a byte-order mark."""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterator
from typing import BinaryIO

from services.catalogue.imports.errors import ImportRefused

_ADVICE = "is it a spreadsheet or another binary file? Save it as UTF-8 text"
_LONE_CR = re.compile(rb"\r(?!\n)")
_AFTER_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")


def text_lines(stream: BinaryIO, *, mac_line_endings: bool = False) -> Iterator[str]:
    """Each line decoded, line endings kept (the csv module needs them).

    Decoded line by line, so a refusal names the line that is not text. With
    `mac_line_endings`, a file whose first line ends in a CR alone (saved as "CSV (Macintosh)")
    is read as lines that all end so.
    """
    raws = _lines_ending_in_cr(stream) if mac_line_endings else stream
    for number, raw in enumerate(raws, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if b"\x00" in raw:
            raise ImportRefused(
                f"this is not a UTF-8 text file: line {number} holds binary data ({_ADVICE})"
            )
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ImportRefused(
                f"this is not a UTF-8 text file: line {number} has the byte "
                f"{raw[error.start]:#04x} at column {error.start + 1} ({_ADVICE})"
            ) from error


def _lines_ending_in_cr(stream: BinaryIO) -> Iterator[bytes]:
    """The file's lines split at CRs too if its first line ends in one alone. Decided by the
    first line, so a CR inside a quoted value of a file with LF endings stays in its line."""
    raws = iter(stream)
    first = next(raws, None)
    if first is None:
        return
    if _LONE_CR.search(first) is None:
        yield first
        yield from raws
        return
    for raw in itertools.chain([first], raws):
        yield from (line for line in _AFTER_LONE_CR.split(raw) if line)
