"""The channel kinds: one explicit list, each class declaring every fact the others read."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from publishers import registry
from publishers.base import NEVER, Publisher, SetupHints
from publishers.channels.outbox import OutboxPublisher
from publishers.text import ChannelRules


def test_every_listed_channel_declares_every_fact() -> None:
    assert [cls.kind for cls in registry.CHANNELS] == [
        "outbox",
        "telegram_channel",
        "mastodon",
        "bluesky",
        "wordpress",
        "facebook",
        "instagram",
        "threads",
        "x",
    ]
    for cls in registry.CHANNELS:
        assert registry.missing_facts(cls) == [], cls.__name__
        assert isinstance(cls.rules, ChannelRules) and isinstance(cls.setup_hints, SetupHints)
        assert cls.resend_safe_seconds >= 0
        assert registry.publisher_class(cls.kind) is cls


def test_a_class_without_its_facts_is_refused() -> None:
    class HalfDone(Publisher):
        kind: ClassVar[str] = "half-done"
        rules: ClassVar[ChannelRules] = OutboxPublisher.rules
        resend_safe_seconds: ClassVar[float] = NEVER

        def publish(self, post: Any, *, idempotency_key: str) -> Any:
            raise NotImplementedError

    with pytest.raises(TypeError) as refused:
        registry.register(HalfDone)
    missing = str(refused.value)
    for name in ("rate_per_minute", "setup_hints", "from_settings", "delete", "check"):
        assert name in missing
    assert "publish" not in missing.replace("from_settings", "")
    assert "half-done" not in registry.registered()


def test_a_kind_is_registered_once() -> None:
    class Twin(OutboxPublisher):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Twin)
