"""The import job's progress fragment: a bar that moves with the books written."""

from __future__ import annotations

from pathlib import Path

import jinja2
from lxml import html

from services.catalogue.staff_pages.import_jobs import ImportJob, JobState
from shared.messaging.message import utcnow

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "catalogue" / "templates"


def fragment(job: ImportJob) -> html.HtmlElement:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return html.fromstring(
        environment.get_template("staff/stock/_import_progress.html").render(job=job)
    )


def job_at(state: JobState, *, done: int = 0, total: int = 0, skipped: int = 0) -> ImportJob:
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
    )


def test_while_reading_the_bar_is_indeterminate() -> None:
    section = fragment(job_at(JobState.READING))
    [bar] = section.xpath("//progress")
    assert bar.get("value") is None
    assert "Reading and checking the file" in section.text_content()


def test_while_writing_the_bar_shows_the_books_written_of_the_books_to_write() -> None:
    # 5,000 records, 12 skipped at once, then 2,000 books written in chunks.
    section = fragment(job_at(JobState.WRITING, done=2012, total=5000, skipped=12))
    [bar] = section.xpath("//progress")
    assert (bar.get("value"), bar.get("max")) == ("2012", "5000")
    [label] = section.xpath("//label")
    assert " ".join(label.text_content().split()) == (
        "Read 5000 records (12 skipped); written 2000 of 4988 books…"
    )
