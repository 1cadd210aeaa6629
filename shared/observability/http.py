"""ASGI middleware giving every web request an id, bound to its logs and echoed to the caller."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability import request_id


class RequestIdMiddleware(ASGIMiddleware):
    """Take a sane `X-Request-ID` from the proxy or make one; every log line of the request carries it."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = dict(scope["headers"])
        given = headers.get(request_id.HEADER.encode(), b"").decode("latin-1")
        current = request_id.sanitise(given) or request_id.new()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)[request_id.HEADER] = current
            await send(message)

        with request_id.bound(current):
            await next_app(scope, receive, send_with_id)
