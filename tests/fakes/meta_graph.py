"""A fake Meta Graph API (PLATFORMS.md: Facebook Page, Instagram, Threads).

One class, two hosts: `FakeMetaGraph()` serves graph.facebook.com's Instagram and Facebook Page
paths, `FakeMetaGraph(flavor="threads")` graph.threads.net's. Both accept a version prefix
(`/v26.0/...`, `/v1.0/...`) and enforce the contract:

- the token (Bearer header or `access_token`), its type and permissions (`debug_token`); errors
  in the Graph envelope `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`:
  190 for a bad token, 10 for a missing permission;
- containers: the photo at `image_url` is really fetched over HTTP when the container is made
  (as Meta does), so a wrong, unsigned or expired URL fails with 2207052; the bytes must be a
  JPEG (Instagram; Threads also PNG) within 8 MB, Instagram's shape 4:5 to 1.91:1 (2207009);
  caption 2,200 characters and 30 hashtags (Instagram), text 500 with emoji at their UTF-8
  bytes (Threads); carousels of 2-10 (Instagram) or 2-20 (Threads) FINISHED items; a container
  is IN_PROGRESS for `processing_polls` status reads; publishing needs FINISHED, counts against
  the quota (2207042 when used up), and a PUBLISHED container cannot be published again;
- Facebook: `POST /{page}/photos` (multipart `source`, `message`, `published=false`), and
  `POST /{page}/feed` with `attached_media[i]` of this Page's unpublished photos; deletes.

Tests throttle with `inject(throttled(...))` (code 4, 17, 32 or 613 with the usage headers).
"""

from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import regex
import requests
from PIL import Image

from tests.fakes.server import FakePlatform, Request, Response

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG"
MAX_IMAGE_BYTES = 8 * 1024 * 1024
FACEBOOK_MAX_BYTES = 4 * 1024 * 1024
_VERSION = re.compile(r"^/v\d+\.\d+")
_HASHTAG = regex.compile(r"#[\p{L}\p{M}\p{N}_]+")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u200d\ufe0f\u20e3]")
_URL = re.compile(r"https?://\S+")

IG_PERMISSIONS = ("instagram_basic", "instagram_content_publish", "pages_read_engagement")
PAGE_PERMISSIONS = ("pages_manage_posts", "pages_read_engagement")
THREADS_PERMISSIONS = ("threads_basic", "threads_content_publish", "threads_delete")


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    status: int = 400,
    kind: str = "OAuthException",
    headers: dict[str, str] | None = None,
) -> Response:
    """A Graph error envelope."""
    body: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf"}
    if subcode is not None:
        body["error_subcode"] = subcode
    return Response(status, {"error": body}, headers or {})


