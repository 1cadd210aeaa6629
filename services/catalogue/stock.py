"""Moving stock: every change of a counter is one conditional UPDATE plus its ledger row.

The condition sits in the UPDATE itself (`... WHERE on_hand - reserved >= :q`), so two
transactions racing for the last copies cannot both succeed on SQLite or on Postgres, and no
explicit lock is taken: on Postgres the second UPDATE waits for the first row version and
re-checks the condition against it; on SQLite writers are serialised by BEGIN IMMEDIATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    String,
    Update,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import Movement
from services.catalogue.models import Book, LedgerEntry, Stock
from shared.db import table_of


@dataclass(frozen=True)
class Counters:
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class Held(Counters):
    """The counters after a hold, and the price the copies were held at."""

    price_pence: int


@dataclass(frozen=True)
class Who:
    """Who moved the stock, and why, for the ledger."""

    actor: str
    batch_id: UUID
    now: datetime
    reason: str | None = None
    reference: str | None = None


_stock = table_of(Stock)
_ledger = table_of(LedgerEntry)


def _move_statement(*, expecting_on_hand: bool) -> Update:
    """Built once: stock moves are the hottest writes, and building a statement costs more
    than running it."""
    on_hand_change = bindparam("on_hand_change", type_=Integer)
    reserved_change = bindparam("reserved_change", type_=Integer)
    conditions = [
        _stock.c.isbn13 == bindparam("target", type_=String),
        _stock.c.on_hand + on_hand_change - _stock.c.reserved - reserved_change >= 0,
        _stock.c.reserved + reserved_change >= 0,
    ]
    if expecting_on_hand:
        conditions.append(_stock.c.on_hand == bindparam("expected_on_hand", type_=Integer))
    return (
        update(_stock)
        .where(*conditions)
        .values(
            on_hand=_stock.c.on_hand + on_hand_change, reserved=_stock.c.reserved + reserved_change
        )
        .returning(_stock.c.on_hand, _stock.c.reserved)
    )


def _entry(
    who: Who, *, isbn13: str, kind: Movement, on_hand_change: int, reserved_change: int
) -> dict[str, object]:
    """A ledger row's columns but the counters after the move."""
    return {
        "batch_id": who.batch_id,
        "isbn13": isbn13,
        "kind": kind.value,
        "on_hand_change": on_hand_change,
        "reserved_change": reserved_change,
        "actor": who.actor,
        "reason": who.reason,
        "reference": who.reference,
        "created_at": who.now,
    }


def _ledger_row(
    who: Who,
    *,
    isbn13: str,
    kind: Movement,
    on_hand_change: int,
    reserved_change: int,
    after: Counters,
) -> dict[str, object]:
    return {
        **_entry(
            who,
            isbn13=isbn13,
            kind=kind,
            on_hand_change=on_hand_change,
            reserved_change=reserved_change,
        ),
        "on_hand_after": after.on_hand,
        "reserved_after": after.reserved,
    }


async def open_stock(session: AsyncSession, opening: dict[str, int], who: Who) -> None:
    """Stock rows for new books, each with its opening copies received in the ledger: one
    statement per table however many books (an import brings thousands)."""
    await session.execute(
        insert(_stock),
        [
            {"isbn13": isbn13, "on_hand": copies, "reserved": 0}
            for isbn13, copies in opening.items()
        ],
    )
    received = [
        _ledger_row(
            who,
            isbn13=isbn13,
            kind=Movement.RECEIVED,
            on_hand_change=copies,
            reserved_change=0,
            after=Counters(on_hand=copies, reserved=0),
        )
        for isbn13, copies in opening.items()
        if copies > 0
    ]
    if received:
        await session.execute(_RECORD, received)


_MOVE = _move_statement(expecting_on_hand=False)
_MOVE_IF_UNCHANGED = _move_statement(expecting_on_hand=True)
# A hold's reply carries the price the copies are held at: read by the UPDATE itself, since
# on SQLite each statement is three or four trips to aiosqlite's thread.
_HOLD = _MOVE.returning(
    # The book named by the parameter, not by correlation: SQLite writes RETURNING's columns
    # unqualified, and `books.isbn13 = stock.isbn13` came out as `isbn13 = isbn13`, every book.
    select(Book.price_pence)
    .where(Book.isbn13 == bindparam("target", type_=String))
    .scalar_subquery()
    .label("price_pence")
)
_RECORD = insert(_ledger)


