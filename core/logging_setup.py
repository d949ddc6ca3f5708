"""Logging configured once per entry point; noisy or leaky loggers kept quiet."""

from __future__ import annotations

import logging
import re
import sys

# Bot API URLs carry the token in the path (/bot<token>/method): never let one reach a log.
_TOKEN_RE = re.compile(r"bot\d+:[A-Za-z0-9_-]{20,}")


class RedactTokens(logging.Filter):
    """Replace anything shaped like a Telegram bot token with a placeholder."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the rendered message in place; always keep the record."""
        message = record.getMessage()
        redacted = _TOKEN_RE.sub("bot<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (test runners and daemons swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    """Set up the root logger; httpx and friends stay at WARNING (their URLs hold the token)."""
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # WeasyPrint logs every step of every brief at INFO; its warnings (a missing font) still show.
    for noisy in ("weasyprint.progress", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # python-telegram-bot's DEBUG lines print whole updates and API calls (Telegram ids, names,
    # texts, coordinates): never below INFO, even when we debug.
    logging.getLogger("telegram").setLevel(max(logging.INFO, root.level))
