"""Who may use the catalogue's staff API: the stock role; finding books also phone orders and
editors. `actor` (who made a change, for the stock ledger) is the signed-in username, given
to handlers by the app's `actor` dependency."""

from __future__ import annotations

from shared.auth.guards import requires
from shared.auth.roles import Role

STOCK = requires(Role.STOCK)
LOOK_UP_BOOKS = requires(Role.STOCK, Role.PHONE_ORDERS, Role.EDITOR)
