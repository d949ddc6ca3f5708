"""The calendar of posts: read-only views of the deliveries table, in local time.

Every delivery with its time, story, campaign, channel and state for the campaign team; a
story's posts for its card; the slots a campaign has taken; the posts a withdrawal must take
down. Changes go through `publishers.deliveries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func
from sqlmodel import Session, col, select

from core.clock import as_utc, format_local, utcnow
from core.delivery_table import Delivery
from core.errors import InvalidInput
from core.keyset import after_cursor, encode_cursor
from core.models import Campaign, Channel, Submission
from core.states import DeliveryState

D = DeliveryState
#: States that hold a campaign slot.
SLOT_STATES = [state.value for state in D if state != D.CANCELLED]


@dataclass(frozen=True)
class CalendarRow:
    """One delivery as the campaign team sees it (local time, no private data)."""

    id: int
    at_local: str
    at_utc: str
    ref: str
    campaign: str | None
    channel: str
    state: str
    attempts: int
    url: str | None
    last_error: str | None
    channel_paused: str | None = None  # why its channel is paused, when it is

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _rows(session: Session, timezone: str, *where: ColumnElement[bool]) -> list[CalendarRow]:
    """Calendar rows of the deliveries `where` selects, by time."""
    statement = (
        select(Delivery, Submission.ref, Channel, Campaign.slug)
        .join(Submission, col(Submission.id) == Delivery.submission_id)
        .join(Channel, col(Channel.id) == Delivery.channel_id)
        .join(Campaign, col(Campaign.id) == Delivery.campaign_id, isouter=True)
        .where(*where)
        .order_by(col(Delivery.scheduled_at), col(Delivery.id))
    )
    tz = ZoneInfo(timezone)
    rows = []
    for delivery, ref, channel, campaign in session.exec(statement):
        at = as_utc(delivery.scheduled_at)
        rows.append(
            CalendarRow(
                id=delivery.id or 0,
                at_local=at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"),
                at_utc=at.isoformat(),
                ref=ref,
                campaign=campaign,
                channel=channel.name,
                state=delivery.state,
                attempts=delivery.attempts,
                url=delivery.remote_url,
                last_error=delivery.last_error,
                channel_paused=(channel.paused_reason or "") if channel.paused else None,
            )
        )
    return rows


def _calendar_where(
    status: str | None, campaign_slug: str | None, since: datetime | None
) -> list[ColumnElement[bool]]:
    if status is not None and status not in {s.value for s in D}:
        known = ", ".join(s.value for s in D)
        raise InvalidInput(f"unknown status {status!r}; use one of {known}")
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(col(Delivery.state) == status)
    if campaign_slug is not None:
        # By the campaign's id, so the (campaign_id, scheduled_at, id) index serves the order.
        campaign = select(Campaign.id).where(Campaign.slug == campaign_slug).scalar_subquery()
        where.append(col(Delivery.campaign_id) == campaign)
    if since is not None:
        where.append(col(Delivery.scheduled_at) >= as_utc(since))
    return where


def calendar(
    session: Session,
    *,
    timezone: str,
    status: str | None = None,
    campaign_slug: str | None = None,
    since: datetime | None = None,
) -> list[CalendarRow]:
    """Every delivery by time, optionally of one state or campaign, shown in `timezone` (for
    a campaign's or a story's few posts; the whole calendar goes a page at a time)."""
    return _rows(session, timezone, *_calendar_where(status, campaign_slug, since))


@dataclass(frozen=True)
class CalendarPage:
    """One page of the calendar and the cursor of the next (None on the last page)."""

    rows: list[CalendarRow]
    next_cursor: str | None


#: The most posts a page holds.
MAX_PAGE = 500


def calendar_page(
    session: Session,
    *,
    timezone: str,
    status: str | None = None,
    campaign_slug: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    after: str | None = None,
) -> CalendarPage:
    """One page of deliveries by time, after the cursor `after` (keyset on the indexed
    (scheduled_at, id): the thousandth page costs what the first does)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} posts, not {limit}")
    where = _calendar_where(status, campaign_slug, since)
    if after:
        where.append(after_cursor(col(Delivery.scheduled_at), col(Delivery.id), after))
    found = session.exec(
        select(Delivery.id, Delivery.scheduled_at)
        .where(*where)
        .order_by(col(Delivery.scheduled_at), col(Delivery.id))
        .limit(limit + 1)
    ).all()
    shown = found[:limit]
    rows = rows_by_id(session, [int(i or 0) for i, _ in shown], timezone=timezone)
    cursor = None
    if len(found) > limit:
        last_id, last_at = shown[-1]
        cursor = encode_cursor(last_at, int(last_id or 0))
    return CalendarPage(rows, cursor)


