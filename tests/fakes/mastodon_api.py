"""A fake Mastodon server (PLATFORMS.md, Mastodon): instance, v2 media, media status, statuses.

Serves `GET /api/v2/instance` (public, as on Mastodon) with its configurable limits, and enforces
them: Bearer token, multipart `file` of a supported type within `image_size_limit`, description
≤ `description_limit`, the 202 → 206 … → 200 path for media processed asynchronously, media ready
before attaching, ≤ `max_media` media, visibility values, StatusLengthValidator (`max_characters`
grapheme clusters, each URL counted as `url_weight`), `Idempotency-Key` returning the same status,
and `{"error": "..."}` bodies. Defaults are Mastodon 4's.

The token's OAuth scopes are checked after the token itself, as Doorkeeper does: a valid token
without the scope an endpoint needs gets 403 "This action is outside the authorized scopes"
(`verify_credentials` needs `profile`, `read` or `read:accounts`; uploads `write:media`;
statuses `write:statuses`; `write` covers both).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import regex

from tests.fakes.server import FakePlatform, Request, Response

# Mastodon extracts URLs with twitter-text; for our purposes: scheme, host with a dot, path,
# without trailing punctuation.
_URL = re.compile(r"https?://[\w.-]+\.[a-z]{2,}(?::\d+)?(?:/[^\s]*[^\s.,!?;:)'\"])?", re.IGNORECASE)
JPEG_MAGIC = b"\xff\xd8\xff"


def status_length(text: str, url_weight: int = 23) -> int:
    """Mastodon's StatusLengthValidator: grapheme clusters, each URL counted as `url_weight`."""
    return len(regex.findall(r"\X", _URL.sub("x" * url_weight, text)))


def error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


OUTSIDE_SCOPES = error(403, "This action is outside the authorized scopes")


@dataclass
class Media:
    id: str
    data: bytes
    description: str
    polls_left: int

    def json(self, base: str) -> dict[str, Any]:
        ready = self.polls_left <= 0
        return {
            "id": self.id,
            "type": "image",
            "url": f"{base}/media/{self.id}.jpg" if ready else None,
            "description": self.description,
        }


