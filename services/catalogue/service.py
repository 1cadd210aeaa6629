"""The catalogue's use cases: books (create, change, upsert from imports, find) and stock
(deliveries, returns, adjustments, stock takes, the ledger, the low-stock report).

Each write is one unit of work: it changes the rows, writes the ledger and queues a BookChanged
for every book it changed, all in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue import dispatch, search
from services.catalogue.changes import announce, book_changed
from services.catalogue.domain import (
    Movement,
    fields_digest,
    merge_quantities,
    parse_query,
    stock_differences,
)
from services.catalogue.models import Book, LedgerEntry, Stock
from services.catalogue.schemas import (
    Adjustment,
    BookCreate,
    BookRead,
    BookUpdate,
    Delivery,
    LedgerEntryRead,
    LowStockRow,
    SearchResults,
    StockBatch,
    StockDifference,
    StockTake,
    StockTakeResult,
    UpsertSummary,
)
from services.catalogue.stock import Who, move, open_stock
from shared.db import Database
from shared.errors import Conflict, InvalidInput, NotFound
from shared.isbn import to_isbn13
from shared.messaging.message import utcnow
from shared.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory

Clock = Callable[[], datetime]
DEFAULT_REORDER_POINT = 1
# Fields a BookCreate or BookUpdate may change, and whether a change needs the search terms redone.
BOOK_FIELDS = BookUpdate.__struct_fields__
SEARCHED_FIELDS = frozenset({"title", "subtitle", "authors"})
# Books an import writes in one transaction. Each chunk holds the database's write lock (all of
# SQLite; the chunk's rows on Postgres) for a fraction of a second, so a reader's reservation,
# which gives up after 3 s, gets in between chunks; the whole file in one transaction held it
# for 20 s. Whoever watches the import hears how far it is after each chunk.
WRITE_CHUNK = 250
# SQLite does not queue writers: one waiting for the lock sleeps and retries, every 100 ms once
# it has waited a while, and would rarely see the moment between two chunks. A pause as long as
# that lets it in.
SQLITE_PAUSE_BETWEEN_CHUNKS = 0.1


def _read(book: Book, on_hand: int, reserved: int) -> BookRead:
    return BookRead(
        isbn13=book.isbn13,
        title=book.title,
        subtitle=book.subtitle,
        authors=list(book.authors),
        publisher=book.publisher,
        year=book.year,
        format=book.format,
        price_pence=book.price_pence,
        subjects=list(book.subjects),
        description=book.description,
        cover_url=book.cover_url,
        reorder_point=book.reorder_point,
        on_hand=on_hand,
        reserved=reserved,
        available=max(on_hand - reserved, 0),
        version=book.version,
        created_at=book.created_at,
        updated_at=book.updated_at,
    )


def _ledger_read(entry: LedgerEntry) -> LedgerEntryRead:
    return LedgerEntryRead(
        id=entry.id,
        batch_id=entry.batch_id,
        isbn13=entry.isbn13,
        kind=Movement(entry.kind),
        on_hand_change=entry.on_hand_change,
        reserved_change=entry.reserved_change,
        on_hand_after=entry.on_hand_after,
        reserved_after=entry.reserved_after,
        actor=entry.actor,
        reason=entry.reason,
        reference=entry.reference,
        created_at=entry.created_at,
    )


def _fields_of(book: BookCreate) -> dict[str, Any]:
    fields = {name: getattr(book, name) for name in BOOK_FIELDS}
    fields["authors"] = [author.strip() for author in book.authors]
    fields["title"] = book.title.strip()
    return fields


async def _book_with_stock(session: AsyncSession, isbn13: str) -> BookRead:
    row = (
        await session.execute(
            select(Book, Stock.on_hand, Stock.reserved)
            .join(Stock, Stock.isbn13 == Book.isbn13)
            .where(Book.isbn13 == isbn13)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotFound(f"no book with ISBN {isbn13} in the catalogue")
    return _read(row[0], row[1], row[2])


async def _require_books(session: AsyncSession, isbns: Sequence[str]) -> dict[str, Book]:
    books = {
        book.isbn13: book
        for book in await session.scalars(select(Book).where(Book.isbn13.in_(list(isbns))))
    }
    missing = [isbn for isbn in isbns if isbn not in books]
    if missing:
        raise NotFound(
            f"no book with ISBN {', '.join(missing)} in the catalogue: add the book first",
            extra={"unknown_isbns": missing},
        )
    return books


class BookExists(Conflict):
    """A book added with an ISBN the catalogue has already."""

    def __init__(self, isbn13: str) -> None:
        super().__init__(f"the catalogue already has ISBN {isbn13}: change it instead")
        self.isbn13 = isbn13


class DetailsChanged(Conflict):
    """A change of a book's details made against details that have changed since."""

    def __init__(self, isbn13: str) -> None:
        super().__init__(
            f"the details of ISBN {isbn13} changed since they were shown: look at them again, "
            "then make the change"
        )


