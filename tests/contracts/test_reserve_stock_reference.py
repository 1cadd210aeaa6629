"""ReserveStock's order reference is optional: a message queued before it was added decodes."""

from __future__ import annotations

from uuid import uuid4

import msgspec
import pytest

from shared.contracts import ReserveStock


def payload(**extra: object) -> dict[str, object]:
    return {
        "order_id": str(uuid4()),
        "lines": [{"isbn13": "9798463348616", "quantity": 1}],
        "expires_at": "2026-11-25T12:30:00Z",
        **extra,
    }


def test_a_reserve_queued_without_a_reference_decodes_without_one() -> None:
    assert ReserveStock.from_json_dict(payload()).reference is None


def test_a_reserve_carries_the_orders_reference() -> None:
    assert ReserveStock.from_json_dict(payload(reference="V9PDJV46")).reference == "V9PDJV46"


@pytest.mark.parametrize("reference", ["", "X" * 21])
def test_a_reference_the_catalogue_cannot_keep_is_refused(reference: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        ReserveStock.from_json_dict(payload(reference=reference))
