"""The staff roles and the one rule about them: admin may do everything."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shared.errors import InvalidInput


class Role(StrEnum):
    STOCK = "stock"
    PHONE_ORDERS = "phone_orders"
    EDITOR = "editor"
    ADMIN = "admin"


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Role names as typed or stored; at least one, each a known role."""
    roles: set[Role] = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise InvalidInput(f"'{name}' is not a staff role; the roles are: {known}.") from None
    if not roles:
        raise InvalidInput("A staff account needs at least one role.")
    return frozenset(roles)


def may(held: Iterable[Role], needed: Iterable[Role]) -> bool:
    """Whether someone holding `held` may use something open to any one of `needed`.

    `needed` empty means any staff member (anyone holding a role at all).
    """
    held_roles = frozenset(held)
    needed_roles = frozenset(needed)
    if not held_roles:
        return False
    if Role.ADMIN in held_roles or not needed_roles:
        return True
    return bool(held_roles & needed_roles)


def describe(roles: Iterable[Role]) -> str:
    """`stock or editor`, for messages."""
    names = sorted(role.value for role in roles)
    return " or ".join(names) if names else "no"