def rows_by_id(session: Session, ids: Sequence[int], *, timezone: str) -> list[CalendarRow]:
    """The calendar rows of these deliveries, by time."""
    return _rows(session, timezone, col(Delivery.id).in_(list(ids)))


@dataclass(frozen=True)
class StoryPost:
    """One post of a story, as its card and the CLI show it."""

    id: int
    channel: str
    campaign: str | None  # the campaign's name
    state: str
    scheduled_at: datetime
    url: str | None


def story_posts(session: Session, submission_id: int) -> list[StoryPost]:
    """A story's posts (cancelled ones too), by time."""
    rows = session.exec(
        select(Delivery, Channel.name, Campaign.name)
        .join(Channel, col(Channel.id) == Delivery.channel_id)
        .join(Campaign, col(Campaign.id) == Delivery.campaign_id, isouter=True)
        .where(Delivery.submission_id == submission_id)
        .order_by(col(Delivery.scheduled_at), col(Delivery.id))
    )
    return [
        StoryPost(d.id or 0, channel, campaign, d.state, as_utc(d.scheduled_at), d.remote_url)
        for d, channel, campaign in rows
    ]


def schedule_lines(
    session: Session, submission_id: int, *, timezone: str
) -> list[tuple[str, str, list[str]]]:
    """A story's posts that are not cancelled, grouped: (campaign, local time, channels)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for post in story_posts(session, submission_id):
        if post.state == D.CANCELLED.value:
            continue
        key = (post.campaign or "-", format_local(post.scheduled_at, timezone))
        grouped.setdefault(key, []).append(post.channel)
    return [(campaign, at, channels) for (campaign, at), channels in grouped.items()]


def taken_times(
    session: Session, campaign_id: int, start: datetime, end: datetime
) -> set[datetime]:
    """Instants already used by a live delivery of a campaign in `[start, end]`."""
    rows = session.exec(
        select(Delivery.scheduled_at).where(
            Delivery.campaign_id == campaign_id,
            col(Delivery.state).in_(SLOT_STATES),
            col(Delivery.scheduled_at) >= as_utc(start),
            col(Delivery.scheduled_at) <= as_utc(end),
        )
    )
    return {as_utc(value) for value in rows}


def scheduled_stories(campaign_id: int) -> Select[Any]:
    """A query of the ids of stories with a live post in a campaign (for `NOT IN`)."""
    return select(Delivery.submission_id).where(
        Delivery.campaign_id == campaign_id, col(Delivery.state).in_(SLOT_STATES)
    )


def story_before(session: Session, campaign_id: int, slot: datetime) -> int | None:
    """The story of the campaign's live post just before `slot`, if any."""
    found = session.exec(
        select(Delivery.submission_id)
        .where(
            Delivery.campaign_id == campaign_id,
            col(Delivery.state).in_(SLOT_STATES),
            col(Delivery.scheduled_at) < as_utc(slot),
        )
        .order_by(col(Delivery.scheduled_at).desc())
        .limit(1)
    ).first()
    return None if found is None else int(found)


def stories_with_posts(session: Session, submission_ids: Sequence[int]) -> set[int]:
    """Which of these stories have posts at all (any state: each may be out, coming, being
    sent, retried, or have left something behind on its platform)."""
    rows = session.exec(
        select(Delivery.submission_id).where(col(Delivery.submission_id).in_(list(submission_ids)))
    )
    return {int(row) for row in rows}


@dataclass(frozen=True)
class OutPost:
    """A post that is (or may be) on a channel: what deleting it needs."""

    delivery_id: int
    state: str
    channel: str
    kind: str
    config: dict[str, Any]
    remote_id: str | None
    url: str | None
    receipt_extra: dict[str, Any]
    idempotency_key: str | None = None


