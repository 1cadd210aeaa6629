"""Imports: upload a file, watch its progress (polled every 500 ms), read its report."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody
from litestar.response import Redirect, Template

from services.catalogue.controllers.dependencies import Actor
from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.runner import MAX_IMPORT_BYTES
from services.catalogue.staff_pages.import_jobs import ImportJobs, import_format
from services.catalogue.staff_pages.web import StockArea, page, see_other
from shared.web import sentence

# The import jobs in progress (the app's `imports` dependency).
Imports = NamedDependency[ImportJobs]


class ImportPages(StockArea):
    @get("/import")
    async def import_form(self) -> Template:
        return page("import.html", {"error": None, "max_mb": MAX_IMPORT_BYTES // (1024 * 1024)})

    @post("/import", request_max_body_size=MAX_IMPORT_BYTES + 64 * 1024)
    async def start_import(
        self,
        imports: Imports,
        actor: Actor,
        data: MultipartBody[dict[str, Any]],
    ) -> Template | Redirect:
        upload = data.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ImportRefused("choose a file to import (CSV, ONIX or JSON lines)")
            chosen = import_format(upload.filename, str(data.get("format") or ""))
            job = await imports.start(
                content=await upload.read(), filename=upload.filename, format=chosen, actor=actor
            )
        except ImportRefused as refused:
            return page(
                "import.html",
                {
                    "error": sentence(f"Nothing was imported: {refused.message}"),
                    "max_mb": MAX_IMPORT_BYTES // (1024 * 1024),
                },
                status_code=400,
            )
        return see_other(f"/staff/stock/import/{job.id}")

    @get("/import/{job_id:str}")
    async def import_job(self, imports: Imports, job_id: FromPath[str]) -> Template:
        return page("import_job.html", {"job": await imports.get(job_id[:64])})

    @get("/import/{job_id:str}/progress")
    async def import_progress(self, imports: Imports, job_id: FromPath[str]) -> Template:
        """The progress fragment the job page polls; once finished it stops the polling."""
        return page("_import_progress.html", {"job": await imports.get(job_id[:64])})
