"""The one interface every channel implements, the post it receives, and its typed errors.

PublishError
 ├── RetryableError(retry_after)   429, 5xx, timeouts: try again later
 ├── PermanentError                bad request, bad media, duplicate: a person must look
 │    └── UncertainError           the request may have reached the platform (no idempotency):
 │                                 sending again could post twice, so a person checks
 └── AuthError                     credentials refused: pause the channel, alert
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from core.errors import PesisirError


class PublishError(PesisirError):
    """Publishing failed."""


class RetryableError(PublishError):
    """Try again later, after `retry_after` seconds when the platform said so.

    `maybe_sent`: the request reached the platform and may have made the post (a 5xx or a lost
    answer after sending); a retry is safe only while the platform's idempotency lasts.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, maybe_sent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class PermanentError(PublishError):
    """Sending again will not help."""


class UncertainError(PermanentError):
    """The post may or may not be out (a timeout after sending, on a platform without
    idempotency). Never resend blindly: the delivery becomes `unknown` for a person to check."""


class AuthError(PublishError):
    """The platform refused our credentials; the channel must be paused."""


@dataclass(frozen=True)
class PostImage:
    """One metadata-free rendition to attach, with its alt text."""

    path: Path
    alt: str
    width: int
    height: int
    mime_type: str = "image/jpeg"
    rendition: str = "web"  # which rendition of the story's photo this is


@dataclass(frozen=True)
class Post:
    """What one channel receives: composed text, images, hashtags; never private data."""

    text: str
    images: tuple[PostImage, ...] = ()
    hashtags: tuple[str, ...] = ()  # without '#', in the order they appear in `text`
    lang: str = "id"
    title: str | None = None  # for channels with titles (WordPress)
    slug: str | None = None  # deterministic, for channels that look posts up by slug
    link: str | None = None  # a link included in `text`, when there is one
    html: str | None = None  # escaped HTML body, for channels that take HTML (WordPress)
    # Bluesky rich-text facets (app.bsky.richtext.facet), indexed by UTF-8 byte offsets
    facets: tuple[dict[str, Any], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What the platform gave back for a published post."""

    remote_id: str
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupHints:
    """How to fix a channel that `pesisir check` found broken, by the kind of failure."""

    config: str  # a ConfigError: a setting is missing
    auth: str  # an AuthError: credentials refused, or the account lacks a right
    unreachable: str  # a RetryableError: network, 5xx, rate limit
    refused: str  # any other PublishError


class Publisher(Protocol):
    """A channel: `publish` sends one post; `delete` removes it where the platform allows.

    A publisher whose limits depend on its server may also have `compose_rules()`, returning
    the `formatting.ChannelRules` to compose its posts with (Mastodon does).

    For `pesisir check`, a publisher may also have `check() -> str`: it verifies the credentials
    and the account's rights without posting anything and returns a one-line description (never
    a secret), or raises the same errors as `publish`; and a class attribute `setup_hints`
    (`SetupHints`) saying how to fix each kind of failure.
    """

    name: ClassVar[str]

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Send `post`; raise a `PublishError` subclass on failure."""
        ...

    def delete(self, receipt: Receipt) -> bool:
        """Remove a published post; False when the platform does not allow it."""
        ...
