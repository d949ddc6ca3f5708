"""The one interface every channel implements, the post it receives, and its typed errors.

PublishError
 ├── RetryableError(retry_after)   429, 5xx, timeouts: try again later
 ├── PermanentError                bad request, bad media, duplicate: a person must look
 │    ├── ComposeError             the story cannot be fitted to the channel's rules
 │    └── UncertainError           the request may have reached the platform (no idempotency):
 │                                 sending again could post twice, so a person checks
 └── AuthError                     credentials refused: pause the channel, alert
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from core.config import Settings
from core.errors import PesisirError
from core.projections import PublicStory
from publishers.text import ChannelRules


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


class ComposeError(PermanentError):
    """The story cannot be made into a post this channel takes."""


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


class Checkpoint(Protocol):
    """Where a publish keeps what it made on the platform before the post is out (Instagram's
    containers, Facebook's unpublished photos), so the next attempt, in any worker, continues
    it instead of starting again. The dispatcher gives each send its delivery's row."""

    def load(self) -> dict[str, Any]:
        """What an earlier attempt of this post saved; empty when nothing."""
        ...

    def save(self, state: Mapping[str, Any]) -> None:
        """Keep `state` (JSON-able) for later attempts; raises `RetryableError` when the post is
        no longer this worker's to send."""
        ...


@dataclass
class MemoryCheckpoint:
    """A checkpoint in memory: for a publisher used without a delivery (tests, `pesisir`)."""

    state: dict[str, Any] = field(default_factory=dict)

    def load(self) -> dict[str, Any]:
        """The saved state (a copy)."""
        return dict(self.state)

    def save(self, state: Mapping[str, Any]) -> None:
        """Replace the saved state."""
        self.state = dict(state)


#: `Publisher.resend_safe_seconds` for a platform without idempotency, and for one whose
#: idempotency never runs out.
NEVER = 0.0
ALWAYS = float("inf")


class Publisher(Protocol):
    """A channel kind: its facts as class attributes, and publishing, deleting and checking.

    Each channel module declares one class with every fact below (with a comment saying where
    it comes from, usually PLATFORMS.md) and subclasses this protocol to inherit the defaults
    of `compose_rules` and `finish_post`. The composer, the dispatcher and `pesisir check` read
    these facts and nothing else; `tests/publishers/test_registry.py` fails when a registered
    class lacks one.
    """

    #: The channel kind, as stored in `Channel.kind` (`telegram_channel`, `mastodon`, ...).
    kind: ClassVar[str]
    #: How the platform counts text, and which images it takes.
    rules: ClassVar[ChannelRules]
    #: How long after a first uncertain send a resend with the same idempotency key cannot make
    #: a second post: NEVER (no idempotency), ALWAYS, or seconds (Mastodon keeps a key an hour).
    resend_safe_seconds: ClassVar[float]
    #: Posts per minute a new channel of this kind gets (None: no limit of its own).
    rate_per_minute: ClassVar[int | None]
    #: How to fix each kind of failure `pesisir check` finds.
    setup_hints: ClassVar[SetupHints]

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> Self:
        """The publisher for a channel: secrets from settings, the rest from its config."""
        ...

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Send `post`; raise a `PublishError` subclass on failure."""
        ...

    def delete(self, receipt: Receipt) -> bool:
        """Remove a published post; False when the platform does not allow it."""
        ...

    def check(self) -> str:
        """Verify the credentials and the account's rights without posting anything; a one-line
        description (never a secret), or the same errors as `publish`."""
        ...

    def use_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Keep what the next `publish` makes on the platform in `checkpoint` (its delivery's
        row), and resume from what it holds. Default: a platform whose publish is one call."""
        del checkpoint

    def compose_rules(self) -> ChannelRules:
        """The rules to compose with for this channel's own server (Mastodon reads its own)."""
        return self.rules

    def clean_up(self, idempotency_key: str, *, ref: str) -> int:
        """Remove what a publish of story `ref` with this key may have left behind without a
        receipt (staging files, uploads no post uses); how many things went. Called when a
        story is withdrawn. Default: a platform that leaves nothing behind."""
        del idempotency_key, ref
        return 0

    @classmethod
    def finish_post(
        cls, post: Post, story: PublicStory, *, credit: str, tags: Sequence[str]
    ) -> Post:
        """Add what only this channel needs to a composed post (a title, HTML, facets)."""
        del story, credit, tags
        return post
