"""Goods in: scan or type ISBNs onto the pending delivery, then confirm it as one delivery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from services.catalogue.controllers.dependencies import Actor
from services.catalogue.staff_pages import forms
from services.catalogue.staff_pages.goods_in import (
    GoodsInDesk,
    ListChanged,
    PendingDelivery,
    ScanRefused,
)
from services.catalogue.staff_pages.web import (
    NOTICES,
    StockArea,
    page,
    see_other,
    staff_of,
)
from shared.errors import ShopError
from shared.web import Form, is_htmx

# The clerk's pending deliveries (the app's `goods_in` dependency).
GoodsIn = NamedDependency[GoodsInDesk]


@dataclass(frozen=True)
class DeliveryForm:
    """The delivery form's quantities (by ISBN) and supplier note as the clerk typed them."""

    quantities: dict[str, str] = field(default_factory=dict)
    reference: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DeliveryForm:
        return cls(
            quantities=forms.prefixed(data, "qty-"),
            reference=forms.text(data, "reference", limit=1000),
        )


class GoodsInPages(StockArea):
    @get("/goods-in")
    async def goods_in(
        self,
        request: Request[Any, Any, Any],
        goods_in: GoodsIn,
        written: FromQuery[str] = "",
        done: FromQuery[str] = "",
    ) -> Template:
        staff = staff_of(request)
        delivery = await goods_in.pending(staff.staff_id)
        result = await goods_in.written(written[:64]) if written else None
        return page(
            "goods_in.html",
            {
                "delivery": delivery,
                "written": result,
                "notice": NOTICES.get(done),
                "error": None,
                "typed": DeliveryForm(),
            },
        )

    @post("/goods-in/scan")
    async def scan(
        self, request: Request[Any, Any, Any], goods_in: GoodsIn, data: Form
    ) -> Template | Redirect:
        """One scan (or typed ISBN and Enter): one more copy on the list."""
        staff = staff_of(request)
        scanned = forms.text(data, "isbn", limit=40)
        try:
            delivery, line = await goods_in.scan(staff.staff_id, scanned)
        except ShopError as error:
            delivery = await goods_in.pending(staff.staff_id)
            return self._delivery(
                request,
                delivery,
                error=error.message,
                status_code=error.status_code,
                unknown_isbn=error.unknown_isbn if isinstance(error, ScanRefused) else None,
            )
        if not is_htmx(request):
            return see_other("/staff/stock/goods-in")
        notice = f"Added {line.title}: {line.quantity} on this delivery."
        return self._delivery(request, delivery, notice=notice, last=line.isbn13)

    @post("/goods-in/save")
    async def save_delivery(
        self, request: Request[Any, Any, Any], goods_in: GoodsIn, data: Form
    ) -> Template | Redirect:
        """Quantities and the supplier note as typed (0 takes a book off the list). htmx saves
        on each change and swaps in only the heading and message (#delivery-status), so the
        field being typed in keeps its focus and value; the rows taken off go with it."""
        staff = staff_of(request)
        typed = DeliveryForm.from_data(data)
        try:
            delivery = await goods_in.save(
                staff.staff_id, quantities=typed.quantities, reference=typed.reference
            )
        except ShopError as error:
            delivery = await goods_in.pending(staff.staff_id)
            return self._delivery(
                request, delivery, error=error.message, status_code=error.status_code, typed=typed
            )
        if not is_htmx(request):
            return see_other("/staff/stock/goods-in")
        saved = self._delivery(
            request,
            delivery,
            notice="Saved.",
            removed=[isbn for isbn in typed.quantities if delivery.line(isbn) is None],
        )
        if not delivery.lines:
            # Nothing left to type in: the whole list goes, for "Nothing scanned yet".
            saved.headers.update({"HX-Retarget": "#delivery", "HX-Reselect": "#delivery"})
        return saved

    @post("/goods-in/remove/{isbn:str}")
    async def remove_line(
        self, request: Request[Any, Any, Any], goods_in: GoodsIn, isbn: FromPath[str]
    ) -> Template | Redirect:
        staff = staff_of(request)
        delivery = await goods_in.remove(staff.staff_id, isbn)
        if not is_htmx(request):
            return see_other("/staff/stock/goods-in")
        return self._delivery(request, delivery, notice=f"Took {isbn} off the list.")

    @post("/goods-in/clear")
    async def clear(
        self, request: Request[Any, Any, Any], goods_in: GoodsIn, data: Form
    ) -> Template | Redirect:
        """Clear the list of refused scans (`list=refused`), or the delivery. Clearing the
        delivery loses every scan on it, so it is done only once asked and answered on a page
        of its own (`confirmed=yes`), away from Confirm; a page that works without script."""
        staff = staff_of(request)
        if forms.text(data, "list", limit=20) == "refused":
            delivery = await goods_in.dismiss_refused(staff.staff_id)
            if not is_htmx(request):
                return see_other("/staff/stock/goods-in")
            return self._delivery(request, delivery)
        if forms.text(data, "confirmed", limit=10) != "yes":
            delivery = await goods_in.pending(staff.staff_id)
            if not delivery.lines:
                return see_other("/staff/stock/goods-in")
            return page("goods_in_clear.html", {"delivery": delivery})
        await goods_in.clear(staff.staff_id)
        return see_other("/staff/stock/goods-in", done="cleared")

    @post("/goods-in/confirm")
    async def confirm_delivery(
        self, request: Request[Any, Any, Any], goods_in: GoodsIn, actor: Actor, data: Form
    ) -> Template | Redirect:
        """Write the list as one delivery; a repeat of the same confirm writes nothing more. A
        page whose list changed since it was drawn gets the list as it stands, to check."""
        staff = staff_of(request)
        token = forms.text(data, "token", limit=64)
        typed = DeliveryForm.from_data(data)
        try:
            await goods_in.confirm(
                staff.staff_id,
                token=token,
                quantities=typed.quantities,
                reference=typed.reference,
                actor=actor,
            )
        except ShopError as error:
            delivery = await goods_in.pending(staff.staff_id)
            return self._delivery(
                request,
                delivery,
                error=error.message,
                status_code=error.status_code,
                whole_page=True,
                # What the old page typed would hide the changes it is refused for.
                typed=None if isinstance(error, ListChanged) else typed,
            )
        return see_other("/staff/stock/goods-in", written=token)

    def _delivery(
        self,
        request: Request[Any, Any, Any],
        delivery: PendingDelivery,
        *,
        notice: str | None = None,
        error: str | None = None,
        last: str | None = None,
        status_code: int = 200,
        whole_page: bool = False,
        typed: DeliveryForm | None = None,
        removed: Sequence[str] = (),
        unknown_isbn: str | None = None,
    ) -> Template:
        """htmx: the list (with its message) to swap in, as 200 so htmx swaps an error too;
        otherwise the whole page. `typed`: the form as refused, shown as typed to correct;
        `removed`: the ISBNs of rows a save took off, for htmx to delete from the page;
        `unknown_isbn`: the scan refused was of a book to add to the catalogue first."""
        context = {
            "delivery": delivery,
            "notice": notice,
            "error": error,
            "unknown_isbn": unknown_isbn,
            "last": last,
            "typed": typed or DeliveryForm(),
            "removed": removed,
        }
        if is_htmx(request) and not whole_page:
            return page("_delivery.html", context)
        return page("goods_in.html", {**context, "written": None}, status_code=status_code)
