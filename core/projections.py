"""The views of a story that posts, exports, briefs, pages and cards are made from.

No face serialises a story's table row: it asks here. `PublicStory` is what may leave the
machine (posts, exports, briefs): the public text, a credit only where the contributor chose to
be named, the public place, the themes and metadata-free renditions, never exact coordinates,
Telegram ids or original files. `ModeratorStory` (in `moderation.views`) is the private view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from core.errors import NotAllowed
from core.models import Contributor, Media, Submission
from core.states import IMAGE_KINDS, Consent


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
    themes = [item for item in story.themes if isinstance(item, dict) and item.get("slug")]
    themes.sort(key=lambda item: -float(item.get("score") or 0.0))
    return tuple(str(item["slug"]) for item in themes)


def credit_name(session: Session, story: Submission) -> str | None:
    """The name to publish with: only for `named` consent, not forced anonymous, not erased."""
    if story.consent != Consent.NAMED.value or story.force_anonymous:
        return None
    person = session.get(Contributor, story.contributor_id)
    if person is None or person.erased_at is not None or not person.public_name:
        return None
    return person.public_name.strip() or None


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


def public_story(
    session: Session, submission: Submission, *, data_dir: Path | None = None
) -> PublicStory:
    """What may be published of a story; NotAllowed when it has no text to publish.

    Rendition paths are relative to the data directory unless `data_dir` is given.
    """
    text = submission.public_text or submission.text
    if not text:
        raise NotAllowed(f"{submission.ref} has no text to publish")
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
