"""The views of a story that posts, exports, briefs, pages and cards are made from.

No face serialises a story's table row: it asks here. `PublicStory` is what may leave the
machine (posts, exports, briefs): the public text, a credit only where the contributor chose to
be named, the public place, the themes and metadata-free renditions, never exact coordinates,
Telegram ids or original files. `ModeratorStory` is the private view, for moderators only.
The views for exports and briefs (`OpenStory`, `BriefQuote`) are in `core.open_data`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from core import audit, personal_data
from core.errors import NotAllowed
from core.models import Contributor, Media, Submission
from core.states import AUDIO_KINDS, IMAGE_KINDS, SOCIAL_CONSENTS, Consent, SubmissionState


@dataclass(frozen=True)
class Rendition:
    """One metadata-free JPEG made by the pipeline."""

    path: Path
    width: int
    height: int
    size_bytes: int


@dataclass(frozen=True)
class StoryImage:
    """One photo of a story: its renditions by name (web, feed, square, thumb)."""

    renditions: dict[str, Rendition]
    alt: str | None = None  # alt text, when a moderator wrote one


@dataclass(frozen=True)
class PublicStory:
    """A story as it may be published."""

    ref: str
    text: str  # the public text (a moderator's edit, or the original)
    lang: str = "id"
    credit_name: str | None = None  # None unless consent is "named" and not forced anonymous
    place_name: str | None = None  # public place: kelurahan/desa or a named landmark
    themes: tuple[str, ...] = ()  # theme slugs, most relevant first
    images: tuple[StoryImage, ...] = field(default_factory=tuple)


def theme_slugs(story: Submission) -> tuple[str, ...]:
    """The slugs of a story's themes, most relevant (highest score) first."""
    return slugs_of(story.themes)


def slugs_of(themes: Sequence[Any] | None) -> tuple[str, ...]:
    """The slugs of a story's `themes` column, most relevant (highest score) first."""
    found = [item for item in themes or () if isinstance(item, dict) and item.get("slug")]
    found.sort(key=lambda item: -float(item.get("score") or 0.0))
    return tuple(str(item["slug"]) for item in found)


def credit_for(
    consent: str | None, force_anonymous: bool, public_name: str | None, erased: bool
) -> str | None:
    """The rule of a credit: the chosen name only for `named` consent, not forced anonymous,
    of a contributor who was not erased."""
    if consent != Consent.NAMED.value or force_anonymous or erased or not public_name:
        return None
    return public_name.strip() or None


def credit_name(session: Session, story: Submission) -> str | None:
    """The name to publish with: only for `named` consent, not forced anonymous, not erased."""
    if story.consent != Consent.NAMED.value or story.force_anonymous:
        return None
    person = session.get(Contributor, story.contributor_id)
    if person is None:
        return None
    return credit_for(
        story.consent, story.force_anonymous, person.public_name, person.erased_at is not None
    )


def alt_of(media: Media) -> str | None:
    """A moderator's alt text for a photo, kept beside the renditions under `alt`."""
    value = (media.renditions or {}).get("alt")
    return value if isinstance(value, str) and value.strip() else None


def _renditions(media: Media, data_dir: Path | None) -> dict[str, Rendition]:
    found: dict[str, Rendition] = {}
    for name, info in (media.renditions or {}).items():
        if not isinstance(info, dict) or not info.get("path"):
            continue
        path = Path(str(info["path"]))
        found[str(name)] = Rendition(
            path=data_dir / path if data_dir is not None else path,
            width=int(info.get("width") or 0),
            height=int(info.get("height") or 0),
            size_bytes=int(info.get("bytes") or 0),
        )
    return found


def public_images(
    session: Session, submission_id: int, *, data_dir: Path | None = None
) -> tuple[StoryImage, ...]:
    """A story's photos that have renditions, in order (never an original)."""
    rows = session.exec(
        select(Media)
        .where(
            Media.submission_id == submission_id,
            col(Media.kind).in_(IMAGE_KINDS),
            col(Media.deleted_at).is_(None),
            col(Media.error).is_(None),
        )
        .order_by(col(Media.position), col(Media.id))
    )
    images = []
    for media in rows:
        renditions = _renditions(media, data_dir)
        if renditions:
            images.append(StoryImage(renditions=renditions, alt=alt_of(media)))
    return tuple(images)


