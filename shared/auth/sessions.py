"""Staff sessions: server-side, in the Redis every service shares, behind one cookie.

The cookie `bookshop_staff` holds only a random id; the session (staff id, username, name,
roles) lives in Redis, so a sign-in at the catalogue is seen by checkout and recommendation.
A session lasts `session_hours` from sign-in (it is not extended by use), and its id is
replaced at sign-in, so an id planted before sign-in is worth nothing.

Readers never get a session: nothing is stored and no cookie is set until someone signs in.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import ImproperlyConfiguredException
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from litestar.types import Empty, Message, ScopeSession
from redis.asyncio import Redis

from shared.auth.roles import Role, may, parse_roles
from shared.auth.settings import HasStaffAuth
from shared.errors import InvalidInput

SESSION_COOKIE = "bookshop_staff"
SESSION_NAMESPACE = "bookshop-staff-sessions"
# `opt=WITHOUT_STAFF_SESSION` on a controller or route that never asks who is signed in (the
# readers' pages): the session middleware steps aside, so a staff member's cookie costs no
# Redis round trip there and a reader's request no cookie parsing. Guards on such a route
# would see nobody signed in.
_SKIP_STAFF_SESSION = "skip_staff_session"
WITHOUT_STAFF_SESSION: Mapping[str, bool] = MappingProxyType({_SKIP_STAFF_SESSION: True})
# Keys of our own in the ASGI scope: the session as loaded, and the new id given at sign-in.
_LOADED = "bookshop.session_loaded"
_FRESH_ID = "bookshop.session_fresh_id"


@dataclass(frozen=True)
class StaffIdentity:
    """Who is signed in: the ledger's "who" and the guards' roles."""

    staff_id: str
    username: str
    name: str
    roles: frozenset[Role]

    def may(self, *needed: Role) -> bool:
        return may(self.roles, needed)

    def to_session(self) -> dict[str, Any]:
        return {
            "staff_id": self.staff_id,
            "username": self.username,
            "name": self.name,
            "roles": sorted(role.value for role in self.roles),
        }

    @classmethod
    def from_session(cls, data: Any) -> StaffIdentity | None:
        if not isinstance(data, dict) or not data.get("staff_id"):
            return None
        try:
            roles = parse_roles(data.get("roles") or ())
        except InvalidInput:
            return None
        return cls(
            staff_id=str(data["staff_id"]),
            username=str(data.get("username", "")),
            name=str(data.get("name", "")),
            roles=roles,
        )


def current_staff(connection: ASGIConnection[Any, Any, Any, Any]) -> StaffIdentity | None:
    """The signed-in staff member, or None (also when the app has no session middleware)."""
    session = connection.scope.get("session")
    if session is Empty or not session:
        return None
    return StaffIdentity.from_session(session)


def sign_in(connection: ASGIConnection[Any, Any, Any, Any], identity: StaffIdentity) -> None:
    """Start a session for `identity` under a new id (the old one, if any, is deleted)."""
    connection.scope[_FRESH_ID] = secrets.token_hex(32)  # type: ignore[literal-required]
    connection.set_session(identity.to_session())


def sign_out(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.clear_session()


class StaffSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = dict(data)  # type: ignore[literal-required]
        return data

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        fresh = connection.scope.get(_FRESH_ID)
        return str(fresh) if fresh else super().get_session_id(connection)

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        scope = connection.scope
        fresh = scope.get(_FRESH_ID)
        cookie_id = connection.cookies.get(self.config.key)
        has_cookie = bool(cookie_id) and cookie_id != "null"
        if not fresh and scope_session == scope.get(_LOADED, {}):
            # Unchanged: writing it again would extend the session and set a cookie per request.
            return
        if not scope_session:
            if not has_cookie:
                return
            scope_session = Empty
        if fresh and has_cookie and cookie_id:
            await self.delete(cookie_id, store=self.config.get_store_from_app(scope["app"]))
        await super().store_in_message(scope_session, message, connection)


@dataclass
class StaffSessionConfig(ServerSideSessionConfig):
    """Litestar's server-side session config, holding its Redis store itself.

    (By name through the app's store registry, a forgotten registration would silently give
    each process a session store in memory.)
    """

    _backend_class = StaffSessionBackend
    redis: Redis | None = field(default=None, repr=False)
    session_store: Store | None = field(default=None, repr=False)

    def get_store_from_app(self, app: Any) -> Store:
        if self.session_store is None:
            raise ImproperlyConfiguredException("build it with staff_session_config(settings)")
        return self.session_store

    async def close(self) -> None:
        """Close the Redis connections (the app's on_shutdown)."""
        if self.redis is not None:
            await self.redis.aclose()


def staff_session_config(settings: HasStaffAuth) -> StaffSessionConfig:
    """The session middleware every service uses: `middleware=[config.middleware]`,
    `on_shutdown=[config.close]`. Connects to Redis on first use, not here."""
    auth = settings.staff_auth
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
    return StaffSessionConfig(
        key=SESSION_COOKIE,
        max_age=auth.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=auth.secure_cookies,
        path="/",
        exclude_opt_key=_SKIP_STAFF_SESSION,
        redis=redis,
        session_store=RedisStore(redis, namespace=SESSION_NAMESPACE),
    )