def throttled(code: int = 4, *, minutes: int = 7, status: int = 400) -> Response:
    """A throttling answer with the usage headers Meta sends along."""
    usage = {
        "1234": [
            {
                "type": "instagram",
                "call_count": 100,
                "total_cputime": 30,
                "total_time": 40,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return graph_error(
        code,
        f"(#{code}) Application request limit reached",
        status=status,
        headers={
            "X-Business-Use-Case-Usage": json.dumps(usage),
            "X-App-Usage": json.dumps({"call_count": 100, "total_time": 40, "total_cputime": 30}),
        },
    )


def threads_count(text: str) -> int:
    """Threads' documented count: characters, emoji at their UTF-8 bytes."""
    return sum(len(ch.encode()) if _EMOJI.match(ch) else 1 for ch in text)


@dataclass
class Token:
    """What `debug_token` says about one access token."""

    profile_id: str
    type: str  # "USER", "PAGE"
    scopes: tuple[str, ...]
    valid: bool = True


@dataclass
class Container:
    id: str
    owner: str
    params: dict[str, str]
    children: list[str] = field(default_factory=list)
    status: str = "IN_PROGRESS"
    polls_left: int = 0
    carousel_item: bool = False


@dataclass
class FakeMetaGraph(FakePlatform):
    flavor: str = "graph"  # "graph": Instagram + Facebook Page; "threads"
    ig_user_id: str = "17841400000000001"
    ig_username: str = "suarapesisir"
    page_id: str = "100000000000001"
    page_name: str = "Suara Pesisir"
    threads_user_id: str = "26000000000000001"
    tokens: dict[str, Token] = field(default_factory=dict)
    processing_polls: int = 0
    quota_total: int = 0  # 0: the platform's default (Instagram 100, Threads 250)
    quota_usage: int = 0
    fetch_timeout: float = 5.0
    containers: dict[str, Container] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # published IG / Threads
    photos: dict[str, dict[str, Any]] = field(default_factory=dict)  # Facebook photos
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # Facebook posts
    fetched: list[str] = field(default_factory=list)  # image URLs fetched, in order

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(18_000_000_000_000_001)
        if not self.quota_total:
            self.quota_total = 250 if self.flavor == "threads" else 100
        if not self.tokens:
            if self.flavor == "threads":
                self.tokens = {
                    "threads-token": Token(self.threads_user_id, "USER", THREADS_PERMISSIONS)
                }
            else:
                self.tokens = {
                    "ig-token": Token("10001", "USER", IG_PERMISSIONS),
                    "page-token": Token(self.page_id, "PAGE", PAGE_PERMISSIONS),
                }

    def _id(self) -> str:
        return str(next(self._ids))

    # ------------------------------------------------------------------ routing

    def handle(self, request: Request) -> Response:
        path = _VERSION.sub("", request.path).strip("/")
        token = self._token(request)
        if token is None or not token.valid:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        fields = {**{k: v[0] for k, v in request.query.items()}, **self._fields(request)}
        parts = path.split("/")
        if path == "debug_token":
            return self._debug(fields.get("input_token", ""))
        if path == "me":
            return self._me(token)
        if self.flavor == "threads":
            return self._threads(request.method, parts, fields, token)
        if parts[0] == self.ig_user_id:
            return self._instagram(request.method, parts, fields, token)
        if parts[0] == self.page_id:
            return self._page(request, parts, fields, token)
        return self._object(request.method, parts[0], token)

    def _token(self, request: Request) -> Token | None:
        header = request.headers.get("Authorization") or ""
        value = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        value = value or request.param("access_token")
        return self.tokens.get(value or "")

    @staticmethod
    def _fields(request: Request) -> dict[str, str]:
        if request.method not in ("POST", "DELETE") or not request.body:
            return {}
        return request.fields()

    def _debug(self, input_token: str) -> Response:
        token = self.tokens.get(input_token)
        if token is None:
            return graph_error(190, "Invalid OAuth access token")
        return Response(
            200,
            {
                "data": {
                    "app_id": "5550001",
                    "type": token.type,
                    "is_valid": token.valid,
                    "scopes": list(token.scopes),
                    "profile_id": token.profile_id,
                }
            },
        )

    def _me(self, token: Token) -> Response:
        if self.flavor == "threads":
            return Response(200, {"id": token.profile_id, "username": "suarapesisir"})
        if token.type == "PAGE":
            return Response(200, {"id": token.profile_id, "name": self.page_name})
        return Response(200, {"id": token.profile_id, "name": "Campaign Team"})

    @staticmethod
    def _lacks(token: Token, *permissions: str) -> Response | None:
        for permission in permissions:
            if permission not in token.scopes:
                return graph_error(
                    10, f"(#10) Application does not have permission for this action: {permission}"
                )
        return None

    # ------------------------------------------------------------------ Instagram

    def _instagram(
        self, method: str, parts: list[str], fields: dict[str, str], token: Token
    ) -> Response:
        denied = self._lacks(token, "instagram_basic")
        if denied:
            return denied
        edge = parts[1] if len(parts) > 1 else ""
        if method == "GET" and not edge:
            return Response(200, {"id": self.ig_user_id, "username": self.ig_username})
        if method == "GET" and edge == "content_publishing_limit":
            return Response(200, self._quota())
        if method == "GET" and edge == "media":
            return Response(200, {"data": self._latest("caption")})
        publish = self._lacks(token, "instagram_content_publish")
        if publish:
            return publish
        if method == "POST" and edge == "media":
            return self._create(self.ig_user_id, fields, text_field="caption")
        if method == "POST" and edge == "media_publish":
            return self._publish(self.ig_user_id, fields.get("creation_id", ""), "caption")
        return graph_error(100, "Unsupported request", status=400)

    # ------------------------------------------------------------------ Threads

    def _threads(
        self, method: str, parts: list[str], fields: dict[str, str], token: Token
    ) -> Response:
        if parts[0] != self.threads_user_id:
            return self._object(method, parts[0], token)
        denied = self._lacks(token, "threads_basic")
        if denied:
            return denied
        edge = parts[1] if len(parts) > 1 else ""
        if method == "GET" and edge == "threads":
            return Response(200, {"data": self._latest("text")})
        denied = self._lacks(token, "threads_content_publish")
        if denied:
            return denied
        if method == "GET" and edge == "threads_publishing_limit":
            return Response(200, self._quota())
        if method == "POST" and edge == "threads":
            return self._create(self.threads_user_id, fields, text_field="text")
        if method == "POST" and edge == "threads_publish":
            return self._publish(self.threads_user_id, fields.get("creation_id", ""), "text")
        return graph_error(100, "Unsupported request")

    # ------------------------------------------------------------------ containers

    def _quota(self) -> dict[str, Any]:
        return {
            "data": [
                {
                    "quota_usage": self.quota_usage,
                    "config": {"quota_total": self.quota_total, "quota_duration": 86400},
                }
            ]
        }

    def _latest(self, text_field: str) -> list[dict[str, Any]]:
        return [
            {"id": media_id, text_field: item["text"], "permalink": item["permalink"]}
            for media_id, item in reversed(self.media.items())
        ]

    def _create(self, owner: str, fields: dict[str, str], *, text_field: str) -> Response:
        threads = self.flavor == "threads"
        media_type = fields.get("media_type", "IMAGE" if "image_url" in fields else "")
        text = fields.get(text_field, "")
        problem = self._text_problem(text)
        if problem:
            return problem
        item = fields.get("is_carousel_item") == "true"
        if media_type == "CAROUSEL":
            children = [c for c in fields.get("children", "").split(",") if c]
            most = 20 if threads else 10
            if not 2 <= len(children) <= most:
                return graph_error(100, f"(#100) A carousel needs 2 to {most} children")
            for child in children:
                found = self.containers.get(child)
                if found is None or found.owner != owner or not found.carousel_item:
                    return graph_error(100, f"(#100) {child} is not a carousel item of this user")
                if found.status != "FINISHED":
                    return graph_error(9007, "Media is not ready", subcode=2207027)
            container = Container(self._id(), owner, fields, children, carousel_item=False)
        elif media_type == "TEXT" and threads:
            if not text:
                return graph_error(100, "(#100) text is required for a TEXT post")
            container = Container(self._id(), owner, fields)
        elif media_type == "IMAGE" and (threads or "media_type" not in fields):
            fetched = self._fetch(fields.get("image_url", ""))
            if isinstance(fetched, Response):
                return fetched
            container = Container(self._id(), owner, fields, carousel_item=item)
        else:
            return graph_error(100, f"(#100) media_type {media_type!r} is not supported")
        container.polls_left = self.processing_polls
        container.status = "IN_PROGRESS" if container.polls_left > 0 else "FINISHED"
        self.containers[container.id] = container
        return Response(200, {"id": container.id})

    def _text_problem(self, text: str) -> Response | None:
        if self.flavor == "threads":
            if threads_count(text) > 500:
                return graph_error(100, "(#100) The text is longer than 500 characters")
            if len(set(_URL.findall(text))) > 5:
                return graph_error(100, "THREADS_API__LINK_LIMIT_EXCEEDED")
            return None
        if len(text.encode("utf-16-le")) // 2 > 2200 or len(_HASHTAG.findall(text)) > 30:
            return graph_error(100, "The caption is too long", subcode=2207010)
        return None

    def _fetch(self, url: str) -> Response | bytes:
        """Fetch the photo as Meta does; the error it answers when it cannot."""
        self.fetched.append(url)
        try:
            answer = requests.get(url, timeout=self.fetch_timeout)
        except requests.RequestException:
            return graph_error(9004, "Media download has failed.", subcode=2207052)
        if answer.status_code != 200:
            return graph_error(9004, "Media download has failed.", subcode=2207052)
        data = answer.content
        if len(data) > MAX_IMAGE_BYTES:
            return graph_error(9004, "The image is too large", subcode=2207004)
        allowed = (JPEG_MAGIC, PNG_MAGIC) if self.flavor == "threads" else (JPEG_MAGIC,)
        if not data.startswith(allowed):
            return graph_error(9004, "Only photo or video can be accepted", subcode=2207005)
        if self.flavor != "threads":
            width, height = Image.open(io.BytesIO(data)).size
            if not 0.8 <= width / height <= 1.91:
                return graph_error(36003, "The aspect ratio is not supported.", subcode=2207009)
        return data

    def _status(self, container: Container) -> dict[str, Any]:
        if container.status == "IN_PROGRESS":
            container.polls_left -= 1
            if container.polls_left <= 0:
                container.status = "FINISHED"
                return {"id": container.id, self._status_field(): "IN_PROGRESS"}
        return {"id": container.id, self._status_field(): container.status}

    def _status_field(self) -> str:
        return "status" if self.flavor == "threads" else "status_code"

    def _publish(self, owner: str, creation_id: str, text_field: str) -> Response:
        container = self.containers.get(creation_id)
        if container is None or container.owner != owner or container.carousel_item:
            return graph_error(100, "(#100) creation_id is not a publishable container")
        if self.quota_usage >= self.quota_total:
            return graph_error(9, "Application request limit reached", subcode=2207042, status=400)
        if container.status == "PUBLISHED":
            return graph_error(9, "The media has already been published", subcode=2207008)
        if container.status == "EXPIRED":
            return graph_error(9, "The media container expired", subcode=2207020)
        if container.status != "FINISHED":
            return graph_error(9007, "Media ID is not available", subcode=2207027)
        container.status = "PUBLISHED"
        self.quota_usage += 1
        media_id = self._id()
        host = "threads.net/@suarapesisir/post" if self.flavor == "threads" else "instagram.com/p"
        self.media[media_id] = {
            "text": container.params.get(text_field, ""),
            "container": container.id,
            "children": list(container.children),
            "permalink": f"https://www.{host}/{media_id}/",
        }
        return Response(200, {"id": media_id})

    # ------------------------------------------------------------------ objects by id

    def _object(self, method: str, object_id: str, token: Token) -> Response:
        container = self.containers.get(object_id)
        if container is not None and method == "GET":
            return Response(200, self._status(container))
        if object_id in self.media:
            if method == "GET":
                return Response(
                    200, {"id": object_id, "permalink": self.media[object_id]["permalink"]}
                )
            if method == "DELETE":
                if self.flavor != "threads":
                    return graph_error(
                        100, "(#100) Instagram media cannot be deleted through the API"
                    )
                denied = self._lacks(token, "threads_delete")
                if denied:
                    return denied
                del self.media[object_id]
                return Response(200, {"success": True})
        if object_id in self.posts:
            if method == "DELETE":
                denied = self._lacks(token, "pages_manage_posts")
                if denied:
                    return denied
                del self.posts[object_id]
                return Response(200, {"success": True})
            return Response(200, {"id": object_id, **self.posts[object_id]})
        return graph_error(
            100,
            f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist",
            subcode=33,
        )

    # ------------------------------------------------------------------ Facebook Page

    def _page(
        self, request: Request, parts: list[str], fields: dict[str, str], token: Token
    ) -> Response:
        edge = parts[1] if len(parts) > 1 else ""
        if request.method == "GET" and not edge:
            return Response(200, {"id": self.page_id, "name": self.page_name})
        if request.method == "GET" and edge == "posts":
            denied = self._lacks(token, "pages_read_engagement")
            return denied or Response(
                200,
                {
                    "data": [
                        {"id": post_id, "message": post["message"], "permalink_url": post["url"]}
                        for post_id, post in reversed(self.posts.items())
                    ]
                },
            )
        if request.method != "POST" or edge not in ("photos", "feed"):
            return graph_error(100, "Unsupported request")
        if token.type != "PAGE" or token.profile_id != self.page_id:
            return graph_error(200, "(#200) Publishing to a Page needs that Page's access token")
        denied = self._lacks(token, "pages_manage_posts")
        if denied:
            return denied
        if edge == "photos":
            return self._photo(request, fields)
        return self._feed(fields)

    def _photo(self, request: Request, fields: dict[str, str]) -> Response:
        source = request.multipart().get("source")
        if source is None or not source.filename:
            return graph_error(324, "(#324) Requires upload file")
        if not source.data.startswith((JPEG_MAGIC, PNG_MAGIC)):
            return graph_error(324, "(#324) Missing or invalid image file")
        if len(source.data) > FACEBOOK_MAX_BYTES:
            return graph_error(100, "(#100) The photo is too large")
        photo_id = self._id()
        published = fields.get("published", "true") != "false"
        self.photos[photo_id] = {"published": published, "attached": False}
        if not published:
            return Response(200, {"id": photo_id})
        post_id = self._new_post(fields.get("message", ""), [photo_id])
        return Response(200, {"id": photo_id, "post_id": post_id})

    def _feed(self, fields: dict[str, str]) -> Response:
        attached: list[str] = []
        for key in sorted(k for k in fields if k.startswith("attached_media[")):
            try:
                media = json.loads(fields[key])["media_fbid"]
            except (ValueError, KeyError, TypeError):
                return graph_error(100, f'(#100) {key} must be {{"media_fbid": id}}')
            photo = self.photos.get(str(media))
            if photo is None or photo["published"]:
                return graph_error(100, f"(#100) {media} is not an unpublished photo of this Page")
            attached.append(str(media))
        if not attached and not fields.get("message"):
            return graph_error(100, "(#100) A post needs a message or attached media")
        for photo_id in attached:
            self.photos[photo_id]["attached"] = True
        return Response(200, {"id": self._new_post(fields.get("message", ""), attached)})

    def _new_post(self, message: str, photos: list[str]) -> str:
        post_id = f"{self.page_id}_{self._id()}"
        self.posts[post_id] = {
            "message": message,
            "photos": photos,
            "url": f"https://www.facebook.com/{post_id}",
        }
        return post_id
