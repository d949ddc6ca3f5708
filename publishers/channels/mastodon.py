"""Mastodon: v2 media upload (200, or 202 then poll), then a status with `Idempotency-Key`.

Mastodon keeps an Idempotency-Key for up to an hour (PLATFORMS.md), so retrying a status within
that hour cannot post twice; a retried upload only leaves an unattached media item behind.

Each server sets its own limits (characters, URL weight, images, alt text, image bytes) and says
them at `GET /api/v2/instance`. The publisher reads them once an hour per server
(`MastodonPublisher.limits`) and hands them to the composer as rules (`compose_rules`); when the
server does not answer, or leaves a field out, Mastodon's documented defaults stand in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from core.config import Settings
from core.errors import ConfigError
from publishers.base import (
    AuthError,
    PermanentError,
    Post,
    PostImage,
    Publisher,
    PublishError,
    Receipt,
    RetryableError,
    SetupHints,
)
from publishers.http import TIMEOUT, UPLOAD_TIMEOUT, body_json, new_session, retry_after_seconds
from publishers.text import ChannelRules, mastodon_length

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MastodonLimits:
    """One Mastodon server's limits (`GET /api/v2/instance` → `configuration`).

    The defaults are Mastodon's documented ones (PLATFORMS.md), used for whatever a server does
    not tell us.
    """

    max_characters: int = 500  # statuses.max_characters, in grapheme clusters
    max_media_attachments: int = 4  # statuses.max_media_attachments
    characters_reserved_per_url: int = 23  # statuses.characters_reserved_per_url
    # media_attachments.description_limit (Mastodon ≥ 4.4 says it), in characters (code points,
    # as Rails counts); 1500 is MediaAttachment::MAX_DESCRIPTION_LENGTH.
    description_limit: int = 1500
    # media_attachments.image_size_limit: 16 MB since Mastodon 4.0, 10 MB before, so
    # 10,000,000 bytes is safe on any server that does not say.
    image_size_limit: int = 10_000_000
    # media_attachments.supported_mime_types; None when the server did not say (every Mastodon
    # takes JPEG, which is all our renditions are).
    supported_mime_types: frozenset[str] | None = None


MASTODON_DEFAULTS = MastodonLimits()


def mastodon_rules(limits: MastodonLimits) -> ChannelRules:
    """The composing rules for a Mastodon server with these limits.

    Mastodon keeps images up to 3840x2160 (since 4.0), so `web` (full quality for people who open
    the photo) goes when it is within the server's byte limit; `feed` is the fallback.
    """

    def fits(text: str) -> bool:
        return mastodon_length(text, limits.characters_reserved_per_url) <= limits.max_characters

    types = limits.supported_mime_types
    # Every rendition is a JPEG: a server that takes no JPEG gets the text alone.
    max_images = limits.max_media_attachments if types is None or "image/jpeg" in types else 0
    return ChannelRules(
        fits,
        fits,
        max_images,
        ("web", "feed"),
        limits.image_size_limit,
        max_alt_chars=limits.description_limit,
    )


#: `configuration` section and key in `GET /api/v2/instance` of each `MastodonLimits` field.
_INSTANCE_FIELDS: dict[str, tuple[str, str]] = {
    "max_characters": ("statuses", "max_characters"),
    "max_media_attachments": ("statuses", "max_media_attachments"),
    "characters_reserved_per_url": ("statuses", "characters_reserved_per_url"),
    "description_limit": ("media_attachments", "description_limit"),
    "image_size_limit": ("media_attachments", "image_size_limit"),
    "supported_mime_types": ("media_attachments", "supported_mime_types"),
}
#: Top-level keys of a `/api/v1/instance` answer from Pleroma/Akkoma, by `MastodonLimits` field.
_V1_FIELDS = {
    "max_characters": "max_toot_chars",
    "max_media_attachments": "max_media_attachments",
    "description_limit": "description_limit",
    "image_size_limit": "upload_limit",
}
# Mastodon before 4.4 does not say its description limit: the default is then right, no warning.
_QUIETLY_DEFAULTED = frozenset({"description_limit"})
INSTANCE_TIMEOUT = (5.0, 10.0)


def limits_from_instance(payload: Any) -> tuple[MastodonLimits, list[str]]:
    """The limits in a `GET /api/v2/instance` answer, defaults for what is missing or invalid;
    also the names of the fields that had to be defaulted."""
    configuration = payload.get("configuration") if isinstance(payload, dict) else None
    values: dict[str, Any] = {}
    defaulted: list[str] = []
    for name, (section, key) in _INSTANCE_FIELDS.items():
        part = configuration.get(section) if isinstance(configuration, dict) else None
        value = part.get(key) if isinstance(part, dict) else None
        if name == "supported_mime_types":
            # An empty list is a broken answer, not a server that takes nothing.
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                values[name] = frozenset(v.lower() for v in value)
        # A count or a size must be a positive whole number; 0, a string or a bool is a broken
        # answer, and the default is safer than taking it at its word.
        elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
            values[name] = value
        if name not in values:
            defaulted.append(name)
    # Pleroma, Akkoma and Mastodon forks answer `/api/v1/instance` with top-level keys instead.
    for name, key in _V1_FIELDS.items():
        value = payload.get(key) if isinstance(payload, dict) else None
        if (
            name in defaulted
            and isinstance(value, int)
            and not isinstance(value, bool)
            and value > 0
        ):
            values[name] = value
            defaulted.remove(name)
    return MastodonLimits(**values), defaulted


@dataclass(frozen=True)
class _Cached:
    limits: MastodonLimits
    expires: float  # on the publisher's monotonic clock
    read: bool  # True when the server answered (not a fallback to defaults)


#: The dispatcher builds new publishers every tick, and a server's limits change only when its
#: admin reconfigures it: limits live here, per base URL, for the process.
_LIMITS: dict[str, _Cached] = {}


def forget_limits() -> None:
    """Drop every cached Mastodon server's limits (the next post reads them again)."""
    _LIMITS.clear()


