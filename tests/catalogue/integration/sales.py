"""A reader's order as the catalogue's worker takes its messages, through the handlers, at a fixed
time: its copies held, paid for (committed), the sale closed once posted, copies given back; and
the books those orders are for, and the stock take that counts them on the shelf."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from conftest import Client
from lxml import html

from services.catalogue import handlers
from services.catalogue.schemas import CountedLine, StockTake
from services.catalogue.service import BookService
from shared.contracts import CloseSale, CommitReservation, ReserveStock, ReturnToStock, StockLine
from shared.messaging.unit_of_work import UnitOfWorkFactory

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def stock_lines(*lines: tuple[str, int]) -> tuple[StockLine, ...]:
    return tuple(StockLine(isbn13=isbn, quantity=q) for isbn, q in lines)


async def hold(
    uows: UnitOfWorkFactory,
    order_id: UUID,
    *lines: tuple[str, int],
    reference: str | None = None,
    minutes: int = 30,
) -> None:
    message = ReserveStock(
        order_id=order_id,
        lines=stock_lines(*lines),
        expires_at=NOW + timedelta(minutes=minutes),
        reference=reference,
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


async def shelve(
    books: BookService, catalogue: Any, *stocked: tuple[str, str, int], **more: Any
) -> None:
    """Books on sale, each (isbn, title, copies on hand), with `more` (subjects, say) for all."""
    await books.upsert_books(
        books=[
            catalogue.book(isbn, title, stock=copies, **more) for isbn, title, copies in stocked
        ],
        actor="t",
    )


# The stock take ------------------------------------------------------------------------------

WRITE = "//form[@action='/staff/stock/stock-take/write']"


def count(*lines: tuple[str, int]) -> StockTake:
    return StockTake(counts=[CountedLine(isbn13=isbn, counted=n) for isbn, n in lines])


async def preview_counts(client: Client, *counted: tuple[str, int]) -> Any:
    """The stock take's preview of counts taken on the poetry shelf's sheet."""
    counts = {f"count-{isbn}": str(n) for isbn, n in counted}
    return await client.post(
        "/staff/stock/stock-take/preview", data={"subject": "poetry", **counts}
    )


async def write(client: Client, page: Any) -> Any:
    """The page's corrections written, as its Write button sends them."""
    return await client.post("/staff/stock/stock-take/write", data=form(page, WRITE))


def texts(response: Any, xpath: str) -> list[str]:
    return [
        " ".join(" ".join(node.itertext()).split())
        for node in html.fromstring(response.text).xpath(xpath)
    ]


def form(response: Any, xpath: str) -> dict[str, str]:
    [found] = html.fromstring(response.text).xpath(xpath)
    return dict(found.form_values())
