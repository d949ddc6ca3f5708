"""Facebook Page (Graph API) with a Page access token: one photo with `POST /{page-id}/photos`
(the bytes, and the text as `message`); several as unpublished photos (`published=false`),
then `POST /{page-id}/feed` with `attached_media`; no photo, a text post on the feed.

Facebook has no idempotency (PLATFORMS.md). The unpublished photos' ids are saved in the
delivery's row as they are made, so a retry reuses them; before the post itself is sent again
after an attempt that may have made it, the Page's latest posts are searched for its exact
text: found, it is the receipt.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr

from core.config import Settings
from core.errors import ConfigError
from publishers.base import (
    ALWAYS,
    AuthError,
    Checkpoint,
    MemoryCheckpoint,
    Post,
    PostImage,
    Publisher,
    Receipt,
    RetryableError,
    SetupHints,
)
from publishers.graph import GraphClient, missing_permissions
from publishers.http import UPLOAD_TIMEOUT
from publishers.text import ChannelRules

logger = logging.getLogger(__name__)

# Facebook's documented post limit is 63,206 characters: "effectively none" (PLATFORMS.md).
MAX_MESSAGE = 63_206
POST_URL = "https://www.facebook.com/{}"
#: Page posts read when looking for one whose answer was lost.
LOOKUP_LIMIT = 25


def message_fits(text: str) -> bool:
    """Within a Facebook post's length."""
    return len(text) <= MAX_MESSAGE


