"""Mastodon: v2 media upload (200, or 202 then poll), then a status with `Idempotency-Key`.

Mastodon keeps an Idempotency-Key for up to an hour (PLATFORMS.md), so retrying a status within
that hour cannot post twice; a retried upload only leaves an unattached media item behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import requests
from pydantic import SecretStr

from core.config import Settings
from core.errors import ConfigError
from publishers.base import (
    AuthError,
    PermanentError,
    Post,
    PostImage,
    PublishError,
    Receipt,
    RetryableError,
)
from publishers.http import TIMEOUT, UPLOAD_TIMEOUT, body_json, new_session, retry_after_seconds
from publishers.registry import register

logger = logging.getLogger(__name__)


@register("mastodon")
class MastodonPublisher:
    """Posts a public status with up to 4 described images."""

    name: ClassVar[str] = "mastodon"
    # PLATFORMS.md Mastodon: 500 grapheme clusters (URL = 23) and 4 images by default.
    body_maxlen: ClassVar[int] = 500
    max_images: ClassVar[int] = 4
    # PLATFORMS.md Mastodon: on 202 poll GET /api/v1/media/:id (206 while processing); bounded.
    media_poll_attempts: ClassVar[int] = 10
    # PLATFORMS.md Mastodon: 300 requests/5 min, but media uploads only 30 per 30 min.
    rate_per_minute: ClassVar[int | None] = 1

    def __init__(
        self,
        *,
        base_url: str,
        token: SecretStr,
        visibility: str = "public",
        poll_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.visibility = visibility
        self.poll_interval = poll_interval
        self._sleep = sleep
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

    # ------------------------------------------------------------------ publishing

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Upload the images, then create the status under the delivery's idempotency key."""
        media_ids = [self._upload(image) for image in post.images[: self.max_images]]
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
