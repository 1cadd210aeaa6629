from urllib.parse import parse_qsl

import pytest
from stripe._encode import _api_encode

from services.stripe_standin.errors import StripeError
from services.stripe_standin.params import decode_form, integer_param


def test_the_sdks_own_encoding_decodes_back_to_the_same_structure() -> None:
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": "1299",
                    "product_data": {"name": "Germinal"},
                },
                "quantity": "2",
            },
            {
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": "500",
                    "product_data": {"name": "Nana"},
                },
                "quantity": "1",
            },
        ],
        "metadata": {"order_id": "ord-1"},
        "expand": ["payment_intent", "line_items"],
    }

    assert decode_form(_api_encode(params)) == params


def test_metadata_keys_that_look_like_indices_stay_a_mapping() -> None:
    assert decode_form(parse_qsl("metadata[1]=a&metadata[2]=b")) == {
        "metadata": {"1": "a", "2": "b"}
    }


def test_empty_brackets_append() -> None:
    assert decode_form(parse_qsl("expand[]=a&expand[]=b")) == {"expand": ["a", "b"]}


def test_a_non_integer_names_the_parameter() -> None:
    with pytest.raises(StripeError) as raised:
        integer_param("12.5", "amount")
    assert (raised.value.param, raised.value.code) == ("amount", "parameter_invalid_integer")
