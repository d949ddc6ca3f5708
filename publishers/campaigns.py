"""Campaigns: hashtags, active dates, channels and weekly time slots in local time."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from core.clock import as_utc
from core.errors import InvalidInput, NotAllowed, NotFound
from core.models import Campaign
from publishers import calendar, formatting

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
TIME_PATTERN = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
#: How far ahead `next_free_slot` looks before giving up (a campaign with no slots, or full).
SEARCH_DAYS = 400

DEFAULT_SLUG = "adil-untuk-bumi"


def parse_slots(spec: str) -> list[dict[str, Any]]:
    """Parse `mon,wed,fri@09:00,19:00; sat@10:00` into stored slot rules."""
    rules: list[dict[str, Any]] = []
    for raw_part in spec.split(";"):
        part = raw_part.strip()
        if not part:
            continue
        days_text, _, times_text = part.partition("@")
        if not times_text:
            raise InvalidInput(f"slot {part!r} needs days@HH:MM, for example mon,wed,fri@09:00")
        days = [d.strip().lower()[:3] for d in days_text.split(",") if d.strip()]
        if days == ["dai"]:  # "daily"
            days = list(DAYS)
        for day in days:
            if day not in DAYS:
                raise InvalidInput(f"unknown day {day!r}; use mon, tue, wed, thu, fri, sat, sun")
        for raw_clock in times_text.split(","):
            clock = raw_clock.strip()
            if not TIME_PATTERN.match(clock):
                raise InvalidInput(f"time {clock!r} is not HH:MM")
            hour, minute = clock.split(":")
            rules.append({"days": days, "time": f"{int(hour):02d}:{minute}"})
    return rules


def format_slots(slots: Sequence[dict[str, Any]]) -> str:
    """Stored slot rules as text, the inverse of `parse_slots`."""
    return "; ".join(f"{','.join(rule['days'])}@{rule['time']}" for rule in slots)


def zone(campaign: Campaign) -> ZoneInfo:
    """The campaign's time zone."""
    return ZoneInfo(campaign.timezone)


def create_campaign(
    session: Session,
    *,
    slug: str,
    name: str,
    hashtags: Sequence[str] = (),
    channels: Sequence[str] = (),
    slots: Sequence[dict[str, Any]] | str = (),
    starts_on: date | None = None,
    ends_on: date | None = None,
    timezone: str = "Asia/Makassar",
    theme_filter: Sequence[str] = (),
    place_filter: Sequence[str] = (),
) -> Campaign:
    """Add a campaign; bad input raises InvalidInput with a readable message."""
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(f"slug {slug!r}: use 2-63 lowercase letters, digits and dashes")
    if session.exec(select(Campaign).where(Campaign.slug == slug)).first() is not None:
        raise InvalidInput(f"campaign {slug!r} exists already")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {timezone!r}") from None
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidInput("the campaign ends before it starts")
    rules = parse_slots(slots) if isinstance(slots, str) else [dict(rule) for rule in slots]
    for rule in rules:  # validate stored-form rules too
        parse_slots(format_slots([rule]))
    campaign = Campaign(
        slug=slug,
        name=name,
        hashtags=[campaign_hashtag(tag) for tag in hashtags],
        channels=list(channels),
        slots=rules,
        starts_on=starts_on.isoformat() if starts_on else None,
        ends_on=ends_on.isoformat() if ends_on else None,
        timezone=timezone,
        theme_filter=list(theme_filter),
        place_filter=list(place_filter),
    )
    session.add(campaign)
    session.flush()
    return campaign


def campaign_hashtag(tag: str) -> str:
    """A campaign's tag as stored, without '#'; InvalidInput when it is not a usable hashtag."""
    name = formatting.normalize_hashtag(tag)
    if name is None:
        raise InvalidInput(
            f"hashtag {tag!r} may hold only letters, digits and underscores (up to 64)"
        )
    return name


