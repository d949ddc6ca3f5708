"""Photos fetched after their story went through the pipeline, added when a moderator asks.

Such a photo (its first download failed; the bot fetched it later) is stored but has no
renditions, so it can never be published unseen. A moderator's "add the late photo" makes its
metadata-free renditions here and records the decision, so it joins the story like any other.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from core.errors import InvalidTransition, NotFound
from core.models import Media, Submission
from core.states import IMAGE_KINDS
from core.storage import MediaStore
from moderation import decisions
from pipeline.ingestion import render_images


def late_photos(session: Session, submission_id: int) -> list[Media]:
    """The story's stored images that have no renditions and no recorded refusal."""
    rows = session.exec(
        select(Media)
        .where(Media.submission_id == submission_id, col(Media.deleted_at).is_(None))
        .order_by(col(Media.position))
    )
    return [
        media
        for media in rows
        if media.kind in IMAGE_KINDS
        and media.path
        and media.sha256
        and not media.renditions
        and media.error is None
    ]


def add_late_photos(
    session: Session,
    submission_id: int,
    store: MediaStore,
    *,
    actor: str,
    expected_version: int,
) -> list[Path]:
    """Process the story's late photos and add them; the `web` renditions made, for showing.

    Raises `Conflict` when the story changed since the moderator saw it, `InvalidTransition`
    when it is past moderation or has no late photo. The caller commits.
    """
    story = session.get(Submission, submission_id)
    if story is None:
        raise NotFound(f"no story #{submission_id}")
    if story.version != expected_version:
        raise decisions.conflict_for(session, submission_id)  # before the slow part
    images = late_photos(session, submission_id)
    if not images:
        raise InvalidTransition(f"{story.ref} has no late photo to add")
    render_images(session, images, store)
    decisions.accept_late_photos(
        session,
        submission_id,
        actor=actor,
        expected_version=expected_version,
        media_ids=[media.id for media in images if media.id is not None],
    )
    shown: list[Path] = []
    for media in images:
        web = (media.renditions or {}).get("web")
        if web and web.get("path"):
            shown.append(store.absolute(str(web["path"])))
    return shown
