"""Rate limits on the endpoints worth hammering: staff sign-in (per address and username), the
public order-status look-up and the public recommendations endpoint (per address).

Counts live in the Redis every process shares, so the limit holds however many web
processes serve the shop. Each limit is a moving window of one minute per key: at most N
requests in any 60 seconds (fixed one-minute windows would let 2N through across a window's
end). Over it, the answer is 429 with Retry-After (the seconds until the oldest counted
request leaves the window). If Redis cannot be reached the request goes through: a broken
counter must not close the shop (sign-in also has its own lock-out, kept in the database).

    limiter = rate_limits(settings, LOGIN)
    Litestar(middleware=[..., limiter], on_shutdown=[limiter.close])

The client's address is the ASGI scope's: behind a reverse proxy, the server must be told to
trust the proxy's X-Forwarded-For (uvicorn's --forwarded-allow-ips), or every reader shares
the proxy's address and its limit.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from litestar.connection import Request
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Receive, Scope, Send
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "bookshop:ratelimit"
WINDOW_SECONDS = 60
# The check lets a request through when Redis does not answer (a limit is not worth an outage),
# so it waits no longer than a reader would notice: Redis answers in a millisecond when well.
REDIS_TIMEOUT_SECONDS = 0.5
# A form field read for the key is cut to this; nobody's username is longer.
_MAX_KEY_FIELD = 200


class RateLimitSettings(BaseSettings):
    """Requests a minute per key (BOOKSHOP_RATE_LIMIT_*); 0 turns a limit off."""

    model_config = SettingsConfigDict(
        env_prefix="BOOKSHOP_RATE_LIMIT_", extra="ignore", frozen=True
    )

    login_per_minute: int = Field(
        default=10, ge=0, description="staff sign-in attempts per address and username"
    )
    order_status_per_minute: int = Field(
        default=10, ge=0, description="order status look-ups per address"
    )
    recommendations_per_minute: int = Field(
        default=30, ge=0, description="POST /recommendations per address"
    )


class HasRateLimits(Protocol):
    """What a service's settings give the limits: its Redis and the limits."""

    @property
    def redis_url(self) -> str: ...

    @property
    def rate_limits(self) -> RateLimitSettings: ...


@dataclass(frozen=True)
class Limit:
    """At most `allowed` requests of `method` to `path` in any `window_seconds`, per client
    address (and, with `form_field`, per value of that field of the form posted)."""

    name: str
    method: str
    path: str
    allowed: int
    form_field: str | None = None
    window_seconds: int = WINDOW_SECONDS


@dataclass(frozen=True)
class LimitRule:
    """A limit whose number comes from the settings field `setting`."""

    name: str
    method: str
    path: str
    setting: str
    form_field: str | None = None

    def limit(self, limits: RateLimitSettings) -> Limit:
        allowed = int(getattr(limits, self.setting))
        return Limit(self.name, self.method, self.path, allowed, self.form_field)


LOGIN = LimitRule("login", "POST", "/staff/login", "login_per_minute", form_field="username")
ORDER_STATUS = LimitRule("order-status", "POST", "/orders/status", "order_status_per_minute")
RECOMMENDATIONS = LimitRule(
    "recommendations", "POST", "/recommendations", "recommendations_per_minute"
)


class RateLimiter:
    """The `limits` library's moving window, kept in Redis (one list per key, trimmed by a Lua
    script in one round trip). Keys hold a digest of the address and username, not them."""

    def __init__(self, redis: Redis) -> None:
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            # The middleware's own client's pool, which it closes; limits types its
            # pass-through options as scalars, though it documents this one.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._windows = MovingWindowRateLimiter(storage)

    async def hit(self, limit: Limit, key: str) -> int | None:
        """Count one request; None if it is within the limit, else the seconds to wait.

        A refused request is not counted, so a client hammering away is let in again once
        its earlier requests have left the window."""
        item = RateLimitItemPerSecond(limit.allowed, limit.window_seconds)
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        if await self._windows.hit(item, limit.name, digest):
            return None
        reset_at, _ = await self._windows.get_window_stats(item, limit.name, digest)
        return max(1, math.ceil(reset_at - time.time()))


class RateLimitMiddleware:
    """Plain ASGI (Litestar calls it with each route's app): every request of the shop passes
    through it and nearly all go straight on, so the pass costs one dictionary look-up rather
    than a Litestar middleware layer's checks."""

    def __init__(self, redis_url: str, limits: tuple[Limit, ...]) -> None:
        self._limits = {(limit.method, limit.path.rstrip("/")): limit for limit in limits}
        self._redis = Redis.from_url(
            redis_url,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._limiter = RateLimiter(self._redis)

    def __call__(self, app: ASGIApp) -> ASGIApp:
        limits = self._limits

        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == ScopeType.HTTP:
                limit = limits.get((scope["method"], scope["path"].rstrip("/")))
                if limit is not None and limit.allowed > 0:
                    await self._check(limit, scope, receive)
            await app(scope, receive, send)

        return limited

    async def _check(self, limit: Limit, scope: Scope, receive: Receive) -> None:
        client = scope.get("client")
        key = client[0] if client else "unknown"
        if limit.form_field:
            # The form is parsed once and kept in the scope: the handler reads it from there.
            form = await Request[Any, Any, Any](scope, receive).form()
            value = str(form.get(limit.form_field) or "")[:_MAX_KEY_FIELD].strip().lower()
            key = f"{key}|{value}"
        try:
            wait = await self._limiter.hit(limit, key)
        except RedisError as error:
            log.warning("rate limit %s not checked: Redis: %s", limit.name, error)
            return
        if wait is not None:
            raise TooManyRequestsException(
                f"Too many tries: wait {wait} seconds and try again.",
                headers={"Retry-After": str(wait)},
            )

    async def close(self) -> None:
        await self._redis.aclose()


def rate_limits(settings: HasRateLimits, *rules: LimitRule) -> RateLimitMiddleware:
    """The middleware for a service's limits; connects to Redis on first use, not here."""
    return RateLimitMiddleware(
        settings.redis_url, tuple(rule.limit(settings.rate_limits) for rule in rules)
    )
