"""A fake X API v2 (PLATFORMS.md, X): users/me, media upload and metadata, posts, timelines.

Every request must carry a valid OAuth 1.0a HMAC-SHA1 signature, verified by oauthlib's own
resource endpoint against the four keys (a wrong secret, a changed parameter or a replayed nonce
is refused with 401, as X refuses it). Then the contract: `POST /2/media/upload` takes multipart
`media` (JPEG, PNG or WebP bytes, ≤ 5 MB) with `media_category=tweet_image`; alt text by
`POST /2/media/metadata` (≤ 1000 characters); `POST /2/tweets` takes `text` of ≤ 280 weighted
characters as twitter-text counts them and ≤ 4 known media ids, refuses a text the account
already posted (403 duplicate content) and a token without write access (403), and keeps a
24-hour posting cap with `x-rate-limit-*` and `x-user-limit-24hour-*` headers (429 when spent).
Errors are problem details (`title`, `detail`, `type`, `status`). The timeline shows posts as X
does: HTML entities escaped, URLs as t.co links, a media link appended.
"""

from __future__ import annotations

import html
import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from oauthlib.oauth1 import RequestValidator, ResourceEndpoint
from oauthlib.oauth1.rfc5849 import SIGNATURE_HMAC_SHA1
from twitter_text import parse_tweet

from tests.fakes.server import FakePlatform, Request, Response

MAX_WEIGHTED = 280
MAX_MEDIA = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_ALT = 1000
_IMAGE_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"RIFF": "image/webp"}
_URL = re.compile(r"https?://\S+")
DAY = 24 * 3600
WINDOW = 15 * 60


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    """An RFC 7807 problem as X v2 answers it."""
    return Response(status, {"title": title, "detail": detail, "type": kind, "status": status})


UNAUTHORIZED = problem(401, "Unauthorized", "Unauthorized")
NOT_PERMITTED = problem(403, "Forbidden", "You are not permitted to perform this action.")
DUPLICATE = problem(
    403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
)


def invalid(detail: str) -> Response:
    return problem(
        400, "Invalid Request", detail, "https://api.twitter.com/2/problems/invalid-request"
    )


def weighted_length(text: str) -> int:
    """X's count: twitter-text config v3 (URLs 23, emoji and CJK 2)."""
    return int(parse_tweet(text).weightedLength)


