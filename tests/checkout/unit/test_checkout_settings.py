"""Checkout's settings: the postage table is parsed once, when the settings are read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.checkout.domain import Delivery, PostageTable
from services.checkout.settings import CheckoutSettings


def test_the_default_table_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHECKOUT_POSTAGE_TABLE", raising=False)
    assert CheckoutSettings().postage_table == PostageTable.parse("1:295,2:395,4:0")


def test_the_table_is_read_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKOUT_POSTAGE_TABLE", "1:350,3:0")
    table = CheckoutSettings().postage_table
    assert table.postage_pence(2, Delivery.POST) == 350
    assert table.postage_pence(3, Delivery.POST) == 0


def test_a_table_given_in_code_is_parsed_too() -> None:
    settings = CheckoutSettings(postage_table="1:100")
    assert settings.postage_table == PostageTable(bands=((1, 100),))


@pytest.mark.parametrize("text", ["1:295,2:abc", "2:100", "1:-5", ""])
def test_a_bad_table_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("CHECKOUT_POSTAGE_TABLE", text)
    with pytest.raises(ValidationError, match=r"CHECKOUT_POSTAGE_TABLE: Postage table"):
        CheckoutSettings()
