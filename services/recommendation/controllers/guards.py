"""Who may store articles, pin and ban books and read reports: the editor role (or admin)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from shared.auth.csrf import require_csrf_token
from shared.auth.guards import requires, signed_in_staff
from shared.auth.roles import Role

EDITOR = requires(Role.EDITOR)


def require_editor(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """For storing an article through the public endpoint, which the CSRF middleware skips."""
    signed_in_staff(connection, EDITOR.roles)
    require_csrf_token(connection)
