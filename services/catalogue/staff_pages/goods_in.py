"""The goods-in desk: a delivery being scanned, kept in Redis per staff member until confirmed.

Kept server-side so that a reload, a closed tab or a second device shows the same list; each
staff member has one pending delivery. Confirming writes it as ONE delivery (one `receive`,
one ledger batch). The page's confirm form sends back a token naming the list and its lines as
shown (`<list id>.<digest of the lines>`): the first confirm with a token claims it, and any
later one (a double click, a reload of the POST) is answered with the first one's result
instead of writing again. Because the token changes with the lines, a page drawn before the
list changed elsewhere (another tab, the Back button) has a token of its own, and its confirm
is refused with the list as it stands rather than writing a list the clerk never saw.
"""

from __future__ import annotations

import hashlib
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
EMPTY = "The delivery is empty: scan the books first."
NOT_IN_CATALOGUE = "is not in the catalogue"

T = TypeVar("T")
U = TypeVar("U")


class PendingLine(msgspec.Struct, kw_only=True):
    isbn13: str
    title: str
    quantity: int


class RefusedScan(msgspec.Struct, kw_only=True):
    """A scan that added nothing, e.g. `12345` that `is not an ISBN`; `times` it was scanned."""

    scanned: str
    reason: str
    times: int = 1

    @property
    def unknown_isbn(self) -> str | None:
        """The ISBN scanned, if it was refused as a book the catalogue does not have yet."""
        return self.scanned if self.reason == NOT_IN_CATALOGUE else None


