"""The catalogue's settings (env prefix CATALOGUE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.auth.settings import StaffAuthSettings
from shared.ratelimit import RateLimitSettings
from shared.settings import ServiceSettings


class CatalogueSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOGUE_", extra="ignore", frozen=True)

    service_name: str = "catalogue"
    page_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="how long a web process reuses a book it read for the public pages (0: never)",
    )
    staff_auth: StaffAuthSettings = Field(
        default_factory=StaffAuthSettings,
        description="staff sign-in, the same in every service (BOOKSHOP_* variables)",
    )
    rate_limits: RateLimitSettings = Field(
        default_factory=RateLimitSettings,
        description="sign-in and public endpoints' limits, the same in every service "
        "(BOOKSHOP_RATE_LIMIT_* variables)",
    )
