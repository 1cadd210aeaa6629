"""Who may store articles, pin and ban books and read reports: whoever holds the staff token."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from shared.errors import ShopError


class NotAllowed(ShopError):
    status_code = 403


def require_staff(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    token: str = connection.app.state["staff_api_token"]
    if not token:
        raise NotAllowed(
            "The editors' API is closed: set RECOMMENDATION_STAFF_API_TOKEN to open it."
        )
    scheme, _, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise NotAllowed("The editors' API needs 'Authorization: Bearer <staff token>'.")


def staff_token_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    require_staff(connection)
