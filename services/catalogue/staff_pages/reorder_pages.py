"""The low-stock and reorder list, as a page and as a CSV download."""

from __future__ import annotations

from litestar import Response, get
from litestar.response import Template

from services.catalogue.controllers.dependencies import Stock
from services.catalogue.staff_pages.reorders import reorder_csv, reorder_lines
from services.catalogue.staff_pages.web import StockArea, first_of, page

# A page lists the books shortest of copies; the CSV download has the rest.
LOW_STOCK_SHOWN = 1000


class ReorderPages(StockArea):
    @get("/low-stock")
    async def low_stock(self, stock: Stock) -> Template:
        rows, cut = first_of(await stock.low_stock(limit=LOW_STOCK_SHOWN + 1), LOW_STOCK_SHOWN)
        return page("low_stock.html", {"lines": reorder_lines(rows), "cut": cut})

    @get("/low-stock.csv")
    async def low_stock_csv(self, stock: Stock) -> Response[str]:
        lines = reorder_lines(await stock.low_stock(limit=100_000))
        return Response(
            reorder_csv(lines),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="reorder-list.csv"'},
        )
