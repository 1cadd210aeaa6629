"""Each staff role signs in and sees only its own pages; another role's page is refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

STAFF_PAGES = {
    "/staff/stock": "stock",
    "/staff/phone": "phone_orders",
    "/staff/orders": "phone_orders",
    "/staff/editor": "editor",
}


def allowed(role: str) -> set[str]:
    return {path for path, needs in STAFF_PAGES.items() if role in (needs, "admin")}


@pytest.mark.e2e
@pytest.mark.parametrize("role", ["stock", "phone_orders", "editor", "admin"])
def test_each_role_sees_only_its_own_pages(
    page: Page, signed_in: Callable[..., object], role: str
) -> None:
    signed_in(page, role)

    page.goto("/staff")
    listed = {
        href
        for href in page.locator("main a").evaluate_all("links => links.map(a => a.pathname)")
        if href in STAFF_PAGES
    }
    assert listed == allowed(role)

    for path in STAFF_PAGES:
        response = page.goto(path)
        assert response is not None
        if path in allowed(role):
            assert response.status == 200, f"{role} should reach {path}: {response.status}"
            assert "/staff/login" not in page.url
        else:
            assert response.status == 403, f"{role} must not reach {path}: {response.status}"
            expect(page.locator("body")).to_contain_text("role")
