"""Signing in and out of the staff pages, and the staff landing page (served by the catalogue,
which owns the staff accounts; the session it starts is honoured by every service)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from services.catalogue.controllers.dependencies import Staff
from services.catalogue.staff import SignInRefused
from shared.auth.guards import SIGN_IN_PATH, SIGNED_IN, safe_next
from shared.auth.sessions import current_staff, sign_in, sign_out
from shared.web import Form
from shared.web_assets import STAFF_PAGES

# Longer input is not a username or password anybody types; refusing it early saves hashing it.
_MAX_FIELD = 1024


_NO_STORE = CacheControlHeader(no_store=True)


def _login_page(*, next_path: str, error: str | None, status_code: int = 200) -> Template:
    return Template(
        template_name="staff/login.html",
        context={"next": next_path, "error": error},
        status_code=status_code,
        media_type=MediaType.HTML,
    )


class StaffSignInController(Controller):
    path = "/staff"
    include_in_schema = False
    cache_control = _NO_STORE

    @get("/login")
    async def login_form(
        self, request: Request[Any, Any, Any], next: FromQuery[str] = ""
    ) -> Template:
        return _login_page(next_path=safe_next(next), error=None)

    @post("/login", status_code=HTTP_303_SEE_OTHER)
    async def login(
        self,
        request: Request[Any, Any, Any],
        staff: Staff,
        data: Form,
    ) -> Redirect | Template:
        username = str(data.get("username") or "")[:_MAX_FIELD]
        password = str(data.get("password") or "")[:_MAX_FIELD]
        next_path = safe_next(str(data.get("next") or ""))
        try:
            identity = await staff.sign_in(username=username, password=password)
        except SignInRefused as refused:
            return _login_page(next_path=next_path, error=refused.message, status_code=401)
        sign_in(request, identity)
        return Redirect(next_path, status_code=HTTP_303_SEE_OTHER)

    @post("/logout", status_code=HTTP_303_SEE_OTHER)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        sign_out(request)
        return Redirect(f"{SIGN_IN_PATH}?signed_out=1", status_code=HTTP_303_SEE_OTHER)

    @get("/", guards=[SIGNED_IN])
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        staff = current_staff(request)
        assert staff is not None  # the guard let only the signed-in through
        return Template(
            template_name="staff/home.html",
            context={
                "staff": staff,
                "pages": [page for page in STAFF_PAGES if staff.may(page.role)],
            },
            media_type=MediaType.HTML,
        )
