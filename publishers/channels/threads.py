"""Threads (the Threads API on graph.threads.net): the container pattern of Instagram
(`publishers.containers`): a TEXT, IMAGE or CAROUSEL container (2 to 20 photos), then
`threads_publish` once its `status` is FINISHED.

Threads fetches photos by their signed public URL like Instagram. Withdrawal deletes the post
(`DELETE /{thread-id}`, permission threads_delete).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from pydantic import SecretStr

from core import media_urls
from core.config import Settings
from core.errors import ConfigError
from publishers.base import (
    ALWAYS,
    AuthError,
    Checkpoint,
    MemoryCheckpoint,
    PermanentError,
    Post,
    Publisher,
    Receipt,
    SetupHints,
)
from publishers.containers import (
    ContainerApi,
    ContainerPublisher,
    public_image_urls,
    require_public_media,
)
from publishers.graph import GraphClient, is_gone
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


class ThreadsPublisher(Publisher):
    """Posts text, a photo or a carousel to one Threads profile."""

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

    def __init__(
        self,
        *,
        graph_url: str,
        user_id: str,
        token: SecretStr,
        settings: Settings,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.user_id = user_id
        self.settings = settings
        self.client = GraphClient(graph_url, token, platform="Threads")
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._checkpoint: Checkpoint = MemoryCheckpoint()

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

    def use_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Containers are saved in (and resumed from) `checkpoint`."""
        self._checkpoint = checkpoint

    def _containers(self) -> ContainerPublisher:
        return ContainerPublisher(
            self.client,
            API,
            self.user_id,
            self._checkpoint,
            poll_interval=self.poll_interval,
            sleep=self._sleep,
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
        quota = self._containers().quota()
        problem = media_urls.public_address_problem(self.settings.public_base_url)
        if problem:
            raise PermanentError(f"{problem}: Threads cannot fetch the photos from it")
        return (
            f"@{me.get('username')}; {quota.usage} of {quota.total} posts used in the last "
            f"{quota.window_seconds // 3600} hours (deleting needs threads_delete)"
        )

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Containers (resumed from the checkpoint), then `threads_publish`."""
        del idempotency_key  # the checkpoint, kept per delivery, is what makes a resend safe
        receipt = self._containers().publish(post, public_image_urls(self.settings, post))
        logger.info("threads post %s published with %d photos", receipt.remote_id, len(post.images))
        return receipt

    def delete(self, receipt: Receipt) -> bool:
        """`DELETE /{thread-id}`; a post already gone counts as deleted."""
        try:
            self.client.call("DELETE", receipt.remote_id, "delete")
        except PermanentError as exc:
            if is_gone(exc):
                return True
            raise
        return True
