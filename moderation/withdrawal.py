"""Withdrawal and erasure: the contributor takes a story back; a tombstone remains."""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.errors import InvalidTransition
from core.lifecycle import transition
from core.models import AuditEvent, Media, Submission
from core.states import AUDIO_KINDS, SubmissionState
from core.storage import MediaStore
from publishers import deliveries

logger = logging.getLogger(__name__)


def withdraw_and_erase(
    session: Session, store: MediaStore, story: Submission, *, actor: str
) -> dict[str, int]:
    """Withdraw `story`, cancel its pending deliveries, delete its media and text.

    Returns what was removed: `{"media_files": n, "photo_files": n, "recording_files": n,
    "deliveries_cancelled": n}` (files deleted from disk, all and by kind). Caller commits.
    """
    if story.state == SubmissionState.ERASED:
        raise InvalidTransition(f"{story.ref} is already erased")
    if story.state != SubmissionState.WITHDRAWN:
        transition(session, story, SubmissionState.WITHDRAWN, actor=actor, action="withdraw")
        story.withdrawn_at = utcnow()
    assert story.id is not None
    cancelled = deliveries.cancel_pending(session, submission_id=story.id, also_failed=True)
    removed = erase_media(session, store, story)
    story.text = story.public_text = story.place_text = story.text_digest = None
    story.chat_lat = story.chat_lon = story.exact_lat = story.exact_lon = None
    # The place as resolved is the contributor's place too (the message says it went).
    story.place_id = story.place_name = story.place_kind = None
    story.place_source = story.place_evidence = None
    story.themes, story.flags = [], []
    story.questions = []  # the contributor's answers are their words too
    # A moderator's note and the pipeline's errors may quote the text; a link to a duplicate
    # ties the story to another one.
    story.reject_note, story.pipeline_errors, story.duplicate_of_id = None, {}, None
    _forget_words(session, story)
    story.erased_at = utcnow()
    session.add(story)
    transition(session, story, SubmissionState.ERASED, actor=actor, action="erase")
    summary = {
        "media_files": removed["photo_files"] + removed["recording_files"],
        **removed,
        "deliveries_cancelled": cancelled,
    }
    audit.record(session, actor=actor, action="erased", submission_id=story.id, after=summary)
    logger.info("story %s withdrawn and erased", story.ref)
    return summary


#: Audit actions whose rows quote the contributor's words (answers, the edited public text, an
#: accepted transcript).
_WORDS_IN_AUDIT = ("answer", "edit_text", "accept_transcript")
ERASED_MARK = "[erased]"


def _forget_words(session: Session, story: Submission) -> None:
    """Keep who did what in the audit, but not the words the contributor takes back."""
    rows = session.exec(
        select(AuditEvent).where(
            AuditEvent.submission_id == story.id, col(AuditEvent.action).in_(_WORDS_IN_AUDIT)
        )
    )
    for event in rows:
        if event.action == "answer":
            event.reason = ERASED_MARK
        event.before = {key: ERASED_MARK for key in event.before or {}} or None
        event.after = {key: ERASED_MARK for key in event.after or {}} or None
        session.add(event)


def erase_media(session: Session, store: MediaStore, story: Submission) -> dict[str, int]:
    """Delete the story's originals, renditions and transcripts and clear their metadata; the
    files removed from disk, `{"photo_files": n, "recording_files": n}`.

    Files are named by content, so another live story that sent the very same photo shares
    them: those files stay for that story (its own erasure removes them).
    """
    removed = {"photo_files": 0, "recording_files": 0}
    own = list(session.exec(select(Media).where(Media.submission_id == story.id)))
    for media in own:
        shared = media.sha256 is not None and (
            session.exec(
                select(Media.id).where(
                    Media.sha256 == media.sha256,
                    Media.submission_id != story.id,
                    col(Media.deleted_at).is_(None),
                )
            ).first()
            is not None
        )
        if not shared:
            if media.path and store.delete_original(media.path):
                kind = "recording_files" if media.kind in AUDIO_KINDS else "photo_files"
                removed[kind] += 1
            if media.sha256:
                store.delete_renditions(media.sha256)
        media.path = None
        media.exif = None
        media.gps_lat = media.gps_lon = None
        media.renditions = {}
        media.telegram_file_id = media.file_unique_id = None
        # What the file and the photo said: its name, when it was taken, its fingerprints
        # (content and picture hashes find the same photo elsewhere), size and dimensions.
        media.file_name = media.taken_at = media.sha256 = None
        media.phash = None
        media.mime_type = media.media_group_id = None
        media.size_bytes = media.width = media.height = media.duration_seconds = None
        media.transcript = media.transcript_status = None  # what they said, heard by the model
        media.deleted_at = media.deleted_at or utcnow()
        session.add(media)
    return removed