class BookService:
    """Books: add, change, upsert in bulk (imports), read, search."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        db: Database,
        clock: Clock = utcnow,
        write_chunk: int = WRITE_CHUNK,
    ) -> None:
        self._uow = uow
        self._db = db
        self._clock = clock
        self._write_chunk = write_chunk

    async def create(self, *, book: BookCreate, actor: str) -> BookRead:
        isbn13 = to_isbn13(book.isbn13)
        try:
            async with self._uow() as uow:
                if await uow.session.get(Book, isbn13) is not None:
                    raise BookExists(isbn13)
                await self._insert_new(uow, {isbn13: book}, actor=actor)
        except IntegrityError as error:
            raise BookExists(isbn13) from error
        return await self.get(isbn13=isbn13)

    async def update(
        self, *, isbn13: str, changes: BookUpdate, actor: str, shown: str | None = None
    ) -> BookRead:
        """Change the fields `changes` gives. `shown`: their `fields_digest` as the person
        changing them saw them; if they have changed since, DetailsChanged, writing nothing."""
        isbn13 = to_isbn13(isbn13)
        given = {
            name: value
            for name in BOOK_FIELDS
            if (value := getattr(changes, name)) is not msgspec.UNSET
        }
        async with self._uow() as uow:
            # Locked for the check: of two saves at once on Postgres the second waits, then
            # sees the first one's change.
            book = await uow.session.get(Book, isbn13, with_for_update=shown is not None)
            if book is None:
                raise NotFound(f"no book with ISBN {isbn13} in the catalogue")
            if shown is not None and fields_digest(book, given) != shown:
                raise DetailsChanged(isbn13)
            if await self._apply(uow.session, book, given):
                await announce(uow, [isbn13], now=self._clock())
        return await self.get(isbn13=isbn13)

    async def upsert_books(
        self,
        *,
        books: Sequence[BookCreate],
        actor: str,
        given: Mapping[str, frozenset[str]] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> UpsertSummary:
        """Create new books and change those that differ; books that are the same as held are
        not touched, so importing the same file twice changes nothing.

        The books are written in order, WRITE_CHUNK to a transaction. If one fails, the chunks
        before it stay written and the exception is raised: `on_progress` has heard, after each
        chunk committed, how many books (the first so many of `books`) are written.
        `given` names, by ISBN-13, the fields each book's record gave: a held book keeps the
        others, so a spreadsheet of prices alone does not blank every book's authors and
        description (None: every record is whole).
        An invalid ISBN anywhere refuses the whole batch before anything is written.
        """
        records: dict[str, BookCreate] = {}
        for record in books:
            records[to_isbn13(record.isbn13)] = record
        summary = UpsertSummary()
        items = list(records.items())
        for start in range(0, len(items), self._write_chunk):
            chunk = dict(items[start : start + self._write_chunk])
            async with self._uow() as uow:
                await self._upsert_chunk(uow, chunk, actor=actor, given=given, summary=summary)
            if on_progress is not None:
                on_progress(start + len(chunk))
            if not self._db.is_postgres and start + len(chunk) < len(items):
                await asyncio.sleep(SQLITE_PAUSE_BETWEEN_CHUNKS)
        return summary

    async def _upsert_chunk(
        self,
        uow: UnitOfWork,
        records: dict[str, BookCreate],
        *,
        actor: str,
        given: Mapping[str, frozenset[str]] | None,
        summary: UpsertSummary,
    ) -> None:
        session = uow.session
        held = {
            book.isbn13: book
            for book in await session.scalars(select(Book).where(Book.isbn13.in_(list(records))))
        }
        new: dict[str, BookCreate] = {}
        changed: list[str] = []
        for isbn13, record in records.items():
            book = held.get(isbn13)
            if book is None:
                new[isbn13] = record
                continue
            fields = _fields_of(record)
            if record.reorder_point is None:
                del fields["reorder_point"]
            if given is not None:
                fields = {name: value for name, value in fields.items() if name in given[isbn13]}
            if await self._apply(session, book, fields):
                changed.append(isbn13)
        await self._insert_new(uow, new, actor=actor)
        await announce(uow, changed, now=self._clock())
        # Counted once the chunk's statements have all gone through.
        summary.created += len(new)
        summary.updated += len(changed)
        summary.unchanged += len(held) - len(changed)

    async def get(self, *, isbn13: str) -> BookRead:
        isbn13 = to_isbn13(isbn13)
        async with self._db.reading() as session:
            return await _book_with_stock(session, isbn13)

    async def get_many(self, *, isbn13s: Sequence[str]) -> dict[str, BookRead]:
        """Those of the books (ISBN-13s, as stored) that the catalogue has, in one query."""
        async with self._db.reading() as session:
            rows = await session.execute(
                select(Book, Stock.on_hand, Stock.reserved)
                .join(Stock, Stock.isbn13 == Book.isbn13)
                .where(Book.isbn13.in_(list(isbn13s)))
                .execution_options(populate_existing=True)
            )
            return {book.isbn13: _read(book, on_hand, reserved) for book, on_hand, reserved in rows}

    async def newest_in_stock(self, *, limit: int) -> list[BookRead]:
        """The books added last that a reader can buy now, newest first."""
        async with self._db.reading() as session:
            rows = await session.execute(
                select(Book, Stock.on_hand, Stock.reserved)
                .join(Stock, Stock.isbn13 == Book.isbn13)
                .where(Stock.on_hand > Stock.reserved)
                .order_by(Book.created_at.desc(), Book.isbn13)
                .limit(limit)
            )
            return [_read(book, on_hand, reserved) for book, on_hand, reserved in rows]

    async def search(self, *, q: str, limit: int = 20) -> SearchResults:
        query = parse_query(q)
        if query.is_empty:
            return SearchResults(query=q, isbn_lookup=False, hits=[])
        async with self._db.reading() as session:
            hits = await search.find(session, query, limit=limit)
        return SearchResults(query=q, isbn_lookup=query.is_isbn_lookup, hits=hits)

    async def _insert_new(
        self, uow: UnitOfWork, records: dict[str, BookCreate], *, actor: str
    ) -> None:
        """Add new books with their stock, ledger, search terms and announcements, a
        statement per table for the lot: an import of thousands of books was a dozen
        statements a book. They start at version 1, the version they are announced with."""
        if not records:
            return
        now = self._clock()
        rows = []
        for isbn13, record in records.items():
            fields = _fields_of(record)
            if fields["reorder_point"] is None:
                fields["reorder_point"] = DEFAULT_REORDER_POINT
            rows.append(
                {"isbn13": isbn13, "version": 1, "created_at": now, "updated_at": now, **fields}
            )
        session = uow.session
        books = (
            await session.execute(
                insert(Book).returning(*Book.__table__.c, sort_by_parameter_order=True), rows
            )
        ).all()
        opening = {isbn13: record.stock for isbn13, record in records.items()}
        who = Who(actor=actor, batch_id=uuid4(), now=now, reason="opening stock")
        await open_stock(session, opening, who)
        await search.index_books(
            session,
            [
                search.SearchEntry(
                    book.isbn13, book.title, book.subtitle, book.authors, opening[book.isbn13] > 0
                )
                for book in books
            ],
        )
        await uow.publish(*(book_changed(book, available=opening[book.isbn13]) for book in books))

    async def _apply(self, session: AsyncSession, book: Book, fields: dict[str, Any]) -> bool:
        """Set the fields that differ; True if any did."""
        different = {name for name, value in fields.items() if getattr(book, name) != value}
        if not different:
            return False
        for name in different:
            setattr(book, name, fields[name])
        await session.flush()
        if different & SEARCHED_FIELDS:
            on_hand, reserved = (
                await session.execute(
                    select(Stock.on_hand, Stock.reserved).where(Stock.isbn13 == book.isbn13)
                )
            ).one()
            await search.index_book(
                session,
                isbn13=book.isbn13,
                title=book.title,
                subtitle=book.subtitle,
                authors=book.authors,
                in_stock=on_hand - reserved > 0,
            )
        return True


class FiguresChanged(Conflict):
    """A stock take was applied against on-hand figures that have moved since its preview."""

    def __init__(self, isbns: Sequence[str]) -> None:
        super().__init__(
            f"the stock figures of ISBN {', '.join(isbns)} changed since the preview (a sale, a"
            " delivery, or sold copies posted or collected): preview the count again, then"
            " apply it",
            extra={"changed_isbns": list(isbns)},
        )
        self.isbns = tuple(isbns)


def _difference(
    isbn13: str, title: str, *, on_hand: int, reserved: int, awaiting: int, counted: int
) -> StockDifference:
    """A differing count's correction, by StockService.stock_take's rule: on hand to the
    copies counted beyond those sold, but not below the copies held for orders; the copies
    sold, then held, that the count is short of are reported."""
    unsold = counted - awaiting
    return StockDifference(
        isbn13=isbn13,
        title=title,
        on_hand=on_hand,
        awaiting_dispatch=awaiting,
        counted=counted,
        difference=max(unsold, reserved) - on_hand,
        missing_sold=max(-unsold, 0),
        missing_held=max(reserved - max(unsold, 0), 0),
    )


@dataclass
class _Previewed:
    """The figures a stock take's lines were previewed against, by ISBN, where given."""

    on_hand: dict[str, int] = field(default_factory=dict)
    awaiting_dispatch: dict[str, int] = field(default_factory=dict)


