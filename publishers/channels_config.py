"""The `channels` table: where posts go, with non-secret settings and a rate limit each."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.errors import InvalidInput, NotFound
from core.models import Channel
from publishers import registry

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


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
        raise InvalidInput(f"channel name {name!r}: use lowercase letters, digits, '-' and '_'")
    try:
        cls = registry.publisher_class(kind)
    except KeyError:
        known = ", ".join(registry.registered())
        raise InvalidInput(f"unknown channel kind {kind!r}; known: {known}") from None
    if session.exec(select(Channel).where(Channel.name == name)).first() is not None:
        raise InvalidInput(f"channel {name!r} exists already")
    settings = dict(config or {})
    secret = registry.secret_keys(settings)
    if secret:
        raise InvalidInput(
            f"config keys {secret} look like secrets; put them in PESISIR_* settings instead"
        )
    if rate_per_minute is not None and rate_per_minute < 1:
        raise InvalidInput("rate_per_minute must be at least 1 (or unset for no limit)")
    channel = Channel(
        name=name,
        kind=kind,
        config=settings,
        # The class's own rate (PLATFORMS.md) unless the team set one.
        rate_per_minute=rate_per_minute if rate_per_minute is not None else cls.rate_per_minute,
    )
    session.add(channel)
    session.flush()
    return channel


def get_channel(session: Session, name: str) -> Channel:
    """The channel called `name`, or NotFound."""
    channel = session.exec(select(Channel).where(Channel.name == name)).first()
    if channel is None:
        raise NotFound(f"no channel {name!r}")
    return channel


def list_channels(session: Session) -> list[Channel]:
    """Every channel, by name."""
    return list(session.exec(select(Channel).order_by(col(Channel.name))))


def pause_channel(
    session: Session, name: str, reason: str | None = None, *, actor: str | None = None
) -> Channel:
    """Stop sending to a channel (pending deliveries wait); audited when an actor is given."""
    channel = get_channel(session, name)
    channel.paused = True
    channel.paused_reason = reason or "paused by hand"
    session.add(channel)
    if actor is not None:
        audit.record(
            session,
            actor=actor,
            action="channel_paused",
            reason=channel.paused_reason,
            after={"channel": name},
        )
    session.flush()
    return channel


def resume_channel(session: Session, name: str, *, actor: str | None = None) -> Channel:
    """Send to a channel again; its waiting deliveries go out at their times."""
    channel = get_channel(session, name)
    channel.paused = False
    channel.paused_reason = None
    session.add(channel)
    if actor is not None:
        audit.record(session, actor=actor, action="channel_resumed", after={"channel": name})
    session.flush()
    return channel
