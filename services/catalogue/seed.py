"""The demo catalogue `bookshop up` starts with: the books of demo/books.jsonl, added once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from services.catalogue import models
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService
from services.catalogue.settings import CatalogueSettings
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory

SEED_ACTOR = "demo seed"


async def seed_demo_catalogue(settings: CatalogueSettings, path: Path) -> int:
    """Upsert the demo books (their BookChanged events leave through the outbox once the app
    runs); how many were new. Seeding again adds nothing and changes nothing."""
    decoder = msgspec.json.Decoder(BookCreate)
    content = await asyncio.to_thread(path.read_bytes)
    records = [decoder.decode(line) for line in content.splitlines() if line.strip()]
    db = Database(settings.resolved_database_url())
    try:
        books = BookService(uow=UnitOfWorkFactory(db, models.outbox), db=db)
        summary = await books.upsert_books(books=records, actor=SEED_ACTOR)
    finally:
        await db.dispose()
    return summary.created
