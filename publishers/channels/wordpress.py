"""WordPress REST API with an Application Password: media, tags by id, then the post.

WordPress has no idempotency and silently renames a duplicate slug (`cerita-sp-42-2`), so the
post's slug is deterministic (the story ref and a digest of the delivery's idempotency key, so
two installations posting to one site never take each other's posts) and looked up before
anything is created. Uploads are named from the slug too: an upload an interrupted publish left
is found and reused, attached to the post once it exists, and deleted with it (WordPress
deletes the resized copies with the original); `clean_up` removes what a withdrawn story's
interrupted publish left.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

import requests
from pydantic import SecretStr

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
from publishers.text import ChannelRules, clean_text, graphemes, no_limit, shorten

logger = logging.getLogger(__name__)

RestStyle = Literal["pretty", "plain"]
# PLATFORMS.md WordPress: these two 500s are a bad file, not a server hiccup.
_PERMANENT_500 = {"rest_upload_sideload_error", "rest_upload_unknown_error"}
_AUTH_CODES = {
    "rest_cannot_create",
    "rest_not_logged_in",
    "incorrect_password",
    "invalid_username",
    "rest_forbidden",
    "rest_cannot_edit",
    "rest_cannot_create_terms",
    "rest_cannot_upload",
}
TITLE_GRAPHEMES = 80


def slug_for(ref: str) -> str:
    """A deterministic slug from the story ref: `SP-0042` → `cerita-sp-0042`."""
    ascii_ref = unicodedata.normalize("NFKD", ref).encode("ascii", "ignore").decode()
    core = re.sub(r"[^a-z0-9]+", "-", ascii_ref.lower()).strip("-")
    return f"cerita-{core or 'tanpa-ref'}"


def post_slug(slug: str, idempotency_key: str) -> str:
    """The slug a delivery publishes under: the story's slug and six hex digits of its key."""
    return f"{slug}-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:6]}"


def title_for(story_text: str, fallback: str) -> str:
    """The first line of the story, shortened at a word boundary; `fallback` when empty."""
    first = clean_text(story_text).split("\n", 1)[0].strip()
    title = shorten(first, lambda s: graphemes(s) <= TITLE_GRAPHEMES)
    return title or fallback


def html_body(story_text: str, credit: str, link: str | None) -> str:
    """Escaped HTML paragraphs of the story, then the credit line and link."""
    paragraphs = [
        "<p>" + html.escape(block).replace("\n", "<br>\n") + "</p>"
        for block in clean_text(story_text).split("\n\n")
        if block.strip()
    ]
    paragraphs.append(f'<p class="pesisir-credit"><em>{html.escape(credit)}</em></p>')
    if link:
        escaped = html.escape(link, quote=True)
        paragraphs.append(f'<p><a href="{escaped}">{escaped}</a></p>')
    return "\n".join(paragraphs)