class PendingDelivery(msgspec.Struct, kw_only=True):
    """The list being scanned, with the scans it refused: a clerk scanning at pace hears the
    beep but seldom reads the message, so what was not booked in stays listed until dismissed."""

    # Stored as "token", its name before the confirm's token carried the lines' digest too.
    list_id: str = msgspec.field(name="token")
    lines: list[PendingLine] = msgspec.field(default_factory=list)
    reference: str = ""
    refused: list[RefusedScan] = msgspec.field(default_factory=list)
    refused_unlisted: int = 0

    @property
    def copies(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def version(self) -> str:
        """A digest of the lines, which change with every scan, quantity or removal."""
        listed = ",".join(f"{line.isbn13}:{line.quantity}" for line in self.lines)
        return hashlib.blake2b(listed.encode(), digest_size=9).hexdigest()

    @property
    def token(self) -> str:
        """What the confirm form sends back: this list, as its lines are now."""
        return f"{self.list_id}.{self.version}"

    def quantities(self) -> dict[str, int]:
        return {line.isbn13: line.quantity for line in self.lines}

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


class ListChanged(Conflict):
    """A confirm from a page drawn before the list changed elsewhere: nothing was written."""

    def __init__(self) -> None:
        super().__init__(
            "The list changed since this page was shown (another tab?): here it is as it "
            "stands now; check it and confirm again."
        )


class ScanRefused(InvalidInput):
    """A scan that adds nothing: not an ISBN, or a book the catalogue does not have.
    `refusal` is what the list of refused scans keeps of it (None: nothing was scanned)."""

    def __init__(self, message: str, *, refusal: RefusedScan | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal

    @property
    def unknown_isbn(self) -> str | None:
        return None if self.refusal is None else self.refusal.unknown_isbn


def _new_delivery() -> PendingDelivery:
    # token_urlsafe has no ".", which parts the list id from the version in a token.
    return PendingDelivery(list_id=secrets.token_urlsafe(16))


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
        delivery, _ = await self._change(
            staff_id, lambda delivery: _apply(delivery, quantities=parsed, reference=note)
        )
        return delivery

    async def remove(self, staff_id: str, isbn13: str) -> PendingDelivery:
        def drop(delivery: PendingDelivery) -> None:
            delivery.lines = [line for line in delivery.lines if line.isbn13 != isbn13]

        delivery, _ = await self._change(staff_id, drop)
        return delivery

    async def clear(self, staff_id: str) -> None:
        await self._redis.delete(self._pending_key(staff_id))

    async def confirm(
        self,
        staff_id: str,
        *,
        token: str,
        quantities: Mapping[str, str],
        reference: str | None,
        actor: str,
    ) -> WrittenDelivery:
        """Write the pending delivery once, with the quantities and supplier note as the page
        sent them. Raises ListChanged, writing nothing, when the list is no longer the one the
        page showed."""

        async def write() -> bytes:
            parsed = {isbn: parse_quantity(raw, isbn13=isbn) for isbn, raw in quantities.items()}
            note = None if reference is None else _reference(reference)
            delivery = await self._claim(staff_id, token, quantities=parsed, reference=note)
            try:
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
            except BaseException:
                await self._give_back(staff_id, delivery)
                raise
            return msgspec.json.encode(_written(delivery, batch, token=token, actor=actor))

        written = await self._submissions.once(
            token,
            write,
            busy="This delivery is being written by an earlier click: reload the page in a "
            "moment to see the result.",
        )
        return msgspec.json.decode(written, type=WrittenDelivery)

    async def _claim(
        self,
        staff_id: str,
        token: str,
        *,
        quantities: Mapping[str, int],
        reference: str | None,
    ) -> PendingDelivery:
        """Take the pending delivery off, with the page's quantities and note applied, if it
        is the list the page showed; checked and taken in one step (WATCH), so a scan landing
        meanwhile either changes the list before it (refused) or starts the next one.

        The page showed this list when the token's version is the lines' (the page's typed
        changes then apply to the lines it showed), or when the lines are what it has typed
        (its own changes saved as typed: htmx swaps in only the totals, not the token)."""
        list_id, _, version = token.partition(".")
        typed = {isbn: quantity for isbn, quantity in quantities.items() if quantity > 0}

        def claim(raw: bytes | str | None) -> tuple[None, PendingDelivery]:
            if raw is None:
                raise InvalidInput(EMPTY)
            delivery = msgspec.json.decode(raw, type=PendingDelivery)
            if not delivery.lines:
                raise InvalidInput(EMPTY)
            shown = delivery.version == version or delivery.quantities() == typed
            if list_id != delivery.list_id or not shown:
                raise ListChanged()
            _apply(delivery, quantities=quantities, reference=reference)
            if not delivery.lines:
                raise InvalidInput(EMPTY)
            return None, delivery

        return await self._watched(staff_id, claim)

    async def _give_back(self, staff_id: str, claimed: PendingDelivery) -> None:
        """Put back a claimed delivery that was not written, ahead of any scans since."""

        def put_back(current: PendingDelivery) -> None:
            if not current.lines:
                # Nothing scanned since: the same list, so the page's token confirms it again.
                current.list_id = claimed.list_id
            since = current.lines
            # Copies: a retry (WatchError) starts again from the claimed lines as they were.
            current.lines = [msgspec.structs.replace(line) for line in claimed.lines]
            for line in since:
                listed = current.line(line.isbn13)
                if listed is None:
                    current.lines.append(line)
                else:
                    listed.quantity += line.quantity
            current.reference = current.reference or claimed.reference
            for refusal in reversed(claimed.refused):
                if not any(r.scanned == refusal.scanned for r in current.refused):
                    current.refused.insert(0, refusal)

        await self._change(staff_id, put_back)

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
                refusal=RefusedScan(scanned=isbn13, reason=NOT_IN_CATALOGUE),
            ) from None

    async def _change(
        self, staff_id: str, change: Callable[[PendingDelivery], T]
    ) -> tuple[PendingDelivery, T]:
        """Read, change and write back the pending delivery; `change` runs again on the
        delivery as it then is if another request from the same person changed it in between."""

        def changed(raw: bytes | str | None) -> tuple[bytes, tuple[PendingDelivery, T]]:
            delivery = (
                _new_delivery() if raw is None else msgspec.json.decode(raw, type=PendingDelivery)
            )
            outcome = change(delivery)
            return msgspec.json.encode(delivery), (delivery, outcome)

        return await self._watched(staff_id, changed)

    async def _watched(
        self, staff_id: str, step: Callable[[bytes | str | None], tuple[bytes | None, U]]
    ) -> U:
        """Run `step` on the pending delivery as stored, and store what it gives back (None:
        take the delivery off), unless another request from the same person changed it in
        between: then `step` runs again on the new one (optimistic, with WATCH). Whatever
        `step` raises leaves the delivery as it was."""
        key = self._pending_key(staff_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    stored, outcome = step(await pipe.get(key))
                    pipe.multi()
                    if stored is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, stored, ex=PENDING_SECONDS)
                    await pipe.execute()
                    return outcome
                except WatchError:
                    continue

    @staticmethod
    def _pending_key(staff_id: str) -> str:
        return f"{KEY_PREFIX}:pending:{staff_id}"


def _apply(
    delivery: PendingDelivery, *, quantities: Mapping[str, int], reference: str | None
) -> None:
    """Set the listed books' quantities (0 takes a book off; a book not listed is not added)
    and, when given, the supplier note."""
    for line in delivery.lines:
        if line.isbn13 in quantities:
            line.quantity = quantities[line.isbn13]
    delivery.lines = [line for line in delivery.lines if line.quantity > 0]
    if reference is not None:
        delivery.reference = reference


def _reference(text: str) -> str:
    note = " ".join(text.split())
    if len(note) > MAX_REFERENCE:
        raise InvalidInput(f"the supplier note is too long: at most {MAX_REFERENCE} characters")
    return note


def _written(
    delivery: PendingDelivery, batch: StockBatch, *, token: str, actor: str
) -> WrittenDelivery:
    after = {entry.isbn13: entry.on_hand_after for entry in batch.entries}
    return WrittenDelivery(
        token=token,
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
