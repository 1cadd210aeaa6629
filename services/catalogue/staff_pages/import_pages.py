"""Imports: upload a file, watch its progress (polled every 500 ms), read its report."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath, MultipartBody
from litestar.response import Redirect, Template
from litestar.utils.scope.state import ScopeState

from services.catalogue.controllers.dependencies import Actor
from services.catalogue.imports.errors import ImportRefused, ImportTooLarge
from services.catalogue.imports.limits import MAX_IMPORT_BYTES, MB
from services.catalogue.staff_pages.import_jobs import ImportJobs, import_format
from services.catalogue.staff_pages.web import StockArea, page, see_other
from shared.auth.csrf import CSRF_COOKIE
from shared.auth.guards import signed_in_staff
from shared.auth.roles import Role
from shared.web import http_error_handler, sentence

# The import jobs in progress (the app's `imports` dependency).
Imports = NamedDependency[ImportJobs]
# The upload form's own bytes around the file: its part boundaries, the format, the CSRF token.
FORM_BYTES = 64 * 1024


def upload_form(error: str | None = None, *, status_code: int = 200) -> Template:
    return page("import.html", {"error": error, "max_mb": MAX_IMPORT_BYTES // MB}, status_code)


def nothing_imported(refused: ImportRefused) -> Template:
    """The form again, saying why the file was refused (413 for one too large)."""
    return upload_form(
        sentence(f"Nothing was imported: {refused.message}"), status_code=refused.status_code
    )


def upload_too_large(
    request: Request[Any, Any, Any], error: RequestEntityTooLarge
) -> Response[Any]:
    """The form saying the file is too large, in place of the bare 413 a body over the route's
    limit gets: Litestar refuses it before the handler runs, in the CSRF check reading the form."""
    try:
        signed_in_staff(request, frozenset({Role.STOCK}))
    except HTTPException as refused:
        return http_error_handler(request, refused)
    # The CSRF check stopped before handing the page its token, which the form must send again.
    ScopeState.from_scope(request.scope).csrf_token = request.cookies.get(CSRF_COOKIE, "")
    return nothing_imported(ImportTooLarge(MAX_IMPORT_BYTES))


class ImportPages(StockArea):
    @get("/import")
    async def import_form(self) -> Template:
        return upload_form()

    @post(
        "/import",
        request_max_body_size=MAX_IMPORT_BYTES + FORM_BYTES,
        exception_handlers={RequestEntityTooLarge: upload_too_large},
    )
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
            return nothing_imported(refused)
        return see_other(f"/staff/stock/import/{job.id}")

    @get("/import/{job_id:str}")
    async def import_job(self, imports: Imports, job_id: FromPath[str]) -> Template:
        return page("import_job.html", {"job": await imports.get(job_id[:64])})

    @get("/import/{job_id:str}/progress")
    async def import_progress(self, imports: Imports, job_id: FromPath[str]) -> Template:
        """The progress fragment the job page polls; once finished it stops the polling."""
        return page("_import_progress.html", {"job": await imports.get(job_id[:64])})
