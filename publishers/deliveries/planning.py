"""Planning posts: a new post, a cancelled one revived, cancelled, deleted, decided by a person;
and the story published once all of its posts are out."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import audit, notifications, personal_data
from core.clock import as_utc, utcnow
from core.db import session_scope
from core.delivery_table import Delivery
from core.errors import InvalidInput, InvalidTransition, NotAllowed, NotFound, StaleVersion
from core.installation import install_id
from core.lifecycle import transition
from core.models import Contributor, Submission
from core.states import DELIVERY_TRANSITIONS, DeliveryState, SubmissionState
from publishers.deliveries.transitions import DELIVERIES, change

logger = logging.getLogger(__name__)

D = DeliveryState
#: Delivery states that still hold a slot and a channel for a story.
LIVE_STATES = frozenset({D.PENDING, D.SENDING, D.SENT, D.UNKNOWN, D.FAILED})


@dataclass(frozen=True)
class PlannedPost:
    """A post of a story as planned: which delivery, where, when, in which state."""

    id: int
    submission_id: int
    campaign_id: int | None
    channel_id: int
    scheduled_at: datetime
    next_attempt_at: datetime | None
    state: str
    idempotency_key: str | None
    remote_url: str | None
    caption_override: str | None = None

    @classmethod
    def of(cls, row: Delivery) -> PlannedPost:
        """The plan of a delivery row."""
        assert row.id is not None
        return cls(
            id=row.id,
            submission_id=row.submission_id,
            campaign_id=row.campaign_id,
            channel_id=row.channel_id,
            scheduled_at=as_utc(row.scheduled_at),
            next_attempt_at=row.next_attempt_at,
            state=row.state,
            idempotency_key=row.idempotency_key,
            remote_url=row.remote_url,
            caption_override=row.caption_override,
        )


def idempotency_key(
    install: str, submission_id: int, campaign_id: int | None, channel_id: int
) -> str:
    """A stable key from the delivery's identity: a retry of the same post sends the same key.
    The installation's id is part of it: another database's story #1 is another post."""
    identity = f"pesisir:{install}:{submission_id}:{campaign_id or 0}:{channel_id}"
    return "sp" + hashlib.sha256(identity.encode()).hexdigest()[:30]


def renewed_key(old: str | None, base: str) -> str:
    """The key of a cancelled post scheduled again: a new post needs a new key, or Mastodon would
    hand back the old (maybe deleted) status for an hour."""
    if old and "-r" in old:
        prefix, _, number = old.rpartition("-r")
        if number.isdigit():
            return f"{prefix}-r{int(number) + 1}"
    return f"{base}-r1"


def fresh_fields(at: datetime, now: datetime) -> dict[str, Any]:
    """Every field a post's attempts write, as a new post at `at` has them."""
    return {
        "scheduled_at": at,
        "next_attempt_at": at,  # the dispatcher's index reads only this column
        "attempts": 0,
        "claimed_by": None,
        "claimed_at": None,
        "uncertain_since": None,
        "lease_until": None,
        "remote_id": None,
        "remote_url": None,
        "receipt": None,
        "last_error": None,
        "sent_at": None,
        "late_alerted_at": None,
        "updated_at": now,
    }


def plan(
    session: Session,
    *,
    submission_id: int,
    campaign_id: int | None,
    channel_id: int,
    at: datetime,
) -> PlannedPost:
    """The post of a story on a channel in a campaign at `at`: a new pending row; a live one
    as it is; a cancelled one revived as a new post (new key, every field reset)."""
    now = utcnow()
    at = as_utc(at)
    base = idempotency_key(install_id(session), submission_id, campaign_id, channel_id)
    row = session.exec(
        select(Delivery).where(
            Delivery.submission_id == submission_id,
            Delivery.campaign_id == campaign_id,
            Delivery.channel_id == channel_id,
        )
    ).first()
    if row is None:
        row = Delivery(
            submission_id=submission_id,
            campaign_id=campaign_id,
            channel_id=channel_id,
            state=D.PENDING.value,
            idempotency_key=base,
            **fresh_fields(at, now),
        )
        session.add(row)
        session.flush()
        return PlannedPost.of(row)
    if D(row.state) not in LIVE_STATES:
        key = renewed_key(row.idempotency_key, base)
        fields = fresh_fields(at, now)
        change(session, D.PENDING, DELIVERIES.c.id == row.id, idempotency_key=key, **fields)
        session.refresh(row)
    return PlannedPost.of(row)


