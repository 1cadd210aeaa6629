import pytest

from shared.money import format_pence, vat_included


@pytest.mark.parametrize(
    ("pence", "text"),
    [(0, "£0.00"), (5, "£0.05"), (1999, "£19.99"), (123456, "£1,234.56"), (-250, "-£2.50")],
)
def test_format_pence(pence: int, text: str) -> None:
    assert format_pence(pence) == text


@pytest.mark.parametrize(("gross", "vat"), [(360, 60), (295, 49), (0, 0), (1, 0), (6, 1)])
def test_vat_inside_a_vat_inclusive_price(gross: int, vat: int) -> None:
    assert vat_included(gross, 20) == vat
