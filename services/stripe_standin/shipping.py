"""Shipping address collection: the create parameter, checked as Stripe checks it, and the
address typed on the hosted page, in the shape of `collected_information.shipping_details`."""

import re
from dataclasses import dataclass
from typing import Any

from services.stripe_standin.errors import StripeError, invalid_param, missing_param

PARAM = "shipping_address_collection"
# The codes Stripe accepts in `allowed_countries` (its API reference; a few territories it
# does not ship to, such as AS, CU, IR, KP and SY, are left out by Stripe).
# fmt: off
ALLOWED_COUNTRIES = frozenset({
    "AC", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AT", "AU", "AW", "AX",
    "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ",
    "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CD", "CF", "CG", "CH", "CI", "CK", "CL",
    "CM", "CN", "CO", "CR", "CV", "CW", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC",
    "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FO", "FR", "GA", "GB", "GD", "GE",
    "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY",
    "HK", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IS", "IT", "JE",
    "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KR", "KW", "KY", "KZ", "LA", "LB",
    "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG",
    "MK", "ML", "MM", "MN", "MO", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ",
    "NA", "NC", "NE", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF",
    "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PY", "QA", "RE", "RO", "RS", "RU",
    "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO",
    "SR", "SS", "ST", "SV", "SX", "SZ", "TA", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL",
    "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "US", "UY", "UZ", "VA", "VC",
    "VE", "VG", "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW", "ZZ",
})
# fmt: on
# Stripe's page checks a British postcode's form (not that it exists).
GB_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}", re.IGNORECASE)


def shipping_collection(params: dict[str, Any]) -> dict[str, Any] | None:
    """The session's `shipping_address_collection` from the create parameters, or None."""
    raw = params.get(PARAM)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_param(PARAM, f"Invalid object: {PARAM} must be a hash.")
    for name in raw:
        if name != "allowed_countries":
            raise StripeError(
                f"Received unknown parameter: {PARAM}[{name}]",
                code="parameter_unknown",
                param=f"{PARAM}[{name}]",
            )
    countries = raw.get("allowed_countries")
    param = f"{PARAM}[allowed_countries]"
    if countries in (None, ""):
        raise missing_param(param)
    if not isinstance(countries, list):
        raise invalid_param(param, "Invalid array", code="parameter_invalid_array")
    for index, country in enumerate(countries):
        if country not in ALLOWED_COUNTRIES:
            raise invalid_param(
                f"{param}[{index}]",
                f"Invalid {param}[{index}]: must be one of {', '.join(sorted(ALLOWED_COUNTRIES))}",
            )
    return {"allowed_countries": list(countries)}


@dataclass(frozen=True)
class ShippingAddress:
    """What the payer typed in the page's shipping fields."""

    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str

    def check(self, allowed_countries: list[str]) -> None:
        """StripeError, as the page shows it, unless the address is complete and allowed."""
        if not (self.name and self.line1 and self.city and self.postal_code and self.country):
            raise StripeError(
                "Enter the shipping address: full name, address line 1, town or city and postcode."
            )
        if self.country not in allowed_countries:
            raise StripeError(f"We cannot ship to {self.country}.")
        if self.country == "GB" and not GB_POSTCODE.fullmatch(self.postal_code):
            raise StripeError(f"{self.postal_code} is not a valid postcode.")

    def details(self) -> dict[str, Any]:
        """`collected_information.shipping_details` as Stripe's Checkout Session has it."""
        return {"address": self.address(), "name": self.name}

    def address(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "country": self.country,
            "line1": self.line1,
            "line2": self.line2,
            "postal_code": self.postal_code,
            "state": None,
        }
