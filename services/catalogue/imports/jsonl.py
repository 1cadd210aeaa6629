"""JSON lines: one book object per line, keyed as in the catalogue's books.jsonl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.records import Location, ParsedRecord, RecordError, parsed
from services.catalogue.imports.textfiles import text_lines

_JSON_KINDS = {
    list: "a list",
    str: "text",
    int: "a number",
    Decimal: "a number",
    bool: "true/false",
}


def parse_jsonl(stream: BinaryIO) -> Iterator[ParsedRecord]:
    """Every non-blank line's record or error; refuses a file where no line is a JSON object."""
    objects = 0
    first_problem: RecordError | None = None
    for number, line in enumerate(text_lines(stream), start=1):
        if not line.strip():
            continue
        location = Location(line=number)
        value = _decode(line)
        if isinstance(value, dict):
            objects += 1
            yield parsed(location, value)
            continue
        problem = RecordError(location=location, reason=value)
        first_problem = first_problem or problem
        yield problem
    if objects == 0 and first_problem is not None:
        raise ImportRefused(
            f"this is not a JSON lines file: no line holds a JSON object ({first_problem})"
        )


def _decode(line: str) -> dict[str, Any] | str:
    """The line's JSON object, or what is wrong with the line."""
    try:
        # Decimal keeps a stray 12.99 exact, so the price check names it rather than rounds it.
        value = json.loads(line.strip(), parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as error:
        return f"not valid JSON ({error.msg} at column {error.colno})"
    except (ValueError, RecursionError) as error:
        return f"not valid JSON ({error})"
    if isinstance(value, dict):
        return value
    kind = "null" if value is None else _JSON_KINDS.get(type(value), type(value).__name__)
    return f"expected a JSON object {{...}} for a book, found {kind}"
