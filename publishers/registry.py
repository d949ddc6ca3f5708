"""The channel kinds: one explicit list of publisher classes, and building a channel's publisher.

Adding a channel is one module under `publishers/channels/` (one class, every fact of the
`Publisher` protocol declared), its settings, its loopback fake, and one line in `CHANNELS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.config import Settings
from core.errors import ConfigError
from publishers.base import Publisher
from publishers.channels import (
    bluesky,
    facebook,
    instagram,
    mastodon,
    outbox,
    telegram_channel,
    threads,
    wordpress,
    x,
)

#: Every channel kind, in the order `pesisir check` and the README list them.
CHANNELS: tuple[type[Publisher], ...] = (
    outbox.OutboxPublisher,
    telegram_channel.TelegramChannelPublisher,
    mastodon.MastodonPublisher,
    bluesky.BlueskyPublisher,
    wordpress.WordPressPublisher,
    facebook.FacebookPublisher,
    instagram.InstagramPublisher,
    threads.ThreadsPublisher,
    x.XPublisher,
)

#: Channel config lives in the database in clear: secrets must come from settings instead.
SECRET_WORDS = ("token", "password", "secret", "key", "jwt", "bearer", "credential")

PublisherFactory = Callable[[str, Mapping[str, Any], Settings], Publisher]

_BY_KIND: dict[str, type[Publisher]] = {}


#: What every channel class declares itself (the `Publisher` protocol's facts and methods).
FACTS = ("kind", "rules", "resend_safe_seconds", "rate_per_minute", "setup_hints")
METHODS = ("from_settings", "publish", "delete", "check")


def missing_facts(cls: type[Any]) -> list[str]:
    """The facts and methods of the `Publisher` protocol a class does not declare."""
    missing = [name for name in FACTS if not hasattr(cls, name)]
    # The protocol's own bodies are `...`: a method a class inherits from it is not written.
    missing += [name for name in METHODS if _defined_in(cls, name) in (None, Publisher)]
    return missing


def _defined_in(cls: type[Any], name: str) -> type[Any] | None:
    return next((klass for klass in cls.__mro__ if name in vars(klass)), None)


def register(cls: type[Publisher]) -> type[Publisher]:
    """Make a publisher class available under its `kind`; a class that lacks a fact of the
    protocol, or a second class of a kind, is refused.

    The product's classes are the `CHANNELS` list; tests add their own scripted ones."""
    missing = missing_facts(cls)
    if missing:
        raise TypeError(f"{cls.__name__} does not declare {', '.join(missing)}")
    if cls.kind in _BY_KIND and _BY_KIND[cls.kind] is not cls:
        raise ValueError(f"channel kind {cls.kind!r} is registered twice")
    _BY_KIND[cls.kind] = cls
    return cls


for _cls in CHANNELS:
    register(_cls)


def publisher_class(kind: str) -> type[Publisher]:
    """The publisher class of a channel kind; KeyError naming the known kinds."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise KeyError(f"no channel kind {kind!r}; known: {', '.join(registered())}") from None


def registered() -> list[str]:
    """Every channel kind, sorted."""
    return sorted(_BY_KIND)


def secret_keys(config: Mapping[str, Any]) -> list[str]:
    """The keys of a channel config that look like secrets (they belong in settings)."""
    return sorted(key for key in config if any(word in key.lower() for word in SECRET_WORDS))


def build_publisher(kind: str, config: Mapping[str, Any], settings: Settings) -> Publisher:
    """The publisher for a channel; ConfigError when a secret is missing or found in config."""
    leaked = secret_keys(config)
    if leaked:
        raise ConfigError(
            f"channel config must not hold secrets ({', '.join(leaked)}); "
            "set them as PESISIR_* settings instead"
        )
    try:
        cls = publisher_class(kind)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    return cls.from_settings(settings, config)
