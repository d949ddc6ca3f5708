"""What a moderator may do to a story in its state, and doing it: one policy, three faces.

The Telegram card, the CLI and the web dashboard each show `available_actions(story)` and call
`apply(...)` with the actor and the story version the person saw. A face only translates the
answer: an `Outcome`, or one of the domain errors (`Conflict`: someone else acted first, and who;
`InvalidTransition`, `InvalidInput`, `NotAllowed`, `NotFound`). Callers commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sqlmodel import Session

from core.errors import NotAllowed
from core.projections import UNREVIEWED_TRANSCRIPT_FLAG
from core.states import SOCIAL_CONSENTS, SubmissionState
from core.stories import get_story
from moderation import decisions, edits
from publishers import scheduling
from publishers.campaigns import get_campaign

S = SubmissionState


class Action(StrEnum):
    """A moderator's action on a story."""

    APPROVE = "approve"
    REJECT = "reject"  # payload: reason, note (a note is needed for "other")
    ASK = "ask"  # payload: question
    EDIT_TEXT = "edit_text"  # payload: text
    ACCEPT_TRANSCRIPT = "accept_transcript"  # a voice story's transcript becomes its public text
    TOGGLE_THEME = "toggle_theme"  # payload: slug
    SET_THEMES = "set_themes"  # payload: themes (slugs)
    SET_PLACE = "set_place"  # payload: place_id (or None), name, kind
    ANONYMISE = "anonymise"  # payload: value (False to undo)
    QUARANTINE = "quarantine"  # payload: reason (optional)
    RELEASE = "release"
    SCHEDULE = "schedule"  # payload: campaign, at (None: the next free slot), channels
    UNSCHEDULE = "unschedule"
    ADD_LATE_PHOTOS = "add_late_photos"
    PIN = "pin"  # payload: value (False to unpin): quote it in policy briefs


A = Action
#: Edits a moderator may make while a story is in moderation (or approved, not yet scheduled).
_EDITS = (A.TOGGLE_THEME, A.SET_THEMES, A.SET_PLACE, A.EDIT_TEXT, A.ANONYMISE)
_BY_STATE: dict[SubmissionState, tuple[Action, ...]] = {
    S.PENDING_REVIEW: (A.APPROVE, A.REJECT, A.ASK, *_EDITS, A.QUARANTINE),
    S.NEEDS_INFO: (A.APPROVE, A.REJECT, A.ASK, *_EDITS, A.QUARANTINE),
    S.QUARANTINED: (A.APPROVE, A.REJECT, A.RELEASE, *_EDITS),
    S.APPROVED: (A.SCHEDULE, *_EDITS, A.REJECT, A.QUARANTINE, A.PIN),
    S.SCHEDULED: (A.UNSCHEDULE, A.PIN),
    S.PUBLISHED: (A.PIN,),
    S.REJECTED: (A.RELEASE,),
}
#: States whose stories have left moderation (a late photo is no longer added there).
_OUT_OF_MODERATION = frozenset({S.SCHEDULED, S.PUBLISHED})


class StoryFacts(Protocol):
    """What the policy looks at: a story row or its moderators' view."""

    @property
    def state(self) -> str:
        """The story's lifecycle state."""
        ...

    @property
    def consent(self) -> str | None:
        """What the contributor allowed."""
        ...

    @property
    def flags(self) -> Sequence[Mapping[str, Any]]:
        """The pipeline's and moderators' flags."""
        ...


def available_actions(story: StoryFacts) -> tuple[Action, ...]:
    """What a moderator may do to this story now, in the order faces show them."""
    actions = _BY_STATE.get(SubmissionState(story.state), ())
    if A.SCHEDULE in actions and story.consent not in SOCIAL_CONSENTS:
        # "internal" consent (or none) never goes to social media.
        actions = tuple(action for action in actions if action != A.SCHEDULE)
    flagged = {flag.get("kind") for flag in story.flags}
    if A.EDIT_TEXT in actions and UNREVIEWED_TRANSCRIPT_FLAG in flagged:
        # A voice story waits for a moderator to accept (or edit) its transcript.
        at = actions.index(A.EDIT_TEXT) + 1
        actions = (*actions[:at], A.ACCEPT_TRANSCRIPT, *actions[at:])
    if (
        actions
        and SubmissionState(story.state) not in _OUT_OF_MODERATION
        and decisions.LATE_PHOTO_FLAG in flagged
    ):
        actions = (*actions, A.ADD_LATE_PHOTOS)
    return actions


