"""The stock clerk's pages under /staff/stock: find a book, its stock and ledger, goods in,
stock take, the reorder list and imports. Thin: the work is in the service layer and the
desk, shelf and import-job objects next to this module."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import CacheControlHeader, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from services.catalogue.imports.errors import ImportRefused
from services.catalogue.schemas import Adjustment, BookUpdate, CountedLine, StockTake
from services.catalogue.service import BookService, StockService
from services.catalogue.staff_pages import forms
from services.catalogue.staff_pages.goods_in import GoodsInDesk, PendingDelivery
from services.catalogue.staff_pages.import_jobs import (
    MAX_UPLOAD_BYTES,
    ImportJobs,
    import_format,
)
from services.catalogue.staff_pages.reorders import reorder_csv, reorder_lines
from services.catalogue.staff_pages.shelves import Shelves
from shared.auth.guards import requires
from shared.auth.roles import Role
from shared.auth.sessions import StaffIdentity, current_staff
from shared.errors import InvalidInput, NotFound, ShopError
from shared.isbn import is_isbn, to_isbn13

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Query = Annotated[str, Parameter(max_length=200)]
LEDGER_PAGE = 50
SHOP_TIME = ZoneInfo("Europe/London")
# What a redirect after a change may ask the next page to say (never free text in a URL).
NOTICES = {
    "adjusted": "Stock adjusted: the ledger below shows the change.",
    "saved": "Price and reorder point saved.",
    "cleared": "The delivery list was cleared.",
}
_NO_STORE = CacheControlHeader(no_store=True)


def _page(name: str, context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(
        template_name=f"staff/stock/{name}",
        context={"when": _shop_time, **context},
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def _see_other(path: str, **query: str) -> Redirect:
    target = f"{path}?{urlencode(query)}" if query else path
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _staff(request: Request[Any, Any, Any]) -> StaffIdentity:
    staff = current_staff(request)
    assert staff is not None  # the controller's guard let only the signed-in through
    return staff


def _shop_time(moment: Any) -> str:
    return moment.astimezone(SHOP_TIME).strftime("%d %b %Y, %H:%M")


def _book_path(isbn13: str) -> str:
    return f"/staff/stock/books/{isbn13}"


class StockPagesController(Controller):
    path = "/staff/stock"
    guards = [requires(Role.STOCK)]
    include_in_schema = False
    cache_control = _NO_STORE

    # Finding a book -------------------------------------------------------------------------

    @get("/")
    async def index(self, books: BookService, q: Query = "") -> Template | Redirect:
        """Search as you type; Enter on an ISBN (a scanner's EAN-13) opens that book."""
        if is_isbn(q):
            isbn13 = to_isbn13(q)
            try:
                await books.get(isbn13=isbn13)
            except NotFound:
                return _page(
                    "index.html",
                    {
                        "q": q,
                        "results": None,
                        "error": f"No book with ISBN {isbn13} in the catalogue.",
                    },
                    status_code=404,
                )
            return _see_other(_book_path(isbn13))
        results = await books.search(q=q, limit=30) if q.strip() else None
        return _page("index.html", {"q": q, "results": results, "error": None})

    @get("/search")
    async def search(self, books: BookService, q: Query = "") -> Template:
        """The results table alone, for the search box's live updates."""
        results = await books.search(q=q, limit=30) if q.strip() else None
        return _page("_results.html", {"q": q, "results": results})

    # A book: figures, ledger, adjust, price and reorder point ----------------------------------

    @get("/books/{isbn:str}")
    async def book(
        self,
        books: BookService,
        stock: StockService,
        isbn: str,
        before: int | None = None,
        done: str = "",
    ) -> Template | Redirect:
        isbn13 = to_isbn13(isbn)
        if isbn13 != isbn:
            return _see_other(_book_path(isbn13))
        return await self._book_page(books, stock, isbn13, before=before, notice=NOTICES.get(done))

    @post("/books/{isbn:str}/adjust")
    async def adjust(
        self,
        books: BookService,
        stock: StockService,
        actor: str,
        isbn: str,
        data: Form,
    ) -> Template | Redirect:
        isbn13 = to_isbn13(isbn)
        entered = {
            "change": forms.text(data, "change", limit=20),
            "reason": forms.text(data, "reason"),
        }
        try:
            change = forms.whole_number(
                entered["change"], what="The change", low=-1_000_000, high=1_000_000
            )
            if len(entered["reason"]) < 3:
                raise InvalidInput(
                    "Say why the stock changes (damaged, found, lost...): the reason is required."
                )
            await stock.adjust(
                adjustment=Adjustment(isbn13=isbn13, change=change, reason=entered["reason"]),
                actor=actor,
            )
        except ShopError as error:
            return await self._book_page(
                books,
                stock,
                isbn13,
                adjust_error=error.message,
                entered=entered,
                status_code=error.status_code,
            )
        return _see_other(_book_path(isbn13), done="adjusted")

    @post("/books/{isbn:str}/details")
    async def details(
        self,
        books: BookService,
        stock: StockService,
        actor: str,
        isbn: str,
        data: Form,
    ) -> Template | Redirect:
        isbn13 = to_isbn13(isbn)
        entered = {
            "price": forms.text(data, "price", limit=20),
            "reorder_point": forms.text(data, "reorder_point", limit=20),
        }
        try:
            changes = BookUpdate(
                price_pence=forms.pounds_to_pence(entered["price"]),
                reorder_point=forms.whole_number(
                    entered["reorder_point"], what="The reorder point", low=0, high=1_000_000
                ),
            )
            await books.update(isbn13=isbn13, changes=changes, actor=actor)
        except ShopError as error:
            return await self._book_page(
                books,
                stock,
                isbn13,
                details_error=error.message,
                entered=entered,
                status_code=error.status_code,
            )
        return _see_other(_book_path(isbn13), done="saved")

    async def _book_page(
        self,
        books: BookService,
        stock: StockService,
        isbn13: str,
        *,
        before: int | None = None,
        notice: str | None = None,
        adjust_error: str | None = None,
        details_error: str | None = None,
        entered: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        book = await books.get(isbn13=isbn13)
        ledger = await stock.ledger(isbn13=isbn13, limit=LEDGER_PAGE + 1, before_id=before)
        older = ledger[LEDGER_PAGE - 1].id if len(ledger) > LEDGER_PAGE else None
        return _page(
            "book.html",
            {
                "book": book,
                "ledger": ledger[:LEDGER_PAGE],
                "older": older,
                "paged": before is not None,
                "notice": notice,
                "adjust_error": adjust_error,
                "details_error": details_error,
                "entered": entered or {},
                "price_pounds": f"{book.price_pence // 100}.{book.price_pence % 100:02d}",
            },
            status_code=status_code,
        )

    # Goods in ---------------------------------------------------------------------------------

    @get("/goods-in")
    async def goods_in(
        self,
        request: Request[Any, Any, Any],
        goods_in: GoodsInDesk,
        written: str = "",
        done: str = "",
    ) -> Template:
        staff = _staff(request)
        delivery = await goods_in.pending(staff.staff_id)
        result = await goods_in.written(written[:64]) if written else None
        return _page(
            "goods_in.html",
            {"delivery": delivery, "written": result, "notice": NOTICES.get(done), "error": None},
        )

    @post("/goods-in/scan")
    async def scan(
        self, request: Request[Any, Any, Any], goods_in: GoodsInDesk, data: Form
    ) -> Template | Redirect:
        """One scan (or typed ISBN and Enter): one more copy on the list."""
        staff = _staff(request)
        scanned = forms.text(data, "isbn", limit=40)
        try:
            delivery, line = await goods_in.scan(staff.staff_id, scanned)
        except ShopError as error:
            delivery = await goods_in.pending(staff.staff_id)
            return self._delivery(
                request, delivery, error=error.message, status_code=error.status_code
            )
        if not _is_htmx(request):
            return _see_other("/staff/stock/goods-in")
        notice = f"Added {line.title}: {line.quantity} on this delivery."
        return self._delivery(request, delivery, notice=notice, last=line.isbn13)

    @post("/goods-in/save")
    async def save_delivery(
        self, request: Request[Any, Any, Any], goods_in: GoodsInDesk, data: Form
    ) -> Template | Redirect:
        """Quantities and the supplier note as typed (0 takes a book off the list)."""
        staff = _staff(request)
        try:
            delivery = await goods_in.save(
                staff.staff_id,
                quantities=forms.prefixed(data, "qty-"),
                reference=forms.text(data, "reference", limit=1000),
            )
        except ShopError as error:
            delivery = await goods_in.pending(staff.staff_id)
            return self._delivery(
                request, delivery, error=error.message, status_code=error.status_code
            )
        if not _is_htmx(request):
            return _see_other("/staff/stock/goods-in")
        return self._delivery(request, delivery, notice="Saved.")

    @post("/goods-in/remove/{isbn:str}")
    async def remove_line(
        self, request: Request[Any, Any, Any], goods_in: GoodsInDesk, isbn: str
    ) -> Template | Redirect:
        staff = _staff(request)
        delivery = await goods_in.remove(staff.staff_id, isbn)
        if not _is_htmx(request):
            return _see_other("/staff/stock/goods-in")
        return self._delivery(request, delivery, notice=f"Took {isbn} off the list.")

    @post("/goods-in/clear")
    async def clear_delivery(
        self, request: Request[Any, Any, Any], goods_in: GoodsInDesk
    ) -> Redirect:
        await goods_in.clear(_staff(request).staff_id)
        return _see_other("/staff/stock/goods-in", done="cleared")

    @post("/goods-in/confirm")
    async def confirm_delivery(
        self, request: Request[Any, Any, Any], goods_in: GoodsInDesk, actor: str, data: Form
    ) -> Template | Redirect:
        """Write the list as one delivery; a repeat of the same confirm writes nothing more."""
        staff = _staff(request)
        token = forms.text(data, "token", limit=64)
        try:
            existing = await goods_in.written(token)
            if existing is None:
                await goods_in.save(
                    staff.staff_id,
                    quantities=forms.prefixed(data, "qty-"),
                    reference=forms.text(data, "reference", limit=1000),
                )
            await goods_in.confirm(staff.staff_id, token=token, actor=actor)
        except ShopError as error:
            delivery = await goods_in.pending(staff.staff_id)
            return self._delivery(
                request,
                delivery,
                error=error.message,
                status_code=error.status_code,
                whole_page=True,
            )
        return _see_other("/staff/stock/goods-in", written=token)

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
    ) -> Template:
        """htmx: the list (with its message) to swap in, as 200 so htmx swaps an error too;
        otherwise the whole page."""
        context = {"delivery": delivery, "notice": notice, "error": error, "last": last}
        if _is_htmx(request) and not whole_page:
            return _page("_delivery.html", context)
        return _page("goods_in.html", {**context, "written": None}, status_code=status_code)

    # Stock take -------------------------------------------------------------------------------

    @get("/stock-take")
    async def stock_take(self, shelves: Shelves, subject: Query = "") -> Template:
        """Choose a shelf (a subject), then count its books."""
        if not subject:
            return _page("stock_take.html", {"shelves": await shelves.all(), "subject": ""})
        return _page(
            "stock_take.html",
            {"subject": subject, "books": await shelves.books(subject), "counts": {}},
        )

    @post("/stock-take/preview")
    async def preview_stock_take(
        self, shelves: Shelves, stock: StockService, actor: str, data: Form
    ) -> Template:
        """The differences between the counts and the books' figures; writes nothing."""
        subject = forms.text(data, "subject", limit=60)
        shelf = await shelves.books(subject)
        try:
            counts = self._counts(data, [book.isbn13 for book in shelf])
            result = await stock.stock_take(
                take=StockTake(
                    counts=[CountedLine(isbn13=i, counted=c) for i, c in counts.items()]
                ),
                actor=actor,
                apply=False,
            )
        except ShopError as error:
            return _page(
                "stock_take.html",
                {
                    "subject": subject,
                    "books": shelf,
                    "counts": forms.prefixed(data, "count-"),
                    "error": error.message,
                },
                status_code=error.status_code,
            )
        return _page(
            "stock_take_preview.html",
            {
                "subject": subject,
                "result": result,
                "counts": counts,
                "uncounted": [book for book in shelf if book.isbn13 not in counts],
            },
        )

    @post("/stock-take/recount")
    async def recount(self, shelves: Shelves, data: Form) -> Template:
        """Back from the preview to the counts as typed."""
        subject = forms.text(data, "subject", limit=60)
        return _page(
            "stock_take.html",
            {
                "subject": subject,
                "books": await shelves.books(subject),
                "counts": forms.prefixed(data, "count-"),
            },
        )

    @post("/stock-take/write")
    async def write_stock_take(
        self, shelves: Shelves, stock: StockService, actor: str, data: Form
    ) -> Template:
        """Write the previewed corrections, unless the stock moved since the preview."""
        subject = forms.text(data, "subject", limit=60)
        shelf = await shelves.books(subject)
        try:
            counts = self._counts(data, [book.isbn13 for book in shelf])
            take = StockTake(
                counts=[CountedLine(isbn13=i, counted=c) for i, c in counts.items()],
                reason=f"stock take: {subject}"[:200],
            )
            now = await stock.stock_take(take=take, actor=actor, apply=False)
            previewed = forms.prefixed(data, "expected-")
            moved = [d for d in now.differences if previewed.get(d.isbn13) != str(d.on_hand)]
            if moved:
                return _page(
                    "stock_take_preview.html",
                    {
                        "subject": subject,
                        "result": now,
                        "counts": counts,
                        "uncounted": [book for book in shelf if book.isbn13 not in counts],
                        "error": "The stock of some books moved since your preview (a sale or a "
                        "delivery): check the differences again, then write them.",
                    },
                    status_code=409,
                )
            result = await stock.stock_take(take=take, actor=actor, apply=True)
        except ShopError as error:
            return _page(
                "stock_take.html",
                {
                    "subject": subject,
                    "books": shelf,
                    "counts": forms.prefixed(data, "count-"),
                    "error": error.message,
                },
                status_code=error.status_code,
            )
        return _page(
            "stock_take_preview.html",
            {"subject": subject, "result": result, "counts": counts, "uncounted": []},
        )

    @staticmethod
    def _counts(data: dict[str, Any], shelf: list[str]) -> dict[str, int]:
        """The counted books of the shelf; a blank count means not counted (left as it is)."""
        typed = forms.prefixed(data, "count-")
        counts = {
            isbn: forms.whole_number(
                typed[isbn], what=f"The count for {isbn}", low=0, high=1_000_000
            )
            for isbn in shelf
            if typed.get(isbn, "").strip()
        }
        if not counts:
            raise InvalidInput("Type a count for at least one book (blank means not counted).")
        return counts

    # Reorders ---------------------------------------------------------------------------------

    @get("/low-stock")
    async def low_stock(self, stock: StockService) -> Template:
        return _page("low_stock.html", {"lines": reorder_lines(await stock.low_stock(limit=1000))})

    @get("/low-stock.csv")
    async def low_stock_csv(self, stock: StockService) -> Response[str]:
        lines = reorder_lines(await stock.low_stock(limit=100_000))
        return Response(
            reorder_csv(lines),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="reorder-list.csv"'},
        )

    # Imports ----------------------------------------------------------------------------------

    @get("/import")
    async def import_form(self) -> Template:
        return _page("import.html", {"error": None, "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024)})

    @post("/import", request_max_body_size=MAX_UPLOAD_BYTES + 64 * 1024)
    async def start_import(
        self,
        imports: ImportJobs,
        actor: str,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template | Redirect:
        upload = data.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ImportRefused("choose a file to import (CSV, ONIX or JSON lines)")
            chosen = import_format(upload.filename, str(data.get("format") or ""))
            job = await imports.start(
                content=await upload.read(), filename=upload.filename, format=chosen, actor=actor
            )
        except ImportRefused as refused:
            return _page(
                "import.html",
                {
                    "error": f"Nothing was imported: {refused.message}.",
                    "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
                },
                status_code=400,
            )
        return _see_other(f"/staff/stock/import/{job.id}")

    @get("/import/{job_id:str}")
    async def import_job(self, imports: ImportJobs, job_id: str) -> Template:
        return _page("import_job.html", {"job": await imports.get(job_id[:64])})

    @get("/import/{job_id:str}/progress")
    async def import_progress(self, imports: ImportJobs, job_id: str) -> Template:
        """The progress fragment the job page polls; once finished it stops the polling."""
        return _page("_import_progress.html", {"job": await imports.get(job_id[:64])})