class WordPressPublisher(Publisher):
    """Publishes an article with a featured image, a gallery and tags."""

    kind: ClassVar[str] = "wordpress"
    # PLATFORMS.md WordPress: no text limit, any number of images; `web` for the gallery.
    rules: ClassVar[ChannelRules] = ChannelRules(no_limit, no_limit, None, ("web", "feed"), None)
    # No idempotency of its own, but the deterministic slug is looked up before anything is
    # created, so a resend finds the first post.
    resend_safe_seconds: ClassVar[float] = ALWAYS
    # PLATFORMS.md WordPress: no documented rate limit (a host's firewall may have one).
    rate_per_minute: ClassVar[int | None] = None
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_WORDPRESS_URL, PESISIR_WORDPRESS_USER and "
        "PESISIR_WORDPRESS_APP_PASSWORD",
        auth="check PESISIR_WORDPRESS_USER and make a new Application Password (Users → Profile "
        "→ Application Passwords); the user needs a role that may upload files, publish posts "
        "and create tags (Editor)",
        unreachable="the site did not answer: check PESISIR_WORDPRESS_URL and the network",
        refused="check PESISIR_WORDPRESS_URL (the site root); without pretty permalinks set the "
        "channel's config rest_style=plain",
    )
    #: Capabilities posting needs (WordPress roles): media upload, tags created by name
    #: (`manage_categories`, which Authors lack), and publishing unless posts stay drafts.
    needed_capabilities: ClassVar[dict[str, str]] = {
        "upload_files": "upload files",
        "manage_categories": "create tags",
    }

    def __init__(
        self,
        *,
        url: str,
        user: str,
        app_password: SecretStr,
        rest_style: RestStyle = "pretty",
        status: str = "publish",
    ) -> None:
        if rest_style not in ("pretty", "plain"):
            raise ConfigError(
                f"wordpress rest_style must be 'pretty' or 'plain', not {rest_style!r}"
            )
        self.url = url.rstrip("/")
        self.rest_style = rest_style
        self.status = status
        self._session = new_session()
        # Application Passwords go over HTTP Basic (WordPress ≥ 5.6).
        self._session.auth = (user, app_password.get_secret_value())

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> WordPressPublisher:
        """Site from config `url` or `PESISIR_WORDPRESS_URL`; user and password from settings."""
        url = config.get("url") or settings.wordpress_url
        user = config.get("user") or settings.wordpress_user
        if not url or not user or settings.wordpress_app_password is None:
            raise ConfigError(
                "wordpress needs PESISIR_WORDPRESS_URL, PESISIR_WORDPRESS_USER and "
                "PESISIR_WORDPRESS_APP_PASSWORD"
            )
        return cls(
            url=str(url),
            user=str(user),
            app_password=settings.wordpress_app_password,
            rest_style=config.get("rest_style", "pretty"),
            status=str(config.get("status", "publish")),
        )

    # ------------------------------------------------------------------ transport

    def endpoint(self, route: str, params: Mapping[str, Any] | None = None) -> str:
        """`/wp-json/<route>` (pretty permalinks) or `/?rest_route=<route>` (always works)."""
        query = urlencode(params or {})
        if self.rest_style == "plain":
            return f"{self.url}/?rest_route={route}" + (f"&{query}" if query else "")
        return f"{self.url}/wp-json{route}" + (f"?{query}" if query else "")

    def _request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, Any] | None = None,
        accept_codes: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> Any:
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            response = self._session.request(method, self.endpoint(route, params), **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            # Safe to retry: the slug is looked up before a post is created.
            raise RetryableError(f"WordPress {route}: {type(exc).__name__}") from None
        payload = body_json(response)
        if response.status_code >= 400:
            if isinstance(payload, dict) and payload.get("code") in accept_codes:
                return payload
            raise classify(route, response.status_code, response.headers, payload)
        return payload

    # ------------------------------------------------------------------ setup check

    def check(self) -> str:
        """`GET /wp/v2/users/me?context=edit`: the password works and the user has the rights."""
        me = self._request("GET", "/wp/v2/users/me", params={"context": "edit"})
        if not isinstance(me, dict):
            # A 200 HTML page: the URL is not a WordPress REST API (or permalinks are plain).
            raise PermanentError(f"{self.endpoint('/wp/v2/users/me')} did not answer JSON")
        capabilities = me.get("capabilities")
        granted = capabilities if isinstance(capabilities, dict) else {}
        needed = dict(self.needed_capabilities)
        if self.status in ("publish", "future"):
            needed["publish_posts"] = "publish posts"
        else:
            needed["edit_posts"] = "write posts"
        missing = [what for capability, what in needed.items() if not granted.get(capability)]
        user = me.get("slug") or me.get("name")
        if missing:
            raise AuthError(f"WordPress user {user} may not {', '.join(missing)}")
        roles = ", ".join(me.get("roles") or []) or "no role"
        return f"user {user} ({roles}) on {self.url}"

    # ------------------------------------------------------------------ publishing

    @classmethod
    def finish_post(
        cls, post: Post, story: PublicStory, *, credit: str, tags: Sequence[str]
    ) -> Post:
        """An article: a title, escaped HTML, a slug from the ref, and every tag (no limit)."""
        return dataclasses.replace(
            post,
            hashtags=tuple(tags),
            title=title_for(story.text, credit),
            slug=slug_for(story.ref),
            html=html_body(story.text, credit, post.link),
        )

    def find_by_slug(self, slug: str) -> dict[str, Any] | None:
        """The post with this slug in any status (publish, future, draft, trash), if any."""
        found = self._request("GET", "/wp/v2/posts", params={"slug": slug, "status": "any"})
        return found[0] if isinstance(found, list) and found else None

    def _media(self, **params: Any) -> list[dict[str, Any]]:
        found = self._request("GET", "/wp/v2/media", params={"per_page": 100, **params})
        return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []

    def _upload_once(self, image: PostImage, name: str) -> dict[str, Any]:
        """Upload `image` as `<name>.jpg`, or reuse the upload an interrupted publish left."""
        for item in self._media(slug=name):
            if item.get("slug") == name:
                logger.info("wordpress upload %s already there as %s", name, item.get("id"))
                return item
        return self._upload(image, f"{name}.jpg")

    def _upload(self, image: PostImage, file_name: str) -> dict[str, Any]:
        media: dict[str, Any] = self._request(
            "POST",
            "/wp/v2/media",
            params={"alt_text": image.alt},
            data=image.path.read_bytes(),
            headers={
                "Content-Type": image.mime_type,
                "Content-Disposition": f'attachment; filename="{file_name}"',
            },
            timeout=UPLOAD_TIMEOUT,
        )
        return media

    def tag_id(self, name: str) -> int:
        """The id of tag `name`, creating the tag when it does not exist."""
        found = self._request("GET", "/wp/v2/tags", params={"search": name, "per_page": 100})
        for tag in found if isinstance(found, list) else []:
            if str(tag.get("name", "")).casefold() == name.casefold():
                return int(tag["id"])
        created = self._request(
            "POST", "/wp/v2/tags", json={"name": name}, accept_codes=frozenset({"term_exists"})
        )
        if created.get("code") == "term_exists":
            # Created by someone else meanwhile, or `search` missed it.
            return int(created["data"]["term_id"])
        return int(created["id"])

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Create the article once: a post with this slug already there is the receipt."""
        if not post.slug:
            raise PermanentError("a WordPress post needs a slug (compose sets one)")
        slug = post_slug(post.slug, idempotency_key)
        existing = self.find_by_slug(slug)
        if existing is not None:
            logger.info("wordpress post %s already exists as %s", slug, existing["id"])
            attached = self._media(parent=existing["id"])
            self._attach(attached, int(existing["id"]))
            return _receipt(existing, reused=True, media=[int(m["id"]) for m in attached])
        media = [
            self._upload_once(image, f"{slug}-{number}")
            for number, image in enumerate(post.images, start=1)
        ]
        body = post.html or post.text
        if media:
            ids = ",".join(str(item["id"]) for item in media)
            body += f'\n[gallery ids="{ids}" size="large" link="file"]'
        payload: dict[str, Any] = {
            # The title is HTML in WordPress: escape our plain text.
            "title": html.escape(post.title or post.slug),
            "content": body,
            "status": self.status,
            "slug": slug,
            "tags": [self.tag_id(tag) for tag in post.hashtags],
        }
        if media:
            payload["featured_media"] = int(media[0]["id"])
        created = self._request("POST", "/wp/v2/posts", json=payload)
        if created.get("slug") != slug:
            logger.warning(
                "wordpress renamed slug %s to %s: another post had it", slug, created.get("slug")
            )
        # Attached, the uploads belong to the post: WordPress lists them with it, and our
        # delete finds them even when the receipt was lost.
        self._attach(media, int(created["id"]))
        return _receipt(created, reused=False, media=[int(m["id"]) for m in media])

    def _attach(self, media: Sequence[Mapping[str, Any]], post_id: int) -> None:
        for item in media:
            if item.get("post") != post_id:
                self._request("POST", f"/wp/v2/media/{item['id']}", json={"post": post_id})

    def delete(self, receipt: Receipt) -> bool:
        """Delete the post and its uploads for good (`force=true`, not the trash; WordPress
        removes the resized copies with each upload); gone already counts."""
        media = {int(m) for m in receipt.extra.get("media") or []}
        media |= {int(m["id"]) for m in self._media(parent=receipt.remote_id)}
        self._delete_post(int(receipt.remote_id))
        for media_id in sorted(media):
            self._delete_media(media_id)
        return True

    def _delete_post(self, post_id: int) -> None:
        self._request(
            "DELETE",
            f"/wp/v2/posts/{post_id}",
            params={"force": "true"},
            accept_codes=frozenset({"rest_post_invalid_id"}),
        )

    def _delete_media(self, media_id: int) -> None:
        self._request(
            "DELETE",
            f"/wp/v2/media/{media_id}",
            params={"force": "true"},
            accept_codes=frozenset({"rest_post_invalid_id"}),
        )

    def clean_up(self, idempotency_key: str, *, ref: str) -> int:
        """Delete what a publish under this key left without a receipt: the post, if it was
        created, and every upload named after it; how many things went."""
        slug = post_slug(slug_for(ref), idempotency_key)
        removed = 0
        post = self.find_by_slug(slug)
        if post is not None:
            self.delete(Receipt(remote_id=str(post["id"]), url=post.get("link")))
            removed += 1
        for item in self._media(search=slug):
            if str(item.get("slug", "")).startswith(f"{slug}-"):
                self._delete_media(int(item["id"]))
                removed += 1
        return removed


def _receipt(post: Mapping[str, Any], *, reused: bool, media: Sequence[int]) -> Receipt:
    return Receipt(
        remote_id=str(post["id"]),
        url=post.get("link"),
        extra={
            "slug": post.get("slug"),
            "status": post.get("status"),
            "reused": reused,
            "media": list(media),
        },
    )


def classify(route: str, status: int, headers: Mapping[str, str], payload: Any) -> PublishError:
    """The typed error for a WordPress failure, read from its `code` first."""
    body = payload if isinstance(payload, dict) else {}
    code = str(body.get("code") or f"http_{status}")
    message = f"WordPress {route} ({status}): {code}: {body.get('message', '')}".rstrip(": ")
    if code in _PERMANENT_500:
        return PermanentError(message)
    if status in (401, 403) or code in _AUTH_CODES:
        return AuthError(message)
    if status == 429 or status >= 500:
        return RetryableError(message, retry_after=retry_after_seconds(headers))
    return PermanentError(message)
