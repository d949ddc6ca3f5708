"""A fake WordPress REST API (PLATFORMS.md, WordPress): media, tags and posts.

Enforces: Application Passwords over HTTP Basic, both `/wp-json/` (only with pretty permalinks)
and `/?rest_route=`, raw-body media with `Content-Disposition` (a non-image is the 500
`rest_upload_sideload_error`), tags as integer ids (names → 400 `rest_invalid_param`),
`term_exists` with `data.term_id`, duplicate slugs silently renamed `-2`, `status=any` lookups,
`force=true` deletes, and `{"code", "message", "data": {"status"}}` error bodies.

Media (attachments) as WordPress keeps them: a slug from the file name (a duplicate renamed
`-2`), looked up by `slug`, `search` or `parent`; attached to a post by `POST /wp/v2/media/<id>
{"post": id}`; deleted only with `force=true` (no trash for media: 501
`rest_trash_not_supported`), which also removes the resized copies (`sizes`). Deleting a post
moves its attachments to the top level (`post` 0), as `wp_delete_post` does.

The user has a role whose capabilities are checked as WordPress checks them: uploads need
`upload_files` (400 `rest_cannot_create`, WordPress's own status there), new tags
`manage_categories` (403 `rest_cannot_create`), posts `edit_posts` and, to publish,
`publish_posts` (403 `rest_cannot_publish`). `GET /wp/v2/users/me?context=edit` tells them.
"""

from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakePlatform, Request, Response


def wp_error(status: int, code: str, message: str, **data: Any) -> Response:
    return Response(status, {"code": code, "message": message, "data": {"status": status, **data}})


#: The built-in roles' capabilities that matter here (wp-admin/includes/schema.php).
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "administrator": frozenset(
        {"upload_files", "manage_categories", "edit_posts", "publish_posts", "manage_options"}
    ),
    "editor": frozenset({"upload_files", "manage_categories", "edit_posts", "publish_posts"}),
    "author": frozenset({"upload_files", "edit_posts", "publish_posts"}),
    "contributor": frozenset({"edit_posts"}),
    "subscriber": frozenset(),
}


