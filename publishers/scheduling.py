"""Scheduling approved stories into campaign slots: one delivery per story, campaign, channel."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from core import audit
from core.clock import as_utc, utcnow
from core.errors import InvalidTransition, NotAllowed
from core.lifecycle import transition
from core.models import Campaign, Channel, Submission
from core.projections import public_text_problem, theme_slugs
from core.states import SOCIAL_CONSENTS, DeliveryState, SubmissionState
from core.stories import get_story
from publishers import calendar, deliveries
from publishers.campaigns import (
    check_open,
    free_slots,
    get_campaign,
    is_active_at,
    next_free_slot,
    zone,
)
from publishers.channels_config import get_channel
from publishers.deliveries import PlannedPost

logger = logging.getLogger(__name__)


def check_publishable(story: Submission, campaign: Campaign) -> None:
    """Raise NotAllowed unless consent, campaign and filters let this story go out."""
    if story.consent not in SOCIAL_CONSENTS:
        raise NotAllowed(
            f"{story.ref}: consent {story.consent or 'missing'} does not allow social media"
        )
    problem = public_text_problem(story)
    if problem is not None:
        raise NotAllowed(problem)
    check_open(campaign)
    if campaign.theme_filter and not set(theme_slugs(story)) & set(campaign.theme_filter):
        raise NotAllowed(f"{story.ref} has none of the themes of campaign {campaign.slug}")
    if campaign.place_filter:
        wanted = {value.casefold() for value in campaign.place_filter}
        places = {value.casefold() for value in (story.place_id, story.place_name) if value}
        if not places & wanted:
            raise NotAllowed(f"{story.ref} is outside the places of campaign {campaign.slug}")


def schedule_story(
    session: Session,
    *,
    submission_id: int,
    campaign_slug: str,
    at: datetime | None,
    channels: Sequence[str] | None,
    actor: str,
    now: datetime | None = None,
) -> list[PlannedPost]:
    """Schedule an approved story in a campaign: one delivery per channel, story → scheduled.

    `at` is a chosen time, or None for the campaign's next free slot (or the story's existing
    slot in this campaign when it is already scheduled there). Caller commits.
    """
    now = as_utc(now or utcnow())
    story = get_story(session, submission_id)
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

    live = [
        post for post in deliveries.live_posts(session, story.id) if post.campaign_id == campaign.id
    ]
    if at is not None:
        when = as_utc(at)
        if not is_active_at(campaign, when):
            raise NotAllowed(f"{when.isoformat()} is outside the active dates of {campaign.slug}")
        # Already in this campaign at another time: its posts move (a new time was asked for).
        _move_all(session, story, campaign, live, when)
    elif live:
        when = min(post.scheduled_at for post in live)
    else:
        when = next_free_slot(session, campaign, now)

    result: list[PlannedPost] = []
    for channel in targets:
        assert channel.id is not None
        result.append(
            deliveries.plan(
                session,
                submission_id=story.id,
                campaign_id=campaign.id,
                channel_id=channel.id,
                at=when,
            )
        )
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


def _move_all(
    session: Session,
    story: Submission,
    campaign: Campaign,
    live: list[PlannedPost],
    when: datetime,
) -> None:
    """A story already in this campaign at another time: its posts move together, or not at all
    when one of them is already being sent or out."""
    moving = [post for post in live if post.scheduled_at != when]
    stuck = [post for post in moving if post.state != DeliveryState.PENDING.value]
    if stuck:
        raise NotAllowed(
            f"{story.ref} has posts in {campaign.slug} that are already {stuck[0].state}; "
            "they cannot move (see pesisir posts list)"
        )
    for post in moving:
        deliveries.move(session, post.id, when)


def move_post(session: Session, *, delivery_id: int, at: datetime, actor: str) -> PlannedPost:
    """Move one pending post to another time in its campaign (the calendar's drag); audited."""
    post = deliveries.post(session, delivery_id)
    story = get_story(session, post.submission_id)
    when = as_utc(at)
    if post.campaign_id is not None:
        campaign = session.get(Campaign, post.campaign_id)
        assert campaign is not None
        check_open(campaign)
        if not is_active_at(campaign, when):
            raise NotAllowed(f"{when.isoformat()} is outside the active dates of {campaign.slug}")
    if not deliveries.move(session, delivery_id, when):
        raise InvalidTransition(f"post #{delivery_id} is {post.state}: only a waiting post moves")
    audit.record(
        session,
        actor=actor,
        action="move_post",
        submission_id=story.id,
        before={"delivery": delivery_id, "at": post.scheduled_at.isoformat()},
        after={"delivery": delivery_id, "at": when.isoformat()},
    )
    return deliveries.post(session, delivery_id)


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
    story = get_story(session, submission_id)
    campaign_id = get_campaign(session, campaign_slug).id if campaign_slug is not None else None
    channel_ids = [get_channel(session, name).id or 0 for name in channels] if channels else None
    cancelled = deliveries.cancel_pending(
        session, submission_id=submission_id, campaign_id=campaign_id, channel_ids=channel_ids
    )
    session.expire_all()
    story = get_story(session, submission_id)
    remaining = deliveries.live_posts(session, submission_id)
    if story.state == SubmissionState.SCHEDULED.value and not remaining:
        transition(session, story, SubmissionState.APPROVED, actor=actor, action="unschedule")
    elif story.state == SubmissionState.SCHEDULED.value:
        deliveries.publish_story_if_done(session, submission_id, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="unschedule_deliveries",
        submission_id=story.id,
        after={"cancelled": cancelled},
    )
    return cancelled


def _story_key(story: Submission) -> tuple[str | None, str | None]:
    themes = theme_slugs(story)
    return (themes[0] if themes else None, story.place_id or story.place_name)


def _clashes(a: tuple[str | None, str | None], b: tuple[str | None, str | None] | None) -> bool:
    if b is None:
        return False
    return (a[0] is not None and a[0] == b[0]) or (a[1] is not None and a[1] == b[1])


#: How far an open-ended campaign (no end date) is filled by autofill.
OPEN_ENDED_DAYS = 28


def fill_until(campaign: Campaign, now: datetime, horizon_days: int | None) -> datetime:
    """The end of the period autofill spreads stories over: the campaign's last day, or
    `horizon_days` (default OPEN_ENDED_DAYS) ahead for a campaign without one."""
    if horizon_days is not None:
        return now + timedelta(days=horizon_days)
    if campaign.ends_on:
        last = date.fromisoformat(campaign.ends_on)
        return datetime.combine(last, time.max, tzinfo=zone(campaign))
    return now + timedelta(days=OPEN_ENDED_DAYS)


def spread(slots: Sequence[datetime], count: int) -> list[datetime]:
    """`count` of the slots, evenly spaced over all of them (all of them when there are fewer)."""
    if count >= len(slots):
        return list(slots)
    return [slots[(index * len(slots)) // count] for index in range(count)]


def autofill(
    session: Session,
    campaign_slug: str,
    *,
    now: datetime | None = None,
    horizon_days: int | None = None,
    actor: str = "system:autofill",
) -> list[PlannedPost]:
    """Spread the approved stories over the campaign's empty slots until its end (or
    `horizon_days` ahead): with fewer stories than slots, evenly over the whole period rather
    than packed into its first days.

    Oldest stories first, but two neighbouring posts never get the same main theme or place
    when another story could go there. Caller commits.
    """
    now = as_utc(now or utcnow())
    campaign = get_campaign(session, campaign_slug)
    check_open(campaign)
    assert campaign.id is not None
    slots = free_slots(session, campaign, now, fill_until(campaign, now, horizon_days))
    if not slots:
        return []
    candidates: list[Submission] = []
    for story in session.exec(
        select(Submission)
        .where(
            Submission.state == SubmissionState.APPROVED.value,
            col(Submission.consent).in_(SOCIAL_CONSENTS),
            col(Submission.id).not_in(calendar.scheduled_stories(campaign.id)),
        )
        .order_by(col(Submission.submitted_at), col(Submission.created_at), col(Submission.id))
    ):
        try:
            check_publishable(story, campaign)
        except NotAllowed:
            continue
        candidates.append(story)

    chosen = spread(slots, len(candidates))
    before = calendar.story_before(session, campaign.id, chosen[0]) if chosen else None
    previous_story = session.get(Submission, before) if before is not None else None
    previous = _story_key(previous_story) if previous_story is not None else None
    created: list[PlannedPost] = []
    for slot in chosen:
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


def cancel_post(session: Session, *, delivery_id: int, actor: str) -> PlannedPost:
    """Cancel one post: a waiting one as `unschedule` does for its campaign and channel (its
    story returns to approved when nothing else is left), a failed or unknown one as a person's
    decision (`deliveries.resolve`). Audited."""
    post = deliveries.post(session, delivery_id)
    if post.state != DeliveryState.PENDING.value:
        return deliveries.resolve(session, delivery_id, DeliveryState.CANCELLED, actor=actor)
    campaign = session.get(Campaign, post.campaign_id) if post.campaign_id else None
    channel = session.get(Channel, post.channel_id)
    assert channel is not None
    unschedule(
        session,
        submission_id=post.submission_id,
        actor=actor,
        campaign_slug=campaign.slug if campaign else None,
        channels=[channel.name],
    )
    return deliveries.post(session, delivery_id)
