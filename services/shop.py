"""The shop's composition root: which services exist and where their parts are.

Only this module, the CLI, the gateway and the embedded runner know every service; the
services themselves never import each other (import-linter holds it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceParts:
    name: str
    settings: str
    create_app: str
    create_worker: str

    @property
    def migrations(self) -> str:
        return f"services.{self.name}:migrations"

    @property
    def tasks(self) -> str:
        return f"services.{self.name}.tasks"

    @property
    def outbox(self) -> str:
        return f"services.{self.name}.models:outbox"

    def load_settings(self, **overrides: Any) -> ServiceSettings:
        settings_class = load(self.settings)
        return settings_class(**overrides)


def load(path: str) -> Any:
    """Import `package.module:attribute` on demand, so one missing service breaks only itself."""
    module_name, _, attribute = path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


SERVICES: dict[str, ServiceParts] = {
    name: ServiceParts(
        name=name,
        settings=f"services.{name}.settings:{name.capitalize()}Settings",
        create_app=f"services.{name}.app:create_app",
        create_worker=f"services.{name}.worker:create_worker",
    )
    for name in ("catalogue", "recommendation", "checkout")
}