class MastodonPublisher(Publisher):
    """Posts a public status with as many described images as its server takes (4 by default)."""

    kind: ClassVar[str] = "mastodon"
    # PLATFORMS.md Mastodon: 500 grapheme clusters (URL = 23) and 4 images by default; the real
    # ones come from the server (`limits()`, `compose_rules()`), these are the fallback.
    default_limits: ClassVar[MastodonLimits] = MASTODON_DEFAULTS
    rules: ClassVar[ChannelRules] = mastodon_rules(MASTODON_DEFAULTS)
    # PLATFORMS.md Mastodon: an Idempotency-Key is remembered for up to an hour; we keep a
    # margin of ten minutes.
    resend_safe_seconds: ClassVar[float] = 50 * 60
    # How long a server's limits are trusted; after a failed read, defaults are used for a
    # shorter while so a server that is down is not asked before every post.
    limits_ttl_seconds: ClassVar[float] = 3600.0
    limits_retry_seconds: ClassVar[float] = 300.0
    # PLATFORMS.md Mastodon: on 202 poll GET /api/v1/media/:id (206 while processing); bounded.
    media_poll_attempts: ClassVar[int] = 10
    # PLATFORMS.md Mastodon: 300 requests/5 min, but media uploads only 30 per 30 min.
    rate_per_minute: ClassVar[int | None] = 1
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_MASTODON_BASE_URL (https://your.server) and PESISIR_MASTODON_TOKEN",
        auth="make a new token: Preferences → Development → New application with scopes "
        "write:media write:statuses (and profile), then copy 'Your access token' into "
        "PESISIR_MASTODON_TOKEN",
        unreachable="the server did not answer: check PESISIR_MASTODON_BASE_URL and the network",
        refused="check PESISIR_MASTODON_BASE_URL: the server root, e.g. https://mastodon.social",
    )

    def __init__(
        self,
        *,
        base_url: str,
        token: SecretStr,
        visibility: str = "public",
        poll_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.visibility = visibility
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._clock = clock
        # For logs: host and port only, never userinfo a base URL might carry.
        self._server = urlsplit(self.base_url).netloc.rpartition("@")[2] or "mastodon"
        self._session = new_session()
        self._session.headers["Authorization"] = f"Bearer {token.get_secret_value()}"

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> MastodonPublisher:
        """Server from config `base_url` or `PESISIR_MASTODON_BASE_URL`; token from settings."""
        base_url = config.get("base_url") or settings.mastodon_base_url
        if not base_url or settings.mastodon_token is None:
            raise ConfigError("mastodon needs PESISIR_MASTODON_BASE_URL and PESISIR_MASTODON_TOKEN")
        return cls(
            base_url=str(base_url),
            token=settings.mastodon_token,
            visibility=str(config.get("visibility", "public")),
        )

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            response = self._session.request(method, f"{self.base_url}{path}", **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            # Safe to retry while Mastodon remembers the status's Idempotency-Key (an hour);
            # unless the connection was never made, the status may exist.
            raise RetryableError(
                f"Mastodon {what}: {type(exc).__name__}",
                maybe_sent=what == "status" and not isinstance(exc, requests.ConnectTimeout),
            ) from None
        if response.status_code >= 400:
            raise classify(what, response.status_code, response.headers, body_json(response))
        return response

    def _upload(self, image: PostImage) -> str:
        response = self._request(
            "POST",
            "/api/v2/media",
            "media upload",
            files={"file": (image.path.name, image.path.read_bytes(), image.mime_type)},
            data={"description": image.alt, "focus": "0.0,0.0"},
            timeout=UPLOAD_TIMEOUT,
        )
        media = response.json()
        media_id = str(media["id"])
        if response.status_code == 202 or media.get("url") is None:
            self._wait_for_media(media_id)
        return media_id

    def _wait_for_media(self, media_id: str) -> None:
        """Poll until the server has processed the upload (200), a bounded number of times."""
        for _ in range(self.media_poll_attempts):
            self._sleep(self.poll_interval)
            response = self._request("GET", f"/api/v1/media/{media_id}", "media status")
            if response.status_code == 200 and response.json().get("url"):
                return
        raise RetryableError(
            f"Mastodon still processing media {media_id} after {self.media_poll_attempts} checks",
            retry_after=60.0,
        )

    # ------------------------------------------------------------------ limits

    def limits(self) -> MastodonLimits:
        """This server's limits: cached for the process, else read from `/api/v2/instance`."""
        now = self._clock()
        cached = _LIMITS.get(self.base_url)
        if cached is not None and now < cached.expires:
            return cached.limits
        read = self._read_limits()
        if read is not None:
            entry = _Cached(read, now + self.limits_ttl_seconds, read=True)
        elif cached is not None and cached.read:
            # Limits the server told us an hour ago beat the defaults (it may allow fewer).
            entry = _Cached(cached.limits, now + self.limits_retry_seconds, read=True)
        else:
            entry = _Cached(self.default_limits, now + self.limits_retry_seconds, read=False)
        _LIMITS[self.base_url] = entry
        return entry.limits

    def _read_limits(self) -> MastodonLimits | None:
        """`GET /api/v2/instance` as limits; None (and a warning) when it cannot be read."""
        try:
            # A short read timeout: the post must not wait long for a hint with a fallback.
            payload = self._instance()
        except PublishError as exc:
            reason = str(exc)
        except ValueError:  # requests' JSONDecodeError too
            reason = "the answer is not JSON"
        except requests.RequestException as exc:
            reason = type(exc).__name__  # the class only: its message may quote the URL
        else:
            limits, defaulted = limits_from_instance(payload)
            noisy = [name for name in defaulted if name not in _QUIETLY_DEFAULTED]
            if noisy:
                logger.warning(
                    "mastodon %s: no usable %s in its instance answer; using the defaults for them",
                    self._server,
                    ", ".join(noisy),
                )
            types = limits.supported_mime_types
            if types is not None and "image/jpeg" not in types:
                logger.warning("mastodon %s takes no JPEG: posts go without photos", self._server)
            return limits
        logger.warning(
            "mastodon %s: could not read its limits (%s); using the defaults",
            self._server,
            reason,
        )
        return None

    def _instance(self) -> Any:
        """`GET /api/v2/instance`, or `/api/v1/instance` where v2 is missing (Mastodon before
        4.0, Pleroma, Akkoma); raises a `PublishError` or a requests error."""
        # A short read timeout: the post must not wait long for a hint with a fallback.
        response = self._session.get(f"{self.base_url}/api/v2/instance", timeout=INSTANCE_TIMEOUT)
        if response.status_code == 404:
            response = self._session.get(
                f"{self.base_url}/api/v1/instance", timeout=INSTANCE_TIMEOUT
            )
        if response.status_code >= 400:
            raise classify("instance", response.status_code, response.headers, body_json(response))
        return response.json()

    def check(self) -> str:
        """`GET /api/v1/accounts/verify_credentials`, and the limits posts will be composed to."""
        try:
            account = self._request(
                "GET", "/api/v1/accounts/verify_credentials", "verify_credentials"
            ).json()
            who = f"@{account.get('acct') or account.get('username')} on {self._server}"
        except AuthError as exc:
            # Mastodon checks the token before its scopes: a 403 "outside the authorized
            # scopes" means a valid token without `profile`, which posting does not need.
            if "outside the authorized scopes" not in str(exc):
                raise
            who = f"a token for {self._server} (add the `profile` scope to see its account)"
        limits = self.limits()
        cached = _LIMITS.get(self.base_url)
        source = "the server's" if cached is not None and cached.read else "defaults"
        return (
            f"{who}; limits ({source}): {limits.max_characters} characters, "
            f"{limits.max_media_attachments} images of at most "
            f"{limits.image_size_limit / 1_000_000:.1f} MB, alt text {limits.description_limit}"
        )

    def compose_rules(self) -> ChannelRules:
        """The composing rules for this server's limits (the dispatcher composes with them)."""
        return mastodon_rules(self.limits())

    # ------------------------------------------------------------------ publishing

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Upload the images, then create the status under the delivery's idempotency key."""
        max_images = self.limits().max_media_attachments
        media_ids = [self._upload(image) for image in post.images[:max_images]]
        payload: dict[str, Any] = {
            "status": post.text,
            "media_ids": media_ids,
            "visibility": self.visibility,
            "language": post.lang,
        }
        response = self._request(
            "POST",
            "/api/v1/statuses",
            "status",
            json=payload,
            headers={"Idempotency-Key": idempotency_key},
        )
        status = response.json()
        logger.info("mastodon status %s posted with %d media", status["id"], len(media_ids))
        return Receipt(
            remote_id=str(status["id"]),
            url=status.get("url") or status.get("uri"),
            extra={"uri": status.get("uri"), "media_ids": media_ids},
        )

    def delete(self, receipt: Receipt) -> bool:
        """Delete the status; a status already gone counts as deleted."""
        try:
            self._request("DELETE", f"/api/v1/statuses/{receipt.remote_id}", "delete")
        except PermanentError as exc:
            if "404" in str(exc):
                return True
            raise
        return True


def classify(what: str, status: int, headers: Mapping[str, str], payload: Any) -> PublishError:
    """The typed error for a Mastodon failure (`{"error": "..."}`)."""
    error = str(payload.get("error")) if isinstance(payload, dict) else f"HTTP {status}"
    message = f"Mastodon {what} ({status}): {error}"
    if status == 401:
        return AuthError(message)
    if status == 403:
        # A token without write:statuses/write:media, or a suspended account.
        return AuthError(message)
    if status == 429:
        return RetryableError(message, retry_after=retry_after_seconds(headers))
    if status >= 500:
        if "Error processing thumbnail" in error:
            # Mastodon could not read the image: the same bytes will fail again.
            return PermanentError(message)
        # A server error on creating the status may come after the status was made.
        return RetryableError(
            message, retry_after=retry_after_seconds(headers), maybe_sent=what == "status"
        )
    return PermanentError(message)
