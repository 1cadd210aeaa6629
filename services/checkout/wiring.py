"""Building checkout's use cases from its runtime: shared by the web app and the worker."""

from __future__ import annotations

from dataclasses import dataclass

from services.checkout.desk import StaffDesk
from services.checkout.mailer import EmailSender
from services.checkout.models import inbox, outbox
from services.checkout.orders import EMAILS
from services.checkout.payments import PaymentGateway, StripeGateway
from services.checkout.service import OrderService, Requester
from services.checkout.settings import CheckoutSettings
from services.checkout.stripe_events import StripeEventService
from shared.runtime import ServiceRuntime, build_runtime


@dataclass
class Checkout:
    runtime: ServiceRuntime
    orders: OrderService
    desk: StaffDesk
    stripe_events: StripeEventService
    emails: EmailSender
    payments: PaymentGateway

    async def close(self) -> None:
        await self.payments.close()
        await self.runtime.close()


def build_checkout(
    settings: CheckoutSettings,
    *,
    payments: PaymentGateway | None = None,
    requester: Requester | None = None,
) -> Checkout:
    """`payments` and `requester` replace Stripe and the catalogue's replies (tests)."""
    runtime = build_runtime(settings, outbox=outbox, inbox=inbox)
    gateway = payments or StripeGateway(settings)
    sender = EmailSender(runtime.db, settings)
    runtime.db.on_commit(EMAILS, sender.kick)
    common = {
        "uow": runtime.uow,
        "db": runtime.db,
        "requester": requester or runtime.publisher,
        "payments": gateway,
        "settings": settings,
    }
    return Checkout(
        runtime=runtime,
        orders=OrderService(**common),  # type: ignore[arg-type]
        desk=StaffDesk(db=runtime.db, settings=settings),
        stripe_events=StripeEventService(**common),  # type: ignore[arg-type]
        emails=sender,
        payments=gateway,
    )
