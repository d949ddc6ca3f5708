"""Composing one story into one channel's post: pure functions, no network, no database.

The channel's class says how it counts text and which images it takes (`Publisher.rules`,
declared from PLATFORMS.md) and adds what only it needs (`Publisher.finish_post`: WordPress a
title and HTML, Bluesky facets); everything else is the same for every channel.

A post is `story … \n\n credit [\n link] \n\n #Tag #Tag`. When it is too long we first shorten
the story at a word boundary with an ellipsis, as long as at least `MIN_STORY_GRAPHEMES` of it
stay; below that we drop hashtags, least important first, and shorten again. A word or a tag is
never split.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from core import taxonomy
from core.i18n import normalize_language, t
from core.projections import PublicStory, Rendition, StoryImage
from publishers.base import Post, PostImage
from publishers.registry import publisher_class
from publishers.text import MAX_TAG_GRAPHEMES, ChannelRules, clean_text, graphemes, shorten

logger = logging.getLogger(__name__)

# Shorten the story down to this many graphemes before giving up hashtags.
MIN_STORY_GRAPHEMES = 100
# Mastodon's default media description limit is 1500 characters; keep alt text well below.
MAX_ALT_GRAPHEMES = 1000


_TAG_RE = regex.compile(r"^[\p{L}\p{M}\p{N}_]+$")


# ---------------------------------------------------------------------------- hashtags


def normalize_hashtag(tag: str) -> str | None:
    """`#Adil Untuk` → None, `#AdilUntukBumi` → `AdilUntukBumi`; None when not a usable tag."""
    name = unicodedata.normalize("NFC", tag.strip()).lstrip("#").strip()
    if not name or not _TAG_RE.match(name) or name.isdigit() or graphemes(name) > MAX_TAG_GRAPHEMES:
        return None
    return name


def _dedupe(tags: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for raw in tags:
        name = normalize_hashtag(raw)
        if name is None:
            if raw.strip():
                logger.warning("skipping unusable hashtag %r", raw)
            continue
        if name.casefold() not in seen:
            seen.add(name.casefold())
            result.append(name)
    return result


def hashtags_for(
    campaign_tags: Sequence[str],
    themes: Sequence[str],
    *,
    theme_rules: Mapping[str, Sequence[str]] | None = None,
    project_tag: bool = False,
) -> list[str]:
    """A post's hashtags, most important first, without '#', deduplicated case-insensitively.

    Order: the campaign's own tags (in the campaign's order), then theme tags in the order of
    the story's themes (most relevant first), then #SuaraPesisir (when `project_tag` or when the
    campaign lists it: the project's tag is optional, so it is always dropped first).
    """
    rules = taxonomy.theme_hashtags() if theme_rules is None else theme_rules
    project_tag_name = taxonomy.project_hashtag()
    project = project_tag_name.casefold()
    ordered = [tag for tag in campaign_tags if tag.lstrip("#").strip().casefold() != project]
    project_listed = len(ordered) < len(campaign_tags)
    for theme in themes:
        ordered.extend(rules.get(theme, ()))
    if project_tag or project_listed:
        ordered.append(project_tag_name)
    return _dedupe(ordered)


# ---------------------------------------------------------------------------- text pieces


def credit_line(story: PublicStory) -> str:
    """'Cerita: Maria, Oesapa' when the contributor chose a name, else 'Cerita warga Oesapa'."""
    lang = normalize_language(story.lang)
    # One line, whatever was typed: a name must not be able to add lines or fake a tag line.
    name = " ".join((story.credit_name or "").split())
    place = " ".join((story.place_name or "").split())
    key = "named" if name else "anonymous"
    if not place:
        key += "_no_place"
    return t(lang, f"publishers.credit.{key}", name=name, place=place)


def alt_text(
    story: PublicStory, index: int, number: int, total: int, *, max_chars: int | None = None
) -> str:
    """Photo `index`'s alt: the moderator's text, else 'Foto 2 dari 3, cerita warga Oesapa'.

    `number` counts among the `total` photos actually sent. Generated text names only the public
    place, never the contributor or anything from the photo's metadata. Either is shortened at a
    word boundary to MAX_ALT_GRAPHEMES and, when given, `max_chars` code points.
    """

    def fits(text: str) -> bool:
        return graphemes(text) <= MAX_ALT_GRAPHEMES and (
            max_chars is None or len(text) <= max_chars
        )

    written = (story.images[index].alt or "").strip()
    if written:
        return shorten(written, fits)
    lang = normalize_language(story.lang)
    place = (story.place_name or "").strip()
    key = ("one" if total == 1 else "many") + ("" if place else "_no_place")
    generated = t(lang, f"publishers.alt.{key}", number=number + 1, total=total, place=place)
    return shorten(generated, fits)


def assemble(body: str, credit: str, link: str | None, tags: Sequence[str]) -> str:
    """`body \\n\\n credit [\\n link] \\n\\n #tags`, skipping empty parts."""
    tail = "\n".join(part for part in (credit, link) if part)
    blocks = [part for part in (body, tail, " ".join(f"#{tag}" for tag in tags)) if part]
    return "\n\n".join(blocks)


@dataclass(frozen=True)
class FittedText:
    """The text that fits, and what it kept."""

    text: str
    hashtags: tuple[str, ...]
    link: str | None
    shortened: bool


def _fits_with(
    fits: Callable[[str], bool], credit: str, link: str | None, tags: Sequence[str]
) -> Callable[[str], bool]:
    return lambda body: fits(assemble(body, credit, link, tags))


def fit_text(
    story_text: str,
    credit: str,
    link: str | None,
    tags: Sequence[str],
    fits: Callable[[str], bool],
) -> FittedText:
    """The post text within `fits`: shorten the story, then drop tags from the end, never split."""
    story_text = clean_text(story_text)
    tags = list(tags)
    for count in range(len(tags), -1, -1):
        kept = tags[:count]
        body = shorten(story_text, _fits_with(fits, credit, link, kept))
        text = assemble(body, credit, link, kept)
        if not fits(text):
            continue
        if body == story_text or graphemes(body) >= MIN_STORY_GRAPHEMES or count == 0:
            return FittedText(text, tuple(kept), link, body != story_text)
    # Not even the credit line and link fit with an empty story: give up the link, then shorten
    # the credit line itself (only with absurd limits or names).
    for kept_link in (link, None):
        text = assemble("", credit, kept_link, ())
        if fits(text):
            return FittedText(text, (), kept_link, bool(story_text))
    return FittedText(shorten(credit, fits), (), None, bool(story_text))


# ---------------------------------------------------------------------------- images


def pick_rendition(image: StoryImage, rules: ChannelRules) -> tuple[str, Rendition] | None:
    """The first preferred rendition within the channel's byte and shape limits."""

    def acceptable(rendition: Rendition, max_bytes: int | None) -> bool:
        if max_bytes is not None and rendition.size_bytes > max_bytes:
            return False
        if rules.max_dimension_sum and rendition.width + rendition.height > rules.max_dimension_sum:
            return False
        if rules.aspect_range and rendition.height > 0:
            low, high = rules.aspect_range
            if not low <= rendition.width / rendition.height <= high:
                return False
        short, long = sorted((rendition.width, rendition.height))
        return not (rules.max_aspect_ratio and short > 0 and long / short > rules.max_aspect_ratio)

    limits = [rules.max_image_bytes]
    if rules.fallback_image_bytes is not None:
        limits.append(rules.fallback_image_bytes)
    for limit in limits:
        for name in rules.renditions:
            rendition = image.renditions.get(name)
            if rendition is not None and acceptable(rendition, limit):
                return name, rendition
    return None