class LatePhotoAdder(Protocol):
    """`pipeline.add_late_photos` bound to a media store: makes the late photos' renditions,
    records the decision and returns the `web` renditions to show. The pipeline lives above
    moderation, so the faces hand it in."""

    def __call__(
        self, session: Session, story_id: int, *, actor: str, expected_version: int
    ) -> list[Path]:
        """Add the story's late photos."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What an action did, for the face to tell."""

    action: Action
    ref: str
    state: str
    version: int
    scheduled_at: datetime | None = None  # SCHEDULE: the posts' time
    campaign: str | None = None  # SCHEDULE: the campaign's name
    cancelled: int = 0  # UNSCHEDULE: posts cancelled
    photos: list[Path] = field(default_factory=list)  # ADD_LATE_PHOTOS: renditions to show


def check_version(session: Session, story_id: int, expected_version: int) -> None:
    """Raise `Conflict` (who did what) when the story moved past the version the person saw."""
    decisions.check_version(session, get_story(session, story_id), expected_version)


def apply(
    session: Session,
    story_id: int,
    action: Action | str,
    payload: Mapping[str, Any] | None = None,
    *,
    actor: str,
    expected_version: int,
    add_late_photos: LatePhotoAdder | None = None,
) -> Outcome:
    """Do `action` to the story, if the person saw its current version and the state allows it.

    Raises `decisions.Conflict` when someone acted first, `NotAllowed` when the action is not
    available in the story's state, and the decisions' own errors for bad input.
    """
    action = Action(action)
    data = dict(payload or {})
    check_version(session, story_id, expected_version)
    story = get_story(session, story_id)
    if action not in available_actions(story):
        if action == A.SCHEDULE and story.consent not in SOCIAL_CONSENTS:
            raise NotAllowed(f"{story.ref}: its consent does not allow social media")
        if action == A.PIN:
            raise NotAllowed(
                f"{story.ref} is {story.state}: only an approved story is quoted in briefs "
                "(approve it first)"
            )
        what = action.value.replace("_", " ")
        raise NotAllowed(f"{story.ref} is {story.state}: {what} is not allowed now")
    kwargs: dict[str, Any] = {"actor": actor, "expected_version": expected_version}
    outcome: dict[str, Any] = {}
    if action == A.APPROVE:
        decisions.approve(session, story_id, **kwargs)
    elif action == A.REJECT:
        decisions.reject(
            session, story_id, reason=str(data.get("reason")), note=data.get("note"), **kwargs
        )
    elif action == A.ASK:
        decisions.ask(session, story_id, question=str(data.get("question") or ""), **kwargs)
    elif action == A.EDIT_TEXT:
        edits.edit_text(session, story_id, text=str(data.get("text") or ""), **kwargs)
    elif action == A.ACCEPT_TRANSCRIPT:
        edits.accept_transcript(session, story_id, **kwargs)
    elif action == A.TOGGLE_THEME:
        edits.toggle_theme(session, story_id, slug=str(data.get("slug")), **kwargs)
    elif action == A.SET_THEMES:
        themes: Sequence[str] = data.get("themes") or ()
        edits.set_themes(session, story_id, slugs=list(themes), **kwargs)
    elif action == A.SET_PLACE:
        edits.set_place(
            session,
            story_id,
            place_id=data.get("place_id"),
            name=str(data.get("name") or ""),
            kind=data.get("kind"),
            **kwargs,
        )
    elif action == A.ANONYMISE:
        edits.force_anonymous(session, story_id, value=bool(data.get("value", True)), **kwargs)
    elif action == A.QUARANTINE:
        decisions.quarantine(session, story_id, reason=data.get("reason"), **kwargs)
    elif action == A.RELEASE:
        decisions.release(session, story_id, **kwargs)
    elif action == A.SCHEDULE:
        outcome = _schedule(session, story_id, data, actor=actor)
    elif action == A.UNSCHEDULE:
        outcome["cancelled"] = scheduling.unschedule(session, submission_id=story_id, actor=actor)
    elif action == A.PIN:
        edits.pin(session, story_id, value=bool(data.get("value", True)), **kwargs)
    elif action == A.ADD_LATE_PHOTOS:
        if add_late_photos is None:
            raise NotAllowed("late photos are added from the card or the dashboard")
        outcome["photos"] = add_late_photos(session, story_id, **kwargs)
    session.flush()
    session.refresh(story)
    return Outcome(action, story.ref, story.state, story.version, **outcome)


def _schedule(
    session: Session, story_id: int, data: Mapping[str, Any], *, actor: str
) -> dict[str, Any]:
    """Schedule into a campaign (its next free slot when no time is given)."""
    campaign = str(data.get("campaign") or "")
    channels = data.get("channels")
    made = scheduling.schedule_story(
        session,
        submission_id=story_id,
        campaign_slug=campaign,
        at=data.get("at"),
        channels=list(channels) if channels else None,
        actor=actor,
    )
    name = get_campaign(session, campaign).name
    return {"scheduled_at": made[0].scheduled_at if made else None, "campaign": name}
