"""The stock JSON API: deliveries, returns, adjustments, stock takes, the low-stock report."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter

from services.catalogue.controllers.dependencies import Actor, Stock
from services.catalogue.controllers.guards import STOCK
from services.catalogue.schemas import (
    Adjustment,
    Delivery,
    LowStockRow,
    StockBatch,
    StockTake,
    StockTakeResult,
)


class StockController(Controller):
    path = "/api/catalogue/stock"
    tags = ["stock"]
    guards = [STOCK]

    @post("/deliveries", status_code=201)
    async def receive(self, stock: Stock, data: JSONBody[Delivery], actor: Actor) -> StockBatch:
        """A delivery from a supplier: every line is received in one ledger batch, or none."""
        return await stock.receive(delivery=data, actor=actor)

    @post("/returns", status_code=201)
    async def return_to_supplier(
        self, stock: Stock, data: JSONBody[Delivery], actor: Actor
    ) -> StockBatch:
        """Copies sent back to the supplier (copies held for orders cannot go)."""
        return await stock.return_to_supplier(delivery=data, actor=actor)

    @post("/adjustments", status_code=201)
    async def adjust(self, stock: Stock, data: JSONBody[Adjustment], actor: Actor) -> StockBatch:
        """Add or remove copies for a reason (damaged, found, lost...): the reason is required."""
        return await stock.adjust(adjustment=data, actor=actor)

    @post("/stocktake/preview", status_code=200)
    async def preview_stock_take(
        self, stock: Stock, data: JSONBody[StockTake], actor: Actor
    ) -> StockTakeResult:
        """The differences between the counts and the books' on-hand figures plus their sold
        copies awaiting dispatch (paid for, still on the shelf until posted or collected);
        writes nothing."""
        return await stock.stock_take(take=data, actor=actor, apply=False)

    @post("/stocktake", status_code=201)
    async def stock_take(
        self, stock: Stock, data: JSONBody[StockTake], actor: Actor
    ) -> StockTakeResult:
        """Apply a count: a stocktake correction of on hand for every difference, in one batch.
        Give each line the `expected_on_hand` and `expected_awaiting_dispatch` its preview
        showed: if a sale, a delivery or a dispatch moved a book's figures since, nothing is
        written and the 409 names the books in `changed_isbns`. A count short of the copies
        sold or held for orders takes on hand down to the held copies only: the copies it is
        short of are reported in the line's `missing_sold` and `missing_held`, not written off."""
        return await stock.stock_take(take=data, actor=actor, apply=True)

    @get("/low")
    async def low_stock(
        self, stock: Stock, limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200
    ) -> list[LowStockRow]:
        """Books whose available copies are below their reorder point, fewest first."""
        return await stock.low_stock(limit=limit)
