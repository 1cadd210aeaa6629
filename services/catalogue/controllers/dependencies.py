"""The app's dependencies (`create_app`) as the catalogue's handlers take them: by name,
`books: Books`. Litestar 3 injects only into a parameter marked for it, so each is marked once
here rather than in every handler."""

from __future__ import annotations

from litestar.di import NamedDependency

from services.catalogue.service import BookService, StockService
from services.catalogue.settings import CatalogueSettings
from services.catalogue.staff import StaffService

Books = NamedDependency[BookService]
Stock = NamedDependency[StockService]
# The signed-in username, for the stock ledger (shared.auth.guards.staff_actor).
Actor = NamedDependency[str]
Staff = NamedDependency[StaffService]
Settings = NamedDependency[CatalogueSettings]
