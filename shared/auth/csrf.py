"""CSRF protection for every staff form, sign-in and staff API call, one secret for all services.

Litestar's double-submit check: a GET sets the `bookshop_csrf` cookie, and a POST, PUT,
PATCH or DELETE must send the same token back, in the form (`_csrf_token`) or the
`X-CSRFToken` header. In a template:

    <form method="post">{{ csrf_input | safe }} ... </form>
    <body hx-headers='{"X-CSRFToken": "{{ csrf_token() }}"}'>   (htmx requests)

`csrf_input` and `csrf_token()` come with every Litestar template; the token is valid at
every service because the secret and the cookie are shared.
"""

from __future__ import annotations

from secrets import compare_digest
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash

from shared.auth.settings import HasStaffAuth

CSRF_COOKIE = "bookshop_csrf"
CSRF_HEADER = "x-csrftoken"

# Paths the check skips (regular expressions on the path).
CSRF_EXEMPT_PATHS = (
    # Stripe cannot hold our token; its signature is checked instead.
    r"^/checkout/stripe/webhook$",
    # The public JSON endpoint articles' pages call from anywhere; storing an article
    # through it needs the editor's session and the token header (its handler calls
    # require_csrf_token).
    r"^/recommendations/?$",
    # Readers' forms: Buy and the order status look-up act for nobody signed in, so there is no
    # authority to forge, and the book page with the Buy form is cached HTML shared by readers.
    r"^/checkout/buy$",
    r"^/orders/status$",
    # Public answers that must never carry a cookie: cached snippets, link redirects, health,
    # the readers' pages (a cookie would make every cached book page personal, and costs a
    # signature per request on the shop's busiest path), the return pages from Stripe,
    # static files and the metrics scrape.
    r"^/articles/",
    r"^/go/",
    r"^/health",
    r"^/$",
    r"^/books/",
    r"^/search",
    r"^/checkout/success$",
    # The page Stripe's back link lands on, and its button that gives the unpaid order up: the
    # order's random id is the only authority, and a forged post could only cancel an order
    # whose id the forger already knows.
    r"^/checkout/cancel$",
    r"^/static/",
    r"^/metrics$",
)


def staff_csrf_config(settings: HasStaffAuth) -> CSRFConfig:
    """`Litestar(csrf_config=staff_csrf_config(settings))` in every service."""
    auth = settings.staff_auth
    return CSRFConfig(
        secret=auth.resolved_secret_key(),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        # Pages render the token; no script needs to read the cookie.
        cookie_httponly=True,
        cookie_samesite="lax",
        cookie_secure=auth.secure_cookies,
        exclude=list(CSRF_EXEMPT_PATHS),
    )


def require_csrf_token(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """The CSRF check for a request on an exempt path that acts for someone signed in."""
    config = connection.app.csrf_config
    if config is None:
        return
    cookie = connection.cookies.get(config.cookie_name)
    header = connection.headers.get(config.header_name)
    if not cookie or not header or not _tokens_match(cookie, header, config.secret):
        raise PermissionDeniedException("CSRF token verification failed")


def _tokens_match(cookie: str, header: str, secret: str) -> bool:
    cookie_part, header_part = _verified(cookie, secret), _verified(header, secret)
    return cookie_part is not None and header_part is not None and cookie_part == header_part


def _verified(token: str, secret: str) -> str | None:
    """The token's random part if its signature is ours (as Litestar's middleware checks it)."""
    random_part, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    if not signature or not compare_digest(signature, generate_csrf_hash(random_part, secret)):
        return None
    return random_part
