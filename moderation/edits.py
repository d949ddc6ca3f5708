"""Moderators' edits of what a story says: themes, place, text, the transcript, anonymity and
pinning for briefs. Each checks the version the moderator saw and is audited; none moves the
story through its lifecycle (that is `moderation.decisions`). Callers commit.
"""

from __future__ import annotations

from sqlmodel import Session

from core import audit, personal_data, taxonomy
from core.clock import utcnow
from core.errors import InvalidInput
from core.models import Submission
from core.projections import VOICE_FLAGS, published_text, story_transcript
from core.states import SubmissionState
from moderation import decisions

S = SubmissionState


def toggle_theme(
    session: Session, submission_id: int, *, actor: str, expected_version: int, slug: str
) -> Submission:
    """Add the theme `slug` to the story, or remove it when it is there."""
    if not taxonomy.is_theme(slug):
        raise InvalidInput(f"unknown theme {slug!r}")
    story = decisions.open_story(session, submission_id, expected_version, editing="change themes")
    before = [str(theme.get("slug")) for theme in story.themes]
    if slug in before:
        themes = [theme for theme in story.themes if theme.get("slug") != slug]
    else:
        themes = [*story.themes, {"slug": slug, "score": 1.0, "evidence": [], "by": "moderator"}]
    after = [str(theme.get("slug")) for theme in themes]
    return decisions.record_edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="themes",
        before={"themes": before},
        after={"themes": after},
        themes=themes,
    )


def set_themes(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    slugs: list[str],
) -> Submission:
    """Set exactly these themes (the tagger's evidence stays on the ones that remain)."""
    unknown = [slug for slug in slugs if not taxonomy.is_theme(slug)]
    if unknown:
        raise InvalidInput(f"unknown theme {unknown[0]!r}")
    wanted = list(dict.fromkeys(slugs))
    story = decisions.open_story(session, submission_id, expected_version, editing="change themes")
    before = [str(theme.get("slug")) for theme in story.themes]
    kept = {str(theme.get("slug")): theme for theme in story.themes}
    themes = [
        kept.get(slug) or {"slug": slug, "score": 1.0, "evidence": [], "by": "moderator"}
        for slug in wanted
    ]
    return decisions.record_edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="themes",
        before={"themes": before},
        after={"themes": wanted},
        themes=themes,
    )


def set_place(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    place_id: str | None,
    name: str,
    kind: str | None = None,
) -> Submission:
    """Set the story's public place: a gazetteer place resolved by the caller, or a typed name.

    Moderation does not search the gazetteer (that lives in `pipeline`, above us): the bot or
    the CLI resolves the name and passes `(place_id, name, kind)`; a typed name that matched
    nothing comes with `place_id=None`.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("the place name is empty")
    story = decisions.open_story(
        session, submission_id, expected_version, editing="change the place"
    )
    return decisions.record_edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="place",
        before={"place_id": story.place_id, "place_name": story.place_name},
        after={"place_id": place_id, "place_name": name},
        place_id=place_id,
        place_name=name,
        place_kind=kind,
        place_source="moderator",
        place_evidence=None,
    )


def edit_text(
    session: Session, submission_id: int, *, actor: str, expected_version: int, text: str
) -> Submission:
    """Set the public text; the contributor's original stays in `text`."""
    text = text.strip()
    if not text:
        raise InvalidInput("the text is empty")
    if len(text) > decisions.MAX_TEXT_CHARS:
        raise InvalidInput(f"the text is longer than {decisions.MAX_TEXT_CHARS} characters")
    story = decisions.open_story(session, submission_id, expected_version, editing="edit the text")
    return _set_public_text(
        session, story, text, actor=actor, expected_version=expected_version, action="edit_text"
    )


def _set_public_text(
    session: Session,
    story: Submission,
    text: str,
    *,
    actor: str,
    expected_version: int,
    action: str,
) -> Submission:
    """A moderator chose the text that goes out: a transcript needs no acceptance now."""
    return decisions.record_edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action=action,
        before={"public_text": story.public_text},
        after={"public_text": text},
        public_text=text,
        flags=[flag for flag in story.flags if flag.get("kind") not in VOICE_FLAGS],
    )


def accept_transcript(
    session: Session, submission_id: int, *, actor: str, expected_version: int
) -> Submission:
    """A moderator listened and accepts the automatic transcript as the public text.

    The public text becomes the typed text (as it would be published) followed by the
    transcript, with personal data in the transcript masked as in a contributor's text.
    """
    story = decisions.open_story(
        session, submission_id, expected_version, editing="accept the transcript"
    )
    assert story.id is not None
    transcript = story_transcript(session, story.id)
    if transcript is None:
        raise InvalidInput(f"{story.ref} has no automatic transcript to accept")
    spoken = personal_data.mask(transcript, lang=story.lang)
    typed = published_text(story) if story.text else None
    text = "\n\n".join(part for part in (typed, spoken) if part)[: decisions.MAX_TEXT_CHARS]
    return _set_public_text(
        session,
        story,
        text,
        actor=actor,
        expected_version=expected_version,
        action="accept_transcript",
    )


def force_anonymous(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    value: bool = True,
) -> Submission:
    """Publish without the contributor's name even if they chose to be named (or undo it)."""
    story = decisions.open_story(
        session, submission_id, expected_version, editing="change anonymity"
    )
    return decisions.record_edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="force_anonymous",
        before={"force_anonymous": story.force_anonymous},
        after={"force_anonymous": value},
        force_anonymous=value,
    )


#: States in which a story may be pinned to be quoted in policy briefs: a moderator approved it.
PINNABLE = {S.APPROVED, S.SCHEDULED, S.PUBLISHED}


def pin(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    value: bool = True,
) -> Submission:
    """Pin an approved story to be quoted in policy briefs (or unpin it); audited.

    Pinning changes nothing that is published, so it does not bump the version: a post being
    sent meanwhile must not lose its story to a stale version.
    """
    story = decisions.open_story(session, submission_id, expected_version)
    decisions.require_state(story, PINNABLE, "pin it for briefs (approve it first)")
    if (story.pinned_at is not None) == value:
        return story
    before = story.pinned_at.isoformat() if story.pinned_at else None
    story.pinned_at = utcnow() if value else None
    session.add(story)
    audit.record(
        session,
        actor=actor,
        action="pin" if value else "unpin",
        submission_id=submission_id,
        from_state=story.state,
        to_state=story.state,
        before={"pinned_at": before},
        after={"pinned_at": story.pinned_at.isoformat() if story.pinned_at else None},
    )
    session.flush()
    return story
