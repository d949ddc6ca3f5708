"""What `pesisir check` looks at besides Telegram: settings, data directory, database, channels.

Each check gives a `Check`: ok True (✓), False (✗, with a hint) or None (skipped: the feature is
not configured). Details never carry a secret, a Telegram user id or anything from a story.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from cli import common
from core.config import Settings
from core.db import readiness, session_scope
from core.errors import ConfigError
from core.models import Channel
from pipeline import speech_model
from publishers.base import AuthError, PublishError, RetryableError, SetupHints
from publishers.channels_config import list_channels
from publishers.registry import build_publisher, publisher_class


@dataclass(frozen=True)
class Check:
    """One line of `pesisir check`."""

    check: str
    ok: bool | None  # None: skipped, the feature is not configured
    detail: str
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: check, ok, detail, hint."""
        return asdict(self)


def load_settings() -> tuple[Settings | None, Check]:
    """The settings, or None and a ✗ with pydantic's messages (never the values given)."""
    try:
        settings = common.load_settings()
    except ConfigError as exc:
        return None, Check(
            "settings",
            False,
            "; ".join(str(exc).splitlines()),
            "fix these variables in .env or the environment (README, 'Settings')",
        )
    source = ".env and the environment" if Path(".env").is_file() else "the environment"
    return settings, Check("settings", True, f"loaded from {source}")


def check_data_dir(settings: Settings) -> Check:
    """The data directory can be written (or made, by `pesisir init`)."""
    directory = settings.data_dir.resolve()
    hint = (
        f"let the user running pesisir write to {directory}, or set PESISIR_DATA_DIR to a "
        "folder it may write"
    )
    if not directory.exists():
        parent = next((p for p in directory.parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK):
            return Check("data directory", True, f"{directory} will be made by pesisir init")
        return Check(
            "data directory", False, f"{directory} does not exist and cannot be made", hint
        )
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return Check("data directory", False, f"cannot write to {directory}: {reason}", hint)
    return Check("data directory", True, f"{directory} is writable")


def check_database(settings: Settings) -> tuple[Engine | None, Check]:
    """The database answers and is at the newest migration; its engine when it is usable."""
    engine, found = readiness(settings.effective_database_url)
    return engine, Check("database", found.ready, found.detail, found.hint)


def check_transcription(settings: Settings) -> Check:
    """Which speech model transcribes voice notes (PESISIR_TRANSCRIBE_MODEL); loads nothing."""
    ok, detail, hint = speech_model.describe(settings)
    if ok is False and hint is None:
        hint = "set PESISIR_TRANSCRIBE_MODEL (README, 'Voice stories')"
    return Check("speech transcription", ok, detail, hint)


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
