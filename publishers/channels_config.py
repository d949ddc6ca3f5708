"""The `channels` table: where posts go, with non-secret settings and a rate limit each."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from core.errors import NotFound
from core.models import Channel
from publishers import factory, registry

# The factory imports every channel module, which registers its kind.
_KNOWN_KINDS = factory.PUBLISHER_CLASSES

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

#: Posts per minute per channel kind when its publisher class declares no `rate_per_minute`
#: (PLATFORMS.md: Telegram 20 msgs/min per channel; Mastodon 300 requests/5 min with
#: 30 media uploads/30 min; Bluesky 1,666 creates/h; WordPress has none of its own).
DEFAULT_RATE_PER_MINUTE: dict[str, int | None] = {
    "telegram_channel": 20,
    "mastodon": 1,
    "bluesky": 20,
    "wordpress": 10,
    "outbox": None,
}

#: Config keys that would be secrets; they belong in settings, never in the database.
SECRET_WORDS = factory.SECRET_WORDS


def add_channel(
    session: Session,
    *,
    name: str,
    kind: str,
    config: Mapping[str, Any] | None = None,
    rate_per_minute: int | None = None,
) -> Channel:
    """Add a channel of a registered publisher `kind`; secrets in `config` are refused."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"channel name {name!r}: use lowercase letters, digits, '-' and '_'")
    if kind not in registry.registered():
        raise ValueError(
            f"unknown channel kind {kind!r}; known: {', '.join(registry.registered())}"
        )
    if session.exec(select(Channel).where(Channel.name == name)).first() is not None:
        raise ValueError(f"channel {name!r} exists already")
    settings = dict(config or {})
    secret = [key for key in settings if any(word in key.lower() for word in SECRET_WORDS)]
    if secret:
        raise ValueError(
            f"config keys {secret} look like secrets; put them in PESISIR_* settings instead"
        )
    if rate_per_minute is not None and rate_per_minute < 1:
        raise ValueError("rate_per_minute must be at least 1 (or unset for no limit)")
    channel = Channel(
        name=name,
        kind=kind,
        config=settings,
        rate_per_minute=rate_per_minute if rate_per_minute is not None else default_rate(kind),
    )
    session.add(channel)
    session.flush()
    return channel


def default_rate(kind: str) -> int | None:
    """Posts per minute for a new channel: the publisher class's `rate_per_minute`, else ours."""
    declared = getattr(registry.publisher_class(kind), "rate_per_minute", "unset")
    if declared != "unset":
        return None if declared is None else int(declared)
    return DEFAULT_RATE_PER_MINUTE.get(kind)


def get_channel(session: Session, name: str) -> Channel:
    """The channel called `name`, or NotFound."""
    channel = session.exec(select(Channel).where(Channel.name == name)).first()
    if channel is None:
        raise NotFound(f"no channel {name!r}")
    return channel


def list_channels(session: Session) -> list[Channel]:
    """Every channel, by name."""
    return list(session.exec(select(Channel).order_by(col(Channel.name))))


def pause_channel(session: Session, name: str, reason: str | None = None) -> Channel:
    """Stop sending to a channel (pending deliveries wait)."""
    channel = get_channel(session, name)
    channel.paused = True
    channel.paused_reason = reason or "paused by hand"
    session.add(channel)
    session.flush()
    return channel


def resume_channel(session: Session, name: str) -> Channel:
    """Send to a channel again; its waiting deliveries go out at their times."""
    channel = get_channel(session, name)
    channel.paused = False
    channel.paused_reason = None
    session.add(channel)
    session.flush()
    return channel
