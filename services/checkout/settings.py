"""Checkout's settings, read from CHECKOUT_* environment variables."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.checkout.domain import PostageTable
from shared.auth.settings import StaffAuthSettings
from shared.ratelimit import RateLimitSettings
from shared.settings import ServiceSettings


class CheckoutSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", extra="ignore", frozen=True)

    service_name: str = "checkout"

    stripe_api_key: str = Field(default="sk_test_embedded_standin", description="secret API key")
    stripe_api_base: str = Field(
        default="", description="the Stripe stand-in's address; empty means the real Stripe"
    )
    stripe_webhook_secret: str = Field(
        default="whsec_embedded_standin", description="signing secret of the webhook endpoint"
    )
    stripe_timeout_seconds: float = Field(default=10.0, gt=0)
    stripe_max_network_retries: int = Field(default=2, ge=0)
    currency: str = "gbp"

    # Stripe will not expire a Checkout Session sooner than 30 minutes after creating it; the
    # hold on the copies outlives the session by a margin, so a payment made in the session's
    # last second still finds its copies held.
    web_session_minutes: int = Field(default=30, ge=30, le=24 * 60)
    reservation_margin_minutes: int = Field(default=5, ge=1)
    phone_reservation_hours: int = Field(default=24, ge=1, le=24)
    collection_hold_hours: int = Field(default=7 * 24, ge=1)
    max_quantity_per_line: int = Field(default=10, ge=1)
    # A paid order's commit the catalogue has not confirmed this long after payment is sent
    # again (the broker can lose a message): short beside the 5-minute margin a payment made
    # in a session's last second leaves before the hold ends.
    commit_resend_after_seconds: float = Field(default=30.0, gt=0, le=120)

    # Postage on UK orders by number of books: "1:295,2:395,4:0" means 1 book 295p, 2-3 books
    # 395p, 4 or more free. Collection is always free. Parsed once, here, so a bad table is
    # refused with the other settings, before anything is built on it; NoDecode stops
    # pydantic-settings reading the variable as JSON.
    postage_table: Annotated[PostageTable, NoDecode] = PostageTable.parse("1:295,2:395,4:0")
    postage_vat_percent: int = 20

    smtp_host: str = Field(default="", description="empty: emails are written to the log")
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "Bookshop <orders@bookshop.invalid>"
    email_max_attempts: int = Field(default=20, ge=1)

    staff_auth: StaffAuthSettings = Field(
        default_factory=StaffAuthSettings,
        description="staff sign-in, the same in every service (BOOKSHOP_* variables)",
    )
    rate_limits: RateLimitSettings = Field(
        default_factory=RateLimitSettings,
        description="sign-in and public endpoints' limits, the same in every service "
        "(BOOKSHOP_RATE_LIMIT_* variables)",
    )

    @field_validator("postage_table", mode="before")
    @classmethod
    def _parse_postage_table(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return PostageTable.parse(value)
        except ValueError as error:
            # Named as it is set, so whoever reads the start-up error knows what to correct.
            raise ValueError(f"{cls.model_config['env_prefix']}POSTAGE_TABLE: {error}") from None
