"""The error tree of Suara Pesisir.

    PesisirError
     ├── ConfigError            a setting is missing or wrong
     ├── InvalidInput           a person's input is not understood (a time, a slug, a reason)
     ├── NotFound               no such submission, campaign, channel, ...
     ├── NotAllowed             the actor may not do this (not a moderator, consent forbids)
     ├── InvalidTransition      the lifecycle does not allow this move
     ├── StaleVersion           someone else changed the row first (optimistic locking)
     └── MediaError             a file is not an image/audio we accept, or is broken

Publishing errors (retryable, permanent, auth) live in `publishers.base`.
"""

from __future__ import annotations


class PesisirError(Exception):
    """Base of every error we raise on purpose."""


class ConfigError(PesisirError):
    """A setting is missing or wrong."""


class InvalidInput(PesisirError):
    """What a person typed or chose is not valid; the message says how to write it."""


class NotFound(PesisirError):
    """The thing asked for does not exist."""


class NotAllowed(PesisirError):
    """The actor may not do this."""


class InvalidTransition(PesisirError):
    """The lifecycle does not allow this move."""


class StaleVersion(PesisirError):
    """Someone else changed the row first."""

    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class MediaError(PesisirError):
    """A file is not something we accept, or is broken; `reason` is a short machine key."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason
