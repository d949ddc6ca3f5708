"""A channel's health: its publisher's own `check()` (credentials and rights, posting nothing),
and its pause. The one owner of these checks: `pesisir check` and the web's "Posts and
channels" page both show them.

Each check is a `Check`: ok True (✓), False (✗, with a hint) or None (skipped: not configured).
Details never carry a secret, a Telegram user id or anything from a story.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.engine import Engine

from core.config import Settings
from core.db import session_scope
from core.errors import ConfigError
from core.models import Channel
from publishers.base import AuthError, PublishError, RetryableError, SetupHints
from publishers.channels_config import list_channels
from publishers.registry import build_publisher, publisher_class


@dataclass(frozen=True)
class Check:
    """One line of `pesisir check` (or one channel's health on the dashboard)."""

    check: str
    ok: bool | None  # None: skipped, the feature is not configured
    detail: str
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: check, ok, detail, hint."""
        return asdict(self)


def check_channels(engine: Engine, settings: Settings) -> list[Check]:
    """Every channel's credentials, checked by its own publisher without posting."""
    with session_scope(engine) as session:
        channels = list_channels(session)
    if not channels:
        return [
            Check(
                "channels",
                None,
                "no channels yet: approved stories have nowhere to go",
                "pesisir channel add outbox --kind outbox (README, 'Channels: setup')",
            )
        ]
    return [check_channel(channel, settings) for channel in channels]


def check_channel(channel: Channel, settings: Settings) -> Check:
    """One channel: paused ones are ✗ with the resume hint, after checking them anyway."""
    name = f"channel {channel.name}"
    hints = _hints(channel.kind)
    try:
        detail = _run_check(channel, settings)
    except ConfigError as exc:
        return _failed(channel, name, f"{channel.kind}: {exc}", hints.config if hints else None)
    except AuthError as exc:
        return _failed(channel, name, f"{channel.kind}: {exc}", hints.auth if hints else None)
    except RetryableError as exc:
        hint = hints.unreachable if hints else None
        return _failed(channel, name, f"{channel.kind}: {exc}", hint)
    except PublishError as exc:
        return _failed(channel, name, f"{channel.kind}: {exc}", hints.refused if hints else None)
    except Exception as exc:  # noqa: BLE001 - one broken channel must not hide the others
        # Only the class: a library's message may quote a URL, and Telegram's hold the token.
        detail = f"{channel.kind}: unexpected {type(exc).__name__}"
        return _failed(channel, name, detail, hints.refused if hints else None)
    if channel.paused:
        return Check(
            name,
            False,
            f"{channel.kind}: paused ({channel.paused_reason}); credentials work now: {detail}",
            f"pesisir channel resume {channel.name}",
        )
    return Check(name, True, f"{channel.kind}: {detail}")


def _run_check(channel: Channel, settings: Settings) -> str:
    """Build the publisher as the dispatcher does and call its `check()`."""
    return build_publisher(channel.kind, dict(channel.config or {}), settings).check()


def _hints(kind: str) -> SetupHints | None:
    try:
        return publisher_class(kind).setup_hints
    except KeyError:
        return None


def _failed(channel: Channel, name: str, detail: str, hint: str | None) -> Check:
    if channel.paused:
        detail = f"paused ({channel.paused_reason}); {detail}"
        resume = f"then pesisir channel resume {channel.name}"
        hint = f"{hint}; {resume}" if hint else resume
    return Check(name, False, detail, hint or "see README, 'Channels: setup'")
