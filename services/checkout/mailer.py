"""Delivering the emails the use cases wrote, after their transaction committed.

Rows are claimed with a lease, sent outside any transaction, then marked sent; a mail
server outage leaves them pending, retried with backoff. Delivery is at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid

import aiosmtplib
from sqlalchemy import select, update

from services.checkout.models import Email
from services.checkout.settings import CheckoutSettings
from shared.db import Database
from shared.messaging.message import utcnow

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120
BATCH = 50


class EmailSender:
    def __init__(self, db: Database, settings: CheckoutSettings) -> None:
        self._db = db
        self._settings = settings
        self._wake = asyncio.Event()

    def kick(self) -> None:
        self._wake.set()

    async def deliver_pending(self) -> int:
        """Send what is due; returns how many went out."""
        claimed = await self._claim()
        sent = 0
        for email in claimed:
            try:
                await self._send(email)
            except Exception as error:
                # Besides SMTP and network errors, an address the email package cannot parse
                # (a customer's typo such as "jo@[example.com") raises ValueError, IndexError
                # or AttributeError; that email fails alone instead of stopping the batch,
                # which would leave it first in every later batch and stop all email.
                await self._failed(email, error)
                continue
            async with self._db.writing() as session:
                await session.execute(
                    update(Email).where(Email.id == email.id).values(sent_at=utcnow())
                )
            sent += 1
        return sent

    async def _claim(self) -> list[Email]:
        now = utcnow()
        # Woken at every commit: a plain read first, so most wake-ups cost one small query.
        async with self._db.reading() as session:
            due = await session.scalar(
                select(Email.id)
                .where(Email.sent_at.is_(None), Email.next_attempt_at <= now)
                .limit(1)
            )
        if due is None:
            return []
        query = (
            select(Email)
            .where(
                Email.sent_at.is_(None),
                Email.next_attempt_at <= now,
                Email.attempts < self._settings.email_max_attempts,
            )
            .order_by(Email.id)
            .limit(BATCH)
        )
        if self._db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        async with self._db.writing() as session:
            emails = list((await session.scalars(query)).all())
            if emails:
                await session.execute(
                    update(Email)
                    .where(Email.id.in_([e.id for e in emails]))
                    .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
                )
        return emails

    async def _failed(self, email: Email, error: Exception) -> None:
        attempts = email.attempts + 1
        delay = min(2**attempts, 600)
        log.warning(
            "email %s to %s not sent (try %d): %s", email.id, email.to_address, attempts, error
        )
        async with self._db.writing() as session:
            await session.execute(
                update(Email)
                .where(Email.id == email.id)
                .values(
                    attempts=attempts,
                    last_error=str(error)[:2000],
                    next_attempt_at=utcnow() + timedelta(seconds=delay),
                )
            )

    async def _send(self, email: Email) -> None:
        message = MimeMessage()
        message["From"] = self._settings.mail_from
        message["To"] = email.to_address
        message["Subject"] = email.subject
        message["Message-ID"] = make_msgid(idstring=f"order-email-{email.id}")
        if not self._settings.smtp_host:
            # printed for a person to read (a £ as itself, not base64 or =C2=A3), and still
            # a whole MIME message that tests and tools can parse back from its UTF-8 bytes
            message.set_content(email.body, cte="8bit")
            log.info("email (no SMTP host configured):\n%s", message.as_bytes().decode())
            return
        message.set_content(email.body)
        await aiosmtplib.send(
            message,
            hostname=self._settings.smtp_host,
            port=self._settings.smtp_port,
            username=self._settings.smtp_username or None,
            password=self._settings.smtp_password or None,
            start_tls=self._settings.smtp_starttls,
            timeout=10,
        )

    async def run(self, *, poll_seconds: float = 5.0) -> None:
        """Deliver until cancelled: at every commit (kick) and every `poll_seconds`."""
        while True:
            try:
                await self.deliver_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("email sender failed; trying again shortly", exc_info=True)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
