"""The goods-in desk: a delivery being scanned, kept in Redis per staff member until confirmed.

Kept server-side so that a reload, a closed tab or a second device shows the same list; each
staff member has one pending delivery. Confirming writes it as ONE delivery (one `receive`,
one ledger batch). The list carries a token that the confirm form sends back: the first
confirm with a token claims it, and any later one (a double click, a reload of the POST) is
answered with the first one's result instead of writing again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

import msgspec
from redis.asyncio import Redis
from redis.exceptions import WatchError

from services.catalogue.schemas import BookRead, Delivery, DeliveryLine, StockBatch
from services.catalogue.service import BookService, StockService
from services.catalogue.staff_pages.forms import whole_number
from services.catalogue.staff_pages.submissions import Submissions
from shared.errors import Conflict, InvalidInput, NotFound
from shared.isbn import InvalidISBN, to_isbn13
from shared.web import sentence

KEY_PREFIX = "bookshop:catalogue:goods-in"
# A delivery not confirmed within two days is forgotten.
PENDING_SECONDS = 2 * 24 * 3600
MAX_LINES = 1000
MAX_QUANTITY = 10_000
MAX_REFERENCE = 200
# Distinct refused scans listed; past this the oldest are only counted.
MAX_REFUSED = 50

T = TypeVar("T")


class PendingLine(msgspec.Struct, kw_only=True):
    isbn13: str
    title: str
    quantity: int


class RefusedScan(msgspec.Struct, kw_only=True):
    """A scan that added nothing, e.g. `12345` that `is not an ISBN`; `times` it was scanned."""

    scanned: str
    reason: str
    times: int = 1


class PendingDelivery(msgspec.Struct, kw_only=True):
    """The list being scanned, with the scans it refused: a clerk scanning at pace hears the
    beep but seldom reads the message, so what was not booked in stays listed until dismissed."""

    token: str
    lines: list[PendingLine] = msgspec.field(default_factory=list)
    reference: str = ""
    refused: list[RefusedScan] = msgspec.field(default_factory=list)
    refused_unlisted: int = 0

    @property
    def copies(self) -> int:
        return sum(line.quantity for line in self.lines)

    def line(self, isbn13: str) -> PendingLine | None:
        return next((line for line in self.lines if line.isbn13 == isbn13), None)

    def note_refused(self, refusal: RefusedScan) -> None:
        """List a refused scan, or count it again where the same scan is listed already."""
        listed = next((r for r in self.refused if r.scanned == refusal.scanned), None)
        if listed is not None:
            listed.times += 1
            return
        self.refused.append(refusal)
        if len(self.refused) > MAX_REFUSED:
            self.refused_unlisted += self.refused.pop(0).times


class WrittenLine(msgspec.Struct, kw_only=True):
    isbn13: str
    title: str
    quantity: int
    on_hand_after: int


class WrittenDelivery(msgspec.Struct, kw_only=True):
    """What a confirmed delivery wrote, shown after the confirm (and to any repeat of it)."""

    token: str
    batch_id: str
    reference: str | None
    lines: list[WrittenLine]
    written_at: datetime
    actor: str

    @property
    def copies(self) -> int:
        return sum(line.quantity for line in self.lines)


class ScanRefused(InvalidInput):
    """A scan that adds nothing: not an ISBN, or a book the catalogue does not have.
    `refusal` is what the list of refused scans keeps of it (None: nothing was scanned)."""

    def __init__(self, message: str, *, refusal: RefusedScan | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal


def _new_delivery() -> PendingDelivery:
    return PendingDelivery(token=secrets.token_urlsafe(16))


def parse_quantity(raw: str, *, isbn13: str) -> int:
    return whole_number(raw, what=f"the quantity for {isbn13}", low=0, high=MAX_QUANTITY)


class GoodsInDesk:
    def __init__(
        self,
        *,
        redis: Redis,
        submissions: Submissions,
        books: BookService,
        stock: StockService,
    ) -> None:
        self._redis = redis
        self._submissions = submissions
        self._books = books
        self._stock = stock

    async def pending(self, staff_id: str) -> PendingDelivery:
        raw = await self._redis.get(self._pending_key(staff_id))
        if raw is None:
            return _new_delivery()
        return msgspec.json.decode(raw, type=PendingDelivery)

    async def scan(self, staff_id: str, raw: str) -> tuple[PendingDelivery, PendingLine]:
        """Add one copy of the scanned or typed ISBN (another of it if already listed); a
        refused scan is kept on the delivery's list of refused scans, then raised."""
        text = raw.strip()[:40]
        if not text:
            raise ScanRefused("Scan or type an ISBN first.")
        try:
            return await self._add_copy(staff_id, text)
        except ScanRefused as refused:
            refusal = refused.refusal
            if refusal is not None:
                await self._change(staff_id, lambda delivery: delivery.note_refused(refusal))
            raise

    async def dismiss_refused(self, staff_id: str) -> PendingDelivery:
        def forget(delivery: PendingDelivery) -> None:
            delivery.refused = []
            delivery.refused_unlisted = 0

        delivery, _ = await self._change(staff_id, forget)
        return delivery

    async def _add_copy(self, staff_id: str, text: str) -> tuple[PendingDelivery, PendingLine]:
        try:
            isbn13 = to_isbn13(text)
        except InvalidISBN as error:
            # The message begins with the scan quoted; the list shows the scan once, unquoted.
            reason = str(error).removeprefix(repr(text)).strip()
            raise ScanRefused(
                sentence(f"Not added: {error}"), refusal=RefusedScan(scanned=text, reason=reason)
            ) from None
        book = await self._book(isbn13)
        listed = f"{book.title} ({isbn13})"

        def add(delivery: PendingDelivery) -> PendingLine:
            line = delivery.line(isbn13)
            if line is None:
                if len(delivery.lines) >= MAX_LINES:
                    raise ScanRefused(
                        f"A delivery holds at most {MAX_LINES} books: confirm this one first.",
                        refusal=RefusedScan(
                            scanned=listed,
                            reason=f"did not fit: a delivery holds at most {MAX_LINES} books",
                        ),
                    )
                line = PendingLine(isbn13=isbn13, title=book.title, quantity=0)
                delivery.lines.append(line)
            if line.quantity >= MAX_QUANTITY:
                raise ScanRefused(
                    f"{book.title}: at most {MAX_QUANTITY} copies on one line.",
                    refusal=RefusedScan(
                        scanned=listed,
                        reason=f"did not fit: at most {MAX_QUANTITY} copies on one line",
                    ),
                )
            line.quantity += 1
            return line

        return await self._change(staff_id, add)

    async def save(
        self, staff_id: str, *, quantities: Mapping[str, str], reference: str | None
    ) -> PendingDelivery:
        """Set the listed books' quantities (0 takes a book off) and the supplier note."""
        parsed = {isbn: parse_quantity(raw, isbn13=isbn) for isbn, raw in quantities.items()}
        note = None if reference is None else _reference(reference)

        def apply(delivery: PendingDelivery) -> None:
            for line in delivery.lines:
                if line.isbn13 in parsed:
                    line.quantity = parsed[line.isbn13]
            delivery.lines = [line for line in delivery.lines if line.quantity > 0]
            if note is not None:
                delivery.reference = note

        delivery, _ = await self._change(staff_id, apply)
        return delivery

    async def remove(self, staff_id: str, isbn13: str) -> PendingDelivery:
        def drop(delivery: PendingDelivery) -> None:
            delivery.lines = [line for line in delivery.lines if line.isbn13 != isbn13]

        delivery, _ = await self._change(staff_id, drop)
        return delivery

    async def clear(self, staff_id: str) -> None:
        await self._redis.delete(self._pending_key(staff_id))

    async def confirm(self, staff_id: str, *, token: str, actor: str) -> WrittenDelivery:
        """Write the pending delivery once. Raises Conflict when the token is not the list's
        (an old page) and the delivery it named was never written."""

        async def write() -> bytes:
            delivery = await self.pending(staff_id)
            if not delivery.lines:
                raise InvalidInput("The delivery is empty: scan the books first.")
            if delivery.token != token:
                raise Conflict(
                    "This page showed a delivery list that has changed since: check the list "
                    "below and confirm again."
                )
            batch = await self._stock.receive(
                delivery=Delivery(
                    lines=[
                        DeliveryLine(isbn13=line.isbn13, quantity=line.quantity)
                        for line in delivery.lines
                    ],
                    reference=delivery.reference or None,
                ),
                actor=actor,
            )
            # Gone before the result is kept: were the process to die between the two, a
            # repeat finds an empty list rather than the delivery to write a second time.
            await self._redis.delete(self._pending_key(staff_id))
            return msgspec.json.encode(_written(delivery, batch, actor=actor))

        written = await self._submissions.once(
            token,
            write,
            busy="This delivery is being written by an earlier click: reload the page in a "
            "moment to see the result.",
        )
        return msgspec.json.decode(written, type=WrittenDelivery)

    async def written(self, token: str) -> WrittenDelivery | None:
        raw = await self._submissions.result(token)
        return None if raw is None else msgspec.json.decode(raw, type=WrittenDelivery)

    async def _book(self, isbn13: str) -> BookRead:
        try:
            return await self._books.get(isbn13=isbn13)
        except NotFound:
            raise ScanRefused(
                f"Not added: no book with ISBN {isbn13} in the catalogue. Add the book (or "
                "import the supplier's file) first, then scan it again.",
                refusal=RefusedScan(scanned=isbn13, reason="is not in the catalogue"),
            ) from None

    async def _change(
        self, staff_id: str, change: Callable[[PendingDelivery], T]
    ) -> tuple[PendingDelivery, T]:
        """Read, change and write back the pending delivery; retried if another request from
        the same person changed it in between (optimistic, with WATCH)."""
        key = self._pending_key(staff_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    delivery = (
                        _new_delivery()
                        if raw is None
                        else msgspec.json.decode(raw, type=PendingDelivery)
                    )
                    outcome = change(delivery)
                    pipe.multi()
                    pipe.set(key, msgspec.json.encode(delivery), ex=PENDING_SECONDS)
                    await pipe.execute()
                    return delivery, outcome
                except WatchError:
                    continue

    @staticmethod
    def _pending_key(staff_id: str) -> str:
        return f"{KEY_PREFIX}:pending:{staff_id}"


def _reference(text: str) -> str:
    note = " ".join(text.split())
    if len(note) > MAX_REFERENCE:
        raise InvalidInput(f"the supplier note is too long: at most {MAX_REFERENCE} characters")
    return note


def _written(delivery: PendingDelivery, batch: StockBatch, *, actor: str) -> WrittenDelivery:
    after = {entry.isbn13: entry.on_hand_after for entry in batch.entries}
    return WrittenDelivery(
        token=delivery.token,
        batch_id=str(batch.batch_id),
        reference=delivery.reference or None,
        lines=[
            WrittenLine(
                isbn13=line.isbn13,
                title=line.title,
                quantity=line.quantity,
                on_hand_after=after.get(line.isbn13, 0),
            )
            for line in delivery.lines
        ],
        written_at=batch.entries[0].created_at,
        actor=actor,
    )
