"""The catalogue's settings (env prefix CATALOGUE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CatalogueSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOGUE_", extra="ignore", frozen=True)

    service_name: str = "catalogue"
    low_stock_page_size: int = Field(default=200, gt=0, description="rows in the low-stock report")
    expiry_sweep_batch: int = Field(
        default=200, gt=0, description="expired reservations released per sweep run"
    )
