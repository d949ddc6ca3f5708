"""`ingest()`: run every pipeline step on a submitted story, then route it to review.

Steps, each committed on its own so one failing step never undoes another:

1. media: metadata and metadata-free renditions of every photo (spread over the cores);
2. transcribe: what the speech model hears in every voice note (`pipeline.transcription`);
3. tags: themes, language, PII flags, spam score, and the place (chat location, photo GPS,
   typed place name, story text, the transcript — in that order), from the typed text and the
   transcript alike;
4. duplicates: an earlier story with the same or nearly the same photo, or the same text.

A step that fails records its error in `Submission.pipeline_errors`; the story still moves on,
to `quarantined` when it looks like spam and to `pending_review` otherwise, never stuck in
`received`. Running it twice is harmless: a story that already left `received` is not touched.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.config import Settings
from core.db import session_scope
from core.errors import NotFound, StaleVersion
from core.lifecycle import transition
from core.models import Media, Submission
from core.projections import UNREVIEWED_TRANSCRIPT_FLAG, VOICE_NEEDS_TEXT_FLAG, story_transcript
from core.states import AUDIO_KINDS, IMAGE_KINDS, SubmissionState
from core.storage import MediaStore
from moderation.withdrawal import erase_media
from pipeline.duplicates import find_duplicate_match, text_digest
from pipeline.images import PhotoResult, process_photo
from pipeline.places import resolve_place
from pipeline.tagging import stored_version, tag_text
from pipeline.transcription import transcribe_step

logger = logging.getLogger(__name__)

PIPELINE_VERSION = "3"
#: Media rows that hold a picture (a compressed photo, or an image sent as a file).


def ingest(engine: Engine, settings: Settings, submission_id: int) -> str:
    """Process one story (safe to run twice); returns the state it ends in.

    Blocking: call it with `asyncio.to_thread` from async code.
    """
    store = MediaStore(settings.data_dir)
    with session_scope(engine) as session:
        story = session.get(Submission, submission_id)
        if story is None:
            raise NotFound(f"no submission {submission_id}")
        if story.state != SubmissionState.RECEIVED:
            return story.state  # already processed, or withdrawn meanwhile
        ref = story.ref
    errors: dict[str, str] = {}
    spam = False
    steps: list[tuple[str, Callable[[Session, Submission], Any]]] = [
        ("media", lambda session, story: _media_step(session, story, store)),
        ("transcribe", lambda session, story: transcribe_step(session, story, settings)),
        ("tags", _tags_step),
        ("duplicates", _duplicates_step),
    ]
    for name, step in steps:
        try:
            with session_scope(engine) as session:
                story = session.get(Submission, submission_id)
                if story is None or story.state != SubmissionState.RECEIVED:
                    raise _LeftReceived
                outcome = step(session, story)
                session.flush()
                if not _still_received(session, submission_id):
                    # Withdrawn while this step ran: keep nothing of it, not even files.
                    raise _LeftReceived
        except _LeftReceived:
            return _left(engine, store, submission_id)
        except Exception as exc:  # noqa: BLE001 - a failed step must not stop the story
            # First line only: a database's DETAIL line may quote the story's text.
            summary = (str(exc).splitlines() or [""])[0]
            errors[name] = f"{type(exc).__name__}: {summary}"[:500]
            logger.error("pipeline step %s failed for %s: %s", name, ref, type(exc).__name__)
            continue
        if name == "tags":
            spam = bool(outcome)
    return _route(engine, store, submission_id, errors=errors, spam=spam)


class _LeftReceived(Exception):
    """The story left `received` (withdrawn, or moved on by another run): undo this step."""


def ingest_waiting(
    engine: Engine, settings: Settings, *, older_than_seconds: float = 60
) -> list[tuple[str, str]]:
    """Ingest every story left in `received` (a crash or restart mid-ingest): (ref, state)s.

    A story that cannot be ingested is logged and left for the next round; the others go on.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with session_scope(engine) as session:
        waiting = session.exec(
            select(Submission.id, Submission.ref).where(
                Submission.state == SubmissionState.RECEIVED.value,
                col(Submission.updated_at) <= cutoff,
            )
        ).all()
    done: list[tuple[str, str]] = []
    for submission_id, ref in waiting:
        if submission_id is None:
            continue
        try:
            done.append((ref, ingest(engine, settings, submission_id)))
        except Exception as exc:  # noqa: BLE001 - one story must not hold up the others
            # Left in `received`: the next round tries it again. Type only (see ingest()).
            logger.error("ingesting %s failed: %s", ref, type(exc).__name__)
    return done


def _media_step(session: Session, story: Submission, store: MediaStore) -> int:
    """Metadata and renditions for every image of the story; the number processed."""
    images = [
        media
        for media in session.exec(
            select(Media)
            .where(Media.submission_id == story.id, col(Media.deleted_at).is_(None))
            .order_by(col(Media.position))
        )
        if media.kind in IMAGE_KINDS and media.path and media.sha256
    ]
    render_images(session, images, store)
    return len(images)


