"""The look every staff page shares: one base layout, one stylesheet, htmx (vendored, 2.0.11).

A service serves them and finds the layout with:

    route_handlers=[..., staff_static_files("checkout")]           # /static/checkout/...
    template_config=staff_template_config("checkout", TEMPLATES)   # its own folder first

and a page extends the layout: `{% extends "staff_base.html" %}` with blocks `title` and
`main` (and `subnav`, `scripts`). The layout shows the nav of the pages the signed-in person
may use, their name and a sign-out button; `body` sends the CSRF token with htmx requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from shared.auth.roles import Role
from shared.auth.templates import register_staff_helpers
from shared.money import format_pence
from shared.shop_time import shop_time, spoken_time

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class StaffPage:
    path: str
    title: str
    about: str
    role: Role


STAFF_PAGES = (
    StaffPage("/staff/stock", "Stock", "books, deliveries, counts and reorders", Role.STOCK),
    StaffPage("/staff/phone", "Phone order", "take an order on the phone", Role.PHONE_ORDERS),
    StaffPage("/staff/orders", "Orders", "payments, refunds and fulfilment", Role.PHONE_ORDERS),
    StaffPage("/staff/editor", "Articles", "the books recommended for articles", Role.EDITOR),
)


def static_prefix(service: str) -> str:
    return f"/static/{service}"


def staff_static_files(service: str) -> Router:
    """staff.css and htmx.min.js under /static/<service>/ (one origin: prefixes must differ)."""
    return create_static_files_router(
        path=static_prefix(service), directories=[STATIC_DIR], name=f"{service}-static"
    )


def staff_template_config(
    service: str,
    templates: Path,
    *,
    engine_callback: Callable[[JinjaTemplateEngine], None] | None = None,
) -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja over the service's own templates, then the shared layout; `pence`, `shop_time`
    and `spoken_time` filters, staff helpers (`current_staff()`), `staff_pages` and `staff_static` (this service's asset prefix)."""

    def setup(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters["pence"] = format_pence
        engine.engine.filters["shop_time"] = shop_time
        engine.engine.filters["spoken_time"] = spoken_time
        engine.engine.globals["staff_pages"] = STAFF_PAGES
        engine.engine.globals["staff_static"] = static_prefix(service)
        register_staff_helpers(engine)
        if engine_callback is not None:
            engine_callback(engine)

    return TemplateConfig(
        directory=[templates, TEMPLATES_DIR], engine=JinjaTemplateEngine, engine_callback=setup
    )
