"""Threads (the Threads API on graph.threads.net): the container pattern of Instagram
(`publishers.containers`): a TEXT, IMAGE or CAROUSEL container (2 to 20 photos), then
`threads_publish` once its `status` is FINISHED.

Threads fetches photos by their signed public URL like Instagram. Withdrawal deletes the post
(`DELETE /{thread-id}`, permission threads_delete).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from core.config import Settings
from core.errors import ConfigError
from publishers.base import (
    ALWAYS,
    AuthError,
    Publisher,
    Receipt,
    SetupHints,
)
from publishers.containers import ContainerApi, ContainerChannel, require_public_media
from publishers.text import URL_RE, ChannelRules, threads_length

logger = logging.getLogger(__name__)

# Threads' posts documentation: text at most 500 characters, emoji counted as their UTF-8
# bytes; at most 5 links (since 2025-12-22); one topic tag per post.
MAX_TEXT = 500
MAX_LINKS = 5

API = ContainerApi(
    platform="Threads",
    create_edge="threads",
    publish_edge="threads_publish",
    status_field="status",
    text_field="text",
    list_edge="threads",
    max_items=20,
    image_type="IMAGE",
    text_type="TEXT",
    quota_edge="threads_publishing_limit",
)


def text_fits(text: str) -> bool:
    """Within Threads' text limits."""
    return threads_length(text) <= MAX_TEXT and len(set(URL_RE.findall(text))) <= MAX_LINKS


class ThreadsPublisher(ContainerChannel, Publisher):
    """Posts text, a photo or a carousel to one Threads profile."""

    api: ClassVar[ContainerApi] = API
    kind: ClassVar[str] = "threads"
    # PLATFORMS.md Threads: 500 characters, carousels of up to 20; photos JPEG or PNG of at most
    # 8 MB. Threads makes one hashtag a post's topic: the campaign's first.
    rules: ClassVar[ChannelRules] = ChannelRules(
        text_fits, text_fits, 20, ("feed", "web"), 8_000_000, max_hashtags=1
    )
    # The container checkpoint, as Instagram (publishers.containers).
    resend_safe_seconds: ClassVar[float] = ALWAYS
    # Threads' overview: 250 API posts per moving 24 hours, read before each publish.
    rate_per_minute: ClassVar[int | None] = 2
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_THREADS_USER_ID and PESISIR_THREADS_ACCESS_TOKEN, and "
        "PESISIR_PUBLIC_BASE_URL + PESISIR_SECRET_KEY (Threads fetches photos by URL)",
        auth="make a new long-lived Threads token with threads_basic, threads_content_publish "
        "and threads_delete (README, 'Channels: setup')",
        unreachable="Threads did not answer or is throttling: try again later "
        "(PESISIR_THREADS_GRAPH_URL)",
        refused="check PESISIR_THREADS_USER_ID (the id `GET /me` gives for the token) and that "
        "PESISIR_PUBLIC_BASE_URL is reachable from the internet",
    )

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> ThreadsPublisher:
        """Profile from `PESISIR_THREADS_*` (config may name another `user_id`)."""
        user_id = config.get("user_id") or settings.threads_user_id
        if not user_id or settings.threads_access_token is None:
            raise ConfigError(
                "threads needs PESISIR_THREADS_USER_ID and PESISIR_THREADS_ACCESS_TOKEN"
            )
        require_public_media(settings, "Threads")
        return cls(
            graph_url=settings.threads_graph_url,
            user_id=str(user_id),
            token=settings.threads_access_token,
            settings=settings,
        )

    def check(self) -> str:
        """The profile (`GET /me`), the publishing quota (which needs threads_basic and
        threads_content_publish), and whether Threads can reach our public address."""
        me = self.client.call("GET", "me", "me", params={"fields": "id,username"})
        if str(me.get("id")) != self.user_id:
            raise AuthError(
                f"the Threads token is for profile {me.get('id')}, not "
                f"PESISIR_THREADS_USER_ID {self.user_id}"
            )
        return f"@{me.get('username')}; {self.quota_and_address()} (deleting needs threads_delete)"

    def delete(self, receipt: Receipt) -> bool:
        """`DELETE /{thread-id}`; a post already gone counts as deleted."""
        return self.client.delete(receipt.remote_id)