class StockService:
    """Stock staff's work: deliveries, returns, adjustments, stock takes; the ledger and reports."""

    def __init__(self, *, uow: UnitOfWorkFactory, db: Database, clock: Clock = utcnow) -> None:
        self._uow = uow
        self._db = db
        self._clock = clock

    async def receive(self, *, delivery: Delivery, actor: str) -> StockBatch:
        """A delivery: every line received in one ledger batch, or none if any ISBN is unknown."""
        return await self._delivery_batch(delivery, actor=actor, kind=Movement.RECEIVED, sign=1)

    async def return_to_supplier(self, *, delivery: Delivery, actor: str) -> StockBatch:
        """Copies sent back; copies held for orders cannot go."""
        return await self._delivery_batch(
            delivery, actor=actor, kind=Movement.RETURNED_TO_SUPPLIER, sign=-1
        )

    async def adjust(self, *, adjustment: Adjustment, actor: str) -> StockBatch:
        isbn13 = to_isbn13(adjustment.isbn13)
        if adjustment.change == 0:
            raise InvalidInput("an adjustment of 0 copies changes nothing: give + or - copies")
        reason = adjustment.reason.strip()
        if len(reason) < 3:
            raise InvalidInput("say why the stock is adjusted (a reason of 3 characters or more)")
        batch_id = uuid4()
        async with self._uow() as uow:
            await _require_books(uow.session, [isbn13])
            who = Who(actor=actor, batch_id=batch_id, now=self._clock(), reason=reason)
            moved = await move(
                uow.session,
                isbn13=isbn13,
                kind=Movement.ADJUSTED,
                on_hand_change=adjustment.change,
                who=who,
            )
            if moved is None:
                raise Conflict(await self._shortfall(uow.session, isbn13, -adjustment.change))
            await announce(uow, [isbn13], now=who.now)
        return await self._batch(batch_id)

    async def stock_take(self, *, take: StockTake, actor: str, apply: bool) -> StockTakeResult:
        """Counted copies per ISBN against the books' on-hand figures plus their sold copies
        awaiting dispatch (still on the shelf): the differences, and with `apply` a stocktake
        correction of on hand for each in one batch (a preview writes nothing).

        The correction takes on hand to counted - awaiting_dispatch, but never below the copies
        held for unpaid orders (on hand cannot be less than reserved): a count short of the
        copies sold or held is an order problem, not a stock correction. The copies it is short
        are reported on the line (`missing_sold` first, as paid orders have the first claim on
        the copies found, then `missing_held`); on hand goes down to the held copies, since none
        of its unsold ones is on the shelf; the other books' corrections are written as usual.
        A preview and a write work the correction out alike (`_differences`).

        A line's `expected_on_hand` and `expected_awaiting_dispatch` (the figures it was
        previewed against) are checked in the transaction that writes the corrections: if any
        book's figures moved since, nothing is written and FiguresChanged names them, so a sale
        or a delivery is never overwritten, and sold copies posted since the count are not put
        back on hand.
        """
        counted: dict[str, int] = {}
        expected = _Previewed()
        for line in take.counts:
            isbn13 = to_isbn13(line.isbn13)
            if isbn13 in counted:
                raise InvalidInput(f"ISBN {isbn13} is counted twice: add the counts together")
            counted[isbn13] = line.counted
            if line.expected_on_hand is not None:
                expected.on_hand[isbn13] = line.expected_on_hand
            if line.expected_awaiting_dispatch is not None:
                expected.awaiting_dispatch[isbn13] = line.expected_awaiting_dispatch
        if not apply:
            async with self._db.reading() as session:
                return await self._differences(session, counted, applied=False)
        batch_id = uuid4()
        async with self._uow() as uow:
            result = await self._differences(uow.session, counted, applied=True, expected=expected)
            who = Who(
                actor=actor,
                batch_id=batch_id,
                now=self._clock(),
                reason=take.reason or "stock take",
            )
            # A count short only of copies spoken for, with on hand at their floor already,
            # corrects nothing: no ledger row of 0.
            corrections = [d for d in result.differences if d.difference]
            for difference in corrections:
                # Conditional on the figure just read: on Postgres a sale committed since that
                # read makes the UPDATE match nothing rather than be overwritten; so does a
                # hold that raised the floor the correction was limited to.
                moved = await move(
                    uow.session,
                    isbn13=difference.isbn13,
                    kind=Movement.STOCKTAKE,
                    on_hand_change=difference.difference,
                    who=who,
                    expected_on_hand=difference.on_hand,
                )
                if moved is None:
                    raise FiguresChanged([difference.isbn13])
            await announce(uow, [d.isbn13 for d in corrections], now=who.now)
        result.batch_id = batch_id if corrections else None
        return result

    async def ledger(
        self, *, isbn13: str, limit: int = 100, before_id: int | None = None
    ) -> list[LedgerEntryRead]:
        """The book's stock movements, newest first."""
        isbn13 = to_isbn13(isbn13)
        async with self._db.reading() as session:
            await _require_books(session, [isbn13])
            query = select(LedgerEntry).where(LedgerEntry.isbn13 == isbn13)
            if before_id is not None:
                query = query.where(LedgerEntry.id < before_id)
            entries = await session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit))
            return [_ledger_read(entry) for entry in entries]

    async def awaiting_dispatch(self, *, isbn13: str) -> int:
        """The book's sold copies not yet posted or collected: off on hand, still on the shelf."""
        isbn13 = to_isbn13(isbn13)
        async with self._db.reading() as session:
            return (await dispatch.awaiting_dispatch(session, [isbn13])).get(isbn13, 0)

    async def low_stock(self, *, limit: int = 200) -> list[LowStockRow]:
        """Books whose available copies are below their reorder point, fewest first."""
        available = Stock.on_hand - Stock.reserved
        async with self._db.reading() as session:
            rows = await session.execute(
                select(
                    Book.isbn13,
                    Book.title,
                    Book.authors,
                    Book.reorder_point,
                    Stock.on_hand,
                    Stock.reserved,
                )
                .join(Stock, Stock.isbn13 == Book.isbn13)
                .where(available < Book.reorder_point)
                .order_by(available, Book.title)
                .limit(limit)
            )
            return [
                LowStockRow(
                    isbn13=row.isbn13,
                    title=row.title,
                    authors=list(row.authors),
                    on_hand=row.on_hand,
                    reserved=row.reserved,
                    available=row.on_hand - row.reserved,
                    reorder_point=row.reorder_point,
                )
                for row in rows
            ]

    async def _delivery_batch(
        self, delivery: Delivery, *, actor: str, kind: Movement, sign: int
    ) -> StockBatch:
        lines = merge_quantities((to_isbn13(line.isbn13), line.quantity) for line in delivery.lines)
        batch_id = uuid4()
        async with self._uow() as uow:
            await _require_books(uow.session, list(lines))
            who = Who(
                actor=actor, batch_id=batch_id, now=self._clock(), reference=delivery.reference
            )
            for isbn13, quantity in lines.items():
                moved = await move(
                    uow.session, isbn13=isbn13, kind=kind, on_hand_change=sign * quantity, who=who
                )
                if moved is None:
                    raise Conflict(await self._shortfall(uow.session, isbn13, quantity))
            await announce(uow, lines, now=who.now)
        return await self._batch(batch_id)

    async def _shortfall(self, session: AsyncSession, isbn13: str, wanted: int) -> str:
        on_hand, reserved = (
            await session.execute(
                select(Stock.on_hand, Stock.reserved).where(Stock.isbn13 == isbn13)
            )
        ).one()
        return (
            f"ISBN {isbn13}: cannot take {wanted} copies away; {on_hand} on hand, {reserved} of"
            f" them held for orders, so at most {on_hand - reserved} can go"
        )

    async def _differences(
        self,
        session: AsyncSession,
        counted: dict[str, int],
        *,
        applied: bool,
        expected: _Previewed | None = None,
    ) -> StockTakeResult:
        books = await _require_books(session, list(counted))
        rows = (
            await session.execute(
                select(Stock.isbn13, Stock.on_hand, Stock.reserved).where(
                    Stock.isbn13.in_(list(counted))
                )
            )
        ).all()
        on_hand = {row.isbn13: row.on_hand for row in rows}
        reserved = {row.isbn13: row.reserved for row in rows}
        awaiting = await dispatch.awaiting_dispatch(session, list(counted))
        if expected is not None:
            changed = sorted(
                {i for i, figure in expected.on_hand.items() if on_hand[i] != figure}
                | {
                    i
                    for i, copies in expected.awaiting_dispatch.items()
                    if awaiting.get(i, 0) != copies
                }
            )
            if changed:
                raise FiguresChanged(changed)
        on_shelf = {isbn13: held + awaiting.get(isbn13, 0) for isbn13, held in on_hand.items()}
        differences = [
            _difference(
                isbn13,
                books[isbn13].title,
                on_hand=on_hand[isbn13],
                reserved=reserved[isbn13],
                awaiting=awaiting.get(isbn13, 0),
                counted=count,
            )
            for isbn13, (_, count) in sorted(stock_differences(counted, on_shelf).items())
        ]
        return StockTakeResult(
            applied=applied,
            counted_books=len(counted),
            differences=differences,
            awaiting_dispatch=awaiting,
        )

    async def _batch(self, batch_id: Any) -> StockBatch:
        async with self._db.reading() as session:
            entries = await session.scalars(
                select(LedgerEntry).where(LedgerEntry.batch_id == batch_id).order_by(LedgerEntry.id)
            )
            return StockBatch(batch_id=batch_id, entries=[_ledger_read(e) for e in entries])
