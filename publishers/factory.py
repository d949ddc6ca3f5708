"""Build a channel's publisher from its kind, its non-secret config and the settings' secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.config import Settings
from core.errors import ConfigError
from publishers.base import Publisher

# Importing the channel modules registers them (explicitly, here, not by directory scanning).
from publishers.channels import bluesky, mastodon, outbox, telegram_channel, wordpress
from publishers.registry import publisher_class

# Typed as Publisher classes so mypy checks each against the protocol.
PUBLISHER_CLASSES: tuple[type[Publisher], ...] = (
    outbox.OutboxPublisher,
    telegram_channel.TelegramChannelPublisher,
    mastodon.MastodonPublisher,
    bluesky.BlueskyPublisher,
    wordpress.WordPressPublisher,
)
# Channel config lives in the database in clear: secrets must come from settings instead.
# `channels_config.add_channel` refuses the same words, so a secret never reaches the database.
SECRET_WORDS = ("token", "password", "secret", "key", "jwt", "bearer", "credential")


def build_publisher(kind: str, config: Mapping[str, Any], settings: Settings) -> Publisher:
    """The publisher for a channel; ConfigError when a secret is missing or found in config."""
    leaked = sorted(key for key in config if any(word in key.lower() for word in SECRET_WORDS))
    if leaked:
        raise ConfigError(
            f"channel config must not hold secrets ({', '.join(leaked)}); "
            "set them as PESISIR_* settings instead"
        )
    try:
        cls = publisher_class(kind)
    except KeyError as exc:
        raise ConfigError(str(exc)) from None
    publisher: Publisher = cls.from_settings(settings, config)
    return publisher
