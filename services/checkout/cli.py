"""`bookshop checkout ...`: the clock's work by hand, and a look at one order.

Checkout's wiring (its database, broker, Stripe and mail) is imported only when a command
runs: importing it here made `--help` and a mistyped option take seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from shared.money import format_pence

if TYPE_CHECKING:
    from services.checkout.wiring import Checkout

T = TypeVar("T")


def _run(work: Callable[[Checkout], Awaitable[T]]) -> T:
    from services.checkout.settings import CheckoutSettings
    from services.checkout.wiring import build_checkout

    async def main() -> T:
        checkout = build_checkout(CheckoutSettings())
        try:
            result = await work(checkout)
            await checkout.runtime.relay.drain()
            return result
        finally:
            await checkout.close()

    return asyncio.run(main())


@click.group("checkout")
def checkout() -> None:
    """Checkout: orders, payments and emails."""


@checkout.command("expire-lapsed")
def expire_lapsed() -> None:
    """Close orders whose hold on their copies has ended (beat does this every minute)."""
    closed = _run(lambda c: c.orders.expire_lapsed())
    click.echo(f"{closed} order(s) expired")


@checkout.command("send-emails")
def send_emails() -> None:
    """Deliver the emails waiting to be sent (the web app and beat do this on their own)."""
    sent = _run(lambda c: c.emails.deliver_pending())
    click.echo(f"{sent} email(s) sent")


@checkout.command("show")
@click.argument("reference")
def show(reference: str) -> None:
    """Print one order: status, lines, totals and history."""
    order = _run(lambda c: c.orders.get(reference))
    click.echo(
        f"{order.reference}  {order.channel}  {order.status}  {format_pence(order.total_pence)}"
    )
    for line in order.lines:
        click.echo(f"  {line.quantity} x {line.title} @ {format_pence(line.unit_price_pence)}")
    for change in order.history:
        click.echo(f"  {change.at:%Y-%m-%d %H:%M:%S}  {change.status}  {change.note or ''}")
