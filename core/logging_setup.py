"""Logging configured once per entry point: every line redacted, leaky loggers kept quiet.

Secrets reach log output by three roads: a message that quotes one, an exception whose text holds
one (python-telegram-bot's `InvalidToken: The token `…` was rejected`), and an uncaught traceback
that bypasses logging. The formatter redacts the whole rendered line, traceback included; the
crash hooks send uncaught exceptions through the same formatter.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from types import TracebackType

# A Telegram bot token (`<bot id>:<35 characters>`), with or without the `bot` of API URLs.
_TOKEN_RE = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")
REDACTED = "<redacted>"
_secrets: set[str] = set()

# Loggers whose DEBUG lines carry secrets or private data: request URLs with the bot token
# (httpx, httpcore, urllib3), whole updates with ids, names and coordinates (telegram), and
# the EXIF of photos with GPS and camera serials (PIL, exifread, pyvips). Never below WARNING.
QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "urllib3",
    # OAuth 1.0a signing logs its parameters (the access token) and signed headers at DEBUG.
    "oauthlib",
    "requests_oauthlib",
    "telegram.ext.Updater",
    "apscheduler",
    "alembic",
    "PIL",
    "exifread",
    "pyvips",
    "multipart",
    "faster_whisper",
    # WeasyPrint logs every step of every brief at INFO; its warnings (a missing font) still show.
    "weasyprint.progress",
    "fontTools",
)


def _usable(values: Iterable[str | None]) -> set[str]:
    # Very short values would redact ordinary words; no real secret is that short.
    return {value for value in values if value and len(value) >= 6}


def register_secrets(values: Iterable[str | None]) -> None:
    """From now on redact exactly these values wherever they appear (tokens of any shape)."""
    _secrets.clear()
    _secrets.update(_usable(values))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every registered secret, the given `secrets` and anything shaped like a
    bot token replaced."""
    for secret in sorted(_secrets | _usable(secrets), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _TOKEN_RE.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """Formats the whole record (message, exception, stack), then redacts it."""

    def format(self, record: logging.LogRecord) -> str:
        """The redacted line; the record's cached exception text is redacted too."""
        line = redact(super().format(record))
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return line


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (test runners and daemons swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    logging.getLogger("pesisir.crash").critical(
        "uncaught %s", kind.__name__, exc_info=(kind, error, trace)
    )


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def configure_logging(level: str = "INFO", secrets: Iterable[str | None] = ()) -> None:
    """Set up the root logger with a redacting formatter; leaky loggers stay at WARNING."""
    register_secrets(secrets)
    handler = _CurrentStderrHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # python-telegram-bot's DEBUG lines print whole updates and API calls (Telegram ids, names,
    # texts, coordinates): never below INFO, even when we debug.
    logging.getLogger("telegram").setLevel(max(logging.INFO, root.level))
    logging.captureWarnings(True)
    # Tracebacks nobody caught go through the same redacting handler instead of raw stderr.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
