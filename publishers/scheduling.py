"""Scheduling approved stories into campaign slots: one delivery per story, campaign, channel."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from core import audit, notifications
from core.clock import as_utc, utcnow
from core.errors import InvalidTransition, NotAllowed, NotFound, StaleVersion
from core.lifecycle import transition
from core.models import Campaign, Channel, Contributor, Delivery, Media, Submission
from core.states import Consent, DeliveryState, MediaKind, SubmissionState
from publishers.campaigns import (
    check_open,
    free_slots,
    get_campaign,
    is_active_at,
    next_free_slot,
)
from publishers.channels_config import get_channel
from publishers.content import Rendition, StoryContent, StoryImage

logger = logging.getLogger(__name__)

#: Consents that allow a story on social media; "internal" never goes out.
SOCIAL_CONSENTS = frozenset({Consent.NAMED.value, Consent.ANONYMOUS.value})
#: Delivery states that still hold a slot and a channel for a story.
LIVE_STATES = frozenset(
    {
        DeliveryState.PENDING.value,
        DeliveryState.SENDING.value,
        DeliveryState.SENT.value,
        DeliveryState.UNKNOWN.value,
        DeliveryState.FAILED.value,
    }
)


def idempotency_key(submission_id: int, campaign_id: int | None, channel_id: int) -> str:
    """A stable key from the delivery's identity: a retry of the same post sends the same key."""
    identity = f"pesisir:{submission_id}:{campaign_id or 0}:{channel_id}"
    return "sp" + hashlib.sha256(identity.encode()).hexdigest()[:30]


def _theme_slugs(story: Submission) -> tuple[str, ...]:
    themes = [item for item in story.themes if isinstance(item, dict) and item.get("slug")]
    themes.sort(key=lambda item: -float(item.get("score") or 0.0))
    return tuple(str(item["slug"]) for item in themes)


def content_for(
    session: Session, submission: Submission, *, data_dir: Path | None = None
) -> StoryContent:
    """What may be published of a story: public text, consented credit, place, themes, images.

    Never exact coordinates, Telegram ids or original files. Rendition paths are relative to the
    data directory unless `data_dir` is given.
    """
    text = submission.public_text or submission.text
    if not text:
        raise NotAllowed(f"{submission.ref} has no text to publish")
    credit = None
    if submission.consent == Consent.NAMED.value and not submission.force_anonymous:
        person = session.get(Contributor, submission.contributor_id)
        if person is not None and person.erased_at is None and person.public_name:
            credit = person.public_name.strip() or None
    images: list[StoryImage] = []
    media_rows = session.exec(
        select(Media)
        .where(
            Media.submission_id == submission.id,
            col(Media.kind).in_([MediaKind.PHOTO.value, MediaKind.DOCUMENT.value]),
            col(Media.deleted_at).is_(None),
            col(Media.error).is_(None),
        )
        .order_by(col(Media.position), col(Media.id))
    )
    for media in media_rows:
        renditions: dict[str, Rendition] = {}
        for name, info in (media.renditions or {}).items():
            if not isinstance(info, dict) or not info.get("path"):
                continue
            path = Path(str(info["path"]))
            renditions[str(name)] = Rendition(
                path=data_dir / path if data_dir is not None else path,
                width=int(info.get("width") or 0),
                height=int(info.get("height") or 0),
                size_bytes=int(info.get("bytes") or 0),
            )
        if renditions:
            alt = info_alt(media)
            images.append(StoryImage(renditions=renditions, alt=alt))
    return StoryContent(
        ref=submission.ref,
        text=text,
        lang=submission.lang if submission.lang in ("id", "en") else "id",
        credit_name=credit,
        place_name=submission.place_name,
        themes=_theme_slugs(submission),
        images=tuple(images),
    )


def info_alt(media: Media) -> str | None:
    """A moderator's alt text for a photo, kept beside the renditions under `alt`."""
    value = (media.renditions or {}).get("alt")
    return value if isinstance(value, str) and value.strip() else None


