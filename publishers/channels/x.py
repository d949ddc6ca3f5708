"""X (API v2, OAuth 1.0a user context): `POST /2/media/upload` per photo, its alt text by
`POST /2/media/metadata`, then `POST /2/tweets` with up to four media ids (PLATFORMS.md).

X has no idempotency key, so a post goes out at most once (`resend_safe_seconds = NEVER`).
When the answer to the create call is lost (a timeout after the request left, or a 5xx), the
publisher asks X for the account's own posts since just before the send and takes the one with
our text as the receipt. When none is there after a timeout, or X cannot be asked, the delivery
becomes `unknown` for a person to check: it is never sent again blindly. X's 403 "duplicate
content" is not a guard to lean on (its window is undocumented) and is a permanent failure.

The four credentials sign every request (HMAC-SHA1, by oauthlib through requests-oauthlib); none
of them, nor a signed header, is ever put in a message or a log line.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests
from pydantic import SecretStr

from core.clock import utcnow
from core.config import Settings
from core.errors import ConfigError
from publishers.base import (
    NEVER,
    AuthError,
    PermanentError,
    Post,
    PostImage,
    Publisher,
    PublishError,
    Receipt,
    RetryableError,
    SetupHints,
    UncertainError,
)
from publishers.http import (
    TIMEOUT,
    UPLOAD_TIMEOUT,
    body_json,
    may_have_reached_server,
    new_session,
    retry_after_seconds,
)
from publishers.text import ChannelRules, twitter_weighted_length

logger = logging.getLogger(__name__)

# PLATFORMS.md X: 280 weighted characters (twitter-text config v3).
MAX_WEIGHTED_LENGTH = 280
# PLATFORMS.md X: at most 4 photos per post, each at most 5 MB.
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# docs.x.com, media metadata: alt text is at most 1000 characters.
MAX_ALT_CHARS = 1000
# Where a post can be opened without knowing the account's handle.
POST_URL = "https://x.com/i/web/status/{id}"
# X answers 403 both to a duplicate text (this post's fault) and to missing rights (the app's).
_DUPLICATE = "duplicate content"
_READ_WRITE_HINT = (
    "the app needs 'Read and write' (User authentication settings in the developer portal), "
    "and the access token must be generated again after that change"
)
# The 24-hour posting caps (x-user-limit-24hour-*, x-app-limit-24hour-*) outlast the 15-minute
# window of x-rate-limit-*: a 429 waits for whichever exhausted window ends last.
_LIMIT_PREFIXES = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")
_URL_IN_TEXT = re.compile(r"https?://\S+")


def _fits(text: str) -> bool:
    return twitter_weighted_length(text) <= MAX_WEIGHTED_LENGTH


def same_text(ours: str, theirs: str) -> bool:
    """Whether a post X shows (`theirs`: HTML entities escaped, every URL a t.co link, a media
    link appended) is the text we sent (`ours`)."""

    def plain(text: str) -> str:
        text = unicodedata.normalize("NFC", html.unescape(text))
        return " ".join(_URL_IN_TEXT.sub(" ", text).split())

    return plain(ours) == plain(theirs)


def rate_limit_wait(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds until X takes requests again after a 429: the latest reset (Unix seconds) of the
    windows whose remaining count is 0 (all of them when X does not say); else `Retry-After`."""
    waits: list[float] = []
    for prefix in _LIMIT_PREFIXES:
        reset = headers.get(f"{prefix}-reset")
        if not reset:
            continue
        remaining = headers.get(f"{prefix}-remaining")
        if remaining not in (None, "0"):
            continue
        wait = retry_after_seconds({"RateLimit-Reset": reset}, now=now)
        if wait is not None:
            waits.append(wait)
    if waits:
        return max(waits)
    return retry_after_seconds(headers, now=now)


