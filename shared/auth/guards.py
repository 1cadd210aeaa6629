"""Route guards: `guards=[requires(Role.STOCK)]` on a controller or a route.

No session: the JSON API (`/api/...`, anything outside /staff) answers 401; a page under
/staff redirects (303) to the sign-in page, which brings the person back afterwards (to the
page they were on, for a form's post or an htmx fragment); an htmx request gets 401 with
HX-Redirect, so the whole page goes to the sign-in page rather than a fragment. A signed-in person without the role gets 403 saying which role is needed.
Admin may do everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from litestar.connection import ASGIConnection, Request
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.status_codes import HTTP_303_SEE_OTHER

from shared.auth.roles import Role, describe
from shared.auth.sessions import StaffIdentity, current_staff
from shared.web import is_htmx, is_staff_page

SIGN_IN_PATH = "/staff/login"
STAFF_HOME = "/staff"


class SignInRequired(HTTPException):
    """Raised for a page: a 303 to the sign-in page (the shop's error handler keeps the headers)."""

    status_code = HTTP_303_SEE_OTHER


class RoleRequired(PermissionDeniedException):
    pass


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN_PATH}?{urlencode({'next': next_path})}"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another site."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ch in value for ch in "\r\n\\")
    ):
        return STAFF_HOME
    return value


def _area_home(path: str) -> str:
    """/staff/stock/books/x/adjust -> /staff/stock: the front page of the area it belongs to."""
    area = path.removeprefix(STAFF_HOME).strip("/").split("/", 1)[0]
    return f"{STAFF_HOME}/{area}" if area else STAFF_HOME


def return_path(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Where signing in again lands: the page asked for. A form's post (its address answers
    only POST) or an htmx fragment lands on the page it came from, as the browser tells it
    (HX-Current-URL, else Referer) when that is this site; else on its area's front page."""
    url = connection.url
    if connection.scope.get("method") in ("GET", "HEAD") and not is_htmx(connection):
        return url.path + (f"?{url.query}" if url.query else "")
    shown = urlsplit(
        connection.headers.get("hx-current-url") or connection.headers.get("referer") or ""
    )
    if shown.scheme in ("http", "https") and shown.netloc == url.netloc:
        # `done` is the one-shot notice of the action that led to that page; shown again
        # after signing in, it would report an action not taken this time
        query = urlencode([(k, v) for k, v in parse_qsl(shown.query) if k != "done"])
        return safe_next(shown.path + (f"?{query}" if query else ""))
    return _area_home(url.path)


def signed_in_staff(
    connection: ASGIConnection[Any, Any, Any, Any], needed: frozenset[Role]
) -> StaffIdentity:
    """The signed-in staff member if they may use something open to `needed`; else the refusal."""
    staff = current_staff(connection)
    if staff is None:
        if not is_staff_page(connection.url.path):
            raise NotAuthorizedException("Sign in first: the staff API needs a staff session.")
        path = return_path(connection)
        if is_htmx(connection):
            raise NotAuthorizedException(
                "Your sign-in has ended: sign in again.",
                headers={"HX-Redirect": sign_in_url(path)},
            )
        raise SignInRequired("Sign in to continue.", headers={"Location": sign_in_url(path)})
    if not staff.may(*needed):
        held = describe(staff.roles)
        raise RoleRequired(
            f"This needs the {describe(needed)} role (or admin); you are signed in as "
            f"{staff.username}, with the {held} role. Ask an admin to give you the role."
        )
    return staff


@dataclass(frozen=True)
class RoleGuard:
    """A Litestar guard; `roles` is empty for "any signed-in staff member"."""

    roles: frozenset[Role]

    def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        signed_in_staff(connection, self.roles)


def requires(*roles: Role) -> RoleGuard:
    """Open to anyone holding one of `roles` (and to admin)."""
    if not roles:
        raise ValueError("requires() needs a role; use SIGNED_IN for any staff member")
    return RoleGuard(frozenset(roles))


SIGNED_IN = RoleGuard(frozenset())


def staff_actor(request: Request[Any, Any, Any]) -> str:
    """Who is making a change, for ledgers: the signed-in username.

    A DI provider: `dependencies={"actor": Provide(staff_actor, sync_to_thread=False)}`.
    """
    return signed_in_staff(request, frozenset()).username
