"""The contributor's side of the database: people, drafts, media rows, submitting and erasing.

Everything here is blocking (SQL, files): handlers call it with `asyncio.to_thread`. Each function
commits before it returns, so what a contributor sent is on disk before the bot answers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core import audit
from core.clock import utcnow
from core.db import session_scope
from core.errors import NotFound
from core.lifecycle import transition
from core.models import Contributor, Media, Submission
from core.states import IMAGE_KINDS, Awaiting, Consent, MediaKind, SubmissionState
from core.storage import MediaStore, StoredFile
from core.stories import allocate_ref
from moderation import LATE_PHOTO_FLAG

logger = logging.getLogger(__name__)

#: Reference codes: no 0/O, 1/I/L, so they survive being read aloud or copied by hand.
ACTOR = "contributor"


@dataclass(frozen=True)
class Person:
    """A contributor as the conversation needs them."""

    id: int
    language: str
    awaiting: Awaiting | None
    awaiting_data: dict[str, Any] | None
    public_name: str | None


@dataclass(frozen=True)
class Draft:
    """What an open story holds so far."""

    id: int
    ref: str
    text: str | None
    photos: int
    audio: int
    place: str | None  # "location", the typed name, or None
    place_skipped: bool
    consent: str | None
    public_name: str | None
    point: tuple[float, float] | None = None  # private: a shared location, to name its place
    place_name: str | None = None  # the place name typed (or a shared venue's)

    @property
    def has_story(self) -> bool:
        """Text or a voice note: there is something to read or hear."""
        return bool(self.text) or self.audio > 0

    @property
    def place_done(self) -> bool:
        """A place was given or skipped."""
        return self.place is not None or self.place_skipped


@dataclass(frozen=True)
class StoryLine:
    """One line of /status."""

    ref: str
    state: str
    created_at: datetime


def _person(row: Contributor) -> Person:
    assert row.id is not None
    awaiting = Awaiting(row.awaiting) if row.awaiting else None
    return Person(row.id, row.language, awaiting, row.awaiting_data, row.public_name)


def contributor_for(engine: Engine, *, user_id: int, chat_id: int, language: str) -> Person:
    """The contributor behind a Telegram user, created on first contact in `language`."""
    with session_scope(engine) as session:
        row = session.exec(
            select(Contributor).where(Contributor.telegram_user_id == user_id)
        ).first()
        if row is None:
            row = Contributor(telegram_user_id=user_id, telegram_chat_id=chat_id, language=language)
            session.add(row)
            session.flush()
        else:
            if row.telegram_chat_id != chat_id:
                row.telegram_chat_id = chat_id
                session.add(row)
            if row.bot_blocked_at is not None:
                # They wrote to us, so they unblocked the bot: tell them things again.
                row.bot_blocked_at = None
                session.add(row)
        return _person(row)


def person(engine: Engine, contributor_id: int) -> Person:
    """A contributor as they are now."""
    with session_scope(engine) as session:
        row = session.get(Contributor, contributor_id)
        if row is None:
            raise NotFound(f"no contributor {contributor_id}")
        return _person(row)


def update_contributor(engine: Engine, contributor_id: int, **values: Any) -> None:
    """Set fields of a contributor (language, awaiting, awaiting_data, public_name)."""
    with session_scope(engine) as session:
        row = session.get(Contributor, contributor_id)
        if row is None:
            raise NotFound(f"no contributor {contributor_id}")
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


def _open(session: Session, contributor_id: int) -> Submission | None:
    return session.exec(
        select(Submission)
        .where(
            Submission.contributor_id == contributor_id,
            Submission.state == SubmissionState.DRAFT.value,
        )
        .order_by(col(Submission.id).desc())
    ).first()


def _ensure(session: Session, contributor_id: int) -> Submission:
    story = _open(session, contributor_id)
    if story is not None:
        return story
    ref = allocate_ref(session)
    story = Submission(ref=ref, contributor_id=contributor_id)
    session.add(story)
    session.flush()
    audit.record(session, actor=ACTOR, action="draft", submission_id=story.id, to_state="draft")
    logger.info("draft %s started", ref)
    return story


def _view(session: Session, story: Submission) -> Draft:
    assert story.id is not None
    counts = dict(
        session.exec(
            select(Media.kind, func.count())
            .where(Media.submission_id == story.id, col(Media.deleted_at).is_(None))
            .group_by(Media.kind)
        ).all()
    )
    photos = sum(counts.get(kind, 0) for kind in IMAGE_KINDS)
    audio = counts.get(MediaKind.VOICE.value, 0) + counts.get(MediaKind.AUDIO.value, 0)
    place = "location" if story.chat_lat is not None else story.place_text
    contributor = session.get(Contributor, story.contributor_id)
    return Draft(
        id=story.id,
        ref=story.ref,
        text=story.text,
        photos=photos,
        audio=audio,
        place=place,
        place_skipped=story.place_skipped,
        consent=story.consent,
        public_name=contributor.public_name if contributor else None,
        point=(
            (story.chat_lat, story.chat_lon)
            if story.chat_lat is not None and story.chat_lon is not None
            else None
        ),
        place_name=story.place_text,
    )


def _touch(session: Session, story: Submission) -> Draft:
    story.updated_at = utcnow()
    session.add(story)
    session.flush()
    return _view(session, story)


def is_draft(engine: Engine, submission_id: int) -> bool:
    """True while the story is still an open draft (its buttons mean something)."""
    with session_scope(engine) as session:
        story = session.get(Submission, submission_id)
        return story is not None and story.state == SubmissionState.DRAFT.value


def current_draft(engine: Engine, contributor_id: int) -> Draft | None:
    """The open story, if any."""
    with session_scope(engine) as session:
        story = _open(session, contributor_id)
        return None if story is None else _view(session, story)


def ensure_draft(engine: Engine, contributor_id: int) -> Draft:
    """The open story, started now if there is none."""
    with session_scope(engine) as session:
        return _view(session, _ensure(session, contributor_id))


def add_text(
    engine: Engine, contributor_id: int, text: str, *, max_chars: int, replace: bool = False
) -> tuple[Draft, int]:
    """Append (or replace) the story text, keeping at most `max_chars`; returns chars dropped."""
    with session_scope(engine) as session:
        story = _ensure(session, contributor_id)
        if not replace and story.text and story.text.endswith(text):
            # The same message again: an update replayed after a crash (bot.inbound).
            return _touch(session, story), 0
        combined = text if replace or not story.text else f"{story.text}\n\n{text}"
        dropped = max(0, len(combined) - max_chars)
        story.text = combined[:max_chars]
        return _touch(session, story), dropped


def set_place(
    engine: Engine,
    contributor_id: int,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    name: str | None = None,
    skipped: bool = False,
) -> Draft:
    """Record the place as a shared location, a typed name, or skipped (replacing the old one)."""
    with session_scope(engine) as session:
        story = _ensure(session, contributor_id)
        if skipped:
            story.chat_lat = story.chat_lon = None
            story.place_text = None
        if latitude is not None and longitude is not None:
            story.chat_lat, story.chat_lon = latitude, longitude
        if name is not None:
            story.place_text = name
        story.place_skipped = skipped
        return _touch(session, story)


def clear_place(engine: Engine, contributor_id: int) -> None:
    """Forget the place of the open story (the contributor wants to change it)."""
    with session_scope(engine) as session:
        story = _open(session, contributor_id)
        if story is not None:
            story.chat_lat = story.chat_lon = None
            story.place_text = None
            story.place_skipped = False
            _touch(session, story)


def set_consent(
    engine: Engine, contributor_id: int, consent: Consent | None, version: str | None
) -> Draft | None:
    """Record the consent choice for the open story (None clears it)."""
    with session_scope(engine) as session:
        story = _open(session, contributor_id)
        if story is None:
            return None
        story.consent = None if consent is None else consent.value
        story.consent_version = version if consent is not None else None
        story.consent_at = utcnow() if consent is not None else None
        return _touch(session, story)


def image_room(engine: Engine, contributor_id: int, limit: int, again: str | None = None) -> int:
    """How many more photos the open story can take.

    `again`: a file being sent once more after a failed download already has its place.
    """
    draft = current_draft(engine, contributor_id)
    if draft is None:
        return limit
    room = limit - draft.photos
    if again is not None:
        with session_scope(engine) as session:
            failed = session.exec(
                select(Media.id).where(
                    Media.submission_id == draft.id,
                    Media.file_unique_id == again,
                    col(Media.deleted_at).is_(None),
                    col(Media.path).is_(None),
                    col(Media.kind).in_(IMAGE_KINDS),
                )
            ).first()
        room += failed is not None
    return room


def has_file(engine: Engine, contributor_id: int, file_unique_id: str) -> bool:
    """True when the open story already holds this Telegram file, downloaded and stored."""
    with session_scope(engine) as session:
        story = _open(session, contributor_id)
        if story is None:
            return False
        return (
            session.exec(
                select(Media.id).where(
                    Media.submission_id == story.id,
                    Media.file_unique_id == file_unique_id,
                    col(Media.deleted_at).is_(None),
                    col(Media.path).is_not(None),
                )
            ).first()
            is not None
        )


def add_media(
    engine: Engine,
    contributor_id: int,
    *,
    kind: MediaKind,
    file_unique_id: str,
    telegram_file_id: str,
    mime_type: str | None,
    file_name: str | None,
    size_bytes: int | None,
    media_group_id: str | None,
    duration_seconds: int | None = None,
) -> int:
    """Record a media file of the open story before it is downloaded; returns the row id.

    The same file sent again after a failed download reuses its row (and its place).
    """
    with session_scope(engine) as session:
        story = _ensure(session, contributor_id)
        failed = session.exec(
            select(Media).where(
                Media.submission_id == story.id,
                Media.file_unique_id == file_unique_id,
                col(Media.deleted_at).is_(None),
                col(Media.path).is_(None),
            )
        ).first()
        if failed is not None:
            failed.telegram_file_id = telegram_file_id
            session.add(failed)
            _touch(session, story)
            assert failed.id is not None
            return failed.id
        position = session.exec(
            select(func.count()).select_from(Media).where(Media.submission_id == story.id)
        ).one()
        row = Media(
            submission_id=story.id,  # type: ignore[arg-type]
            kind=kind.value,
            position=int(position),
            file_unique_id=file_unique_id,
            telegram_file_id=telegram_file_id,
            media_group_id=media_group_id,
            mime_type=mime_type,
            file_name=file_name,
            size_bytes=size_bytes,
            duration_seconds=duration_seconds,
        )
        session.add(row)
        _touch(session, story)
        session.flush()
        assert row.id is not None
        return row.id


def attach_file(
    engine: Engine,
    media_id: int,
    stored: StoredFile,
    mime_type: str | None,
    kind: MediaKind | None = None,
) -> None:
    """The download landed: point the media row at the stored original."""
    with session_scope(engine) as session:
        row = session.get(Media, media_id)
        if row is None:
            raise NotFound(f"no media {media_id}")
        row.sha256, row.path, row.size_bytes = stored.sha256, stored.relative, stored.size_bytes
        row.mime_type = mime_type or row.mime_type
        row.error = None
        if kind is not None:
            row.kind = kind.value
        session.add(row)


def mark_media_failed(engine: Engine, media_id: int, reason: str) -> None:
    """The download failed: keep the row (it has Telegram's file id) with the reason."""
    with session_scope(engine) as session:
        row = session.get(Media, media_id)
        if row is not None:
            row.error = reason
            session.add(row)


#: The error of a row whose download failed and may be tried again, with the retries so far.
_RETRYABLE = re.compile(r"download (?:failed|refused)(?: \(retried (\d+)\))?")
_GONE_STATES = (SubmissionState.WITHDRAWN.value, SubmissionState.ERASED.value)
_BEFORE_PIPELINE = (SubmissionState.DRAFT.value, SubmissionState.RECEIVED.value)


@dataclass(frozen=True)
class Unfetched:
    """A media row whose download failed: what fetching it again needs."""

    media_id: int
    file_id: str
    kind: MediaKind | None  # None: any image or audio (a file of unknown type)
    retries: int


def unfetched(
    engine: Engine, *, max_retries: int, submission_id: int | None = None
) -> list[Unfetched]:
    """Media rows to fetch again: failed downloads, kept, of a live story, not tried too often."""
    with session_scope(engine) as session:
        query = (
            select(Media)
            .join(Submission, col(Submission.id) == col(Media.submission_id))
            .where(
                col(Media.telegram_file_id).is_not(None),
                col(Media.path).is_(None),
                col(Media.deleted_at).is_(None),
                col(Media.error).like("download %"),
                col(Submission.state).not_in(_GONE_STATES),
            )
            .order_by(col(Media.id))
        )
        if submission_id is not None:
            query = query.where(Media.submission_id == submission_id)
        found: list[Unfetched] = []
        for row in session.exec(query):
            match = _RETRYABLE.fullmatch(row.error or "")
            retries = int(match.group(1) or 0) if match else max_retries
            if retries >= max_retries or row.id is None or row.telegram_file_id is None:
                continue
            kind: MediaKind | None = MediaKind(row.kind)
            if kind == MediaKind.DOCUMENT and not (row.mime_type or "").startswith("image/"):
                kind = None  # recorded as a document before its content was known
            found.append(Unfetched(row.id, row.telegram_file_id, kind, retries))
        return found


def attach_late(
    engine: Engine, media_id: int, stored: StoredFile, mime_type: str, kind: MediaKind | None
) -> bool:
    """A failed download fetched again: attach it; True when its story had left the pipeline.

    Such a photo is stored but not processed (no renditions, so never published): the story
    gets a `photo_late` flag and an audit line so moderators know it is there.
    """
    attach_file(engine, media_id, stored, mime_type, kind)
    with session_scope(engine) as session:
        row = session.get(Media, media_id)
        story = session.get(Submission, row.submission_id) if row else None
        if story is None or story.state in _BEFORE_PIPELINE:
            return False
        flags = list(story.flags)
        refused = next(
            (
                i
                for i, flag in enumerate(flags)
                if flag.get("kind") == "media_refused"
                and str(flag.get("detail") or "").startswith("download ")
            ),
            None,
        )
        if refused is not None:
            del flags[refused]  # that refusal was the failed download, now fetched
        if not any(flag.get("kind") == LATE_PHOTO_FLAG for flag in flags):
            flags.append({"kind": LATE_PHOTO_FLAG, "span": None, "detail": None})
        story.flags = flags
        session.add(story)
        audit.record(
            session,
            actor="system",
            action="media_fetched_late",
            submission_id=story.id,
            after={"media_id": media_id},
        )
        logger.info("a failed download of %s was fetched after ingest", story.ref)
        return True


def remove_media(engine: Engine, store: MediaStore, media_id: int) -> None:
    """Forget a media row we refused after looking at its content."""
    with session_scope(engine) as session:
        row = session.get(Media, media_id)
        if row is None:
            return
        if row.path and not _shared(session, row):
            store.delete_original(row.path)
        session.delete(row)


def _shared(session: Session, row: Media) -> bool:
    """True when another live media row points at the same stored file."""
    return (
        session.exec(
            select(Media.id).where(
                Media.path == row.path, Media.id != row.id, col(Media.deleted_at).is_(None)
            )
        ).first()
        is not None
    )


def drop_images(engine: Engine, store: MediaStore, contributor_id: int) -> int:
    """Delete the photos of the open story (the contributor will send new ones)."""
    with session_scope(engine) as session:
        story = _open(session, contributor_id)
        if story is None:
            return 0
        rows = session.exec(
            select(Media).where(Media.submission_id == story.id, col(Media.kind).in_(IMAGE_KINDS))
        ).all()
        for row in rows:
            if row.path and not _shared(session, row):
                store.delete_original(row.path)
            session.delete(row)
        _touch(session, story)
        return len(rows)


def submit(engine: Engine, contributor_id: int) -> tuple[int, str] | None:
    """Move the open story from draft to received; returns (id, ref), or None without one."""
    with session_scope(engine) as session:
        story = _open(session, contributor_id)
        if story is None:
            return None
        story.submitted_at = utcnow()
        session.add(story)
        transition(session, story, SubmissionState.RECEIVED, actor=ACTOR, action="submit")
        contributor = session.get(Contributor, contributor_id)
        if contributor is not None:
            contributor.awaiting, contributor.awaiting_data = None, None
            session.add(contributor)
        assert story.id is not None
        logger.info("story %s submitted", story.ref)
        return story.id, story.ref


def stories(engine: Engine, contributor_id: int, limit: int = 20) -> list[StoryLine]:
    """The contributor's stories, newest first."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Submission)
            .where(Submission.contributor_id == contributor_id)
            .order_by(col(Submission.id).desc())
            .limit(limit)
        ).all()
        return [StoryLine(row.ref, row.state, row.created_at) for row in rows]
