"""Instagram (Content Publishing API on the Graph API): a container per photo, a carousel parent
for 2 to 10, `media_publish` once the container is FINISHED (`publishers.containers`).

Instagram fetches each photo itself from its signed public URL (`core.media_urls`, served by the
web dashboard at `GET /m/<token>`), so PESISIR_PUBLIC_BASE_URL must be reachable from the
internet. The API cannot delete a post: a withdrawn story's Instagram post is listed for a
person to delete in the app.
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
from publishers.graph import missing_permissions
from publishers.text import ChannelRules, hashtag_count, mention_count, utf16_units

logger = logging.getLogger(__name__)

# PLATFORMS.md Instagram: caption 2,200 characters, at most 30 hashtags and 20 @mentions.
# Instagram does not say how it counts characters; UTF-16 units never count fewer.
MAX_CAPTION = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20

API = ContainerApi(
    platform="Instagram",
    create_edge="media",
    publish_edge="media_publish",
    status_field="status_code",
    text_field="caption",
    list_edge="media",
    max_items=10,
    image_type=None,
    text_type=None,
    quota_edge="content_publishing_limit",
)


def caption_fits(text: str) -> bool:
    """Within Instagram's caption limits."""
    return (
        utf16_units(text) <= MAX_CAPTION
        and hashtag_count(text) <= MAX_HASHTAGS
        and mention_count(text) <= MAX_MENTIONS
    )


class InstagramPublisher(ContainerChannel, Publisher):
    """Posts a photo or a carousel to one Instagram professional account."""

    api: ClassVar[ContainerApi] = API
    kind: ClassVar[str] = "instagram"
    # PLATFORMS.md Instagram: JPEG only, at most 8 MB, aspect 4:5 to 1.91:1 (our `feed`
    # rendition is 4:5), carousels of 2 to 10; a post needs a photo.
    rules: ClassVar[ChannelRules] = ChannelRules(
        caption_fits,
        caption_fits,
        10,
        ("feed", "web"),
        8_000_000,
        aspect_range=(0.8, 1.91),
        max_hashtags=MAX_HASHTAGS,
    )
    # No idempotency, but the container is a checkpoint kept in the delivery's row: a resend
    # asks its status first and finds a post whose answer was lost (publishers.containers).
    resend_safe_seconds: ClassVar[float] = ALWAYS
    # PLATFORMS.md Instagram: 100 API posts per moving 24 hours, read from the quota endpoint
    # before each publish; one a minute keeps a campaign's burst from using a day in an hour.
    rate_per_minute: ClassVar[int | None] = 1
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_INSTAGRAM_USER_ID and PESISIR_INSTAGRAM_ACCESS_TOKEN, and "
        "PESISIR_PUBLIC_BASE_URL + PESISIR_SECRET_KEY (Instagram fetches photos by URL)",
        auth="make a new long-lived token for the Meta app with instagram_basic, "
        "instagram_content_publish and pages_read_engagement (README, 'Channels: setup')",
        unreachable="Meta did not answer or is throttling: try again later "
        "(PESISIR_META_GRAPH_URL)",
        refused="check PESISIR_INSTAGRAM_USER_ID (the Instagram professional account's id, not "
        "the Page's) and that PESISIR_PUBLIC_BASE_URL is reachable from the internet",
    )
    #: What publishing needs (Instagram API with Facebook Login), and why.
    needed_permissions: ClassVar[dict[str, str]] = {
        "instagram_basic": "read the account",
        "instagram_content_publish": "publish",
        "pages_read_engagement": "read the linked Page",
    }

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> InstagramPublisher:
        """Account from `PESISIR_INSTAGRAM_*` (config may name another `user_id`)."""
        user_id = config.get("user_id") or settings.instagram_user_id
        if not user_id or settings.instagram_access_token is None:
            raise ConfigError(
                "instagram needs PESISIR_INSTAGRAM_USER_ID and PESISIR_INSTAGRAM_ACCESS_TOKEN"
            )
        require_public_media(settings, "Instagram")
        return cls(
            graph_url=settings.meta_graph_url,
            user_id=str(user_id),
            token=settings.instagram_access_token,
            settings=settings,
        )

    def check(self) -> str:
        """The account (`GET /{ig-user-id}`), the token's permissions (`debug_token`), the
        publishing quota, and whether Instagram can reach our public address."""
        account = self.client.call("GET", self.user_id, "account", params={"fields": "id,username"})
        missing = missing_permissions(self.client.scopes(), self.needed_permissions)
        if missing:
            raise AuthError(f"Instagram token lacks {', '.join(missing)}")
        return f"@{account.get('username')}; {self.quota_and_address()}"

    def delete(self, receipt: Receipt) -> bool:
        """Instagram's API cannot delete a post: a person deletes it in the app."""
        del receipt
        return False
