"""Composing one story into one channel's post: pure functions, no network, no database.

Each channel counts text its own way (PLATFORMS.md):

- Telegram: caption ≤ 1024 (message ≤ 4096) UTF-16 code units after entity parsing; we send
  no parse mode, so the visible text is what counts.
- Mastodon: ≤ 500 grapheme clusters, every http(s) URL counts as 23, 4 images by default; a
  server may say otherwise (`GET /api/v2/instance`), so its limits come in as `MastodonLimits`.
- Bluesky: ≤ 300 grapheme clusters AND ≤ 3000 UTF-8 bytes; hashtags need tag facets at UTF-8
  byte offsets.
- WordPress and the outbox folder: no limit; WordPress gets a title, escaped HTML and a slug.

A post is `story … \n\n credit [\n link] \n\n #Tag #Tag`. When it is too long we first shorten
the story at a word boundary with an ellipsis, as long as at least `MIN_STORY_GRAPHEMES` of it
stay; below that we drop hashtags, least important first, and shorten again. A word or a tag is
never split.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import regex

from core.i18n import normalize_language, t
from publishers.base import Post, PostImage
from publishers.content import Rendition, StoryContent, StoryImage

logger = logging.getLogger(__name__)

ELLIPSIS = "…"
# Shorten the story down to this many graphemes before giving up hashtags.
MIN_STORY_GRAPHEMES = 100
# Mastodon's default media description limit is 1500 characters; keep alt text well below.
MAX_ALT_GRAPHEMES = 1000
# Bluesky's tag facet lexicon: maxGraphemes 64, maxLength 640 bytes (app/bsky/richtext/facet.json).
MAX_TAG_GRAPHEMES = 64
WORDPRESS_TITLE_GRAPHEMES = 80

# TAXONOMY.md "Campaign hashtags": theme slug → tags added to every post with that theme.
THEME_HASHTAGS: dict[str, tuple[str, ...]] = {
    "aksi-warga": ("LangkahHariIni",),
    "kesehatan": ("MauHidupLebihLama",),
    "kekeringan-air": ("MauHidupLebihLama",),
    "cuaca-ekstrem": ("MauHidupLebihLama",),
}
# The project's own tag is optional (TAXONOMY.md): always the first to be dropped.
PROJECT_HASHTAG = "SuaraPesisir"

_TAG_RE = regex.compile(r"^[\p{L}\p{M}\p{N}_]+$")
_GRAPHEME_RE = regex.compile(r"\X")
# An http(s) URL with a dotted host, without trailing punctuation (which Mastodon counts apart).
URL_RE = re.compile(
    r"https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?(?:[/?#][^\s]*[^\s.,;:!?)\]'\"])?"
)


@dataclass(frozen=True)
class MastodonLimits:
    """One Mastodon server's limits (`GET /api/v2/instance` → `configuration`).

    The defaults are Mastodon's documented ones (PLATFORMS.md), used for whatever a server does
    not tell us.
    """

    max_characters: int = 500  # statuses.max_characters, in grapheme clusters
    max_media_attachments: int = 4  # statuses.max_media_attachments
    characters_reserved_per_url: int = 23  # statuses.characters_reserved_per_url
    # media_attachments.description_limit (Mastodon ≥ 4.4 says it), in characters (code points,
    # as Rails counts); 1500 is MediaAttachment::MAX_DESCRIPTION_LENGTH.
    description_limit: int = 1500
    # media_attachments.image_size_limit: 16 MB since Mastodon 4.0, 10 MB before, so
    # 10,000,000 bytes is safe on any server that does not say.
    image_size_limit: int = 10_000_000
    # media_attachments.supported_mime_types; None when the server did not say (every Mastodon
    # takes JPEG, which is all our renditions are).
    supported_mime_types: frozenset[str] | None = None


MASTODON_DEFAULTS = MastodonLimits()
MASTODON_URL_WEIGHT = MASTODON_DEFAULTS.characters_reserved_per_url


# ---------------------------------------------------------------------------- counting


def graphemes(text: str) -> int:
    """Number of user-perceived characters (extended grapheme clusters, `\\X`)."""
    return len(_GRAPHEME_RE.findall(text))


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts captions and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    """Length in UTF-8 bytes, as Bluesky counts its 3000-byte limit and facet offsets."""
    return len(text.encode("utf-8"))


# Mastodon only gives a URL its 23-character weight when twitter-text recognises it, which needs
# a known top-level domain. Every two-letter ccTLD is known; of the rest we trust a common few.
# An unknown one is counted at full length, which can only over-count.
_KNOWN_GTLDS = frozenset(
    [
        "com",
        "org",
        "net",
        "edu",
        "gov",
        "int",
        "mil",
        "info",
        "biz",
        "app",
        "dev",
        "io",
        "social",
        "news",
        "online",
        "site",
        "blog",
        "media",
        "earth",
        "eco",
        "world",
        "community",
    ]
)


def _recognised_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    tld = host.rsplit(".", 1)[-1].lower()
    return len(tld) == 2 or tld in _KNOWN_GTLDS


def mastodon_length(text: str, url_weight: int = MASTODON_URL_WEIGHT) -> int:
    """Mastodon's StatusLengthValidator count: graphemes, each recognised URL weighing
    `url_weight` (the server's `characters_reserved_per_url`, 23 by default)."""
    placeholder = "x" * url_weight
    return graphemes(
        URL_RE.sub(lambda m: placeholder if _recognised_url(m.group(0)) else m.group(0), text)
    )


# ---------------------------------------------------------------------------- channel rules


@dataclass(frozen=True)
class ChannelRules:
    """How one channel counts text and which images it takes."""

    fits: Callable[[str], bool]  # the text-with-images limit
    fits_without_images: Callable[[str], bool]
    max_images: int | None
    renditions: tuple[str, ...]  # preference order
    max_image_bytes: int | None
    max_dimension_sum: int | None = None  # Telegram: width + height ≤ 10000
    max_aspect_ratio: float | None = None  # Telegram: ≤ 20
    fallback_image_bytes: int | None = None  # a second, looser byte limit (Bluesky)
    # Alt text is always kept within MAX_ALT_GRAPHEMES; a channel may cap it lower, in code
    # points (Mastodon's description_limit).
    max_alt_chars: int | None = None


def _no_limit(_: str) -> bool:
    return True


def _bluesky_fits(text: str) -> bool:
    return graphemes(text) <= 300 and utf8_bytes(text) <= 3000


def mastodon_rules(limits: MastodonLimits) -> ChannelRules:
    """The composing rules for a Mastodon server with these limits.

    Mastodon keeps images up to 3840x2160 (since 4.0), so `web` (full quality for people who open
    the photo) goes when it is within the server's byte limit; `feed` is the fallback.
    """

    def fits(text: str) -> bool:
        return mastodon_length(text, limits.characters_reserved_per_url) <= limits.max_characters

    types = limits.supported_mime_types
    # Every rendition is a JPEG: a server that takes no JPEG gets the text alone.
    max_images = limits.max_media_attachments if types is None or "image/jpeg" in types else 0
    return ChannelRules(
        fits,
        fits,
        max_images,
        ("web", "feed"),
        limits.image_size_limit,
        max_alt_chars=limits.description_limit,
    )


RULES: dict[str, ChannelRules] = {
    "outbox": ChannelRules(_no_limit, _no_limit, None, ("web", "feed"), None),
    # PLATFORMS.md Telegram: caption 1024 / message 4096 UTF-16 units; 10 photos per album;
    # photos ≤ 10 MB, width+height ≤ 10000, aspect ratio ≤ 20. `web` is the largest rendition.
    "telegram_channel": ChannelRules(
        lambda s: utf16_units(s) <= 1024,
        lambda s: utf16_units(s) <= 4096,
        10,
        ("web", "feed"),
        10_000_000,
        max_dimension_sum=10_000,
        max_aspect_ratio=20.0,
    ),
    # PLATFORMS.md Mastodon: the documented defaults. The Mastodon publisher gives the rules of
    # its own server (`mastodon_rules(limits)`) through `compose_rules()`.
    "mastodon": mastodon_rules(MASTODON_DEFAULTS),
    # PLATFORMS.md Bluesky: 300 graphemes and 3000 bytes, 4 images, blob ≤ 2,000,000 bytes
    # (1,000,000 on older PDSes). The app shows images at feed size anyway, so `feed` first,
    # then `web`, each within 1 MB; only if neither fits, anything within 2,000,000 bytes.
    "bluesky": ChannelRules(
        _bluesky_fits,
        _bluesky_fits,
        4,
        ("feed", "web"),
        1_000_000,
        fallback_image_bytes=2_000_000,
    ),
    # PLATFORMS.md WordPress: no text limit, any number of images; `web` for the gallery.
    "wordpress": ChannelRules(_no_limit, _no_limit, None, ("web", "feed"), None),
}


def rules_for(kind: str) -> ChannelRules:
    """The composing rules of a channel kind; ValueError for a kind without rules."""
    try:
        return RULES[kind]
    except KeyError:
        raise ValueError(
            f"no composing rules for channel kind {kind!r}; known: {sorted(RULES)}"
        ) from None


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
    rules = THEME_HASHTAGS if theme_rules is None else theme_rules
    project = PROJECT_HASHTAG.casefold()
    ordered = [tag for tag in campaign_tags if tag.lstrip("#").strip().casefold() != project]
    project_listed = len(ordered) < len(campaign_tags)
    for theme in themes:
        ordered.extend(rules.get(theme, ()))
    if project_tag or project_listed:
        ordered.append(PROJECT_HASHTAG)
    return _dedupe(ordered)


# ---------------------------------------------------------------------------- text pieces


def credit_line(story: StoryContent) -> str:
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
    story: StoryContent, index: int, number: int, total: int, *, max_chars: int | None = None
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


def clean_text(text: str) -> str:
    """NFC, trimmed, at most one blank line between paragraphs, no trailing spaces."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _word_ends(text: str) -> list[int]:
    """Offsets just after each word (a run of non-space characters)."""
    return [match.end() for match in re.finditer(r"\S+", text)]


def shorten(text: str, fits: Callable[[str], bool]) -> str:
    """`text` if it fits, else its longest word-boundary prefix plus '…' that fits, else ''."""
    if fits(text):
        return text
    ends = _word_ends(text)

    def candidate(i: int) -> str:
        return text[: ends[i]].rstrip(",;:-–—").rstrip() + ELLIPSIS

    # Binary search for the longest fitting prefix (longer prefixes are never shorter).
    low, high, best = 0, len(ends) - 1, -1
    while low <= high:
        middle = (low + high) // 2
        if fits(candidate(middle)):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    # Guard against a counter that is not monotonic on some odd input.
    while best >= 0 and not fits(candidate(best)):
        best -= 1
    return candidate(best) if best >= 0 else ""


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


def post_images(story: StoryContent, rules: ChannelRules) -> tuple[tuple[PostImage, ...], int]:
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


# ---------------------------------------------------------------------------- WordPress


def slug_for(ref: str) -> str:
    """A deterministic WordPress slug from the story ref: `SP-0042` → `cerita-sp-0042`."""
    ascii_ref = unicodedata.normalize("NFKD", ref).encode("ascii", "ignore").decode()
    core = re.sub(r"[^a-z0-9]+", "-", ascii_ref.lower()).strip("-")
    return f"cerita-{core or 'tanpa-ref'}"


def title_for(story_text: str, fallback: str) -> str:
    """The first line of the story, shortened at a word boundary; `fallback` when empty."""
    first = clean_text(story_text).split("\n", 1)[0].strip()
    title = shorten(first, lambda s: graphemes(s) <= WORDPRESS_TITLE_GRAPHEMES)
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


# ---------------------------------------------------------------------------- Bluesky


_HASHTAG_IN_TEXT = regex.compile(r"(?<!\S)#([\p{L}\p{M}\p{N}_]+)")


def tag_facets(text: str) -> list[dict[str, Any]]:
    """`app.bsky.richtext.facet#tag` for every `#tag` in `text`, at UTF-8 byte offsets.

    Bluesky does not detect hashtags server-side: our tag line and any `#kata` the contributor
    wrote both need a facet. The range covers the `#`; the tag value does not.
    """
    facets: list[dict[str, Any]] = []
    for match in _HASHTAG_IN_TEXT.finditer(text):
        tag = match.group(1)
        if tag.isdigit() or graphemes(tag) > MAX_TAG_GRAPHEMES:
            continue
        facets.append(
            {
                "index": {
                    "byteStart": utf8_bytes(text[: match.start()]),
                    "byteEnd": utf8_bytes(text[: match.end()]),
                },
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
            }
        )
    return facets


def link_facets(text: str) -> list[dict[str, Any]]:
    """`app.bsky.richtext.facet#link` for each URL in `text` (Bluesky does not detect links)."""
    return [
        {
            "index": {
                "byteStart": utf8_bytes(text[: match.start()]),
                "byteEnd": utf8_bytes(text[: match.end()]),
            },
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)}],
        }
        for match in URL_RE.finditer(text)
    ]


# ---------------------------------------------------------------------------- compose


def compose(
    kind: str,
    story: StoryContent,
    *,
    hashtags: Sequence[str],
    link: str | None = None,
    rules: ChannelRules | None = None,
) -> Post:
    """The post for one channel kind: fitted text, hashtags, images with alt text, extras.

    `rules` replaces the kind's default rules, for a channel whose server told its own limits
    (`mastodon_rules(limits)`).
    """
    rules = rules if rules is not None else rules_for(kind)
    images, skipped = post_images(story, rules)
    fits = rules.fits if images else rules.fits_without_images
    credit = credit_line(story)
    tags = _dedupe(hashtags)
    fitted = fit_text(story.text, credit, link, tags, fits)
    extra: dict[str, Any] = {"ref": story.ref, "shortened": fitted.shortened}
    if skipped:
        extra["skipped_images"] = skipped
    lang = normalize_language(story.lang)
    if kind == "wordpress":
        return Post(
            text=fitted.text,
            images=images,
            hashtags=tuple(tags),
            lang=lang,
            title=title_for(story.text, credit),
            slug=slug_for(story.ref),
            link=link,
            html=html_body(story.text, credit, link),
            extra=extra,
        )
    facets: tuple[dict[str, Any], ...] = ()
    if kind == "bluesky":
        facets = tuple(link_facets(fitted.text) + tag_facets(fitted.text))
    return Post(
        text=fitted.text,
        images=images,
        hashtags=fitted.hashtags,
        lang=lang,
        slug=slug_for(story.ref),
        link=fitted.link,
        facets=facets,
        extra=extra,
    )
