"""The ASGI middleware every web request routed to a handler passes first: it gives the request
an id (bound to its logs and echoed to the caller) and counts and times it per route.

Plain ASGI, and one layer for both, because it runs on every request: each Litestar
middleware layer costs its own checks and its own wrapper of `send`, and on the shop's busiest
page (a cached book) those cost more than the page.

    Litestar(middleware=[DefineMiddleware(ObservedRequests, metrics=RequestMetrics("catalogue"))])
"""

from __future__ import annotations

from collections.abc import Iterable
from time import perf_counter

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability import request_id
from shared.observability.request_metrics import RequestMetrics

_HEADER = request_id.HEADER.encode()


def _given_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == _HEADER:
            return request_id.sanitise(value.decode("latin-1"))
    return None


class ObservedRequests:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        method: str = scope["method"]  # type: ignore[typeddict-item]  # HTTP, as checked above
        current = _given_id(scope["headers"]) or request_id.new()
        echoed = (_HEADER, current.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        route = self._metrics.route(method, scope["path_template"])
        binding = request_id.bind(current)
        started = perf_counter()
        if route is not None:
            route.in_progress += 1
        try:
            await self._app(scope, receive, send_with_id)
        except Exception as error:
            # Raised before a response (a refused CSRF token, a rate limit): Litestar's outer
            # handler answers it, without passing through here, so the id rides on the error.
            if isinstance(error, HTTPException):
                error.headers = {**(error.headers or {}), request_id.HEADER: current}
                status = status or error.status_code
            else:
                status = status or 500
            raise
        finally:
            request_id.unbind(binding)
            if route is not None:
                route.in_progress -= 1
                route.finished(status or 500, perf_counter() - started)
