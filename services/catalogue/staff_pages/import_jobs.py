"""Imports started from the staff page: run in the background of the web process, watched
through their progress in Redis (any web process can answer the progress page).

An import writes its books a chunk at a time (imports.runner): a job that fails or is stopped
part way says how many books it wrote; importing the file again writes the rest and leaves the
written ones as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import datetime
from enum import StrEnum

import msgspec
from redis.asyncio import Redis

from services.catalogue.imports.errors import ImportInterrupted, ImportRefused
from services.catalogue.imports.formats import ImportFormat, format_for_name
from services.catalogue.imports.report import ImportReport
from services.catalogue.imports.runner import BookUpserter, import_file, refuse_if_too_big
from shared.errors import NotFound
from shared.messaging.message import utcnow
from shared.web import sentence

log = logging.getLogger(__name__)

KEY_PREFIX = "bookshop:catalogue:import"
JOB_SECONDS = 7 * 24 * 3600
# The report keeps this many skipped records; a file with more is mostly wrong anyway.
MAX_REPORTED_ERRORS = 1000


class JobState(StrEnum):
    READING = "reading"
    WRITING = "writing"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    where: str
    reason: str


class ImportJob(msgspec.Struct, kw_only=True):
    id: str
    filename: str
    format: str
    actor: str
    started_at: datetime
    state: JobState = JobState.READING
    records_read: int = 0
    """While reading: the records read so far."""
    records_expected: int = 0
    """While reading: the records the file holds, judged by the share of it read (0: not yet)."""
    done: int = 0
    total: int = 0
    message: str = ""
    finished_at: datetime | None = None
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[Skipped] = msgspec.field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.REFUSED, JobState.FAILED)

    @property
    def books(self) -> int:
        """The books to write: the records read, less those skipped."""
        return self.total - self.skipped

    @property
    def written(self) -> int:
        return self.done - self.skipped

    def record(self, report: ImportReport) -> None:
        self.state = JobState.DONE
        self.done = self.total = self.records = report.records
        self.created = report.created
        self.updated = report.updated
        self.unchanged = report.unchanged
        self.skipped = report.skipped
        self.errors = [
            Skipped(where=str(error.location), reason=error.reason)
            for error in report.errors[:MAX_REPORTED_ERRORS]
        ]


def import_format(filename: str, chosen: str) -> ImportFormat:
    """The format the clerk chose, else the one the file's name says."""
    if chosen:
        try:
            return ImportFormat(chosen)
        except ValueError:
            known = ", ".join(f.value for f in ImportFormat)
            raise ImportRefused(f"'{chosen}' is not an import format: use {known}") from None
    return format_for_name(filename)


class ImportJobs:
    def __init__(self, *, redis: Redis, books: BookUpserter) -> None:
        self._redis = redis
        self._books = books
        self._running: dict[str, asyncio.Task[None]] = {}

    async def start(
        self, *, content: bytes, filename: str, format: ImportFormat, actor: str
    ) -> ImportJob:
        """Check what can be checked at once (empty, too big), then import in the background."""
        if not content:
            raise ImportRefused("the file is empty: choose the supplier's file again")
        refuse_if_too_big(len(content))
        job = ImportJob(
            id=secrets.token_urlsafe(12),
            filename=filename,
            format=format.value,
            actor=actor,
            started_at=utcnow(),
        )
        await self._save(job)
        task = asyncio.create_task(self._run(job, content, format), name=f"import-{job.id}")
        self._running[job.id] = task
        task.add_done_callback(lambda _: self._running.pop(job.id, None))
        return job

    async def get(self, job_id: str) -> ImportJob:
        raw = await self._redis.get(self._key(job_id))
        if raw is None:
            raise NotFound(
                "There is no such import (an import's report is kept for a week): start it again."
            )
        return msgspec.json.decode(raw, type=ImportJob)

    async def wait(self, job_id: str) -> None:
        """Until the job, if this process runs it, has finished (for tests and shutdown)."""
        task = self._running.get(job_id)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    async def close(self) -> None:
        """Stop the imports still running (each keeps the chunks it has written)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, job: ImportJob, content: bytes, format: ImportFormat) -> None:
        saving: list[asyncio.Task[None]] = []

        def save_snapshot() -> None:
            # The runner calls back synchronously: save a snapshot in the background.
            snapshot = msgspec.json.encode(job)
            saving.append(asyncio.create_task(self._save_raw(job.id, snapshot)))

        def on_reading(read: int, expected: int) -> None:
            if job.finished:
                return  # stopped: the thread reading the file runs on to its end regardless
            job.records_read, job.records_expected = read, expected
            save_snapshot()

        def on_progress(done: int, total: int) -> None:
            if job.state == JobState.READING:
                # The runner's first call, once the file is read: the skipped records.
                job.state = JobState.WRITING
                job.skipped = done
            job.done, job.total = done, total
            save_snapshot()

        try:
            report = await import_file(
                content,
                format=format,
                service=self._books,
                actor=job.actor,
                on_reading=on_reading,
                on_progress=on_progress,
            )
        except ImportRefused as refused:
            job.state = JobState.REFUSED
            job.message = sentence(
                f"The file was refused, and nothing was written: {refused.message}"
            )
        except ImportInterrupted as interrupted:
            log.exception("import %s of %s stopped part way", job.id, job.filename)
            job.state = JobState.FAILED
            job.message = (
                f"The import failed: {interrupted.message}. If it fails again, tell the shop's "
                f"maintainer (import {job.id})."
            )
        except asyncio.CancelledError:
            job.state = JobState.FAILED
            job.message = (
                "The shop was stopped during the import, so nothing was written: import the "
                "file again."
                if not job.written
                else f"The shop was stopped during the import, after {job.written} of "
                f"{job.books} books were written: import the file again to write the rest "
                "(the books already written are left as they are)."
            )
            await self._finish(job, saving)
            raise
        except Exception:
            log.exception("import %s of %s failed", job.id, job.filename)
            job.state = JobState.FAILED
            job.message = (
                "The import failed unexpectedly and nothing was written; try again, and if it "
                f"fails again tell the shop's maintainer (import {job.id})."
            )
        else:
            job.record(report)
        await self._finish(job, saving)

    async def _finish(self, job: ImportJob, saving: list[asyncio.Task[None]]) -> None:
        # Earlier snapshots must land before the final state, never after it.
        await asyncio.gather(*saving, return_exceptions=True)
        job.finished_at = utcnow()
        await self._save(job)

    async def _save(self, job: ImportJob) -> None:
        await self._save_raw(job.id, msgspec.json.encode(job))

    async def _save_raw(self, job_id: str, snapshot: bytes) -> None:
        await self._redis.set(self._key(job_id), snapshot, ex=JOB_SECONDS)

    @staticmethod
    def _key(job_id: str) -> str:
        return f"{KEY_PREFIX}:{job_id}"
