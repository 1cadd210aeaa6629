"""The email sender against a real SMTP server: what one bad email does to the others."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging

import pytest
from conftest import Mailbox
from sqlalchemy import select

from services.checkout.mailer import EmailSender
from services.checkout.models import Email
from services.checkout.settings import CheckoutSettings
from shared.db import Database
from shared.migrations import upgrade

pytestmark = pytest.mark.integration


async def test_an_address_that_cannot_be_parsed_fails_alone(
    database_url: str, mailbox: tuple[Mailbox, int]
) -> None:
    await asyncio.to_thread(upgrade, "services.checkout:migrations", database_url)
    db = Database(database_url)
    settings = CheckoutSettings(
        database_url=database_url, smtp_host="127.0.0.1", smtp_port=mailbox[1]
    )
    # A typo the email package cannot parse, queued before a good email.
    async with db.writing() as session:
        for to_address in ("jo@[example.com", "rosa@example.org"):
            session.add(
                Email(kind="confirmation", to_address=to_address, subject="Order", body="Hello")
            )
    try:
        assert await EmailSender(db, settings).deliver_pending() == 1
        [delivered] = await mailbox[0].wait_for(1)
        assert delivered["To"] == "rosa@example.org"
        async with db.reading() as session:
            bad = await session.scalar(select(Email).where(Email.to_address.startswith("jo@")))
        # Marked failed, so staff see why on the order's page and it is retried with backoff.
        assert bad is not None and bad.sent_at is None
        assert bad.attempts == 1 and bad.last_error
    finally:
        await db.dispose()


async def test_without_an_smtp_host_the_email_is_printed_readably(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await asyncio.to_thread(upgrade, "services.checkout:migrations", database_url)
    db = Database(database_url)
    settings = CheckoutSettings(database_url=database_url, smtp_host="")
    body = "Thank you, Zoë: 1 x Imperialism and Global Political Economy, £19.99"
    async with db.writing() as session:
        session.add(
            Email(kind="confirmation", to_address="z@example.org", subject="Order", body=body)
        )
    try:
        with caplog.at_level(logging.INFO, logger="services.checkout.mailer"):
            assert await EmailSender(db, settings).deliver_pending() == 1
        [printed] = [r.getMessage() for r in caplog.records if "no SMTP host" in r.getMessage()]
        assert body in printed
        raw = printed.split("\n", 1)[1]
        message = email.message_from_bytes(raw.encode(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        assert message["To"] == "z@example.org"
        assert message.get_content().strip() == body
    finally:
        await db.dispose()