def get_campaign(session: Session, slug: str) -> Campaign:
    """The campaign called `slug`, or NotFound."""
    campaign = session.exec(select(Campaign).where(Campaign.slug == slug)).first()
    if campaign is None:
        raise NotFound(f"no campaign {slug!r}")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    """Every campaign, by slug."""
    return list(session.exec(select(Campaign).order_by(col(Campaign.slug))))


def set_paused(session: Session, slug: str, paused: bool) -> Campaign:
    """Pause or resume a campaign (a paused campaign schedules and sends nothing)."""
    campaign = get_campaign(session, slug)
    campaign.paused = paused
    session.add(campaign)
    session.flush()
    return campaign


def ensure_default_campaign(session: Session, *, channels: Sequence[str] = ("outbox",)) -> Campaign:
    """The demo's climate-justice campaign `#AdilUntukBumi`, created on first use."""
    existing = session.exec(select(Campaign).where(Campaign.slug == DEFAULT_SLUG)).first()
    if existing is not None:
        return existing
    return create_campaign(
        session,
        slug=DEFAULT_SLUG,
        name="Adil untuk Bumi: keadilan iklim dari pesisir",
        hashtags=["AdilUntukBumi", "SuaraPesisir"],
        channels=channels,
        slots="mon,wed,fri@09:00,19:00",
    )


def is_active_on(campaign: Campaign, day: date) -> bool:
    """True when local `day` lies within the campaign's active dates."""
    if campaign.starts_on and day < date.fromisoformat(campaign.starts_on):
        return False
    return not (campaign.ends_on and day > date.fromisoformat(campaign.ends_on))


def is_active_at(campaign: Campaign, at: datetime) -> bool:
    """True when the UTC instant `at` falls on an active local day of the campaign."""
    return is_active_on(campaign, as_utc(at).astimezone(zone(campaign)).date())


def check_open(campaign: Campaign) -> None:
    """Raise NotAllowed when the campaign is paused."""
    if campaign.paused:
        raise NotAllowed(f"campaign {campaign.slug} is paused")


def slot_times(campaign: Campaign, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every slot instant (UTC) with `start < slot <= end` on the campaign's active days."""
    tz = zone(campaign)
    start_utc, end_utc = as_utc(start), as_utc(end)
    day = start_utc.astimezone(tz).date()
    last_day = end_utc.astimezone(tz).date()
    while day <= last_day:
        if is_active_on(campaign, day):
            weekday = DAYS[day.weekday()]
            clocks = sorted({rule["time"] for rule in campaign.slots if weekday in rule["days"]})
            for clock in clocks:
                local = datetime.combine(day, time.fromisoformat(clock), tzinfo=tz)
                instant = local.astimezone(UTC)
                if start_utc < instant <= end_utc:
                    yield instant
        day += timedelta(days=1)


def free_slots(
    session: Session, campaign: Campaign, start: datetime, end: datetime
) -> list[datetime]:
    """The campaign's empty slots in `(start, end]`, earliest first."""
    assert campaign.id is not None
    taken = calendar.taken_times(session, campaign.id, start, end)
    return [slot for slot in slot_times(campaign, start, end) if slot not in taken]


def next_free_slot(session: Session, campaign: Campaign, after: datetime) -> datetime:
    """The first empty slot (UTC) after `after`; NotAllowed when there is none."""
    start = as_utc(after)
    end = start + timedelta(days=SEARCH_DAYS)
    if campaign.ends_on:
        end = min(
            end, datetime.combine(date.fromisoformat(campaign.ends_on), time.max, zone(campaign))
        )
    # Look a month at a time so a busy campaign does not load a year of deliveries at once.
    window = start
    while window < end:
        upper = min(window + timedelta(days=31), end)
        found = free_slots(session, campaign, window, upper)
        if found:
            return found[0]
        window = upper
    raise NotAllowed(f"campaign {campaign.slug} has no free slot after {start.isoformat()}")
