"""What a reader types on the Stripe stand-in's checkout page, shared by the suites that pay."""

from __future__ import annotations

# The shipping fields a web order's session asks for (shipping_address_collection, GB).
READER_ADDRESS = {
    "shipping_name": "Rosa Reader",
    "shipping_line1": "1 Red Lane",
    "shipping_line2": "Flat 2",
    "shipping_city": "London",
    "shipping_postal_code": "N1 1AA",
    "shipping_country": "GB",
}
