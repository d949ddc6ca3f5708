"""How channels count text and which images they take: the counting functions and `ChannelRules`.

Each channel counts its limit its own way (PLATFORMS.md): Telegram in UTF-16 code units,
Mastodon in grapheme clusters with every URL weighing 23, Bluesky in graphemes and UTF-8 bytes,
X in twitter-text's weighted characters.
A publisher class declares its rules with these functions; the composer only applies them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import regex

ELLIPSIS = "…"
# A hashtag's longest: Bluesky's tag facet lexicon (maxGraphemes 64, app/bsky/richtext/facet.json),
# the tightest of our channels.
MAX_TAG_GRAPHEMES = 64
_GRAPHEME_RE = regex.compile(r"\X")
# An http(s) URL with a dotted host, without trailing punctuation (which Mastodon counts apart).
URL_RE = re.compile(
    r"https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?(?:[/?#][^\s]*[^\s.,;:!?)\]'\"])?"
)


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


def mastodon_length(text: str, url_weight: int = 23) -> int:
    """Mastodon's StatusLengthValidator count: graphemes, each recognised URL weighing
    `url_weight` (the server's `characters_reserved_per_url`, 23 by default)."""
    placeholder = "x" * url_weight
    return graphemes(
        URL_RE.sub(lambda m: placeholder if _recognised_url(m.group(0)) else m.group(0), text)
    )


# Runs of whitespace and of anything else: the pieces twitter-text's weighted count adds up.
_RUNS_RE = re.compile(r"\s+|\S+")


@functools.lru_cache(maxsize=65536)
def _twitter_weight(run: str, before: str = "", after: str = "") -> int:
    """The weight of `run` between the characters `before` and `after` ("" at either end of
    the text): twitter-text finds a URL by the character in front of it (at the very start
    of a text it finds `ésuarapesisir.org` from `s`, after a space from `é`)."""
    # Imported on first use: twitter-text compiles its emoji pattern at import (~0.3 s), which
    # every process importing the publishers would otherwise pay, posting to X or not.
    from twitter_text import parse_tweet

    whole = parse_tweet(before + run + after).weightedLength
    return int(whole - parse_tweet(before).weightedLength - parse_tweet(after).weightedLength)


def twitter_weighted_length(text: str) -> int:
    """X's weighted length, as twitter-text (config v3) counts it: NFC, Latin-1 and common
    punctuation weigh 1, CJK, other scripts and each emoji sequence 2, every URL 23.

    twitter-text takes ~5 ms a text (its emoji pattern), and the composer counts a story's
    shortenings hundreds of times. No URL, emoji sequence or NFC composition spans whitespace,
    so the count is the sum of twitter-text's counts of the runs of whitespace and non-space,
    each counted between its neighbouring characters, once per process (a property test
    holds the sum to twitter-text's count of the whole).
    """
    text = unicodedata.normalize("NFC", text)
    total = 0
    for match in _RUNS_RE.finditer(text):
        start, end = match.span()
        if text[start].isspace():
            total += _twitter_weight(match.group())
        else:
            total += _twitter_weight(match.group(), text[start - 1 : start], text[end : end + 1])
    return total


def no_limit(_: str) -> bool:
    """A text limit that every text fits (the outbox, WordPress)."""
    return True


@dataclass(frozen=True)
class ChannelRules:
    """How one channel counts text and which images it takes (a publisher class declares it)."""

    fits: Callable[[str], bool]  # the text limit of a post with images
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
    # Width / height a photo must have, inclusive (Instagram: 4:5 to 1.91:1).
    aspect_range: tuple[float, float] | None = None
    # Hashtags the composer may add (Threads makes only one a topic; Instagram takes 30).
    max_hashtags: int | None = None


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


# Meta counts a hashtag wherever a '#' starts a word: counting every one can only over-count.
_HASHTAG_RE = regex.compile(r"#[\p{L}\p{M}\p{N}_]+")
_MENTION_RE = regex.compile(r"(?<![\w@])@[\w.]+")
# Code points Threads counts at their UTF-8 length ("emojis are counted as the number of UTF-8
# bytes"): pictographs, and the joiners, selectors, skin tones and keycaps that build emoji.
_EMOJI_PART_RE = regex.compile(
    r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u200d\ufe0f\u20e3\U0001F3FB-\U0001F3FF]"
)


def hashtag_count(text: str) -> int:
    """How many hashtags Instagram would see in `text`."""
    return len(_HASHTAG_RE.findall(text))


def mention_count(text: str) -> int:
    """How many @mentions `text` holds."""
    return len(_MENTION_RE.findall(text))


def threads_length(text: str) -> int:
    """Threads' count: one per character, an emoji's parts at their UTF-8 bytes."""
    return sum(len(ch.encode()) if _EMOJI_PART_RE.match(ch) else 1 for ch in text)
