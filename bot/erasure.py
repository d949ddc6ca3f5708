"""A contributor takes a story back (`/hapus`), or all of their data: its posts taken down where
the platform allows (the rest listed for the team), then its text, photos and recordings erased,
and the contributor told exactly what went."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import audit
from core.clock import utcnow
from core.config import Settings
from core.db import session_scope
from core.errors import InvalidTransition, StaleVersion
from core.models import Contributor, Submission
from core.states import SubmissionState
from core.storage import MediaStore
from moderation import withdraw_and_erase
from publishers import calendar
from publishers.retraction import retract_story

logger = logging.getLogger(__name__)

ACTOR = "contributor"


@dataclass
class Erased:
    """What an erasure removed, for telling the contributor."""

    stories: int = 0
    photos: int = 0  # photo files deleted from disk
    recordings: int = 0  # sound files deleted from disk (their transcripts went with them)
    posts_cancelled: int = 0  # scheduled posts that will not go out
    posts_taken_down: int = 0  # published posts deleted from their platform
    posts_left: int = 0  # published posts the team must remove by hand (listed for them)
    posts_stopping: int = 0  # being sent at that moment: taken down as soon as they are out

    def add_retraction(self, result: dict[str, Any]) -> None:
        """Count what `retract_story` did."""
        self.posts_cancelled += int(result.get("cancelled") or 0)
        self.posts_taken_down += len(result.get("deleted") or [])
        self.posts_left += len(result.get("kept") or [])
        self.posts_stopping += len(result.get("sending") or [])


def _erase(session: Session, store: MediaStore, story: Submission, erased: Erased) -> None:
    for _attempt in range(3):
        try:
            summary = withdraw_and_erase(session, store, story, actor=ACTOR)
            erased.stories += 1
            erased.photos += summary["photo_files"]
            erased.recordings += summary["recording_files"]
            erased.posts_cancelled += summary["deliveries_cancelled"]
            return
        except StaleVersion:
            # The pipeline moved the story meanwhile: read it again and retry.
            session.refresh(story)
    raise StaleVersion(f"{story.ref} keeps changing")


def _retract_posts(
    engine: Engine, settings: Settings, submission_ids: list[int], erased: Erased
) -> None:
    """Cancel pending posts and delete published ones before a story is erased."""
    with session_scope(engine) as session:
        posted = calendar.stories_with_posts(session, submission_ids)
    for submission_id in sorted(posted):
        erased.add_retraction(retract_story(engine, settings, submission_id, actor=ACTOR))


def erase_story(
    engine: Engine, settings: Settings, store: MediaStore, contributor_id: int, ref: str
) -> Erased | None:
    """Withdraw and erase one of the contributor's stories; what went, or None when nothing.

    Its posts are taken down first where the platform allows (others are listed for the team).
    """
    erased = Erased()
    with session_scope(engine) as session:
        found = session.exec(
            select(Submission.id).where(
                Submission.ref == ref, Submission.contributor_id == contributor_id
            )
        ).first()
    if found is not None:
        _retract_posts(engine, settings, [found], erased)
    with session_scope(engine) as session:
        story = session.exec(
            select(Submission).where(
                Submission.ref == ref, Submission.contributor_id == contributor_id
            )
        ).first()
        if story is None or story.state == SubmissionState.ERASED:
            return None
        was_draft = story.state == SubmissionState.DRAFT
        _erase(session, store, story, erased)
        if was_draft:
            contributor = session.get(Contributor, contributor_id)
            if contributor is not None:
                contributor.awaiting, contributor.awaiting_data = None, None
                session.add(contributor)
        return erased


def erase_everything(
    engine: Engine, settings: Settings, store: MediaStore, contributor_id: int
) -> Erased:
    """Erase every story (posts taken down first) and the contributor's identifying fields."""
    erased = Erased()
    with session_scope(engine) as session:
        ids = session.exec(
            select(Submission.id).where(Submission.contributor_id == contributor_id)
        ).all()
    _retract_posts(engine, settings, [i for i in ids if i is not None], erased)
    with session_scope(engine) as session:
        rows = session.exec(
            select(Submission).where(
                Submission.contributor_id == contributor_id,
                Submission.state != SubmissionState.ERASED.value,
            )
        ).all()
        for story in rows:
            try:
                _erase(session, store, story, erased)
            except InvalidTransition:
                logger.warning("story %s could not be erased", story.ref)
                raise
        contributor = session.get(Contributor, contributor_id)
        if contributor is not None:
            contributor.telegram_user_id = None
            contributor.telegram_chat_id = None
            contributor.public_name = None
            contributor.awaiting, contributor.awaiting_data = None, None
            contributor.erased_at = utcnow()
            session.add(contributor)
        audit.record(
            session, actor=ACTOR, action="contributor_erased", after={"stories": len(rows)}
        )
        return erased