@dataclass
class FakeWordPress(FakePlatform):
    user: str = "kampanye"
    app_password: str = "abcd EFGH ijkl MNOP qrst UVWX"
    pretty_permalinks: bool = True
    role: str = "editor"
    media: dict[int, dict[str, Any]] = field(default_factory=dict)
    media_bytes: dict[int, bytes] = field(default_factory=dict)
    tags: dict[int, dict[str, Any]] = field(default_factory=dict)
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(10)

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/wp-json/"):
            if not self.pretty_permalinks:
                return Response(404, "<html><body>Not Found</body></html>")
            route = request.path.removeprefix("/wp-json")
        elif request.path == "/" and request.param("rest_route"):
            route = str(request.param("rest_route"))
        else:
            return Response(404, "<html><body>Not Found</body></html>")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            if route == "/wp/v2/users/me":
                return wp_error(401, "rest_not_logged_in", "You are not currently logged in.")
            return wp_error(401, "rest_cannot_create", "Sorry, you are not allowed to do that.")
        user, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        # WordPress ignores the spaces it shows application passwords with.
        if user != self.user or password.replace(" ", "") != self.app_password.replace(" ", ""):
            return wp_error(
                401,
                "incorrect_password",
                "The provided password is an invalid application password.",
            )
        method = request.method
        if route == "/wp/v2/users/me" and method == "GET":
            return Response(200, self._me(request.param("context") == "edit"))
        if route == "/wp/v2/media" and method == "POST":
            if not self.can("upload_files"):
                return wp_error(
                    400,
                    "rest_cannot_create",
                    "Sorry, you are not allowed to upload media on this site.",
                )
            return self._upload(request)
        if route == "/wp/v2/media" and method == "GET":
            return Response(200, self._media_list(request))
        media_match = re.fullmatch(r"/wp/v2/media/(\d+)", route)
        if media_match:
            return self._one_media(int(media_match.group(1)), request)
        if route == "/wp/v2/tags" and method == "GET":
            search = (request.param("search") or "").casefold()
            return Response(200, [t for t in self.tags.values() if search in t["name"].casefold()])
        if route == "/wp/v2/tags" and method == "POST":
            if not self.can("manage_categories"):
                return wp_error(
                    403,
                    "rest_cannot_create",
                    "Sorry, you are not allowed to create terms in this taxonomy.",
                )
            return self._create_tag(request.json())
        if route == "/wp/v2/posts" and method == "GET":
            slug, status = request.param("slug"), request.param("status") or "publish"
            return Response(
                200,
                [
                    p
                    for p in self.posts.values()
                    if (slug is None or p["slug"] == slug)
                    and (status == "any" or p["status"] == status)
                ],
            )
        if route == "/wp/v2/posts" and method == "POST":
            return self._create_post(request.json())
        match = re.fullmatch(r"/wp/v2/posts/(\d+)", route)
        if match and method == "DELETE":
            post = self.posts.get(int(match.group(1)))
            if post is None:
                return wp_error(404, "rest_post_invalid_id", "Invalid post ID.")
            if request.param("force") == "true":
                del self.posts[post["id"]]
                for item in self.media.values():  # wp_delete_post: children move up a level
                    if item["post"] == post["id"]:
                        item["post"] = 0
                return Response(200, {"deleted": True, "previous": post})
            post["status"] = "trash"
            return Response(200, post)
        return wp_error(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    def can(self, capability: str) -> bool:
        """Whether the user's role has `capability`."""
        return capability in ROLE_CAPABILITIES[self.role]

    def _me(self, edit: bool) -> dict[str, Any]:
        """The user as `GET /wp/v2/users/me` shows it; roles and capabilities only in `edit`."""
        me: dict[str, Any] = {
            "id": 1,
            "name": "Tim Kampanye",
            "slug": self.user,
            "link": f"{self.url}/author/{self.user}/",
        }
        if edit:
            capabilities = dict.fromkeys(sorted(ROLE_CAPABILITIES[self.role]), True)
            capabilities[self.role] = True  # WordPress lists the role among them too
            me.update(
                username=self.user,
                roles=[self.role],
                capabilities={"read": True, **capabilities},
                extra_capabilities={self.role: True},
            )
        return me

    def _upload(self, request: Request) -> Response:
        disposition = request.headers.get("Content-Disposition", "")
        if not request.body:
            return wp_error(400, "rest_upload_no_data", "No data supplied.")
        if "filename=" not in disposition:
            return wp_error(
                400, "rest_upload_no_content_disposition", "No Content-Disposition supplied."
            )
        if request.headers.get("Content-Type") not in ("image/jpeg", "image/png", "image/webp"):
            return wp_error(
                500,
                "rest_upload_sideload_error",
                "Sorry, you are not allowed to upload this file type.",
            )
        media_id = next(self._ids)
        name = disposition.split("filename=", 1)[1].strip('"')
        slug = re.sub(r"[^a-z0-9-]+", "-", name.rsplit(".", 1)[0].lower()).strip("-")
        taken = {m["slug"] for m in self.media.values()} | {p["slug"] for p in self.posts.values()}
        candidate, n = slug, 2
        while candidate in taken:  # WordPress renames silently, as for posts
            candidate, n = f"{slug}-{n}", n + 1
        self.media_bytes[media_id] = request.body
        base = f"{self.url}/wp-content/uploads/{candidate}"
        self.media[media_id] = {
            "id": media_id,
            "slug": candidate,
            "post": int(request.param("post") or 0),
            "source_url": f"{base}.jpg",
            "alt_text": request.param("alt_text") or "",
            "media_type": "image",
            # The resized copies WordPress makes of every upload, public like the original.
            "media_details": {"sizes": {"medium": {"source_url": f"{base}-300x225.jpg"}}},
        }
        return Response(201, self.media[media_id])

    def _media_list(self, request: Request) -> list[dict[str, Any]]:
        slugs = set(str(request.param("slug") or "").split(",")) - {""}
        search = str(request.param("search") or "").casefold()
        parent = request.param("parent")
        return [
            m
            for m in self.media.values()
            if (not slugs or m["slug"] in slugs)
            and search in m["slug"].casefold()
            and (parent is None or m["post"] in {int(p) for p in str(parent).split(",")})
        ]

    def _one_media(self, media_id: int, request: Request) -> Response:
        item = self.media.get(media_id)
        if item is None:
            return wp_error(404, "rest_post_invalid_id", "Invalid post ID.")
        if request.method == "POST":
            data = request.json()
            if "post" in data:
                item["post"] = int(data["post"])
            if "alt_text" in data:
                item["alt_text"] = str(data["alt_text"])
            return Response(200, item)
        if request.method == "DELETE":
            if request.param("force") != "true":
                return wp_error(
                    501,
                    "rest_trash_not_supported",
                    "The post does not support trashing. Set 'force=true' to delete.",
                )
            del self.media[media_id]
            self.media_bytes.pop(media_id, None)
            return Response(200, {"deleted": True, "previous": item})
        return Response(200, item)

    def _create_tag(self, data: dict[str, Any]) -> Response:
        name = str(data.get("name") or "").strip()
        if not name:
            return wp_error(400, "rest_missing_callback_param", "Missing parameter(s): name")
        for tag in self.tags.values():
            if tag["name"].casefold() == name.casefold():
                return wp_error(
                    400,
                    "term_exists",
                    "A term with the name provided already exists.",
                    term_id=tag["id"],
                )
        tag_id = next(self._ids)
        self.tags[tag_id] = {"id": tag_id, "name": name, "slug": name.lower()}
        return Response(201, self.tags[tag_id])

    def _create_post(self, data: dict[str, Any]) -> Response:
        if not self.can("edit_posts"):
            return wp_error(
                403,
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
            )
        if data.get("status") in ("publish", "future") and not self.can("publish_posts"):
            return wp_error(
                403,
                "rest_cannot_publish",
                "Sorry, you are not allowed to publish posts in this post type.",
            )
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, int) for t in tags):
            return wp_error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): tags",
                params={"tags": "tags[0] is not of type integer."},
            )
        if data.get("status", "draft") not in {"publish", "future", "draft", "pending", "private"}:
            return wp_error(400, "rest_invalid_param", "Invalid parameter(s): status")
        slug = str(data.get("slug") or f"post-{len(self.posts) + 1}")
        taken = {p["slug"] for p in self.posts.values()}
        candidate, n = slug, 2
        while candidate in taken:  # WordPress renames silently
            candidate, n = f"{slug}-{n}", n + 1
        featured = data.get("featured_media", 0)
        post_id = next(self._ids)
        self.posts[post_id] = {
            "id": post_id,
            "slug": candidate,
            "status": data.get("status", "draft"),
            "link": f"{self.url}/{candidate}/",
            "title": {"raw": data.get("title", ""), "rendered": data.get("title", "")},
            "content": {"raw": data.get("content", ""), "rendered": data.get("content", "")},
            # WordPress 6.1 silently ignores a featured_media that does not exist.
            "featured_media": featured if featured in self.media else 0,
            "tags": tags,
        }
        return Response(201, self.posts[post_id])
