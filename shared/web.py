"""What every service's Litestar app shares: error mapping, body limits, the OpenAPI setup,
GET routes that answer HEAD."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from litestar import HttpMethod, MediaType, Request, Response, route
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import URLEncodedBody
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.errors import ShopError, TemporarilyUnavailable
from shared.isbn import InvalidISBN

log = logging.getLogger(__name__)

# A handler's `data: Form` is an HTML form's fields (application/x-www-form-urlencoded).
Form = URLEncodedBody[dict[str, Any]]


def sentence(message: str) -> str:
    """A message ending as a sentence does, once: "is a digit mistyped?" ends so already."""
    return message if message.endswith((".", "?", "!")) else f"{message}."


# Books, orders and articles are small; anything bigger is a mistake or an attack.
MAX_JSON_BODY_BYTES = 256 * 1024


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(
        "/api/"
    )


def _error_response(
    request: Request[Any, Any, Any], status: int, detail: str, extra: dict[str, Any]
) -> Response[Any]:
    if _wants_html(request):
        return Response(_error_page(request, detail), status_code=status, media_type=MediaType.HTML)
    return Response({"status_code": status, "detail": detail, **extra}, status_code=status)


# Plain on purpose: it must show when templates, or the service behind them, are what failed.
_ERROR_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width, initial-scale=1'><title>Sorry | Bookshop</title>"
    "<style>body{{font:1.05rem/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a}}"
    "main{{max-width:46rem;margin:0 auto;padding:.75rem 1rem}}a{{color:#a00}}"
    "input,button{{font:inherit;padding:.35rem .5rem}}</style>"
    "<main><h1>Sorry</h1><p>{detail}</p>{way_out}</main></html>"
)
_READERS_WAY_OUT = (
    "<p>{back}<a href='/'>Back to the shop</a></p>"
    "<form action='/search' method='get' role='search'><label for=q>Search by title, author or "
    "ISBN</label> <input id=q name=q type=search maxlength=200> <button>Search</button></form>"
)
# Staff are working, not browsing: their way out is their own front page, not the shop's.
_STAFF_WAY_OUT = "<p>{back}<a href='/staff'>Back to the staff pages</a></p>"


def is_staff_page(path: str) -> bool:
    """The staff pages live under /staff; the readers' pages and the JSON API elsewhere."""
    return path == "/staff" or path.startswith("/staff/")


def is_htmx(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """A request htmx made for a fragment of the page, not the browser for a whole page."""
    return connection.headers.get("hx-request") == "true"


def _error_page(request: Request[Any, Any, Any], detail: str) -> str:
    """The error for a person: what went wrong, the way back to the page they came from (a
    book whose Buy was refused, say) when it is one of the shop's, and the way out: for a
    reader the shop's front page and a search, for staff the staff home."""
    came_from = urlsplit(request.headers.get("referer", ""))
    back = ""
    if came_from.netloc == request.url.netloc and came_from.path.startswith("/"):
        address = urlunsplit(("", "", came_from.path, came_from.query, ""))
        back = f"<a href='{_escape(address)}'>Back to the page you were on</a> · "
    way_out = _STAFF_WAY_OUT if is_staff_page(request.url.path) else _READERS_WAY_OUT
    return _ERROR_PAGE.format(detail=_escape(detail), way_out=way_out.format(back=back))


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&#39;")
        .replace('"', "&quot;")
    )


def shop_error_handler(request: Request[Any, Any, Any], error: ShopError) -> Response[Any]:
    response = _error_response(request, error.status_code, error.message, dict(error.extra))
    if isinstance(error, TemporarilyUnavailable):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


def invalid_isbn_handler(request: Request[Any, Any, Any], error: InvalidISBN) -> Response[Any]:
    return _error_response(request, 400, str(error), {})


def http_error_handler(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    extra: dict[str, Any] = {}
    if isinstance(error, ValidationException) and error.extra:
        extra["errors"] = error.extra
    response = _error_response(request, error.status_code, error.detail, extra)
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


def internal_error_handler(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error_response(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Something went wrong on our side; it has been logged.",
        {},
    )


def unavailable_handler(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """The database (or another server) could not be reached or did not answer in time: a 503
    the reader can act on, not a 500. Other database errors are bugs and stay 500s."""
    if (
        isinstance(error, DBAPIError)
        and not error.connection_invalidated
        and not isinstance(error, OperationalError)
    ):
        return internal_error_handler(request, error)
    log.warning(
        "%s %s: a server we need is unreachable: %s",
        request.method,
        request.url.path,
        f"{type(error).__name__}: {error}".splitlines()[0],
    )
    message = (
        "The shop is too busy to answer just now; please try again in a moment."
        if isinstance(error, PoolTimeout)
        else "The shop cannot reach its database just now; please try again in a moment."
    )
    return shop_error_handler(request, TemporarilyUnavailable(message, retry_after_seconds=5))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ShopError: shop_error_handler,
    InvalidISBN: invalid_isbn_handler,
    HTTPException: http_error_handler,
    DBAPIError: unavailable_handler,
    PoolTimeout: unavailable_handler,
    ConnectionError: unavailable_handler,
    TimeoutError: unavailable_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}


def openapi_config(service: str, title: str, description: str) -> OpenAPIConfig:
    """Each service serves its schema under its own API prefix, so one origin can front all three."""
    return OpenAPIConfig(
        title=title,
        version="1.0.0",
        description=description,
        path=f"/api/{service}/schema",
        render_plugins=[SwaggerRenderPlugin()],
    )


def get_and_head(path: str, **options: Any) -> HTTPRouteHandler:
    """A GET route that answers HEAD too, as GET would (status and headers) without the body.

    Link checkers and CMSs ask for a link with HEAD and read a 405 as a broken link. Litestar
    routes HEAD only to handlers that return no body, so the GET handler answers both and the
    body it renders is held back here, whatever server the app runs under.
    """
    return route(
        path,
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        middleware=[_without_body_on_head],
        **options,
    )


def _without_body_on_head(app: ASGIApp) -> ASGIApp:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != HttpMethod.HEAD:
            await app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await app(scope, receive, send_without_body)

    return answer
