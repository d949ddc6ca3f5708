"""A post as its channel will show it: the composer's own output (`dispatcher.compose_post`),
made from the same public view of the story the dispatcher sends, with the post's own caption.

Nothing is sent and no credential is needed: a channel whose publisher cannot be built (its
credentials are not set) is composed with its kind's declared rules, and the preview says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session

from core.config import Settings
from core.errors import ConfigError, NotAllowed, NotFound
from core.models import Campaign, Channel
from core.projections import public_story
from core.stories import get_story
from publishers import deliveries
from publishers.base import ComposeError, Publisher
from publishers.dispatcher import compose_post
from publishers.registry import build_publisher


@dataclass(frozen=True)
class PreviewImage:
    """One photo the channel gets: which rendition (a data-directory path) and its alt text."""

    rendition: str
    path: str
    alt: str
    width: int
    height: int


@dataclass(frozen=True)
class PostPreview:
    """What one channel will show, or why it cannot be composed."""

    delivery_id: int
    channel: str
    kind: str
    text: str | None
    title: str | None
    hashtags: tuple[str, ...]
    images: tuple[PreviewImage, ...]
    shortened: bool
    skipped_images: int
    caption_override: str | None
    extra: dict[str, Any]
    note: str | None = None  # e.g. composed with default limits: credentials not set
    problem: str | None = None  # why nothing can be composed (personal data in the text, ...)


def _publisher(channel: Channel, settings: Settings) -> tuple[Publisher | None, str | None]:
    """The channel's publisher as the dispatcher builds it, or None and why not."""
    try:
        return build_publisher(channel.kind, dict(channel.config or {}), settings), None
    except ConfigError as error:
        return None, f"composed with {channel.kind}'s default limits: {error}"


def preview_post(session: Session, settings: Settings, delivery_id: int) -> PostPreview:
    """The composer's output for one post, exactly as it would be sent now."""
    post = deliveries.post(session, delivery_id)
    channel = session.get(Channel, post.channel_id)
    if channel is None:
        raise NotFound(f"no channel for post #{delivery_id}")
    campaign = session.get(Campaign, post.campaign_id) if post.campaign_id else None
    story = get_story(session, post.submission_id)
    blank = PostPreview(
        delivery_id=delivery_id,
        channel=channel.name,
        kind=channel.kind,
        text=None,
        title=None,
        hashtags=(),
        images=(),
        shortened=False,
        skipped_images=0,
        caption_override=post.caption_override,
        extra={},
    )
    try:
        content = public_story(session, story)  # rendition paths stay data-dir relative
    except NotAllowed as error:
        return replace(blank, problem=str(error))
    publisher, note = _publisher(channel, settings)
    try:
        composed = compose_post(
            publisher,
            channel.kind,
            content,
            tuple(campaign.hashtags) if campaign else (),
            caption=post.caption_override,
        )
    except ComposeError as error:
        return replace(blank, problem=str(error), note=note)
    images = tuple(
        PreviewImage(
            rendition=image.rendition,
            path=str(image.path),
            alt=image.alt,
            width=image.width,
            height=image.height,
        )
        for image in composed.images
    )
    extra = {key: value for key, value in composed.extra.items() if isinstance(value, str | int)}
    return PostPreview(
        delivery_id=delivery_id,
        channel=channel.name,
        kind=channel.kind,
        text=composed.text,
        title=composed.title,
        hashtags=tuple(composed.hashtags),
        images=images,
        shortened=bool(composed.extra.get("shortened")),
        skipped_images=int(composed.extra.get("skipped_images") or 0),
        caption_override=post.caption_override,
        extra=extra,
        note=note,
    )