def render_images(session: Session, images: list[Media], store: MediaStore) -> None:
    """Read the metadata and make the renditions of stored images, updating their rows."""
    if not images:
        return

    def work(media: Media) -> PhotoResult:
        assert media.path is not None and media.sha256 is not None
        # One thread per photo here, so a story's photos spread over the cores.
        return process_photo(
            store.absolute(media.path), store.rendition_dir(media.sha256), threads=1
        )

    workers = max(1, min(len(images), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="renditions") as pool:
        results = list(pool.map(work, images))
    for media, result in zip(images, results, strict=True):
        _apply_photo_result(media, result, store)
        session.add(media)


def _apply_photo_result(media: Media, result: PhotoResult, store: MediaStore) -> None:
    metadata = result.metadata
    if metadata is not None:
        media.width, media.height = metadata.width, metadata.height
        media.taken_at = metadata.taken_at
        media.gps_lat, media.gps_lon = metadata.gps_lat, metadata.gps_lon
        media.exif = dataclasses.asdict(metadata)  # private: moderators only
    media.phash = result.phash
    media.error = result.error
    media.renditions = {
        name: {**info, "path": store.relative(Path(info["path"]))}
        for name, info in result.renditions.items()
    }


def _tags_step(session: Session, story: Submission) -> bool:
    """Themes, language, flags, spam and place; True when the story looks like spam."""
    media = session.exec(
        select(Media).where(Media.submission_id == story.id, col(Media.deleted_at).is_(None))
    ).all()
    photo_points = [
        (m.gps_lat, m.gps_lon) for m in media if m.gps_lat is not None and m.gps_lon is not None
    ]
    chat_point = (
        (story.chat_lat, story.chat_lon)
        if story.chat_lat is not None and story.chat_lon is not None
        else None
    )
    assert story.id is not None
    transcript = story_transcript(session, story.id)
    result = tag_text(
        story.text or "", transcript=transcript, chat_point=chat_point, photo_points=photo_points
    )
    fields = result.submission_fields()
    if fields["place_source"] not in ("chat", "photo") and story.place_text:
        # A place the contributor typed outranks names that merely appear in the story (also
        # when a shared point or photo GPS lay outside NTT and was flagged, not mapped).
        typed = resolve_place(chat_point=None, photo_points=(), text=story.place_text)
        if typed is not None and typed.id is not None:
            fields.update(
                place_id=typed.id,
                place_name=typed.name,
                place_kind=typed.kind,
                place_source="text",
                place_evidence=f"typed: {typed.evidence}",
            )
    for photo in media:
        for flag in (photo.exif or {}).get("flags") or []:
            fields["flags"].append({"kind": f"photo_{flag}", "span": None, "detail": None})
        if photo.error:
            fields["flags"].append({"kind": "media_refused", "span": None, "detail": photo.error})
    told_aloud = any(m.kind in AUDIO_KINDS for m in media) and not (story.text or "").strip()
    if told_aloud and not story.public_text:
        # Its transcript is never published as it is: a moderator accepts or writes the text.
        kind = UNREVIEWED_TRANSCRIPT_FLAG if transcript else VOICE_NEEDS_TEXT_FLAG
        fields["flags"].append({"kind": kind, "span": None, "detail": None})
    for key, value in fields.items():
        setattr(story, key, value)
    session.add(story)
    return result.spam


def _duplicates_step(session: Session, story: Submission) -> int | None:
    """Link the story to an earlier one with the same photo or text, for moderators to see."""
    assert story.id is not None
    # Its own text's digest first: later stories find this one by it.
    story.text_digest = text_digest(story.text)
    session.add(story)
    match = find_duplicate_match(session, story.id)
    if match is None:
        story.duplicate_of_id = None
        return None
    earlier = session.get(Submission, match.submission_id)
    story.duplicate_of_id = match.submission_id
    story.flags = [
        *[f for f in story.flags if f.get("kind") != "duplicate"],
        {
            "kind": "duplicate",
            "span": None,
            "detail": f"{earlier.ref if earlier else '?'} ({match.kind})",
        },
    ]
    session.add(story)
    return match.submission_id


def _still_received(session: Session, submission_id: int) -> bool:
    """Whether the story is still ours to process, holding its row until we commit.

    PostgreSQL locks the row (`FOR UPDATE`); SQLite already holds the write lock after a flush.
    """
    state = session.exec(
        select(Submission.state).where(Submission.id == submission_id).with_for_update()
    ).first()
    return state == SubmissionState.RECEIVED.value


def _left(engine: Engine, store: MediaStore, submission_id: int) -> str:
    """The state of a story that left `received` meanwhile; erase what a step wrote after /hapus.

    A withdrawal can land while the media step works: its renditions and metadata, committed
    after the erasure, must not outlive the story.
    """
    with session_scope(engine) as session:
        story = session.get(Submission, submission_id)
        if story is None:
            return SubmissionState.ERASED.value
        if story.state in (SubmissionState.WITHDRAWN, SubmissionState.ERASED):
            erase_media(session, store, story)
        return story.state


def _route(
    engine: Engine, store: MediaStore, submission_id: int, *, errors: dict[str, str], spam: bool
) -> str:
    """Record errors and move the story on: quarantine for spam, review for everything else."""
    try:
        with session_scope(engine) as session:
            story = session.get(Submission, submission_id)
            if story is None or story.state != SubmissionState.RECEIVED:
                raise _LeftReceived
            return _record_and_route(session, story, errors=errors, spam=spam)
    except (_LeftReceived, StaleVersion):
        # Withdrawn, or another run (the sweeper, a retry) moved the story first.
        return _left(engine, store, submission_id)


def _record_and_route(
    session: Session, story: Submission, *, errors: dict[str, str], spam: bool
) -> str:
    """Keep the pipeline's errors and version on the story and send it to review (or quarantine)."""
    story.pipeline_errors = errors
    # e.g. "3 (rules 2026.12.2 + lr-cc2632d08b95)": which rules and model tagged the story
    story.pipeline_version = f"{PIPELINE_VERSION} ({stored_version()})"
    story.processed_at = utcnow()
    session.add(story)
    target = SubmissionState.QUARANTINED if spam else SubmissionState.PENDING_REVIEW
    transition(
        session,
        story,
        target,
        actor="pipeline",
        reason="spam" if spam else ("steps failed: " + ", ".join(errors) if errors else None),
    )
    logger.info("story %s → %s", story.ref, story.state)
    return story.state