class FacebookPublisher(Publisher):
    """Posts to one Facebook Page with its Page access token."""

    kind: ClassVar[str] = "facebook"
    # PLATFORMS.md Facebook Page: no practical text limit, many photos per post (attached_media),
    # JPEG/PNG of about 4 MB (the photo-upload guide).
    rules: ClassVar[ChannelRules] = ChannelRules(
        message_fits, message_fits, None, ("web", "feed"), 4_000_000
    )
    # No idempotency, but a resend first looks for the post among the Page's latest.
    resend_safe_seconds: ClassVar[float] = ALWAYS
    # Pages are throttled by usage (X-Business-Use-Case-Usage), not a post count; a few a
    # minute stays far below it.
    rate_per_minute: ClassVar[int | None] = 4
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_FACEBOOK_PAGE_ID and PESISIR_FACEBOOK_PAGE_TOKEN",
        auth="make a new Page access token (a long-lived user token with pages_manage_posts "
        "and pages_read_engagement, then GET /me/accounts; README, 'Channels: setup')",
        unreachable="Meta did not answer or is throttling: try again later "
        "(PESISIR_META_GRAPH_URL)",
        refused="check PESISIR_FACEBOOK_PAGE_ID (the Page's numeric id)",
    )
    #: What publishing needs (PLATFORMS.md Facebook Page), and why.
    needed_permissions: ClassVar[dict[str, str]] = {
        "pages_manage_posts": "publish and delete posts",
        "pages_read_engagement": "read the Page's posts",
    }

    def __init__(self, *, graph_url: str, page_id: str, token: SecretStr) -> None:
        self.page_id = page_id
        self.client = GraphClient(graph_url, token, platform="Facebook")
        self._checkpoint: Checkpoint = MemoryCheckpoint()

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> FacebookPublisher:
        """Page from `PESISIR_FACEBOOK_*` (config may name another `page_id`)."""
        page_id = config.get("page_id") or settings.facebook_page_id
        if not page_id or settings.facebook_page_token is None:
            raise ConfigError(
                "facebook needs PESISIR_FACEBOOK_PAGE_ID and PESISIR_FACEBOOK_PAGE_TOKEN"
            )
        return cls(
            graph_url=settings.meta_graph_url,
            page_id=str(page_id),
            token=settings.facebook_page_token,
        )

    def use_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Unpublished photos and the post's sending are saved in `checkpoint`."""
        self._checkpoint = checkpoint

    def check(self) -> str:
        """The Page (`GET /{page-id}`), and the token's type and permissions (`debug_token`)."""
        page = self.client.call("GET", self.page_id, "page", params={"fields": "id,name"})
        me = self.client.call("GET", "me", "me", params={"fields": "id"})
        if str(me.get("id")) != str(page.get("id")):
            raise AuthError(
                "PESISIR_FACEBOOK_PAGE_TOKEN is not this Page's token (a user token?): use the "
                "access_token GET /me/accounts gives for the Page"
            )
        missing = missing_permissions(self.client.scopes(), self.needed_permissions)
        if missing:
            raise AuthError(f"Facebook Page token lacks {', '.join(missing)}")
        return f"Page {page.get('name')} ({page.get('id')})"

    # ------------------------------------------------------------------ publishing

    def _upload(self, image: PostImage, *, message: str | None) -> dict[str, Any]:
        data = {"published": "false"} if message is None else {"message": message}
        answer = self.client.call(
            "POST",
            f"{self.page_id}/photos",
            "photo",
            data=data,
            files={"source": (image.path.name, image.path.read_bytes(), image.mime_type)},
            timeout=UPLOAD_TIMEOUT,
        )
        return dict(answer)

    def find_post(self, text: str) -> dict[str, Any] | None:
        """The Page's latest post with exactly this text, if any."""
        answer = self.client.call(
            "GET",
            f"{self.page_id}/posts",
            "latest posts",
            params={"fields": "id,message,permalink_url", "limit": str(LOOKUP_LIMIT)},
        )
        for item in answer.get("data") or []:
            if isinstance(item, dict) and (item.get("message") or "") == text:
                return item
        return None

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Unpublished photos (kept across attempts), then the post, looked for first when an
        earlier attempt may have made it."""
        del idempotency_key  # the checkpoint, kept per delivery, is what makes a resend safe
        state = self._checkpoint.load()
        if state.get("posting"):
            # With the text it was sent with (the caption may have changed since).
            found = self.find_post(str(state.get("text", post.text)))
            if found is not None:
                return self._receipt(str(found["id"]), state, found.get("permalink_url"))
        if state.get("text") != post.text:
            state = {"text": post.text, "photos": []}
        if len(post.images) > 1:
            photos: list[str] = list(state.get("photos") or [])
            for image in post.images[len(photos) :]:
                photos.append(str(self._upload(image, message=None)["id"]))
                state["photos"] = photos
                self._checkpoint.save(state)
        state["posting"] = True
        self._checkpoint.save(state)
        try:
            post_id = self._send(post, state)
        except RetryableError as exc:
            if not exc.maybe_sent:
                raise
            try:
                found = self.find_post(post.text)
            except RetryableError:
                found = None  # the next attempt looks again before posting
            if found is None:
                raise exc from None
            return self._receipt(str(found["id"]), state, found.get("permalink_url"))
        return self._receipt(post_id, state, None)

    def _send(self, post: Post, state: Mapping[str, Any]) -> str:
        if len(post.images) == 1:
            answer = self._upload(post.images[0], message=post.text)
            return str(answer.get("post_id") or answer["id"])
        data: dict[str, str] = {"message": post.text}
        for index, photo_id in enumerate(state.get("photos") or []):
            data[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        answer = self.client.call("POST", f"{self.page_id}/feed", "post", data=data)
        return str(answer["id"])

    def _receipt(self, post_id: str, state: Mapping[str, Any], url: Any) -> Receipt:
        logger.info("facebook post %s published", post_id)
        return Receipt(
            remote_id=post_id,
            url=str(url) if url else POST_URL.format(post_id),
            extra={"photos": list(state.get("photos") or [])},
        )

    def delete(self, receipt: Receipt) -> bool:
        """`DELETE /{post-id}`; a post already gone counts as deleted."""
        return self.client.delete(receipt.remote_id)
