"""Settings of the Stripe stand-in, read from STRIPE_STANDIN_* environment variables."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class StripeStandinSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRIPE_STANDIN_")

    # Endpoints that receive every event, signed with webhook_secret. More can be added at
    # runtime with POST /v1/webhook_endpoints, each with its own secret as Stripe does.
    webhook_urls: list[str] = []
    # A fixed, public value: the stand-in only ever handles test data, and the shop's embedded
    # default needs to know the secret without a hand-off step.
    webhook_secret: str = "whsec_standin_test_secret"
    # Where the hosted checkout page is reachable from the customer's browser.
    public_base_url: str = "http://127.0.0.1:12111"
    # Seconds to wait before each retry of a failed delivery; Stripe spreads retries over
    # three days, tests want fractions of a second.
    webhook_retry_delays: list[float] = [5.0, 30.0, 120.0, 600.0, 3600.0]
    webhook_timeout_seconds: float = 10.0
    expiry_sweep_seconds: float = 5.0
    api_version: str = "2026-10-28.endive"