def post_images(story: PublicStory, rules: ChannelRules) -> tuple[tuple[PostImage, ...], int]:
    """The images a channel gets (renditions, alt texts) and how many were left out."""
    chosen: list[tuple[int, str, Rendition]] = []
    for index, image in enumerate(story.images):
        picked = pick_rendition(image, rules)
        if picked is None:
            logger.warning(
                "story %s photo %d has no rendition this channel takes", story.ref, index
            )
            continue
        chosen.append((index, *picked))
    if rules.max_images is not None:
        chosen = chosen[: rules.max_images]
    images = tuple(
        PostImage(
            path=rendition.path,
            alt=alt_text(story, index, number, len(chosen), max_chars=rules.max_alt_chars),
            width=rendition.width,
            height=rendition.height,
            rendition=name,
        )
        for number, (index, name, rendition) in enumerate(chosen)
    )
    return images, len(story.images) - len(images)


# ---------------------------------------------------------------------------- compose


def compose(
    kind: str,
    story: PublicStory,
    *,
    hashtags: Sequence[str],
    link: str | None = None,
    rules: ChannelRules | None = None,
) -> Post:
    """The post for one channel kind: fitted text, hashtags, images with alt text, extras.

    `rules` replaces the kind's declared rules, for a channel whose server told its own limits
    (`Publisher.compose_rules()`).
    """
    channel = publisher_class(kind)
    rules = rules if rules is not None else channel.rules
    images, skipped = post_images(story, rules)
    fits = rules.fits if images else rules.fits_without_images
    credit = credit_line(story)
    tags = _dedupe(hashtags)[: rules.max_hashtags]
    fitted = fit_text(story.text, credit, link, tags, fits)
    extra: dict[str, Any] = {"ref": story.ref, "shortened": fitted.shortened}
    if skipped:
        extra["skipped_images"] = skipped
    post = Post(
        text=fitted.text,
        images=images,
        hashtags=fitted.hashtags,
        lang=normalize_language(story.lang),
        link=fitted.link,
        extra=extra,
    )
    return channel.finish_post(post, story, credit=credit, tags=tags)