def problem_text(payload: Any, status: int) -> str:
    """`title: detail` of a v2 problem (`title`, `detail`, `type`, `status`), or the first of
    its `errors` (the older `{"errors": [{"message", "code"}]}` shape too)."""
    body = payload if isinstance(payload, dict) else {}
    if not (body.get("title") or body.get("detail")):
        errors = body.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else None
        body = first if isinstance(first, dict) else {}
    title = str(body.get("title") or "").strip()
    detail = str(body.get("detail") or body.get("message") or "").strip()
    text = f"{title}: {detail}" if title and detail and title != detail else title or detail
    return text or f"HTTP {status}"


def classify(what: str, status: int, headers: Mapping[str, str], payload: Any) -> PublishError:
    """The typed error for an X API failure, read from its problem details."""
    text = problem_text(payload, status)
    message = f"X {what} ({status}): {text}"
    if status == 429:
        return RetryableError(message, retry_after=rate_limit_wait(headers))
    if status == 401:
        return AuthError(message)
    if status == 403:
        if _DUPLICATE in text.lower():
            # X refuses a text this account posted recently: the same post again cannot help.
            return PermanentError(f"{message} (X takes the same text only once)")
        # A read-only app, an app outside a Project, a suspended account: a person must act.
        return AuthError(f"{message}; {_READ_WRITE_HINT}")
    if status >= 500:
        return RetryableError(message, retry_after=retry_after_seconds(headers))
    return PermanentError(message)


