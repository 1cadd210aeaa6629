"""Schemathesis against every service's OpenAPI schema: whatever is sent, no 500, and every
answer the schema describes has the shape it says.

Each operation is called by a signed-in admin (session cookie and CSRF token), so the staff
endpoints are exercised past their guards, with a bounded number of generated requests, on
SQLite and on Postgres (whose column types are stricter). Half
the requests name things that exist (a stocked book, the seed order, the stored article) in
their path and body, so the use cases run on real rows rather than stopping at "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from shared.auth.roles import Role

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, response_schema_conformance]


def _operations(shop: Any, service: str) -> list[schemathesis.APIOperation]:
    response = shop.client(service).get(f"/api/{service}/schema/openapi.json")
    response.raise_for_status()
    schema = schemathesis.openapi.from_dict(response.json())
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), (
            f"{service}'s schema has an operation it cannot read: {result}"
        )
        operations.append(result.ok())
    assert operations, f"{service} documents no operations"
    return operations


def _known_values(shop: Any) -> dict[str, list[str]]:
    """Names of path parameters and body fields, and values that exist in the shop."""
    isbns = shop.isbns[:3]
    return {
        "isbn": isbns,
        "isbn13": isbns,
        "reference": [shop.order_reference],
        "article_id": [shop.article_id],
    }


def _with_known(value: Any, known: dict[str, list[str]], pick: int) -> Any:
    if isinstance(value, dict):
        return {
            key: known[key][pick % len(known[key])]
            if key in known and isinstance(item, str)
            else _with_known(item, known, pick)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_with_known(item, known, pick) for item in value]
    return value


def _exercise(
    operation: schemathesis.APIOperation,
    call: Callable[[schemathesis.Case], None],
    known: dict[str, list[str]],
) -> str | None:
    """Generated requests for one operation; the first failure's report, or None."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(), pick=st.one_of(st.none(), st.integers(0, 2)))
    def run(case: schemathesis.Case, pick: int | None) -> None:
        if pick is not None:
            case.path_parameters = _with_known(case.path_parameters or {}, known, pick)
            case.body = _with_known(case.body, known, pick)
        call(case)

    try:
        run()
    except Exception as failure:
        return f"{operation.method.upper()} {operation.path}:\n{failure}"
    return None


@pytest.mark.parametrize("shop_databases", ["sqlite", "postgres"], indirect=True, scope="module")
@pytest.mark.parametrize("service", ["catalogue", "checkout", "recommendation"])
def test_no_generated_request_makes_a_server_error(shop: Any, service: str) -> None:
    admin = shop.staff[Role.ADMIN]
    url = shop.urls[service]

    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=url, headers=admin.headers, checks=CHECKS)

    failures = [
        report
        for operation in _operations(shop, service)
        if (report := _exercise(operation, call, _known_values(shop))) is not None
    ]
    assert not failures, "\n\n".join(failures)
