"""A reader's order as the catalogue's worker takes its messages, through the handlers, at a fixed
time: its copies held, paid for (committed), the sale closed once posted, copies given back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from services.catalogue import handlers
from shared.contracts import CloseSale, CommitReservation, ReserveStock, ReturnToStock, StockLine
from shared.messaging.unit_of_work import UnitOfWorkFactory

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def stock_lines(*lines: tuple[str, int]) -> tuple[StockLine, ...]:
    return tuple(StockLine(isbn13=isbn, quantity=q) for isbn, q in lines)


async def hold(uows: UnitOfWorkFactory, order_id: UUID, *lines: tuple[str, int]) -> None:
    message = ReserveStock(
        order_id=order_id, lines=stock_lines(*lines), expires_at=NOW + timedelta(minutes=30)
    )
    async with uows() as uow:
        assert (await handlers.on_reserve_stock(message, uow=uow, clock=clock)).ok


async def commit(uows: UnitOfWorkFactory, order_id: UUID) -> None:
    async with uows() as uow:
        await handlers.on_commit_reservation(
            CommitReservation(order_id=order_id), uow=uow, clock=clock
        )


async def sell(uows: UnitOfWorkFactory, *lines: tuple[str, int]) -> UUID:
    """An order held and paid for, its copies not yet posted: its id."""
    order_id = uuid4()
    await hold(uows, order_id, *lines)
    await commit(uows, order_id)
    return order_id


async def close(uows: UnitOfWorkFactory, order_id: UUID) -> None:
    async with uows() as uow:
        await handlers.on_close_sale(CloseSale(order_id=order_id), uow=uow, clock=clock)


async def give_back(
    uows: UnitOfWorkFactory,
    order_id: UUID,
    *lines: tuple[str, int],
    refund_id: int = 1,
    reason: str = "refunded",
) -> None:
    message = ReturnToStock(
        order_id=order_id, refund_id=refund_id, lines=stock_lines(*lines), reason=reason
    )
    async with uows() as uow:
        await handlers.on_return_to_stock(message, uow=uow, clock=clock)
