"""Who may use the staff JSON API: whoever holds the staff token (staff logins come later)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import Parameter

from shared.errors import ShopError


class NotAllowed(ShopError):
    status_code = 403


def staff_token_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    token: str = connection.app.state["staff_api_token"]
    if not token:
        raise NotAllowed("The staff API is closed: set CATALOGUE_STAFF_API_TOKEN to open it.")
    scheme, _, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise NotAllowed("The staff API needs 'Authorization: Bearer <staff token>'.")


# Who did it, for the stock ledger: the staff member's name until staff logins arrive.
Actor = Annotated[
    str,
    Parameter(
        header="X-Actor",
        default="staff",
        min_length=1,
        max_length=200,
        description="who is making the change (recorded in the stock ledger)",
    ),
]