class _Keys(RequestValidator):
    """oauthlib's validator for the fake's one app and one access token."""

    def __init__(self, fake: FakeX) -> None:
        super().__init__()
        self.fake = fake
        self.seen: set[tuple[str, str, str]] = set()
        self.lock = threading.Lock()

    @property
    def enforce_ssl(self) -> bool:
        return False  # loopback

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return (SIGNATURE_HMAC_SHA1,)

    @property
    def dummy_client(self) -> str:
        return "dummy-client"

    @property
    def dummy_access_token(self) -> str:
        return "dummy-token"

    # X's keys and tokens have their own shapes (a token is `<user id>-<letters>`), outside
    # oauthlib's default 20-30 character rule; their values are checked below.
    def check_client_key(self, client_key: str) -> bool:
        return True

    def check_access_token(self, request_token: str) -> bool:
        return True

    def check_nonce(self, nonce: str) -> bool:
        return bool(nonce)

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return client_key == self.fake.api_key

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        return token == self.fake.access_token

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Any,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        key = (timestamp, nonce, access_token or "")
        with self.lock:
            if key in self.seen:
                return False  # a replayed request
            self.seen.add(key)
        return True

    def validate_realms(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return self.fake.api_secret

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        return self.fake.access_token_secret


@dataclass
class Media:
    id: str
    data: bytes
    mime_type: str
    alt: str | None = None


@dataclass
class FakeX(FakePlatform):
    api_key: str = "xk3yAbCdEfGhIjKlMnOpQrStU"
    api_secret: str = "xs3cretAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
    access_token: str = "1700000000000000001-AbCdEfGhIjKlMnOpQrStUvWxYz0123"
    access_token_secret: str = "xt0kensecretAbCdEfGhIjKlMnOpQrStUvWxYz01234"
    #: The token's rights, as X says them in `x-access-level`: "read" cannot post (403).
    access_level: str = "read-write"
    user_id: str = "1700000000000000001"
    username: str = "suarapesisir"
    #: Posts per 24 hours for this user (17 on the Free tier, 100 on Basic).
    posts_per_day: int = 100
    media: dict[str, Media] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    #: Set when a post has been made; while `hold` is not set, its answer waits (a send that
    #: is slow to answer, during which a worker may be killed or a second one may tick).
    made: threading.Event = field(default_factory=threading.Event)
    hold: threading.Event | None = None

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1_866_000_000_000_000_001)
        self._keys = _Keys(self)
        self._endpoint = ResourceEndpoint(self._keys)
        self._post_times: list[float] = []

    def env(self) -> dict[str, str]:
        """The `PESISIR_X_*` settings that point a publisher at this fake with its keys."""
        return {
            "PESISIR_X_API_URL": self.url,
            "PESISIR_X_API_KEY": self.api_key,
            "PESISIR_X_API_SECRET": self.api_secret,
            "PESISIR_X_ACCESS_TOKEN": self.access_token,
            "PESISIR_X_ACCESS_TOKEN_SECRET": self.access_token_secret,
        }

    # ------------------------------------------------------------------ requests

    def signed(self, request: Request) -> bool:
        """Whether the request's OAuth 1.0a signature is valid for the fake's keys."""
        query = urlencode(request.query, doseq=True)
        uri = f"http://{request.headers.get('Host')}{request.path}" + (f"?{query}" if query else "")
        content_type = request.headers.get("Content-Type", "")
        body = request.body.decode() if "x-www-form-urlencoded" in content_type else ""
        valid, _ = self._endpoint.validate_protected_resource_request(
            uri, http_method=request.method, body=body, headers=dict(request.headers.items())
        )
        return bool(valid)

    def handle(self, request: Request) -> Response:
        if not request.headers.get("Authorization", "").startswith("OAuth "):
            return UNAUTHORIZED
        if not self.signed(request):
            return UNAUTHORIZED
        method, path = request.method, request.path
        if method == "GET" and path == "/2/users/me":
            user = {"id": self.user_id, "name": "Suara Pesisir", "username": self.username}
            return Response(200, {"data": user}, {"x-access-level": self.access_level})
        if method == "POST" and path == "/2/media/upload":
            return self._upload(request)
        if method == "POST" and path == "/2/media/metadata":
            return self._metadata(request)
        if method == "POST" and path == "/2/tweets":
            return self._create(request)
        if method == "DELETE" and path.startswith("/2/tweets/"):
            return self._delete(path.rsplit("/", 1)[-1])
        if method == "GET" and path == f"/2/users/{self.user_id}/tweets":
            return self._timeline(request)
        return problem(404, "Not Found Error", f"{method} {path} is not an X API v2 endpoint")

    def _writes(self) -> bool:
        return self.access_level != "read"

    def _upload(self, request: Request) -> Response:
        if not self._writes():
            return NOT_PERMITTED
        parts = request.multipart()
        media = parts.get("media")
        if media is None or not media.data:
            return invalid("The `media` field is required.")
        category = parts["media_category"].text if "media_category" in parts else None
        if category != "tweet_image":
            return invalid("media_category must be one of tweet_image, dm_image, subtitles")
        kind = next((t for magic, t in _IMAGE_MAGIC.items() if media.data.startswith(magic)), None)
        if kind is None:
            return invalid("The media type is not supported.")
        if len(media.data) > MAX_IMAGE_BYTES:
            return invalid(f"Image size must be <= {MAX_IMAGE_BYTES} bytes.")
        media_id = str(next(self._ids))
        self.media[media_id] = Media(media_id, media.data, kind)
        data = {
            "id": media_id,
            "media_key": f"3_{media_id}",
            "size": len(media.data),
            "expires_after_secs": DAY,
            "image": {"image_type": kind},
        }
        return Response(200, {"data": data})

    def _metadata(self, request: Request) -> Response:
        if not self._writes():
            return NOT_PERMITTED
        body = request.json()
        media = self.media.get(str(body.get("id")))
        if media is None:
            return invalid(f"Media {body.get('id')} was not found.")
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(alt, str) or not alt or len(alt) > MAX_ALT:
            return invalid(f"alt_text.text must be 1 to {MAX_ALT} characters.")
        media.alt = alt
        return Response(
            200, {"data": {"id": media.id, "associated_metadata": {"alt_text": {"text": alt}}}}
        )

    def _limit_headers(self, now: float) -> dict[str, str]:
        self._post_times = [t for t in self._post_times if t > now - DAY]
        remaining = max(0, self.posts_per_day - len(self._post_times))
        reset = int((self._post_times[0] if self._post_times else now) + DAY)
        return {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "99",
            "x-rate-limit-reset": str(int(now + WINDOW)),
            "x-user-limit-24hour-limit": str(self.posts_per_day),
            "x-user-limit-24hour-remaining": str(remaining),
            "x-user-limit-24hour-reset": str(reset),
        }

    def _create(self, request: Request) -> Response:
        if not self._writes():
            return NOT_PERMITTED
        now = time.time()
        headers = self._limit_headers(now)
        if headers["x-user-limit-24hour-remaining"] == "0":
            limited = problem(429, "Too Many Requests", "Too Many Requests")
            return Response(429, limited.body, headers)
        body = request.json()
        if not isinstance(body, dict):
            return invalid("The request body is not JSON.")
        text = body.get("text") or ""
        media_ids = [str(m) for m in ((body.get("media") or {}).get("media_ids") or [])]
        if not text and not media_ids:
            return invalid("Text or media is required.")
        if weighted_length(text) > MAX_WEIGHTED:
            return invalid("Your Tweet text is too long.")
        if "media" in body and not 1 <= len(media_ids) <= MAX_MEDIA:
            return invalid(f"media.media_ids must have 1 to {MAX_MEDIA} items.")
        unknown = [m for m in media_ids if m not in self.media]
        if unknown:
            return invalid(f"Your media IDs are invalid: {', '.join(unknown)}.")
        if any(post["text"] == text and not post["deleted"] for post in self.posts.values()):
            return Response(403, DUPLICATE.body, headers)
        post_id = str(next(self._ids))
        self.posts[post_id] = {
            "id": post_id,
            "text": text,
            "media_ids": media_ids,
            "created": now,
            "deleted": False,
        }
        self._post_times.append(now)
        headers = self._limit_headers(now)
        self.made.set()
        if self.hold is not None:
            self.hold.wait(30)
        data = {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}
        return Response(201, {"data": data}, headers)

    def _delete(self, post_id: str) -> Response:
        if not self._writes():
            return NOT_PERMITTED
        post = self.posts.get(post_id)
        if post is None or post["deleted"]:
            return problem(
                404,
                "Not Found Error",
                f"Could not find tweet with id: [{post_id}].",
                "https://api.twitter.com/2/problems/resource-not-found",
            )
        post["deleted"] = True
        self.deleted.append(post_id)
        return Response(200, {"data": {"deleted": True}})

    def shown(self, post: dict[str, Any]) -> str:
        """A post's text as X's API shows it back."""
        text = html.escape(post["text"], quote=False)
        text = _URL.sub(lambda m: "https://t.co/" + format(hash(m.group(0)) % 10**10, "010d"), text)
        if post["media_ids"]:
            text += " https://t.co/m3diaL1nk0"
        return text

    def _timeline(self, request: Request) -> Response:
        max_results = int(request.param("max_results") or 10)
        if not 5 <= max_results <= 100:
            return invalid("max_results must be between 5 and 100.")
        start = request.param("start_time")
        since = 0.0
        if start is not None:
            try:
                moment = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            except ValueError:
                return invalid("start_time must be an RFC 3339 date-time.")
            since = moment.timestamp()
        posts = sorted(
            (p for p in self.live() if p["created"] >= since), key=lambda p: -p["created"]
        )[:max_results]
        data = [{"id": p["id"], "text": self.shown(p)} for p in posts]
        return Response(
            200,
            {"data": data, "meta": {"result_count": len(data)}}
            if data
            else {"meta": {"result_count": 0}},
        )

    def live(self) -> list[dict[str, Any]]:
        """Posts not deleted, oldest first."""
        return [p for p in self.posts.values() if not p["deleted"]]
