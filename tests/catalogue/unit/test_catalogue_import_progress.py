"""The import job's progress: the records read of about as many as the file holds, then the
books written; the fragment's bar, and the snapshots a job saves as it goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import jinja2
import msgspec
from import_files import RecordingBookService, books_file
from lxml import html
from redis.asyncio import Redis

from services.catalogue.imports.formats import ImportFormat
from services.catalogue.staff_pages.import_jobs import ImportJob, ImportJobs, JobState
from shared.messaging.message import utcnow

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "catalogue" / "templates"


def fragment(job: ImportJob) -> html.HtmlElement:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return html.fromstring(
        environment.get_template("staff/stock/_import_progress.html").render(job=job)
    )


def job_at(
    state: JobState, *, done: int = 0, total: int = 0, skipped: int = 0, **more: Any
) -> ImportJob:
    return ImportJob(
        id="abc",
        filename="supplier.csv",
        format="csv",
        actor="sam",
        started_at=utcnow(),
        state=state,
        done=done,
        total=total,
        skipped=skipped,
        **more,
    )


def label(section: html.HtmlElement) -> str:
    [text] = section.xpath("//label")
    return " ".join(text.text_content().split())


def test_until_the_first_records_are_read_the_bar_is_indeterminate() -> None:
    section = fragment(job_at(JobState.READING))
    [bar] = section.xpath("//progress")
    assert bar.get("value") is None
    assert label(section) == "Reading and checking the file…"


def test_while_reading_the_bar_shows_the_records_read_of_about_as_many_as_the_file_holds() -> None:
    section = fragment(job_at(JobState.READING, records_read=40_000, records_expected=100_312))
    [bar] = section.xpath("//progress")
    assert (bar.get("value"), bar.get("max")) == ("40000", "100312")
    assert label(section) == "Reading and checking the file: 40,000 of about 100,312 records…"


def test_reading_a_file_whose_size_foretells_nothing_counts_the_records_read() -> None:
    section = fragment(job_at(JobState.READING, records_read=3000))
    [bar] = section.xpath("//progress")
    assert bar.get("value") is None
    assert label(section) == "Reading and checking the file: 3,000 records so far…"


def test_while_writing_the_bar_shows_the_books_written_of_the_books_to_write() -> None:
    # 5,000 records, 12 skipped at once, then 2,000 books written in chunks.
    section = fragment(job_at(JobState.WRITING, done=2012, total=5000, skipped=12))
    [bar] = section.xpath("//progress")
    assert (bar.get("value"), bar.get("max")) == ("2012", "5000")
    [label] = section.xpath("//label")
    assert " ".join(label.text_content().split()) == (
        "Read 5000 records (12 skipped); written 2000 of 4988 books…"
    )


class RememberingRedis:
    """Stands in for Redis: keeps every value set, in order."""

    def __init__(self) -> None:
        self.values: list[bytes] = []

    async def set(self, key: str, value: bytes, ex: int) -> None:
        self.values.append(value)


async def test_a_job_saves_its_reading_progress_before_it_writes() -> None:
    redis = RememberingRedis()
    jobs = ImportJobs(redis=cast(Redis, redis), books=RecordingBookService())
    content = books_file(ImportFormat.JSONL, 2500)
    job = await jobs.start(
        content=content, filename="f.jsonl", format=ImportFormat.JSONL, actor="sam"
    )
    await jobs.wait(job.id)
    saved = [msgspec.json.decode(value, type=ImportJob) for value in redis.values]
    reading = [(s.records_read, s.records_expected) for s in saved if s.state == JobState.READING]
    assert reading[0] == (0, 0)  # as started
    assert [read for read, _ in reading[1:]] == [1000, 2000]
    assert all(2300 < expected < 2700 for _, expected in reading[1:]), reading
    # Then read, and written: the fake reports one book written, then all of them.
    assert [s.state for s in saved][len(reading) :] == [JobState.WRITING] * 3 + [JobState.DONE]
    assert saved[-1].records == 2500
