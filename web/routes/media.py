"""`GET /m/<token>`: a public rendition by a signed, expiring URL (platforms fetch photos by URL).

Never an original: a token can only name a rendition. Served only while a live story whose
consent allows social media uses the photo; after a withdrawal, or for `internal`, it is 404.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from core import media_urls
from core.db import session_scope
from core.errors import ConfigError, NotAllowed
from core.projections import rendition_is_public

router = APIRouter()


@router.get("/m/{token}")
def public_media(token: str, request: Request) -> FileResponse:
    """One rendition, if the token is genuine and unexpired and the story still allows it."""
    state = request.app.state
    try:
        relative = media_urls.verify(state.settings, token)
    except (NotAllowed, ConfigError):
        raise HTTPException(status_code=404) from None
    parts = PurePosixPath(relative).parts  # public/renditions/ab/<sha256>/<name>.jpg
    sha256 = parts[3] if len(parts) == 5 else ""
    with session_scope(state.engine) as session:
        allowed = bool(sha256) and rendition_is_public(session, sha256)
    path = state.store.absolute(relative)
    if not allowed or not path.is_file():
        raise HTTPException(status_code=404)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private"})