def move(session: Session, delivery_id: int, at: datetime) -> bool:
    """A pending post to another time; False when it is not pending (being sent, or out)."""
    now = utcnow()
    at = as_utc(at)
    column = DELIVERIES.c
    moved = session.execute(
        update(Delivery)
        .where(column.id == delivery_id, column.state == D.PENDING.value)
        .values(scheduled_at=at, next_attempt_at=at, late_alerted_at=None, updated_at=now)
        .returning(column.id)
    )
    return moved.first() is not None


def cancel_pending(
    session: Session,
    *,
    submission_id: int,
    campaign_id: int | None = None,
    channel_ids: Sequence[int] | None = None,
    also_failed: bool = False,
) -> int:
    """Cancel a story's pending posts (of one campaign, or some channels); how many. With
    `also_failed`, failed ones too, so nobody can retry them (a withdrawal)."""
    column = DELIVERIES.c
    states = [D.PENDING.value, D.FAILED.value] if also_failed else [D.PENDING.value]
    where = [column.submission_id == submission_id, column.state.in_(states)]
    if campaign_id is not None:
        where.append(column.campaign_id == campaign_id)
    if channel_ids:
        where.append(column.channel_id.in_(list(channel_ids)))
    return len(change(session, D.CANCELLED, *where, updated_at=utcnow()))


def mark_deleted(session: Session, delivery_id: int) -> bool:
    """A sent post the platform deleted for us: cancelled, with the reason kept."""
    moved = change(
        session,
        D.CANCELLED,
        DELIVERIES.c.id == delivery_id,
        DELIVERIES.c.state == D.SENT.value,
        last_error="post deleted",
        updated_at=utcnow(),
    )
    return bool(moved)


def resolve(
    session: Session,
    delivery_id: int,
    target: DeliveryState,
    *,
    actor: str,
    url: str | None = None,
) -> PlannedPost:
    """A person's decision on a delivery: retry (→ pending), sent (with its url), or cancel.

    Used for `unknown` posts (a person looked at the channel) and `failed` ones (fixed and
    retried); never for a post a worker is sending. Audited on the story.
    """
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery #{delivery_id}")
    current = DeliveryState(delivery.state)
    if current == D.SENDING:
        # A worker holds it: moving it by hand could send it twice. If that worker died, the
        # lease sweeper makes it `unknown` when its lease ends; then decide.
        raise InvalidTransition(
            f"delivery #{delivery_id} is being sent by {delivery.claimed_by}; wait until it is "
            "sent, or unknown after its lease ends"
        )
    # A cancelled post comes back only as a new post, by scheduling its story again (`plan`).
    if current == D.CANCELLED or target not in DELIVERY_TRANSITIONS[current]:
        raise InvalidTransition(f"delivery #{delivery_id} is {current}; cannot become {target}")
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now, "lease_until": None}
    if target == D.PENDING:
        values |= {"next_attempt_at": now, "attempts": 0}
    if target == D.SENT:
        values |= {
            "sent_at": now,
            "remote_url": url,
            "remote_id": delivery.remote_id or url or f"manual-{delivery_id}",
        }
    column = DELIVERIES.c
    if not change(session, target, column.id == delivery_id, column.state == current, **values):
        raise InvalidTransition(f"delivery #{delivery_id} changed meanwhile; look again")
    audit.record(
        session,
        actor=actor,
        action=f"delivery_{target.value}",
        submission_id=delivery.submission_id,
        before={"delivery": delivery_id, "state": current.value},
        after={"delivery": delivery_id, "state": target.value, "url": url},
    )
    session.flush()
    session.refresh(delivery)
    if target in (D.SENT, D.CANCELLED):
        publish_story_if_done(session, delivery.submission_id, actor=actor)
    return PlannedPost.of(delivery)