class StoryText(Protocol):
    """The text fields of a story: a row, or a selection of its columns."""

    @property
    def text(self) -> str | None:
        """As the contributor wrote it."""
        ...

    @property
    def public_text(self) -> str | None:
        """A moderator's edit, if any."""
        ...

    @property
    def lang(self) -> str | None:
        """The detected language."""
        ...


def published_text(story: StoryText) -> str | None:
    """The text that goes out: a moderator's public text as written, else the contributor's
    text with personal data and links masked (README, Privacy)."""
    if story.public_text:
        return story.public_text
    if story.text:
        return personal_data.mask(story.text, lang=story.lang)
    return None


#: The flags of a story told only by voice whose public text no moderator has written yet: with
#: an automatic transcript to accept or correct, or without one (the moderator listens and
#: writes it). `accept_transcript` and `edit_text` clear them.
UNREVIEWED_TRANSCRIPT_FLAG = "transcript_unreviewed"
VOICE_NEEDS_TEXT_FLAG = "voice_needs_text"
VOICE_FLAGS = (UNREVIEWED_TRANSCRIPT_FLAG, VOICE_NEEDS_TEXT_FLAG)


def public_text_problem(story: Submission) -> str | None:
    """Why the story's public text may not go out (none, or personal data in it), or None.

    A voice story's transcript is never published as it is: a story told only aloud has text
    to publish once a moderator accepted or edited it (its public text).
    """
    text = published_text(story)
    if not text and any(f.get("kind") in VOICE_FLAGS for f in story.flags):
        return (
            f"{story.ref} is a voice story: a moderator must accept or edit its automatic "
            "transcript before it is published"
        )
    if not text:
        return f"{story.ref} has no text to publish"
    found = sorted({item.kind for item in personal_data.personal(text)})
    if found:
        return (
            f"{story.ref}: the public text still holds personal data ({', '.join(found)}); "
            "edit the public text"
        )
    return None


#: States of a story a moderator approved (it may go out, be quoted in a brief, be exported
#: with its text).
APPROVED_STATES = frozenset(
    {
        SubmissionState.APPROVED.value,
        SubmissionState.SCHEDULED.value,
        SubmissionState.PUBLISHED.value,
    }
)
#: States in which a story's renditions may be fetched by a platform (it is on its way out).
FETCHABLE_STATES = APPROVED_STATES


def rendition_is_public(session: Session, sha256: str) -> bool:
    """True when a live story whose consent allows social media uses the photo with this digest
    (its renditions may then be fetched by URL); False after withdrawal or for `internal`."""
    return _photo_used(
        session,
        sha256,
        col(Submission.consent).in_(SOCIAL_CONSENTS),
        col(Submission.state).in_(FETCHABLE_STATES),
    )


def _photo_used(session: Session, sha256: str, *story: ColumnElement[bool]) -> bool:
    """True when a story matching `story` uses a live photo with this digest."""
    found = session.exec(
        select(Media.id)
        .join(Submission, col(Submission.id) == Media.submission_id)
        .where(Media.sha256 == sha256, col(Media.deleted_at).is_(None), *story)
        .limit(1)
    ).first()
    return found is not None


#: States of a story whose media the dashboard still shows (everything but a withdrawal).
_SHOWN_STATES = frozenset(state.value for state in SubmissionState) - {
    SubmissionState.WITHDRAWN.value,
    SubmissionState.ERASED.value,
}


def rendition_shown(session: Session, sha256: str) -> bool:
    """True when a story not withdrawn uses the photo with this digest: the dashboard may show
    its renditions (metadata-free) to anyone logged in."""
    return _photo_used(session, sha256, col(Submission.state).in_(_SHOWN_STATES))


def private_media(session: Session, media_id: int) -> MediaView | None:
    """A photo's original or a recording, for moderators: None when the story is withdrawn."""
    media = session.get(Media, media_id)
    if media is None or media.deleted_at is not None or not media.path:
        return None
    story = session.get(Submission, media.submission_id)
    if story is None or story.state not in _SHOWN_STATES:
        return None
    return _media_view(media)


