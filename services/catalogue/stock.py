"""Moving stock: every change of a counter is one conditional UPDATE plus its ledger row.

The condition sits in the UPDATE itself (`... WHERE on_hand - reserved >= :q`), so two
transactions racing for the last copies cannot both succeed on SQLite or on Postgres, and no
explicit lock is taken: on Postgres the second UPDATE waits for the first row version and
re-checks the condition against it; on SQLite writers are serialised by BEGIN IMMEDIATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import insert, literal, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.models import LedgerEntry, Stock


class Movement(StrEnum):
    RECEIVED = "received"
    SOLD = "sold"
    ADJUSTED = "adjusted"
    RETURNED_TO_SUPPLIER = "returned_to_supplier"
    STOCKTAKE = "stocktake"
    RESERVED = "reserved"
    RELEASED = "released"


@dataclass(frozen=True)
class Counters:
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class Who:
    """Who moved the stock, and why, for the ledger."""

    actor: str
    batch_id: UUID
    now: datetime
    reason: str | None = None
    reference: str | None = None


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
    conditions = [
        Stock.isbn13 == isbn13,
        Stock.on_hand + literal(on_hand_change) - Stock.reserved - literal(reserved_change) >= 0,
        Stock.reserved + literal(reserved_change) >= 0,
    ]
    if expected_on_hand is not None:
        conditions.append(Stock.on_hand == expected_on_hand)
    row = (
        await session.execute(
            update(Stock)
            .where(*conditions)
            .values(
                on_hand=Stock.on_hand + on_hand_change,
                reserved=Stock.reserved + reserved_change,
            )
            .returning(Stock.on_hand, Stock.reserved)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        return None
    counters = Counters(on_hand=row.on_hand, reserved=row.reserved)
    await session.execute(
        insert(LedgerEntry).values(
            batch_id=who.batch_id,
            isbn13=isbn13,
            kind=kind.value,
            on_hand_change=on_hand_change,
            reserved_change=reserved_change,
            on_hand_after=counters.on_hand,
            reserved_after=counters.reserved,
            actor=who.actor,
            reason=who.reason,
            reference=who.reference,
            created_at=who.now,
        )
    )
    return counters