def posts_out(
    session: Session, submission_id: int, states: Sequence[str] | None = None
) -> list[OutPost]:
    """A story's posts that are sent, being sent or of unknown fate (or in `states`), oldest
    first."""
    states = states or [D.SENT.value, D.SENDING.value, D.UNKNOWN.value]
    rows = session.exec(
        select(Delivery, Channel)
        .join(Channel, col(Channel.id) == Delivery.channel_id)
        .where(Delivery.submission_id == submission_id, col(Delivery.state).in_(states))
        .order_by(col(Delivery.id))
    )
    return [
        OutPost(
            delivery_id=d.id or 0,
            state=d.state,
            channel=channel.name,
            kind=channel.kind,
            config=dict(channel.config or {}),
            remote_id=d.remote_id,
            url=d.remote_url,
            receipt_extra=dict((d.receipt or {}).get("extra") or {}),
            idempotency_key=d.idempotency_key,
        )
        for d, channel in rows
    ]


# ------------------------------------------------------------------ the dashboard's calendar


@dataclass(frozen=True)
class SlotPost:
    """One post in the dashboard's calendar, with what is worth a warning about it."""

    id: int
    submission_id: int
    ref: str
    campaign_id: int | None
    campaign: str | None  # slug
    channel_id: int
    channel: str
    kind: str
    state: str
    at: datetime  # UTC
    attempts: int
    url: str | None
    last_error: str | None
    channel_paused: str | None  # why its channel is paused, when it is
    campaign_paused: bool
    captioned: bool  # the team wrote its own caption for it
    warnings: tuple[str, ...] = ()  # channel_paused, campaign_paused, past, slot_clash, twice


@dataclass(frozen=True)
class CalendarDay:
    """One local day: how many posts in each state, and the first of them by time."""

    day: date
    counts: dict[str, int]
    total: int
    posts: list[SlotPost]


def local_midnight(day: date, timezone: str) -> datetime:
    """The UTC instant a local day starts."""
    return as_utc(datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone)))


def calendar_days(
    session: Session,
    *,
    start: date,
    days: int,
    timezone: str,
    campaign_slug: str | None = None,
    per_day: int = 50,
    now: datetime | None = None,
) -> list[CalendarDay]:
    """The live posts (not cancelled) of `days` local days from `start`: every day counted by
    state, the first `per_day` of each day in full, with their warnings."""
    tz = ZoneInfo(timezone)
    begin, end = local_midnight(start, timezone), local_midnight(start + timedelta(days), timezone)
    where: list[ColumnElement[bool]] = [
        col(Delivery.scheduled_at) >= begin,
        col(Delivery.scheduled_at) < end,
        col(Delivery.state).in_(SLOT_STATES),
    ]
    if campaign_slug is not None:
        where.append(
            col(Delivery.campaign_id).in_(select(Campaign.id).where(Campaign.slug == campaign_slug))
        )
    light = session.exec(
        select(Delivery.id, Delivery.scheduled_at, Delivery.state)
        .where(*where)
        .order_by(col(Delivery.scheduled_at), col(Delivery.id))
    )
    by_day: dict[date, tuple[dict[str, int], list[int]]] = {
        start + timedelta(n): ({}, []) for n in range(days)
    }
    for delivery_id, at, state in light:
        counts, first = by_day[as_utc(at).astimezone(tz).date()]
        counts[state] = counts.get(state, 0) + 1
        if len(first) < per_day:
            first.append(int(delivery_id or 0))
    shown = [delivery_id for _, ids in by_day.values() for delivery_id in ids]
    posts = {post.id: post for post in slot_posts(session, shown, now=now)}
    return [
        CalendarDay(day, counts, sum(counts.values()), [posts[i] for i in ids if i in posts])
        for day, (counts, ids) in by_day.items()
    ]


