"""Import files mangled by hypothesis, from the real samples: every outcome is a report or
ImportRefused (never another exception), and a refused file leaves the catalogue as it was.

Reading is fuzzed hard (no I/O); whole imports into a migrated database less often, checking
that what was written is exactly what the report says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from services.catalogue import models
from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.formats import ImportFormat
from services.catalogue.imports.report import ImportReport
from services.catalogue.imports.runner import ReadResult, import_file, read_file
from services.catalogue.models import Book, LedgerEntry
from services.catalogue.service import BookService
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade

SAMPLES = Path(__file__).parents[1] / "data" / "imports"
FORMATS = {
    "good.csv": ImportFormat.CSV,
    "bad-records.csv": ImportFormat.CSV,
    "good.jsonl": ImportFormat.JSONL,
    "bad-records.jsonl": ImportFormat.JSONL,
    "sample.onix.xml": ImportFormat.ONIX,
    "sample-short.onix": ImportFormat.ONIX,
}
SAMPLE_BYTES = {name: (SAMPLES / name).read_bytes() for name in FORMATS}

# Things that break parsers: quotes, brackets, markup, separators, odd bytes and characters.
NASTY = [
    b'"',
    b"'",
    b",",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"{",
    b"}",
    b"[",
    b"]",
    b"<",
    b">",
    b"</",
    b"&",
    b"&amp;",
    b"&#0;",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
    b"&a;",
    b"null",
    b"-1",
    b"1e309",
    b"99999999999999999999999",
    "\u202e".encode(),
    "\U0001f4da".encode(),
    b"\\",
    b"\t",
]


@st.composite
def mangled(draw: st.DrawFn) -> tuple[bytes, ImportFormat]:
    """A sample file, cut, spliced, flipped or stuffed; sometimes read as another format."""
    name = draw(st.sampled_from(sorted(FORMATS)))
    data = bytearray(SAMPLE_BYTES[name])
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["cut", "drop", "flip", "stuff", "repeat", "nasty"]))
        if action == "cut":
            del data[at:]
        elif action == "drop":
            del data[at : at + draw(st.integers(1, 200))]
        elif action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "stuff":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif action == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 400))] * draw(st.integers(1, 4))
        else:
            data[at:at] = draw(st.sampled_from(NASTY))
    chosen = draw(st.one_of(st.just(FORMATS[name]), st.sampled_from(list(ImportFormat))))
    return bytes(data), chosen


def read_or_refuse(data: bytes, chosen: ImportFormat) -> ReadResult | None:
    try:
        return read_file(data, format=chosen)
    except ImportRefused as refused:
        assert refused.message.strip(), "a refusal must say why"
        return None


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(mangled())
def test_reading_a_mangled_file_gives_records_and_errors_or_a_refusal(
    case: tuple[bytes, ImportFormat],
) -> None:
    result = read_or_refuse(*case)
    if result is None:
        event("refused")
    else:
        event("read, some records skipped" if result.errors else "read, every record good")
        assert result.records == len(result.books) + len(result.errors) > 0
        for error in result.errors:
            assert error.reason.strip()


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(st.binary(max_size=2000), st.sampled_from(list(ImportFormat)))
def test_random_bytes_are_refused_or_read_never_crash(data: bytes, chosen: ImportFormat) -> None:
    read_or_refuse(data, chosen)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<ONIXMessage release="3.0"><Product><RecordReference>&lol9;</RecordReference>
<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>9780745334530</IDValue>
</ProductIdentifier><DescriptiveDetail><TitleDetail><TitleType>01</TitleType><TitleElement>
<TitleElementLevel>01</TitleElementLevel><TitleText>&lol9;</TitleText></TitleElement>
</TitleDetail></DescriptiveDetail></Product></ONIXMessage>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE ONIXMessage [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<ONIXMessage release="3.0"><Product><RecordReference>r1</RecordReference>
<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>9780745334530</IDValue>
</ProductIdentifier><DescriptiveDetail><TitleDetail><TitleType>01</TitleType><TitleElement>
<TitleElementLevel>01</TitleElementLevel><TitleText>Title &secret;</TitleText></TitleElement>
</TitleDetail></DescriptiveDetail></Product></ONIXMessage>"""