def post(session: Session, delivery_id: int) -> PlannedPost:
    """One post as planned, or NotFound."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound(f"no post #{delivery_id}")
    return PlannedPost.of(row)


def live_posts(session: Session, submission_id: int) -> list[PlannedPost]:
    """A story's posts that still hold their slot (not cancelled), oldest first."""
    rows = session.exec(
        select(Delivery)
        .where(
            Delivery.submission_id == submission_id,
            col(Delivery.state).in_([state.value for state in LIVE_STATES]),
        )
        .order_by(col(Delivery.id))
    )
    return [PlannedPost.of(row) for row in rows]


def publish_story_if_done(session: Session, submission_id: int, *, actor: str) -> bool:
    """When every live post of a scheduled story is sent: story → published, tell them.

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
            col(Delivery.state).in_([state.value for state in LIVE_STATES - {D.SENT}]),
        )
    ).one()
    if unsent:
        return False
    live = live_posts(session, submission_id)
    if not live:
        return False
    try:
        transition(session, story, SubmissionState.PUBLISHED, actor=actor, action="publish")
    except (StaleVersion, InvalidTransition):
        return False
    story.published_at = utcnow()
    session.add(story)
    links = [delivery.remote_url for delivery in live if delivery.remote_url]
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


def publish_finished_stories(engine: Engine, *, limit: int = 200) -> list[str]:
    """Publish scheduled stories whose posts are all out: a kill between a post's last "sent"
    and the story's publication leaves one so, and nothing else would move it. The refs
    published; each contributor is told once (`publish_story_if_done` decides, race-safe)."""
    unsent = [state.value for state in LIVE_STATES - {D.SENT}]
    posts = DELIVERIES.c
    owner = col(Submission.id)
    with session_scope(engine) as session:
        candidates = list(
            session.exec(
                select(Submission.id)
                .where(
                    Submission.state == SubmissionState.SCHEDULED.value,
                    exists().where(posts.submission_id == owner, posts.state == D.SENT.value),
                    ~exists().where(posts.submission_id == owner, posts.state.in_(unsent)),
                )
                .limit(limit)
            )
        )
    published = []
    for story_id in candidates:
        with session_scope(engine) as session:
            if story_id is not None and publish_story_if_done(
                session, story_id, actor="system:sweeper"
            ):
                row = session.get(Submission, story_id)
                published.append(row.ref if row else str(story_id))
    if published:
        logger.info("published %d stories whose posts were all out", len(published))
    return published


#: States in which a post's caption may still change (it has not gone out, nor is going).
CAPTION_STATES = (D.PENDING.value, D.FAILED.value, D.UNKNOWN.value)
MAX_CAPTION_CHARS = 4000


def set_caption(
    session: Session, delivery_id: int, caption: str | None, *, actor: str
) -> PlannedPost:
    """The campaign team's own caption for one post (None or blank: the story's public text),
    which the composer still fits to the channel's rules. Personal data is refused; only a post
    that has not gone out changes. Audited on the story."""
    text = (caption or "").strip() or None
    if text is not None:
        if len(text) > MAX_CAPTION_CHARS:
            raise InvalidInput(f"a caption has at most {MAX_CAPTION_CHARS} characters")
        found = sorted({item.kind for item in personal_data.personal(text)})
        if found:
            raise NotAllowed(f"the caption holds personal data ({', '.join(found)}); remove it")
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound(f"no post #{delivery_id}")
    before = row.caption_override
    column = DELIVERIES.c
    changed = session.execute(
        update(Delivery)
        .where(column.id == delivery_id, column.state.in_(CAPTION_STATES))
        .values(caption_override=text, updated_at=utcnow())
        .returning(column.id)
    )
    if changed.first() is None:
        raise InvalidTransition(
            f"post #{delivery_id} is {row.state}: its caption no longer changes"
        )
    audit.record(
        session,
        actor=actor,
        action="post_caption",
        submission_id=row.submission_id,
        before={"delivery": delivery_id, "caption": before},
        after={"delivery": delivery_id, "caption": text},
    )
    session.flush()
    session.refresh(row)
    return PlannedPost.of(row)
