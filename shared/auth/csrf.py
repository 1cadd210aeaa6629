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

from litestar.config.csrf import CSRFConfig

from shared.auth.settings import HasStaffAuth

CSRF_COOKIE = "bookshop_csrf"
CSRF_HEADER = "x-csrftoken"

# Paths the check skips (regular expressions on the path).
CSRF_EXEMPT_PATHS = (
    # Stripe cannot hold our token; its signature is checked instead.
    r"^/checkout/stripe/webhook$",
    # The public JSON endpoint articles' pages call from anywhere; storing an article
    # through it needs the editor's session and the token header (checked in its handler).
    r"^/recommendations/?$",
    # Readers' forms: Buy and the order status look-up act for nobody signed in, so there is no
    # authority to forge, and the book page with the Buy form is cached HTML shared by readers.
    r"^/checkout/buy$",
    r"^/orders/status$",
    # Public answers that must never carry a cookie: cached snippets, link redirects, health.
    r"^/articles/",
    r"^/go/",
    r"^/health",
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