def public_story(
    session: Session, submission: Submission, *, data_dir: Path | None = None
) -> PublicStory:
    """What may be published of a story; NotAllowed when it has no text to publish or its
    public text holds personal data.

    Rendition paths are relative to the data directory unless `data_dir` is given.
    """
    problem = public_text_problem(submission)
    text = published_text(submission)
    if problem is not None or text is None:
        raise NotAllowed(problem or f"{submission.ref} has no text to publish")
    assert submission.id is not None
    return PublicStory(
        ref=submission.ref,
        text=text,
        lang=submission.lang if submission.lang in ("id", "en") else "id",
        credit_name=credit_name(session, submission),
        place_name=submission.place_name,
        themes=theme_slugs(submission),
        images=public_images(session, submission.id, data_dir=data_dir),
    )


# ------------------------------------------------------------------ the moderators' view


@dataclass(frozen=True)
class ContributorSummary:
    """How moderators see a contributor: a stable number, never a name or Telegram id."""

    number: int
    previous: int  # stories submitted before this one
    published: int  # of those, how many were published

    @property
    def pseudonym(self) -> str:
        """`Kontributor #12` (the label is the same in both languages)."""
        return f"Kontributor #{self.number}"


@dataclass(frozen=True)
class ThemeView:
    """A theme of a story with the words that suggested it."""

    slug: str
    score: float
    evidence: tuple[str, ...]
    by: str | None = None  # "moderator", or the tagger's "rules" / "model" / "rules+model"


@dataclass(frozen=True)
class MediaView:
    """A photo or a recording of a story, for moderators (the original's path is private)."""

    id: int
    kind: str
    position: int
    renditions: dict[str, Rendition]
    original: str | None  # relative to the data directory: moderators only, never published
    mime_type: str | None
    duration_seconds: int | None
    width: int | None
    height: int | None
    taken_at: str | None
    error: str | None
    transcript: str | None = None  # recordings: the automatic transcript (never published)
    transcript_status: str | None = None  # core.states.TranscriptStatus; None: not yet


@dataclass(frozen=True)
class HistoryLine:
    """One audit row of a story."""

    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class ModeratorStory:
    """Everything a moderator needs to decide on a story, and nothing that identifies the
    contributor beyond the name they chose to publish with."""

    id: int
    ref: str
    state: str
    version: int
    text: str | None
    public_text: str | None  # a moderator's edit, if any
    published_text: str | None  # what would go out: the edit, or the text with personal data masked
    lang: str | None
    consent: str | None
    public_name: str | None  # only when consent is "named"
    force_anonymous: bool
    pinned: bool  # pinned by a moderator to be quoted in policy briefs
    place_id: str | None
    place_name: str | None
    place_kind: str | None
    place_source: str | None
    place_evidence: str | None
    exact_point: tuple[float, float] | None  # moderators only
    themes: tuple[ThemeView, ...]
    flags: tuple[dict[str, Any], ...]
    spam_score: float | None
    duplicate_ref: str | None
    questions: tuple[dict[str, Any], ...]
    reject_reason: str | None
    reject_note: str | None
    decided_by: str | None
    created_at: datetime
    submitted_at: datetime | None
    contributor: ContributorSummary
    photos: tuple[MediaView, ...]
    recordings: tuple[MediaView, ...]
    history: tuple[HistoryLine, ...]

    def has_flag(self, kind: str) -> bool:
        """True when the pipeline (or a moderator) flagged the story with `kind`."""
        return any(flag.get("kind") == kind for flag in self.flags)

    @property
    def transcript(self) -> str | None:
        """The automatic transcript of every recording, in order (None when there is none)."""
        return joined_transcript(r.transcript for r in self.recordings)


