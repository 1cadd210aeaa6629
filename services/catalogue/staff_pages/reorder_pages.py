"""The low-stock and reorder list, as a page and as a CSV download."""

from __future__ import annotations

from litestar import Response, get
from litestar.response import Template

from services.catalogue.controllers.dependencies import Stock
from services.catalogue.staff_pages.reorders import reorder_csv, reorder_lines
from services.catalogue.staff_pages.web import StockArea, page


class ReorderPages(StockArea):
    @get("/low-stock")
    async def low_stock(self, stock: Stock) -> Template:
        return page("low_stock.html", {"lines": reorder_lines(await stock.low_stock(limit=1000))})

    @get("/low-stock.csv")
    async def low_stock_csv(self, stock: Stock) -> Response[str]:
        lines = reorder_lines(await stock.low_stock(limit=100_000))
        return Response(
            reorder_csv(lines),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="reorder-list.csv"'},
        )
