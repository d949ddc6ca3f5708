"""Bluesky (AT Protocol): cached session, uploadBlob, and a post written with `putRecord`.

A retry cannot post twice: the record key is a TID derived from the delivery's idempotency key
(`tid_for`), and `com.atproto.repo.putRecord` creates the record or overwrites the same one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import regex
import requests
from pydantic import SecretStr

from core.clock import utcnow
from core.config import Settings
from core.errors import ConfigError
from core.projections import PublicStory
from publishers.base import (
    ALWAYS,
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
from publishers.text import MAX_TAG_GRAPHEMES, URL_RE, ChannelRules, graphemes, utf8_bytes

logger = logging.getLogger(__name__)

POST_COLLECTION = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable (atproto TID spec)
# Derived TIDs carry a timestamp inside [2023-01-01, +2^45 µs ≈ 1.1 years): plausible, in the
# past, so they never sort ahead of posts made by other clients in the future.
_TID_EPOCH_US = 1_672_531_200_000_000
_TID_SPAN_BITS = 45
_REFRESH_ERRORS = {"ExpiredToken", "InvalidToken"}
# PLATFORMS.md Bluesky: blob maxSize 2,000,000 bytes (1,000,000 on older PDSes).
MAX_BLOB_BYTES = 2_000_000
_HASHTAG_IN_TEXT = regex.compile(r"(?<!\S)#([\p{L}\p{M}\p{N}_]+)")


def _fits(text: str) -> bool:
    return graphemes(text) <= 300 and utf8_bytes(text) <= 3000


def tag_facets(text: str) -> list[dict[str, Any]]:
    """`app.bsky.richtext.facet#tag` for every `#tag` in `text`, at UTF-8 byte offsets.

    Bluesky does not detect hashtags server-side: our tag line and any `#kata` the contributor
    wrote both need a facet. The range covers the `#`; the tag value does not.
    """
    facets: list[dict[str, Any]] = []
    for match in _HASHTAG_IN_TEXT.finditer(text):
        tag = match.group(1)
        if tag.isdigit() or graphemes(tag) > MAX_TAG_GRAPHEMES:
            continue
        facets.append(
            {
                "index": {
                    "byteStart": utf8_bytes(text[: match.start()]),
                    "byteEnd": utf8_bytes(text[: match.end()]),
                },
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
            }
        )
    return facets


def link_facets(text: str) -> list[dict[str, Any]]:
    """`app.bsky.richtext.facet#link` for each URL in `text` (Bluesky does not detect links)."""
    return [
        {
            "index": {
                "byteStart": utf8_bytes(text[: match.start()]),
                "byteEnd": utf8_bytes(text[: match.end()]),
            },
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)}],
        }
        for match in URL_RE.finditer(text)
    ]


def tid_for(idempotency_key: str) -> str:
    """A valid, deterministic TID record key for `idempotency_key`.

    A TID is 64 bits: a zero top bit, 53 bits of microseconds since 1970 and a 10-bit clock id,
    written as 13 base32-sortable characters. We take the SHA-256 of the key: 45 bits give the
    microseconds after 2023-01-01 and 10 bits the clock id. The same key always gives the same
    TID; different keys collide with probability 2^-55.
    """
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
    timestamp = _TID_EPOCH_US + (digest >> (64 - _TID_SPAN_BITS))
    clock_id = digest & 0x3FF
    value = (timestamp << 10) | clock_id
    return "".join(_TID_ALPHABET[(value >> (60 - 5 * i)) & 0x1F] for i in range(13))


#: createSession is limited to 30 per 5 min and 300 a day per handle, and the dispatcher builds
#: a new publisher every tick: sessions live here, per (service, identifier, password hash).
_SESSIONS: dict[tuple[str, str, str], dict[str, str]] = {}


def forget_sessions() -> None:
    """Drop every cached Bluesky session (the next call logs in again)."""
    _SESSIONS.clear()


class _SessionExpired(Exception):
    """The access token was refused as expired or invalid: refresh and retry once."""


class BlueskyPublisher(Publisher):
    """Posts to one Bluesky account with an app password."""

    kind: ClassVar[str] = "bluesky"
    # PLATFORMS.md Bluesky: ≤ 300 graphemes and ≤ 3000 UTF-8 bytes; ≤ 4 images; blob maxSize
    # 2,000,000 bytes (1,000,000 on older PDSes). The app shows images at feed size anyway, so
    # `feed` first, then `web`, each within 1 MB; only if neither fits, anything within 2 MB.
    rules: ClassVar[ChannelRules] = ChannelRules(
        _fits, _fits, 4, ("feed", "web"), 1_000_000, fallback_image_bytes=MAX_BLOB_BYTES
    )
    # putRecord with a record key derived from the idempotency key: a resend overwrites the
    # same record, never makes a second one.
    resend_safe_seconds: ClassVar[float] = ALWAYS
    # PLATFORMS.md Bluesky: 5,000 points/h per DID, a create costs 3 (~1,666 posts/h).
    rate_per_minute: ClassVar[int | None] = 20
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_BLUESKY_IDENTIFIER (your handle) and PESISIR_BLUESKY_APP_PASSWORD",
        auth="make an app password in Bluesky: Settings → Privacy and security → App passwords "
        "(never the account password) and check the handle in PESISIR_BLUESKY_IDENTIFIER",
        unreachable="the PDS did not answer (or is rate limiting logins): check "
        "PESISIR_BLUESKY_SERVICE and try again in a few minutes",
        refused="check PESISIR_BLUESKY_SERVICE (https://bsky.social, or your own PDS) and "
        "PESISIR_BLUESKY_IDENTIFIER",
    )

    def __init__(
        self,
        *,
        service: str,
        identifier: str,
        app_password: SecretStr,
        app_url: str = "https://bsky.app",
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.service = service.rstrip("/")
        self.app_url = app_url.rstrip("/")
        self.identifier = identifier
        self._password = app_password
        self._now = now
        self._http = new_session()
        password_hash = hashlib.sha256(app_password.get_secret_value().encode()).hexdigest()
        self._session_key = (self.service, identifier, password_hash)

    @property
    def _auth(self) -> dict[str, str] | None:
        """This account's session, shared by every publisher of the process."""
        return _SESSIONS.get(self._session_key)

    @_auth.setter
    def _auth(self, value: dict[str, str] | None) -> None:
        if value is None:
            _SESSIONS.pop(self._session_key, None)
        else:
            _SESSIONS[self._session_key] = value

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> BlueskyPublisher:
        """Account from `PESISIR_BLUESKY_*`; config may name another `service` and
        `app_url`."""
        identifier = config.get("identifier") or settings.bluesky_identifier
        if not identifier or settings.bluesky_app_password is None:
            raise ConfigError(
                "bluesky needs PESISIR_BLUESKY_IDENTIFIER and PESISIR_BLUESKY_APP_PASSWORD"
            )
        return cls(
            service=str(config.get("service") or settings.bluesky_service),
            identifier=str(identifier),
            app_password=settings.bluesky_app_password,
            app_url=str(config.get("app_url") or settings.bluesky_app_url),
        )

    # ------------------------------------------------------------------ transport

    def _send(
        self,
        nsid: str,
        *,
        method: str = "POST",
        token: str | None = None,
        json: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self._http.request(
                method,
                f"{self.service}/xrpc/{nsid}",
                json=json,
                data=data,
                headers=headers,
                timeout=UPLOAD_TIMEOUT if data is not None else TIMEOUT,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            # Safe to retry: putRecord with the same rkey cannot duplicate.
            raise RetryableError(f"Bluesky {nsid}: {type(exc).__name__}") from None
        payload = body_json(response)
        if response.status_code >= 400:
            error = payload.get("error") if isinstance(payload, dict) else None
            if token and response.status_code == 400 and error in _REFRESH_ERRORS:
                raise _SessionExpired(str(error))
            raise classify(nsid, response.status_code, response.headers, payload)
        return payload

    def _login(self) -> dict[str, str]:
        payload = self._send(
            "com.atproto.server.createSession",
            json={"identifier": self.identifier, "password": self._password.get_secret_value()},
        )
        self._auth = {key: payload[key] for key in ("accessJwt", "refreshJwt", "did")}
        return self._auth

    def _refresh(self) -> dict[str, str]:
        assert self._auth is not None
        try:
            payload = self._send(
                "com.atproto.server.refreshSession", token=self._auth["refreshJwt"]
            )
        except (_SessionExpired, AuthError):
            # The refresh token expired too (they live ~2 months): log in again.
            return self._login()
        self._auth = {key: payload[key] for key in ("accessJwt", "refreshJwt", "did")}
        return self._auth

    def _call(self, nsid: str, **kwargs: Any) -> Any:
        """An authenticated call; on ExpiredToken/InvalidToken refresh the session, retry once."""
        auth = self._auth or self._login()
        try:
            return self._send(nsid, token=auth["accessJwt"], **kwargs)
        except _SessionExpired:
            logger.info("bluesky session expired; refreshing")
        auth = self._refresh()
        try:
            return self._send(nsid, token=auth["accessJwt"], **kwargs)
        except _SessionExpired as exc:
            raise AuthError(f"Bluesky {nsid}: {exc} even after a fresh session") from None

    # ------------------------------------------------------------------ setup check

    def check(self) -> str:
        """A session (the cached one, refreshed, or a new login) and `getSession`'s handle."""
        session = self._call("com.atproto.server.getSession", method="GET")
        return f"logged in as @{session.get('handle')} on {self.service}"

    # ------------------------------------------------------------------ publishing

    @classmethod
    def finish_post(
        cls, post: Post, story: PublicStory, *, credit: str, tags: Sequence[str]
    ) -> Post:
        """Links and hashtags as rich-text facets: Bluesky detects neither by itself."""
        facets = tuple(link_facets(post.text) + tag_facets(post.text))
        return dataclasses.replace(post, facets=facets)

    def _upload(self, image: PostImage) -> Any:
        data = image.path.read_bytes()
        limit = self.rules.fallback_image_bytes or MAX_BLOB_BYTES
        if len(data) > limit:
            raise PermanentError(
                f"Bluesky image {image.path.name} is {len(data)} bytes; the maximum is {limit}"
            )
        payload = self._call("com.atproto.repo.uploadBlob", data=data, content_type=image.mime_type)
        return payload["blob"]

    def record(self, post: Post, blobs: list[Any]) -> dict[str, Any]:
        """The app.bsky.feed.post record for `post` with uploaded `blobs`."""
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": post.text,
            "createdAt": self._now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "langs": [post.lang],
        }
        if post.facets:
            record["facets"] = list(post.facets)
        if blobs:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [
                    {
                        "image": blob,
                        "alt": image.alt,
                        "aspectRatio": {"width": image.width, "height": image.height},
                    }
                    for image, blob in zip(post.images, blobs, strict=False)
                ],
            }
        return record

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Upload the images and put the post under the TID derived from the key."""
        images = post.images[: self.rules.max_images]
        blobs = [self._upload(image) for image in images]
        rkey = tid_for(idempotency_key)
        auth = self._auth or self._login()
        payload = self._call(
            "com.atproto.repo.putRecord",
            json={
                "repo": auth["did"],
                "collection": POST_COLLECTION,
                "rkey": rkey,
                "record": self.record(post, blobs),
            },
        )
        did = (self._auth or auth)["did"]
        logger.info("bluesky post %s put with %d images", rkey, len(blobs))
        return Receipt(
            remote_id=str(payload["uri"]),
            url=f"{self.app_url}/profile/{did}/post/{rkey}",
            extra={"cid": payload.get("cid"), "rkey": rkey, "did": did},
        )

    def delete(self, receipt: Receipt) -> bool:
        """Delete the record (deleteRecord succeeds for a record already gone)."""
        rkey = receipt.extra.get("rkey") or receipt.remote_id.rsplit("/", 1)[-1]
        auth = self._auth or self._login()
        self._call(
            "com.atproto.repo.deleteRecord",
            json={"repo": auth["did"], "collection": POST_COLLECTION, "rkey": rkey},
        )
        return True


def classify(nsid: str, status: int, headers: Mapping[str, str], payload: Any) -> PublishError:
    """The typed error for an XRPC failure, read from its `error` name first."""
    body = payload if isinstance(payload, dict) else {}
    error = str(body.get("error") or f"HTTP {status}")
    message = f"Bluesky {nsid} ({status}): {error}: {body.get('message', '')}".rstrip(": ")
    if status == 429 or error == "RateLimitExceeded":
        return RetryableError(message, retry_after=retry_after_seconds(headers))
    if status == 401 or error in {"AuthenticationRequired", "AccountTakedown", *_REFRESH_ERRORS}:
        return AuthError(message)
    if status >= 500:
        return RetryableError(message, retry_after=retry_after_seconds(headers))
    # InvalidRequest, BlobNotFound, PayloadTooLarge (413), ...: the same request fails again.
    return PermanentError(message)
