"""What time it is (always UTC, always aware), and times as people read and write them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from core.errors import InvalidInput


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime; naive values are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_local(moment: datetime, timezone: str) -> str:
    """An instant as a person reads it, in local time with its zone: `2026-11-25 09:00 WITA`."""
    return as_utc(moment).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def parse_local_time(text: str, timezone: str) -> datetime:
    """`2026-11-25 09:00` in `timezone`, or an ISO time with its own offset; returned in UTC."""
    cleaned = text.strip().replace("T", " ")
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(
            f"time {text!r} not understood; write it like 2026-11-25 09:00 "
            "(local time) or 2026-11-25T09:00+08:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return as_utc(value)


def parse_day(text: str | None) -> date | None:
    """A day written `2026-12-01` (None for nothing); InvalidInput, kindly, for anything else."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date like 2026-12-01") from None


def format_duration(seconds: float | None) -> str:
    """A recording's length as people read it: `0:42`, `12:05` (`?` when unknown)."""
    if seconds is None:
        return "?"
    minutes, rest = divmod(max(0, round(seconds)), 60)
    return f"{minutes}:{rest:02d}"
