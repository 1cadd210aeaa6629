"""The app's dependencies (`create_app`) as checkout's handlers take them: by name,
`orders: Orders`. Litestar 3 injects only into a parameter marked for it, so each is marked once
here rather than in every handler."""

from __future__ import annotations

from litestar.di import NamedDependency

from services.checkout.desk import StaffDesk
from services.checkout.service import OrderService
from services.checkout.settings import CheckoutSettings
from services.checkout.stripe_events import StripeEventService

Orders = NamedDependency[OrderService]
Desk = NamedDependency[StaffDesk]
StripeEvents = NamedDependency[StripeEventService]
Settings = NamedDependency[CheckoutSettings]
