"""XHTML's named characters (&eacute;, &nbsp;, &mdash;) in an XML import, read as characters
whether or not the file names the DTD that declares them.

Nothing here fetches a DTD or expands an entity a file declares (no XXE, no "billion laughs"):
libxml2 leaves a reference in place when the file names an external DTD that it does not read,
and `spell_out` puts in the characters of HTML's names alone.
"""

from __future__ import annotations

import re
from html.entities import name2codepoint
from typing import BinaryIO

from lxml import etree

# What may come before the root element: a byte-order mark, the XML declaration, comments,
# processing instructions, blank space. Bytes, so a UTF-16 file matches nothing and is left be.
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:<\?xml[^>]*\?>)?(?:\s+|<!--.*?-->|<\?.*?\?>)*", re.S)
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
# A real file's prolog is a few hundred bytes; one with no root this far in is left be.
_HEAD_BYTES = 64 * 1024
# Named, never read (the parser loads no DTD): with it a reference to an entity the file does
# not declare stays a reference, as in a file that names the DTD itself, instead of an error.
_UNREAD_DTD = (
    b'SYSTEM "http://www.editeur.org/onix/3.0/reference/ONIX_BookProduct_3.0_reference.dtd"'
)
_UNDECLARED = re.compile(r"Entity '([^']+)' not defined")


class _Joined:
    """`head`, then the rest of `stream`, read as one stream."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._stream.read(size)
        if size < 0:
            chunk, self._head = self._head + self._stream.read(), b""
        else:
            chunk, self._head = self._head[:size], self._head[size:]
        return chunk


def naming_a_dtd(stream: BinaryIO) -> _Joined:
    """The file, with a DOCTYPE naming the ONIX DTD before its root element if it has none.
    Put on the root element's line, so the parser's line numbers stay the file's."""
    head = stream.read(_HEAD_BYTES)
    prolog = _PROLOG.match(head)
    end = prolog.end() if prolog else 0
    root = _ROOT.match(head, end)
    if root is not None:
        doctype = b"<!DOCTYPE " + root.group(1) + b" " + _UNREAD_DTD + b">"
        head = head[:end] + doctype + head[end:]
    return _Joined(head, stream)


def spell_out(element: etree._Element) -> None:
    """Put the characters of XHTML's named entities in place of the references the parser
    left in `element`: its text would otherwise end at the first one. Any other entity stays
    as written, never expanded."""
    entities = [node for node in element.iter(etree.Entity) if isinstance(node, etree._Entity)]
    for entity in entities:
        parent: etree._Element | None = entity.getparent()
        if parent is None:
            continue
        code = name2codepoint.get(entity.name)
        text = (f"&{entity.name};" if code is None else chr(code)) + (entity.tail or "")
        previous: etree._Element | None = entity.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + text
        else:
            previous.tail = (previous.tail or "") + text
        parent.remove(entity)


def undeclared_entity(log: etree._ListErrorLog) -> str | None:
    """Why the parser refused an entity: a file with a DOCTYPE of its own that names no DTD
    leaves every entity it does not declare an error."""
    for entry in log:
        if entry.type == etree.ErrorTypes.ERR_UNDECLARED_ENTITY:
            found = _UNDECLARED.search(entry.message)
            name = found.group(1) if found else "?"
            return (
                f"line {entry.line} uses the entity &{name}; without declaring it: write the "
                "character itself, or ask the supplier for a file whose DOCTYPE names the ONIX DTD"
            )
    return None