def check_publishable(story: Submission, campaign: Campaign) -> None:
    """Raise NotAllowed unless consent, campaign and filters let this story go out."""
    if story.consent not in SOCIAL_CONSENTS:
        raise NotAllowed(
            f"{story.ref}: consent {story.consent or 'missing'} does not allow social media"
        )
    check_open(campaign)
    if campaign.theme_filter and not set(_theme_slugs(story)) & set(campaign.theme_filter):
        raise NotAllowed(f"{story.ref} has none of the themes of campaign {campaign.slug}")
    if campaign.place_filter:
        wanted = {value.casefold() for value in campaign.place_filter}
        places = {value.casefold() for value in (story.place_id, story.place_name) if value}
        if not places & wanted:
            raise NotAllowed(f"{story.ref} is outside the places of campaign {campaign.slug}")


def _load_story(session: Session, submission_id: int) -> Submission:
    story = session.get(Submission, submission_id)
    if story is None:
        raise NotFound(f"no story #{submission_id}")
    return story


def find_story(session: Session, ref: str) -> Submission:
    """The story with reference `ref` (case-insensitive, e.g. `sp-7k3q`), or NotFound."""
    story = session.exec(select(Submission).where(Submission.ref == ref.strip().upper())).first()
    if story is None:
        raise NotFound(f"no story {ref!r}")
    return story


def _renewed_key(old: str | None, base: str) -> str:
    # A cancelled delivery scheduled again is a new post: a fresh key, or Mastodon would hand
    # back the old (maybe deleted) status for an hour.
    if old and "-r" in old:
        prefix, _, number = old.rpartition("-r")
        if number.isdigit():
            return f"{prefix}-r{int(number) + 1}"
    return f"{base}-r1"


def schedule_story(
    session: Session,
    *,
    submission_id: int,
    campaign_slug: str,
    at: datetime | None,
    channels: Sequence[str] | None,
    actor: str,
    now: datetime | None = None,
) -> list[Delivery]:
    """Schedule an approved story in a campaign: one delivery per channel, story → scheduled.

    `at` is a chosen time, or None for the campaign's next free slot (or the story's existing
    slot in this campaign when it is already scheduled there). Caller commits.
    """
    now = as_utc(now or utcnow())
    story = _load_story(session, submission_id)
    if story.state not in (SubmissionState.APPROVED.value, SubmissionState.SCHEDULED.value):
        raise InvalidTransition(
            f"{story.ref} is {story.state}; only approved stories are scheduled"
        )
    campaign = get_campaign(session, campaign_slug)
    check_publishable(story, campaign)
    names = list(channels) if channels else list(campaign.channels)
    if not names:
        raise NotAllowed(f"campaign {campaign.slug} has no channels; name one with --channel")
    targets: list[Channel] = [get_channel(session, name) for name in dict.fromkeys(names)]
    assert campaign.id is not None and story.id is not None

    existing = {
        row.channel_id: row
        for row in session.exec(
            select(Delivery).where(
                Delivery.submission_id == story.id, Delivery.campaign_id == campaign.id
            )
        )
    }
    if at is not None:
        when = as_utc(at)
        if not is_active_at(campaign, when):
            raise NotAllowed(f"{when.isoformat()} is outside the active dates of {campaign.slug}")
    else:
        live = [d.scheduled_at for d in existing.values() if d.state in LIVE_STATES]
        when = (
            min(as_utc(value) for value in live) if live else next_free_slot(session, campaign, now)
        )

    result: list[Delivery] = []
    for channel in targets:
        assert channel.id is not None
        base_key = idempotency_key(story.id, campaign.id, channel.id)
        delivery = existing.get(channel.id)
        if delivery is not None and delivery.state in LIVE_STATES:
            result.append(delivery)  # already scheduled on this channel: nothing to do
            continue
        if delivery is None:
            delivery = Delivery(
                submission_id=story.id,
                campaign_id=campaign.id,
                channel_id=channel.id,
                idempotency_key=base_key,
                scheduled_at=when,
            )
        else:  # cancelled before: schedule it again as a new post
            delivery.idempotency_key = _renewed_key(delivery.idempotency_key, base_key)
            delivery.remote_id = delivery.remote_url = None
            delivery.receipt = None
            delivery.sent_at = None
            delivery.attempts = 0
            delivery.last_error = None
            delivery.claimed_by = None
            delivery.lease_until = None
        delivery.state = DeliveryState.PENDING.value
        delivery.scheduled_at = when
        delivery.next_attempt_at = when  # the dispatcher's index reads only this column
        delivery.updated_at = utcnow()
        session.add(delivery)
        result.append(delivery)
    session.flush()
    if story.state == SubmissionState.APPROVED.value:
        transition(session, story, SubmissionState.SCHEDULED, actor=actor, action="schedule")
    audit.record(
        session,
        actor=actor,
        action="schedule_deliveries",
        submission_id=story.id,
        after={
            "campaign": campaign.slug,
            "channels": [c.name for c in targets],
            "at": when.isoformat(),
        },
    )
    logger.info("story %s scheduled in %s at %s", story.ref, campaign.slug, when.isoformat())
    return result


def unschedule(
    session: Session,
    *,
    submission_id: int,
    actor: str,
    campaign_slug: str | None = None,
    channels: Sequence[str] | None = None,
) -> int:
    """Cancel a story's pending deliveries (optionally one campaign/channels); returns how many.

    When nothing is left to send or already sent, the story goes back to `approved`.
    """
    story = _load_story(session, submission_id)
    statement = update(Delivery).where(
        col(Delivery.submission_id) == story.id,
        col(Delivery.state) == DeliveryState.PENDING.value,
    )
    if campaign_slug is not None:
        statement = statement.where(
            col(Delivery.campaign_id) == get_campaign(session, campaign_slug).id
        )
    if channels:
        ids = [get_channel(session, name).id for name in channels]
        statement = statement.where(col(Delivery.channel_id).in_(ids))
    cancelled = int(
        session.execute(
            statement.values(state=DeliveryState.CANCELLED.value, updated_at=utcnow())
        ).rowcount  # type: ignore[attr-defined]
        or 0
    )
    session.expire_all()
    story = _load_story(session, submission_id)
    remaining = _live_deliveries(session, submission_id)
    if story.state == SubmissionState.SCHEDULED.value and not remaining:
        transition(session, story, SubmissionState.APPROVED, actor=actor, action="unschedule")
    elif story.state == SubmissionState.SCHEDULED.value:
        mark_published_if_done(session, submission_id, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="unschedule_deliveries",
        submission_id=story.id,
        after={"cancelled": cancelled},
    )
    return cancelled


def _live_deliveries(session: Session, submission_id: int) -> list[Delivery]:
    return list(
        session.exec(
            select(Delivery).where(
                Delivery.submission_id == submission_id,
                col(Delivery.state).in_(LIVE_STATES),
            )
        )
    )


def mark_published_if_done(session: Session, submission_id: int, *, actor: str) -> bool:
    """When every live delivery of a scheduled story is sent: story → published, tell them.

    Returns True when this call published the story. Safe to race: the loser of two concurrent
    callers gets StaleVersion/InvalidTransition and returns False.
    """
    story = session.get(Submission, submission_id)
    if story is None or story.state != SubmissionState.SCHEDULED.value:
        return False
    # Cheap first: is anything of this story still waiting, sending, failed or unknown?
    unsent = session.exec(
        select(func.count()).where(
            Delivery.submission_id == submission_id,
            col(Delivery.state).in_(LIVE_STATES - {DeliveryState.SENT.value}),
        )
    ).one()
    if unsent:
        return False
    live = _live_deliveries(session, submission_id)
    if not live:
        return False
    try:
        transition(session, story, SubmissionState.PUBLISHED, actor=actor, action="publish")
    except (StaleVersion, InvalidTransition):
        return False
    story.published_at = utcnow()
    session.add(story)
    links = [d.remote_url for d in sorted(live, key=lambda d: d.id or 0) if d.remote_url]
    person = session.get(Contributor, story.contributor_id)
    if person is not None and person.erased_at is None:
        notifications.enqueue(
            session,
            kind="published",
            contributor_id=person.id,
            submission_id=story.id,
            params={"ref": story.ref, "links": links},
        )
    logger.info("story %s published (%d posts)", story.ref, len(live))
    return True


