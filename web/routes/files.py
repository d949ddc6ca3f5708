"""Photos and recordings inside the dashboard: metadata-free renditions for anyone logged in,
originals (with their metadata) and voice recordings only for roles that see private data."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from core.projections import private_media, rendition_shown
from web.pages import Private, Who, database

router = APIRouter()

_SHA = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z]+\.jpg$")


@router.get("/files/public/renditions/{prefix}/{sha256}/{name}")
def rendition(prefix: str, sha256: str, name: str, request: Request, who: Who) -> FileResponse:
    """One rendition of a photo of a story that is not withdrawn."""
    del who  # any logged-in person
    if not _SHA.match(sha256) or prefix != sha256[:2] or not _NAME.match(name):
        raise HTTPException(status_code=404)
    with database(request) as session:
        shown = rendition_shown(session, sha256)
    path = request.app.state.store.rendition_dir(sha256) / name
    if not shown or not path.is_file():
        raise HTTPException(status_code=404)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.get("/files/original/{media_id}")
def original(media_id: int, request: Request, who: Private) -> FileResponse:
    """A photo's original or a voice recording: moderators and admins only, never viewers."""
    del who
    with database(request) as session:
        media = private_media(session, media_id)
    if media is None or media.original is None:
        raise HTTPException(status_code=404)
    path = request.app.state.store.absolute(media.original)
    if not path.is_file():
        raise HTTPException(status_code=404)
    kind = media.mime_type or "application/octet-stream"
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "private"})