@dataclass
class FakeMastodon(FakePlatform):
    token: str = "mastodon-test-token"
    scopes: tuple[str, ...] = ("profile", "write:media", "write:statuses")
    account: str = "suarapesisir"
    async_media_polls: int = 0  # > 0: uploads answer 202 and need this many 206 polls
    max_characters: int = 500
    max_media: int = 4
    url_weight: int = 23
    description_limit: int = 1500
    image_size_limit: int = 16 * 1024 * 1024
    supported_mime_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/webp")
    #: "v2": Mastodon 4; "v1": Mastodon 3.x (no /api/v2/instance); "pleroma": Pleroma/Akkoma
    #: (no v2, limits as top-level keys of /api/v1/instance).
    instance_api: str = "v2"
    media: dict[str, Media] = field(default_factory=dict)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(110_000_000_000_000_001)

    def instance(self) -> dict[str, Any]:
        """The `GET /api/v2/instance` body: the parts of `configuration` a client reads."""
        return {
            "domain": "127.0.0.1",
            "title": "Fake Mastodon",
            "version": "4.4.0",
            "configuration": {
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": self.max_media,
                    "characters_reserved_per_url": self.url_weight,
                },
                "media_attachments": {
                    "description_limit": self.description_limit,
                    "image_matrix_limit": 33_177_600,
                    "image_size_limit": self.image_size_limit,
                    "supported_mime_types": list(self.supported_mime_types),
                },
            },
        }

    def instance_v1(self) -> dict[str, Any]:
        """The `GET /api/v1/instance` body: Mastodon 3.x nests `configuration` as v2 does;
        Pleroma and Akkoma put the limits at the top level."""
        if self.instance_api == "pleroma":
            return {
                "uri": "127.0.0.1",
                "version": "2.7.2 (compatible; Pleroma 2.6.0)",
                "max_toot_chars": self.max_characters,
                "max_media_attachments": self.max_media,
                "description_limit": self.description_limit,
                "upload_limit": self.image_size_limit,
            }
        return {"uri": "127.0.0.1", "version": "3.5.3", **self.instance()}

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET" and path == "/api/v2/instance":
            if self.instance_api != "v2":
                return error(404, "Record not found")
            return Response(200, self.instance())  # public: no token needed
        if request.method == "GET" and path == "/api/v1/instance":
            return Response(200, self.instance_v1())
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error(401, "The access token is invalid")
        if request.method == "GET" and path == "/api/v1/accounts/verify_credentials":
            if not self._allowed("profile", "read", "read:accounts"):
                return OUTSIDE_SCOPES
            return Response(200, self._account())
        if path.startswith(("/api/v2/media", "/api/v1/media/")):
            if not self._allowed("write", "write:media"):
                return OUTSIDE_SCOPES
        elif path.startswith("/api/v1/statuses") and not self._allowed("write", "write:statuses"):
            return OUTSIDE_SCOPES
        if request.method == "POST" and path == "/api/v2/media":
            return self._upload(request)
        if request.method == "GET" and path.startswith("/api/v1/media/"):
            return self._media_status(path.rsplit("/", 1)[-1])
        if request.method == "POST" and path == "/api/v1/statuses":
            return self._create_status(request)
        if request.method == "DELETE" and path.startswith("/api/v1/statuses/"):
            status = self.statuses.pop(path.rsplit("/", 1)[-1], None)
            return Response(200, status) if status else error(404, "Record not found")
        return error(404, "Not Found")

    def _allowed(self, *any_of: str) -> bool:
        return any(scope in self.scopes for scope in any_of)

    def _account(self) -> dict[str, Any]:
        """The CredentialAccount of the token's user (the parts a client reads)."""
        return {
            "id": "109000000000000001",
            "username": self.account,
            "acct": self.account,
            "display_name": "Suara Pesisir",
            "url": f"{self.url}/@{self.account}",
            "source": {"privacy": "public", "sensitive": False, "language": "id"},
        }

    def _upload(self, request: Request) -> Response:
        parts = request.multipart()
        file = parts.get("file")
        if file is None or not file.filename:
            return error(422, "Validation failed: File can't be blank")
        if file.content_type not in self.supported_mime_types or not file.data.startswith(
            JPEG_MAGIC
        ):
            return error(422, "Validation failed: File content type is invalid")
        if len(file.data) > self.image_size_limit:
            limit = self.image_size_limit
            return error(422, f"Validation failed: File file size must be less than {limit} Bytes")
        description = parts["description"].text if "description" in parts else ""
        if len(description) > self.description_limit:
            return error(
                422,
                "Validation failed: Description is too long "
                f"(maximum is {self.description_limit} characters)",
            )
        media = Media(str(next(self._ids)), file.data, description, self.async_media_polls)
        self.media[media.id] = media
        return Response(202 if media.polls_left > 0 else 200, media.json(self.url))

    def _media_status(self, media_id: str) -> Response:
        media = self.media.get(media_id)
        if media is None:
            return error(404, "Record not found")
        if media.polls_left > 0:
            media.polls_left -= 1
            return Response(206, media.json(self.url))
        return Response(200, media.json(self.url))

    def _create_status(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotency and self.idempotency[key] in self.statuses:
            return Response(200, self.statuses[self.idempotency[key]])
        data = (
            request.json()
            if request.headers.get("Content-Type", "").startswith("application/json")
            else {}
        )
        text = str(data.get("status") or "")
        media_ids = [str(m) for m in data.get("media_ids") or []]
        if not text and not media_ids:
            return error(422, "Validation failed: Text can't be blank")
        if status_length(text, self.url_weight) > self.max_characters:
            return error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        if len(media_ids) > self.max_media:
            return error(
                422, f"Validation failed: Media attachments can't be more than {self.max_media}"
            )
        for media_id in media_ids:
            media = self.media.get(media_id)
            if media is None:
                return error(422, "Validation failed: Media attachments are invalid")
            if media.polls_left > 0:
                return error(
                    422,
                    "Cannot attach files that have not finished processing. Try again in a moment!",
                )
        visibility = data.get("visibility", "public")
        if visibility not in {"public", "unlisted", "private", "direct"}:
            return error(422, "Validation failed: Visibility is not included in the list")
        status_id = str(next(self._ids))
        status = {
            "id": status_id,
            "uri": f"{self.url}/users/suarapesisir/statuses/{status_id}",
            "url": f"{self.url}/@suarapesisir/{status_id}",
            "content": text,
            "visibility": visibility,
            "language": data.get("language"),
            "media_attachments": [self.media[m].json(self.url) for m in media_ids],
        }
        self.statuses[status_id] = status
        if key:
            self.idempotency[key] = status_id
        return Response(200, status)