def slot_posts(
    session: Session, ids: Sequence[int], *, now: datetime | None = None
) -> list[SlotPost]:
    """These posts in full, with their warnings."""
    if not ids:
        return []
    now = now or utcnow()
    rows = list(
        session.exec(
            select(Delivery, Submission.ref, Channel, Campaign)
            .join(Submission, col(Submission.id) == Delivery.submission_id)
            .join(Channel, col(Channel.id) == Delivery.channel_id)
            .join(Campaign, col(Campaign.id) == Delivery.campaign_id, isouter=True)
            .where(col(Delivery.id).in_(list(ids)))
            .order_by(col(Delivery.scheduled_at), col(Delivery.id))
        )
    )
    clashes = _slot_clashes(
        session, [d.channel_id for d, *_ in rows], [d.scheduled_at for d, *_ in rows]
    )
    twice = _twice_on_a_channel(session, [d.submission_id for d, *_ in rows])
    posts = []
    for delivery, ref, channel, campaign in rows:
        at = as_utc(delivery.scheduled_at)
        waiting = delivery.state == D.PENDING.value
        warnings = [
            name
            for name, applies in (
                ("channel_paused", waiting and channel.paused),
                ("campaign_paused", waiting and campaign is not None and campaign.paused),
                ("past", waiting and at < as_utc(now)),
                ("slot_clash", (delivery.channel_id, at) in clashes),
                ("twice", (delivery.submission_id, delivery.channel_id) in twice),
            )
            if applies
        ]
        posts.append(
            SlotPost(
                id=delivery.id or 0,
                submission_id=delivery.submission_id,
                ref=ref,
                campaign_id=delivery.campaign_id,
                campaign=campaign.slug if campaign else None,
                channel_id=delivery.channel_id,
                channel=channel.name,
                kind=channel.kind,
                state=delivery.state,
                at=at,
                attempts=delivery.attempts,
                url=delivery.remote_url,
                last_error=delivery.last_error,
                channel_paused=(channel.paused_reason or "") if channel.paused else None,
                campaign_paused=bool(campaign is not None and campaign.paused),
                captioned=bool(delivery.caption_override),
                warnings=tuple(warnings),
            )
        )
    return posts


def _slot_clashes(
    session: Session, channel_ids: Sequence[int], times: Sequence[datetime]
) -> set[tuple[int, datetime]]:
    """(channel, time) pairs where two stories' live posts share one slot."""
    if not times:
        return set()
    rows = session.exec(
        select(Delivery.channel_id, Delivery.scheduled_at)
        .where(
            col(Delivery.channel_id).in_(set(channel_ids)),
            col(Delivery.scheduled_at).in_({as_utc(at) for at in times}),
            col(Delivery.state).in_(SLOT_STATES),
        )
        .group_by(col(Delivery.channel_id), col(Delivery.scheduled_at))
        .having(func.count(func.distinct(Delivery.submission_id)) > 1)
    )
    return {(int(channel), as_utc(at)) for channel, at in rows}


def _twice_on_a_channel(session: Session, story_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(story, channel) pairs with more than one live post (two campaigns, one channel)."""
    if not story_ids:
        return set()
    rows = session.exec(
        select(Delivery.submission_id, Delivery.channel_id)
        .where(
            col(Delivery.submission_id).in_(set(story_ids)), col(Delivery.state).in_(SLOT_STATES)
        )
        .group_by(col(Delivery.submission_id), col(Delivery.channel_id))
        .having(func.count() > 1)
    )
    return {(int(story), int(channel)) for story, channel in rows}


def posts_in_states(
    session: Session, states: Sequence[str], *, limit: int = 200, now: datetime | None = None
) -> list[SlotPost]:
    """The newest posts in these states (the dashboard's failures first), with warnings."""
    ids = session.exec(
        select(Delivery.id)
        .where(col(Delivery.state).in_(list(states)))
        .order_by(col(Delivery.updated_at).desc(), col(Delivery.id).desc())
        .limit(limit)
    )
    return slot_posts(session, [int(i or 0) for i in ids], now=now)


def count_in_states(session: Session, states: Sequence[str]) -> int:
    """How many posts are in these states (counted on the index that starts with the state)."""
    counted = session.exec(
        select(func.count()).select_from(Delivery).where(col(Delivery.state).in_(list(states)))
    ).one()
    return int(counted)


def post_links(
    session: Session, submission_ids: Sequence[int] | Select[Any]
) -> dict[int, list[str]]:
    """The public links (http, https) of these stories' sent posts, by story, oldest first, for
    exports (an outbox post's `file://` path is no link for the public); the stories by id, or
    a query of their ids."""
    if isinstance(submission_ids, Sequence) and not submission_ids:
        return {}
    wanted = submission_ids if isinstance(submission_ids, Select) else list(submission_ids)
    rows = session.exec(
        select(Delivery.submission_id, Delivery.remote_url)
        .where(
            col(Delivery.submission_id).in_(wanted),
            Delivery.state == D.SENT.value,
            col(Delivery.remote_url).is_not(None),
        )
        .order_by(col(Delivery.submission_id), col(Delivery.sent_at), col(Delivery.id))
    )
    links: dict[int, list[str]] = {}
    for submission_id, url in rows:
        if url and str(url).startswith(("https://", "http://")):
            links.setdefault(int(submission_id), []).append(str(url))
    return links
