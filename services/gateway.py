"""One origin for the whole shop: an ASGI router that hands each path to the service that owns it.

The embedded default serves every service from one process behind this router; in
deployment the reverse proxy (docker-compose) routes the same prefixes to separate containers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The path prefixes each service answers; the reverse proxy in docker-compose routes the same.
SERVICE_PREFIXES: Mapping[str, tuple[str, ...]] = {
    "catalogue": (
        "/books",
        "/search",
        "/api/catalogue",
        "/staff/stock",
        # Signing in and the staff landing page; the catalogue owns the staff accounts.
        "/staff/login",
        "/staff/logout",
        "/staff",
        "/health/catalogue",
        "/static/catalogue",
    ),
    "checkout": (
        "/checkout",
        "/orders",
        "/api/checkout",
        "/staff/orders",
        "/staff/phone",
        "/health/checkout",
        "/static/checkout",
    ),
    "recommendation": (
        "/go",
        "/recommendations",
        "/articles",
        "/api/recommendation",
        "/staff/editor",
        "/health/recommendation",
        "/static/recommendation",
    ),
}


@dataclass(frozen=True)
class Mount:
    prefix: str
    app: Any
    strip_prefix: bool = False

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix.rstrip("/") + "/")


class Gateway:
    """Routes by longest matching prefix; `/` goes to the home app, `/health` asks every service."""

    def __init__(
        self, mounts: Sequence[Mount], *, home: Any, health_services: Sequence[str]
    ) -> None:
        self._mounts = sorted(mounts, key=lambda mount: len(mount.prefix), reverse=True)
        self._home = home
        self._health_services = tuple(health_services)
        self._apps = list(dict.fromkeys([mount.app for mount in mounts] + [home]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "/")
        if path == "/health":
            await self._health(scope, send)
            return
        for mount in self._mounts:
            if mount.matches(path):
                if mount.strip_prefix:
                    scope = dict(scope)
                    scope["root_path"] = scope.get("root_path", "") + mount.prefix
                    scope["path"] = path[len(mount.prefix) :] or "/"
                    scope["raw_path"] = scope["path"].encode()
                await mount.app(scope, receive, send)
                return
        await self._home(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async with contextlib.AsyncExitStack() as stack:
            message = await receive()
            assert message["type"] == "lifespan.startup"
            try:
                for app in self._apps:
                    await stack.enter_async_context(app.lifespan())
            except Exception as error:
                await send({"type": "lifespan.startup.failed", "message": str(error)})
                raise
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            assert message["type"] == "lifespan.shutdown"
        await send({"type": "lifespan.shutdown.complete"})

    async def _health(self, scope: Scope, send: Send) -> None:
        report: dict[str, Any] = {}
        healthy = True
        for name in self._health_services:
            transport = httpx.ASGITransport(app=self)
            async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
                response = await client.get(f"/health/{name}")
            report[name] = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else {"status": response.status_code}
            )
            healthy = healthy and response.status_code == 200
        body = msgspec.json.encode({"status": "ok" if healthy else "degraded", "services": report})
        await send(
            {
                "type": "http.response.start",
                "status": 200 if healthy else 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