def _story_key(story: Submission) -> tuple[str | None, str | None]:
    themes = _theme_slugs(story)
    return (themes[0] if themes else None, story.place_id or story.place_name)


def _clashes(a: tuple[str | None, str | None], b: tuple[str | None, str | None] | None) -> bool:
    if b is None:
        return False
    return (a[0] is not None and a[0] == b[0]) or (a[1] is not None and a[1] == b[1])


def autofill(
    session: Session,
    campaign_slug: str,
    *,
    now: datetime | None = None,
    horizon_days: int = 14,
    actor: str = "system:autofill",
) -> list[Delivery]:
    """Fill the campaign's empty slots in the next `horizon_days` with approved stories.

    Oldest stories first, but two neighbouring slots never get the same main theme or place
    when another story could go there. Caller commits.
    """
    now = as_utc(now or utcnow())
    campaign = get_campaign(session, campaign_slug)
    check_open(campaign)
    assert campaign.id is not None
    slots = free_slots(session, campaign, now, now + timedelta(days=horizon_days))
    if not slots:
        return []
    already = select(Delivery.submission_id).where(
        Delivery.campaign_id == campaign.id, col(Delivery.state).in_(LIVE_STATES)
    )
    candidates: list[Submission] = []
    for story in session.exec(
        select(Submission)
        .where(
            Submission.state == SubmissionState.APPROVED.value,
            col(Submission.consent).in_(SOCIAL_CONSENTS),
            col(Submission.id).not_in(already),
        )
        .order_by(col(Submission.submitted_at), col(Submission.created_at), col(Submission.id))
    ):
        try:
            check_publishable(story, campaign)
        except NotAllowed:
            continue
        candidates.append(story)

    previous = _story_before(session, campaign, slots[0])
    created: list[Delivery] = []
    for slot in slots:
        if not candidates:
            break
        pick = next((s for s in candidates if not _clashes(_story_key(s), previous)), candidates[0])
        candidates.remove(pick)
        assert pick.id is not None
        created.extend(
            schedule_story(
                session,
                submission_id=pick.id,
                campaign_slug=campaign.slug,
                at=slot,
                channels=None,
                actor=actor,
                now=now,
            )
        )
        previous = _story_key(pick)
    return created


def _story_before(
    session: Session, campaign: Campaign, slot: datetime
) -> tuple[str | None, str | None] | None:
    """The theme/place key of the story in the campaign's slot just before `slot`."""
    row = session.exec(
        select(Delivery)
        .where(
            Delivery.campaign_id == campaign.id,
            col(Delivery.state).in_(LIVE_STATES),
            col(Delivery.scheduled_at) < slot,
        )
        .order_by(col(Delivery.scheduled_at).desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    story = session.get(Submission, row.submission_id)
    return None if story is None else _story_key(story)


def deliveries_of(session: Session, submission_id: int) -> list[dict[str, Any]]:
    """A story's deliveries as plain dicts (for the moderator card and the CLI)."""
    rows = session.exec(
        select(Delivery, Channel.name)
        .join(Channel, col(Channel.id) == Delivery.channel_id)
        .where(Delivery.submission_id == submission_id)
        .order_by(col(Delivery.scheduled_at), col(Delivery.id))
    )
    return [
        {
            "id": d.id,
            "channel": name,
            "state": d.state,
            "scheduled_at": d.scheduled_at.isoformat(),
            "url": d.remote_url,
        }
        for d, name in rows
    ]
