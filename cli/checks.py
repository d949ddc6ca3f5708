"""What `pesisir check` looks at besides Telegram and the channels: settings, data directory,
database. The channels' checks belong to `publishers.channel_health` (the dashboard shows them).

Each check gives a `Check`: ok True (✓), False (✗, with a hint) or None (skipped: the feature is
not configured). Details never carry a secret, a Telegram user id or anything from a story.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine

from cli import common
from core.config import Settings
from core.db import readiness
from core.errors import ConfigError
from pipeline import speech_model
from publishers.channel_health import Check


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
