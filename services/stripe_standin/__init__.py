"""A stand-in for the part of Stripe the checkout service uses, speaking Stripe's HTTP protocol.

Point the official SDK at it with `base_addresses={"api": "http://127.0.0.1:PORT"}`.
"""

from services.stripe_standin.app import create_app
from services.stripe_standin.settings import StripeStandinSettings

__all__ = ["StripeStandinSettings", "create_app"]