def contributor_summary(session: Session, story: Submission) -> ContributorSummary:
    """The contributor's pseudonym number, earlier stories and how many were published."""
    earlier = list(
        session.exec(
            select(Submission.state).where(
                Submission.contributor_id == story.contributor_id,
                Submission.id != story.id,
                Submission.state != SubmissionState.DRAFT.value,
                col(Submission.created_at) <= story.created_at,
            )
        )
    )
    published = sum(1 for state in earlier if state == SubmissionState.PUBLISHED.value)
    return ContributorSummary(story.contributor_id, len(earlier), published)


def _media_view(media: Media) -> MediaView:
    assert media.id is not None
    return MediaView(
        id=media.id,
        kind=media.kind,
        position=media.position,
        renditions=_renditions(media, None),
        original=media.path,
        mime_type=media.mime_type,
        duration_seconds=media.duration_seconds,
        width=media.width,
        height=media.height,
        taken_at=media.taken_at,
        error=media.error,
        transcript=media.transcript,
        transcript_status=media.transcript_status,
    )


def joined_transcript(parts: Iterable[str | None]) -> str | None:
    """Several recordings' transcripts as one text, a paragraph each (None when all are empty)."""
    texts = [part.strip() for part in parts if part and part.strip()]
    return "\n\n".join(texts) or None


def story_transcript(session: Session, submission_id: int) -> str | None:
    """The automatic transcript of a story's live recordings, in order (private: moderators and
    the tagger; never published as it is)."""
    rows = session.exec(
        select(Media.transcript)
        .where(
            Media.submission_id == submission_id,
            col(Media.kind).in_(AUDIO_KINDS),
            col(Media.deleted_at).is_(None),
        )
        .order_by(col(Media.position), col(Media.id))
    )
    return joined_transcript(rows)


def history_of(session: Session, submission_id: int) -> tuple[HistoryLine, ...]:
    """Every audit row of a story, oldest first."""
    return tuple(
        HistoryLine(
            e.created_at, e.actor, e.action, e.from_state, e.to_state, e.reason, e.before, e.after
        )
        for e in audit.history(session, submission_id=submission_id)
    )


def moderator_story(session: Session, story: Submission) -> ModeratorStory:
    """The moderators' view of a story."""
    assert story.id is not None
    media = session.exec(
        select(Media)
        .where(Media.submission_id == story.id, col(Media.deleted_at).is_(None))
        .order_by(col(Media.position), col(Media.id))
    ).all()
    duplicate = session.get(Submission, story.duplicate_of_id) if story.duplicate_of_id else None
    public_name = None
    if story.consent == Consent.NAMED.value:
        person = session.get(Contributor, story.contributor_id)
        public_name = None if person is None else person.public_name
    exact = (
        (story.exact_lat, story.exact_lon)
        if story.exact_lat is not None and story.exact_lon is not None
        else None
    )
    return ModeratorStory(
        id=story.id,
        ref=story.ref,
        state=story.state,
        version=story.version,
        text=story.text,
        public_text=story.public_text,
        published_text=published_text(story),
        lang=story.lang,
        consent=story.consent,
        public_name=public_name,
        force_anonymous=story.force_anonymous,
        pinned=story.pinned_at is not None,
        place_id=story.place_id,
        place_name=story.place_name,
        place_kind=story.place_kind,
        place_source=story.place_source,
        place_evidence=story.place_evidence,
        exact_point=exact,
        themes=tuple(
            ThemeView(
                slug=str(item.get("slug")),
                score=float(item.get("score") or 0.0),
                evidence=tuple(str(word) for word in item.get("evidence") or ()),
                by=item.get("by"),
            )
            for item in story.themes
            if isinstance(item, dict) and item.get("slug")
        ),
        flags=tuple(dict(flag) for flag in story.flags),
        spam_score=story.spam_score,
        duplicate_ref=duplicate.ref if duplicate is not None else None,
        questions=tuple(dict(item) for item in story.questions),
        reject_reason=story.reject_reason,
        reject_note=story.reject_note,
        decided_by=story.decided_by,
        created_at=story.created_at,
        submitted_at=story.submitted_at,
        contributor=contributor_summary(session, story),
        photos=tuple(_media_view(m) for m in media if m.kind in IMAGE_KINDS),
        recordings=tuple(_media_view(m) for m in media if m.kind in AUDIO_KINDS),
        history=history_of(session, story.id),
    )
