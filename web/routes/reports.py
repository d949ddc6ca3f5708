"""Briefs for policy makers and open exports, downloaded from the dashboard (campaign team and
admins): the same `reports` functions as `pesisir brief` and `pesisir export`."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from core import audit, taxonomy
from core.clock import parse_day
from core.errors import PesisirError
from core.i18n import t
from reports import (
    BriefRequest,
    ExportFormat,
    ExportRequest,
    render_brief,
    select_stories,
    write_export,
)
from reports.selection import Selection
from web.pages import Reporting, database, flash, language, render, settings_of

router = APIRouter()

CHUNK = 1 << 16


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, who: Reporting) -> HTMLResponse:
    """The two forms: a brief of a period, an export of stories."""
    lang = language(request)
    context = {
        "themes": [(slug, taxonomy.label(slug, lang)) for slug in taxonomy.slugs()],
        "formats": [item.value for item in ExportFormat],
    }
    return render(request, "reports.html", context, who=who)


class Filters(BaseModel):
    """The fields of the two forms (a query string: a download is a plain link)."""

    model_config = ConfigDict(populate_by_name=True)

    start: str | None = Field(default=None, alias="from")
    end: str | None = Field(default=None, alias="to")
    theme: str | None = None
    place: str | None = None
    state: str | None = None
    lang: str | None = None
    format: str = "csv"
    hxl: bool = False

    def selection(self, request: Request) -> Selection:
        """The checked selection (InvalidInput, kindly, for a bad date, theme or place)."""
        return select_stories(
            start=parse_day(self.start),
            end=parse_day(self.end),
            states=[self.state] if self.state else None,
            theme=self.theme or None,
            place=(self.place or "").strip() or None,
            timezone=settings_of(request).timezone,
        )

    def audited(self) -> dict[str, object]:
        """What was asked, for the audit trail."""
        return {key: value for key, value in self.model_dump().items() if value}


Asked = Annotated[Filters, Query()]


def _refused(request: Request, error: PesisirError) -> RedirectResponse:
    flash(request, t(language(request), "moderation.answer.invalid", error=error), "error")
    return RedirectResponse("/reports", status_code=303)


def _audit(request: Request, actor: str, what: str, after: dict[str, object]) -> None:
    with database(request) as session:
        audit.record(session, actor=actor, action=what, after=after)


@router.get("/reports/brief", response_model=None)
def brief(request: Request, who: Reporting, asked: Asked) -> Response:
    """The brief of a period as a PDF download."""
    settings = settings_of(request)
    try:
        selection = asked.selection(request)
        wanted = BriefRequest(
            selection, lang=asked.lang or language(request), contact=settings.brief_contact
        )
        pdf = render_brief(request.app.state.engine, wanted, data_dir=settings.data_dir)
    except PesisirError as error:
        return _refused(request, error)
    _audit(request, who.actor, "brief", asked.audited())
    name = f"brief-{selection.start}-{selection.end}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/reports/export", response_model=None)
def export(request: Request, who: Reporting, asked: Asked) -> Response:
    """Public fields of the selected stories as a download; written to a temporary file first
    (memory stays small for any number of stories), then streamed."""
    try:
        wanted = ExportRequest(ExportFormat(asked.format), asked.selection(request), asked.hxl)
    except ValueError:
        return _refused(request, PesisirError(f"unknown format {asked.format!r}"))
    except PesisirError as error:
        return _refused(request, error)
    # Closed by the response once streamed (or here, when the export fails).
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        count = write_export(request.app.state.engine, wanted, spool)
    except PesisirError as error:
        spool.close()
        return _refused(request, error)
    _audit(request, who.actor, "export", {**asked.audited(), "stories": count})
    spool.seek(0)
    return StreamingResponse(
        _chunks(spool),
        media_type=wanted.media_type,
        headers={"Content-Disposition": f'attachment; filename="{wanted.filename()}"'},
    )


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()
