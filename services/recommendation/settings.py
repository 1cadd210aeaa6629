"""The recommendation service's settings (env prefix RECOMMENDATION_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.auth.settings import StaffAuthSettings
from shared.ratelimit import RateLimitSettings
from shared.settings import ServiceSettings


class RecommendationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RECOMMENDATION_", extra="ignore", frozen=True)

    service_name: str = "recommendation"
    fetch_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="how long fetching an article's URL may take in all"
    )
    fetch_max_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="the largest article page fetched"
    )
    fetch_allow_private_addresses: bool = Field(
        default=False,
        description="fetch articles from this machine and private networks too (tests only: "
        "otherwise an article's address could reach the shop's own services)",
    )
    max_article_chars: int = Field(
        default=200_000, ge=1000, description="the longest article text accepted"
    )
    rerank: bool = Field(
        default=True, description="re-rank candidates with MiniLM (better, a little slower)"
    )
    index_in_background: bool = Field(
        default=False,
        description="build the index and load its models as the web app starts, and apply "
        "the catalogue's changes to it every few seconds, in the background, rather than at "
        "the next ranking, which then waits for them (`bookshop up` and .env.example turn it "
        "on)",
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