class XPublisher(Publisher):
    """Posts to one X account: up to four described photos and a text of 280 weighted
    characters."""

    kind: ClassVar[str] = "x"
    # PLATFORMS.md X: 280 weighted characters (URLs 23, emoji and CJK 2) with or without photos;
    # ≤ 4 photos of ≤ 5 MB. X shows photos large, so `web` first, `feed` when `web` is too big.
    rules: ClassVar[ChannelRules] = ChannelRules(
        _fits, _fits, MAX_IMAGES, ("web", "feed"), MAX_IMAGE_BYTES, max_alt_chars=MAX_ALT_CHARS
    )
    # PLATFORMS.md X: no idempotency; a resend may post twice (or meet a 403 duplicate).
    resend_safe_seconds: ClassVar[float] = NEVER
    # PLATFORMS.md X: posting caps are per 24 hours (17 on the Free tier, 100 on Basic): one
    # post a minute keeps a backlog from spending a day's cap in one burst.
    rate_per_minute: ClassVar[int | None] = 1
    # How far before the send to look for a post whose answer was lost: X's clock and ours
    # may differ; the text match keeps an older post from being taken.
    lookup_margin: ClassVar[timedelta] = timedelta(minutes=10)
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_X_API_KEY and PESISIR_X_API_SECRET (the app's API Key and Secret) "
        "and PESISIR_X_ACCESS_TOKEN and PESISIR_X_ACCESS_TOKEN_SECRET (the posting account's "
        "Access Token and Secret), from the app's 'Keys and tokens' in the X developer portal",
        auth="in the X developer portal: give the app 'Read and write' (User authentication "
        "settings), then regenerate the Access Token and Secret (a token made before keeps "
        "its old rights) and set all four PESISIR_X_* keys again",
        unreachable="X did not answer (or is rate limiting): check PESISIR_X_API_URL and the "
        "network, then run pesisir check again",
        refused="check PESISIR_X_API_URL (https://api.x.com) and that the app belongs to a "
        "Project in the developer portal",
    )

    def __init__(
        self,
        *,
        api_url: str,
        api_key: SecretStr,
        api_secret: SecretStr,
        access_token: SecretStr,
        access_token_secret: SecretStr,
        now: Callable[[], datetime] = utcnow,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._now = now
        self.timeout = timeout  # (connect, read) of the create call
        # Imported here: requests-oauthlib brings its OAuth 2 parts along (~0.1 s), which only
        # a process that posts to X should pay.
        from requests_oauthlib import OAuth1

        self._session = new_session()
        # HMAC-SHA1 in the Authorization header; multipart and JSON bodies are not signed,
        # form and query parameters are (RFC 5849 §3.4.1.3, as X verifies them).
        self._session.auth = OAuth1(
            api_key.get_secret_value(),
            client_secret=api_secret.get_secret_value(),
            resource_owner_key=access_token.get_secret_value(),
            resource_owner_secret=access_token_secret.get_secret_value(),
        )
        self._user: dict[str, Any] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> XPublisher:
        """The four keys from `PESISIR_X_*`; the API address from config `api_url` or
        `PESISIR_X_API_URL`."""
        keys = {
            "PESISIR_X_API_KEY": settings.x_api_key,
            "PESISIR_X_API_SECRET": settings.x_api_secret,
            "PESISIR_X_ACCESS_TOKEN": settings.x_access_token,
            "PESISIR_X_ACCESS_TOKEN_SECRET": settings.x_access_token_secret,
        }
        missing = [name for name, value in keys.items() if value is None]
        if missing:
            raise ConfigError(f"x needs {', '.join(missing)}")
        assert settings.x_api_key and settings.x_api_secret
        assert settings.x_access_token and settings.x_access_token_secret
        return cls(
            api_url=str(config.get("api_url") or settings.x_api_url),
            api_key=settings.x_api_key,
            api_secret=settings.x_api_secret,
            access_token=settings.x_access_token,
            access_token_secret=settings.x_access_token_secret,
        )

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        """A signed request; errors typed. Every call here is harmless to repeat (an upload
        only leaves an unused media id, which X expires)."""
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            response = self._session.request(method, f"{self.api_url}{path}", **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableError(f"X {what}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise classify(what, response.status_code, response.headers, body_json(response))
        return response

    def _data(self, response: requests.Response, what: str) -> dict[str, Any]:
        payload = body_json(response)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise PermanentError(f"X {what} ({response.status_code}) answered without data")
        return data

    def me(self) -> dict[str, Any]:
        """The posting account (`GET /2/users/me`: id, username), asked once per publisher."""
        if self._user is None:
            self._user = self._data(self._request("GET", "/2/users/me", "users/me"), "users/me")
        return self._user

    # ------------------------------------------------------------------ setup check

    def check(self) -> str:
        """`GET /2/users/me`: the four keys work; the token's access level (X's
        `x-access-level` header) must allow writing. Posts nothing."""
        response = self._request("GET", "/2/users/me", "users/me")
        user = self._user = self._data(response, "users/me")
        who = f"@{user.get('username')}"
        level = response.headers.get("x-access-level")
        if level == "read":
            raise AuthError(f"the access token of {who} is read-only: {_READ_WRITE_HINT}")
        if not level:
            return (
                f"{who} on {self.api_url} (X did not say the token's access level: without "
                "'Read and write' the first post is refused with 403)"
            )
        return f"{who} on {self.api_url}, access {level}"

    # ------------------------------------------------------------------ publishing

    def _upload(self, image: PostImage) -> str:
        """One photo by the simple upload (`media` + `media_category=tweet_image`), then its
        alt text; the media id."""
        data = image.path.read_bytes()
        if len(data) > MAX_IMAGE_BYTES:
            raise PermanentError(
                f"X photo {image.path.name} is {len(data)} bytes; the maximum is {MAX_IMAGE_BYTES}"
            )
        response = self._request(
            "POST",
            "/2/media/upload",
            "media upload",
            files={"media": (image.path.name, data, image.mime_type)},
            data={"media_category": "tweet_image", "media_type": image.mime_type},
            timeout=UPLOAD_TIMEOUT,
        )
        media = self._data(response, "media upload")
        state = (media.get("processing_info") or {}).get("state", "succeeded")
        if state == "failed":
            raise PermanentError(f"X could not process photo {image.path.name}")
        if state != "succeeded":
            # Photos are processed within the upload call; a photo still pending is X's
            # trouble: upload it again later (the unused id expires).
            raise RetryableError(f"X still processing photo {image.path.name}", retry_after=60.0)
        media_id = str(media["id"])
        if image.alt:
            self._request(
                "POST",
                "/2/media/metadata",
                "alt text",
                json={
                    "id": media_id,
                    "metadata": {"alt_text": {"text": image.alt[:MAX_ALT_CHARS]}},
                },
            )
        return media_id

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Upload the photos (the composer keeps the first four of the story's), then create
        the post once; a lost answer is settled by looking for the post, never by resending."""
        media_ids = [self._upload(image) for image in post.images[:MAX_IMAGES]]
        payload: dict[str, Any] = {"text": post.text}
        if media_ids:
            payload["media"] = {"media_ids": media_ids}
        started = self._now()
        try:
            response = self._session.post(
                f"{self.api_url}/2/tweets", json=payload, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not may_have_reached_server(exc):
                raise RetryableError(f"X post: {type(exc).__name__} before sending") from None
            lost = RetryableError(f"X post: {type(exc).__name__} after sending")
            return self._settle(post, started, lost, media_ids, absent_means_not_sent=False)
        if response.status_code >= 500:
            error = classify("post", response.status_code, response.headers, body_json(response))
            return self._settle(post, started, error, media_ids, absent_means_not_sent=True)
        if response.status_code >= 400:
            raise classify("post", response.status_code, response.headers, body_json(response))
        created = self._data(response, "post")
        logger.info(
            "x post %s created with %d photo(s) for %s",
            created["id"],
            len(media_ids),
            idempotency_key,
        )
        return _receipt(str(created["id"]), media_ids, recovered=False)

    def _settle(
        self,
        post: Post,
        started: datetime,
        error: PublishError,
        media_ids: list[str],
        *,
        absent_means_not_sent: bool,
    ) -> Receipt:
        """After a lost answer: the post with our text made since `started` is the receipt.

        None there after a 5xx: X said it failed and the account agrees, so it may be sent
        again later. None after a timeout, or the account cannot be read: `UncertainError`.
        """
        try:
            found = self.find_post(post.text, since=started)
        except PublishError as exc:
            raise UncertainError(
                f"{error}; looking for the post failed too ({exc}): check the X account "
                "before sending again"
            ) from None
        if found is not None:
            logger.warning("x post %s was made although its answer was lost (%s)", found, error)
            return _receipt(found, media_ids, recovered=True)
        if absent_means_not_sent:
            wait = error.retry_after if isinstance(error, RetryableError) else None
            raise RetryableError(f"{error}; the post is not on the account", retry_after=wait)
        raise UncertainError(
            f"{error}; the post is not on the account yet: check it before sending again"
        )

    def find_post(self, text: str, *, since: datetime) -> str | None:
        """The id of this account's post with `text` made since `since` (less a margin for
        clocks), from its timeline (`GET /2/users/:id/tweets`), if there is one."""
        user_id = self.me()["id"]
        start = (since - self.lookup_margin).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = self._request(
            "GET",
            f"/2/users/{user_id}/tweets",
            "timeline",
            params={"start_time": start, "max_results": 20, "exclude": "replies,retweets"},
        )
        payload = body_json(response)
        posts = payload.get("data") if isinstance(payload, dict) else None
        for item in posts if isinstance(posts, list) else []:
            if isinstance(item, dict) and same_text(text, str(item.get("text", ""))):
                return str(item["id"])
        return None

    def delete(self, receipt: Receipt) -> bool:
        """`DELETE /2/tweets/:id`; a post already gone counts as deleted."""
        try:
            response = self._request("DELETE", f"/2/tweets/{receipt.remote_id}", "delete")
        except PermanentError as exc:
            if "(404)" in str(exc):
                return True
            raise
        return bool(self._data(response, "delete").get("deleted"))


def _receipt(post_id: str, media_ids: list[str], *, recovered: bool) -> Receipt:
    return Receipt(
        remote_id=post_id,
        url=POST_URL.format(id=post_id),
        extra={"media_ids": media_ids, "recovered": recovered},
    )