# The names `move_within` gives the ledger columns of `_entry` as its parameters: the
# counters' changes and the book are the UPDATE's own; the rest are named apart from every
# column, since SQLAlchemy adds a parameter named like a column to an INSERT's VALUES.
_LEDGER_GIVEN = {
    "batch_id": "entry_batch",
    "isbn13": "target",
    "kind": "entry_kind",
    "on_hand_change": "on_hand_change",
    "reserved_change": "reserved_change",
    "actor": "entry_actor",
    "reason": "entry_reason",
    "reference": "entry_reference",
    "created_at": "entry_at",
}


def move_within(only_if: ColumnElement[bool]) -> tuple[CTE, CTE]:
    """Postgres: `move` (without `expected_on_hand`) as two parts of a larger statement, for
    the hottest path, a reader's hold: the conditional UPDATE, made only if `only_if` holds
    too, and the ledger row of what it moved. Parameters: `ledger_parameters`."""
    moved = _MOVE.where(only_if).cte("moved")
    recorded = (
        insert(_ledger)
        .from_select(
            [*_LEDGER_GIVEN, "on_hand_after", "reserved_after"],
            select(
                *(
                    bindparam(name, type_=_ledger.c[column].type)
                    for column, name in _LEDGER_GIVEN.items()
                ),
                moved.c.on_hand,
                moved.c.reserved,
            ),
        )
        .cte("recorded")
    )
    return moved, recorded


def ledger_parameters(
    who: Who, *, isbn13: str, kind: Movement, on_hand_change: int = 0, reserved_change: int = 0
) -> dict[str, object]:
    """The parameters of `move_within`'s parts."""
    entry = _entry(
        who,
        isbn13=isbn13,
        kind=kind,
        on_hand_change=on_hand_change,
        reserved_change=reserved_change,
    )
    return {_LEDGER_GIVEN[column]: value for column, value in entry.items()}


async def move(
    session: AsyncSession,
    *,
    isbn13: str,
    kind: Movement,
    on_hand_change: int = 0,
    reserved_change: int = 0,
    who: Who,
    expected_on_hand: int | None = None,
) -> Counters | None:
    """Apply the change if it leaves no copy held that is not on hand; None if it would.

    `expected_on_hand` makes the change also depend on nobody having moved the stock since it
    was read (a stock take's correction).
    """
    connection = await session.connection()
    changes = {
        "target": isbn13,
        "on_hand_change": on_hand_change,
        "reserved_change": reserved_change,
    }
    if expected_on_hand is None:
        row = (await connection.execute(_MOVE, changes)).first()
    else:
        row = (
            await connection.execute(
                _MOVE_IF_UNCHANGED, {**changes, "expected_on_hand": expected_on_hand}
            )
        ).first()
    if row is None:
        return None
    counters = Counters(on_hand=row.on_hand, reserved=row.reserved)
    await connection.execute(
        _RECORD,
        _ledger_row(
            who,
            isbn13=isbn13,
            kind=kind,
            on_hand_change=on_hand_change,
            reserved_change=reserved_change,
            after=counters,
        ),
    )
    return counters


async def hold(session: AsyncSession, *, isbn13: str, quantity: int, who: Who) -> Held | None:
    """`move` of `quantity` copies from available to held, which also reads their price."""
    connection = await session.connection()
    row = (
        await connection.execute(
            _HOLD, {"target": isbn13, "on_hand_change": 0, "reserved_change": quantity}
        )
    ).first()
    if row is None:
        return None
    held = Held(on_hand=row.on_hand, reserved=row.reserved, price_pence=row.price_pence)
    await connection.execute(
        _RECORD,
        _ledger_row(
            who,
            isbn13=isbn13,
            kind=Movement.RESERVED,
            on_hand_change=0,
            reserved_change=quantity,
            after=held,
        ),
    )
    return held