@pytest.mark.timeout(30)
def test_an_onix_entity_bomb_is_not_expanded() -> None:
    result = read_or_refuse(BILLION_LAUGHS, ImportFormat.ONIX)
    if result is not None:
        for parsed in result.books:
            assert len(parsed.book.title) < 1000


def test_an_onix_external_entity_is_never_read() -> None:
    result = read_or_refuse(EXTERNAL_ENTITY, ImportFormat.ONIX)
    if result is not None:
        for parsed in result.books:
            assert "root:" not in parsed.book.title


# An HTML name (read as its character) declared by the file itself as an external entity.
HTML_NAME_AS_EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE ONIXMessage [<!ENTITY nbsp SYSTEM "file:///etc/passwd">]>
<ONIXMessage release="3.0"><Product><RecordReference>r1</RecordReference>
<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>9780745334530</IDValue>
</ProductIdentifier><DescriptiveDetail><TitleDetail><TitleType>01</TitleType><TitleElement>
<TitleElementLevel>01</TitleElementLevel><TitleText>Left&nbsp;Book</TitleText></TitleElement>
</TitleDetail></DescriptiveDetail><ProductSupply><SupplyDetail><Price><PriceAmount>5</PriceAmount>
<CurrencyCode>GBP</CurrencyCode></Price></SupplyDetail></ProductSupply></Product></ONIXMessage>"""


def test_an_html_name_declared_as_an_external_entity_is_never_read() -> None:
    result = read_or_refuse(HTML_NAME_AS_EXTERNAL_ENTITY, ImportFormat.ONIX)
    assert result is not None
    assert [parsed.book.title for parsed in result.books] == ["Left\xa0Book"]


# --- whole imports into a real (migrated SQLite) database ----------------------------------


class Catalogue:
    """The catalogue's database, its book service, and a snapshot of what it holds."""

    def __init__(self, url: str, runner: asyncio.Runner) -> None:
        self.db = Database(url)
        self.books = BookService(uow=UnitOfWorkFactory(self.db, models.outbox), db=self.db)
        self.run = runner.run

    async def _snapshot(self) -> tuple[int, int, int]:
        async with self.db.reading() as session:
            counts = [
                await session.scalar(select(func.count()).select_from(table))
                for table in (Book, LedgerEntry, models.outbox)
            ]
        return counts[0] or 0, counts[1] or 0, counts[2] or 0

    def snapshot(self) -> tuple[int, int, int]:
        """(books, ledger entries, outbox messages)"""
        return self.run(self._snapshot())

    def import_bytes(self, data: bytes, chosen: ImportFormat) -> ImportReport:
        return self.run(import_file(data, format=chosen, service=self.books, actor="fuzz"))


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogue]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'catalogue.db'}"
    upgrade("services.catalogue:migrations", url)
    with asyncio.Runner() as runner:
        held = Catalogue(url, runner)
        yield held
        runner.run(held.db.dispose())


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=mangled())
def test_a_mangled_import_writes_what_it_reports_or_nothing(
    catalogue: Catalogue, case: tuple[bytes, ImportFormat]
) -> None:
    books_before, ledger_before, outbox_before = catalogue.snapshot()
    try:
        report = catalogue.import_bytes(*case)
    except ImportRefused:
        event("refused")
        assert catalogue.snapshot() == (books_before, ledger_before, outbox_before)
        return
    event("imported" if report.created + report.updated else "imported nothing new")
    books_after, _, outbox_after = catalogue.snapshot()
    assert report.records == report.created + report.updated + report.unchanged + len(report.errors)
    assert books_after == books_before + report.created
    # Every new or changed book is announced to the other services, in the same transaction.
    assert outbox_after - outbox_before == report.created + report.updated
