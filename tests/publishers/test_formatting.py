"""The composer, offline: credit lines, hashtags, alt texts, renditions and exact limits."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from core.projections import PublicStory, Rendition, StoryImage
from publishers.channels.mastodon import (
    MASTODON_DEFAULTS,
    MastodonLimits,
    MastodonPublisher,
    mastodon_rules,
)
from publishers.channels.wordpress import slug_for
from publishers.formatting import compose, fit_text, hashtags_for
from publishers.text import ELLIPSIS, graphemes, mastodon_length, utf8_bytes, utf16_units
from tests.fakes.meta_graph import threads_count

CAMPAIGN = ["AdilUntukBumi", "Kupang"]


def _image(
    tmp: Path, n: int, *, web: int = 400_000, feed: int = 150_000, alt: str | None = None
) -> StoryImage:
    return StoryImage(
        renditions={
            "web": Rendition(tmp / f"{n}-web.jpg", 1600, 1200, web),
            "feed": Rendition(tmp / f"{n}-feed.jpg", 1080, 810, feed),
        },
        alt=alt,
    )


def _story(text: str = "Air laut masuk ke rumah kami lagi.", **kwargs: object) -> PublicStory:
    defaults: dict[str, object] = {
        "ref": "SP-0042",
        "place_name": "Oesapa",
        "themes": ("banjir-rob",),
    }
    defaults.update(kwargs)
    return PublicStory(text=text, **defaults)  # type: ignore[arg-type]


def test_credit_named_and_anonymous_in_both_languages() -> None:
    named = compose("outbox", _story(credit_name="Maria"), hashtags=[])
    anonymous = compose("outbox", _story(), hashtags=[])
    english = compose("outbox", _story(lang="en"), hashtags=[])
    assert "Cerita: Maria, Oesapa" in named.text
    assert "Cerita warga Oesapa" in anonymous.text and "Maria" not in anonymous.text
    assert "A story from a resident of Oesapa" in english.text
    assert compose("outbox", _story(place_name=None), hashtags=[]).text.endswith("Cerita warga")


def test_hashtags_in_importance_order_deduplicated() -> None:
    tags = hashtags_for(
        ["#AdilUntukBumi", "suarapesisir", "Kupang"],
        ["kesehatan", "aksi-warga", "kekeringan-air", "cuaca-ekstrem"],
    )
    assert tags == [
        "AdilUntukBumi",
        "Kupang",
        "MauHidupLebihLama",
        "LangkahHariIni",
        "SuaraPesisir",
    ]
    assert hashtags_for(["adiluntukbumi", "AdilUntukBumi", "bad tag", "#"], []) == ["adiluntukbumi"]
    assert hashtags_for([], ["aksi-warga"], project_tag=True) == ["LangkahHariIni", "SuaraPesisir"]


def test_short_post_keeps_everything(tmp_path: Path) -> None:
    post = compose("mastodon", _story(images=(_image(tmp_path, 0),)), hashtags=CAMPAIGN)
    assert (
        post.text
        == "Air laut masuk ke rumah kami lagi.\n\nCerita warga Oesapa\n\n#AdilUntukBumi #Kupang"
    )
    assert post.hashtags == ("AdilUntukBumi", "Kupang")
    assert post.images[0].alt == "Foto dari cerita warga Oesapa"


def test_generated_alt_numbers_photos_and_moderator_alt_wins(tmp_path: Path) -> None:
    images = (_image(tmp_path, 0, alt="Ibu menimba air di sumur"), _image(tmp_path, 1))
    post = compose("telegram_channel", _story(images=images), hashtags=[])
    assert [image.alt for image in post.images] == [
        "Ibu menimba air di sumur",
        "Foto 2 dari 2, cerita warga Oesapa",
    ]


def test_image_counts_and_renditions(tmp_path: Path) -> None:
    images = tuple(_image(tmp_path, n) for n in range(12))
    story = _story(images=images)
    telegram = compose("telegram_channel", story, hashtags=[])
    assert len(telegram.images) == 10 and {i.rendition for i in telegram.images} == {"web"}
    assert len(compose("mastodon", story, hashtags=[]).images) == 4
    bluesky = compose("bluesky", story, hashtags=[])
    assert len(bluesky.images) == 4 and {i.rendition for i in bluesky.images} == {"feed"}
    assert len(compose("wordpress", story, hashtags=[]).images) == 12


def test_bluesky_falls_back_within_two_megabytes_and_skips_larger(tmp_path: Path) -> None:
    big = _image(tmp_path, 0, web=3_000_000, feed=1_500_000)
    huge = _image(tmp_path, 1, web=5_000_000, feed=2_500_000)
    post = compose("bluesky", _story(images=(big, huge)), hashtags=[])
    assert [i.rendition for i in post.images] == ["feed"]
    assert post.extra["skipped_images"] == 1


def test_telegram_caption_fitted_in_utf16_units(tmp_path: Path) -> None:
    # Each 🌊 is 2 UTF-16 units but 1 grapheme: a grapheme counter would overshoot Telegram's limit.
    text = " ".join(["ombak🌊🌊"] * 200)
    post = compose(
        "telegram_channel", _story(text, images=(_image(tmp_path, 0),)), hashtags=CAMPAIGN
    )
    assert utf16_units(post.text) <= 1024
    assert utf16_units(post.text) > 1000  # shortened to fit, not cut far below
    assert post.text.split("\n\n")[0].endswith(ELLIPSIS)
    assert post.text.endswith("#AdilUntukBumi #Kupang")


def test_telegram_message_without_photo_gets_4096() -> None:
    post = compose("telegram_channel", _story("kata " * 1000), hashtags=[])
    assert 1024 < utf16_units(post.text) <= 4096


def test_mastodon_counts_url_as_23() -> None:
    link = "https://suarapesisir.example.org/cerita/" + "x" * 200
    post = compose("mastodon", _story("banjir " * 200), hashtags=CAMPAIGN, link=link)
    assert link in post.text
    assert mastodon_length(post.text) <= 500
    assert graphemes(post.text) > 500  # the long URL only weighs 23
    assert mastodon_length(post.text) >= 490


def test_bluesky_bytes_limit_and_tag_facets() -> None:
    # Javanese script: many bytes per grapheme, so the 3000-byte limit binds before 300 graphemes.
    text = " ".join(["ꦧꦚ꧀ꦗꦶꦂ"] * 200)
    post = compose("bluesky", _story(text), hashtags=["AdilUntukBumi", "Pesisir🌊x", "Kupang"])
    assert utf8_bytes(post.text) <= 3000 and graphemes(post.text) <= 300
    encoded = post.text.encode()
    tag_facets = [f for f in post.facets if f["features"][0]["$type"].endswith("#tag")]
    assert [f["features"][0]["tag"] for f in tag_facets] == list(post.hashtags)
    for facet in tag_facets:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert encoded[start:end].decode() == "#" + facet["features"][0]["tag"]


def test_bluesky_facets_for_tags_the_contributor_wrote() -> None:
    post = compose(
        "bluesky", _story("Banjir lagi #banjir di pantai, #2024 bukan tag"), hashtags=["Kupang"]
    )
    tags = [f["features"][0]["tag"] for f in post.facets]
    assert tags == ["banjir", "Kupang"]


def test_credit_name_cannot_add_lines() -> None:
    post = compose("mastodon", _story(credit_name="Maria\n\n#Palsu"), hashtags=["Kupang"])
    assert "Cerita: Maria #Palsu, Oesapa" in post.text
    assert post.text.endswith("\n\n#Kupang")


def test_bluesky_link_facet() -> None:
    post = compose("bluesky", _story("é " * 10), hashtags=["Tag"], link="https://example.org/a")
    link = [f for f in post.facets if f["features"][0]["$type"].endswith("#link")]
    start, end = link[0]["index"]["byteStart"], link[0]["index"]["byteEnd"]
    assert post.text.encode()[start:end] == b"https://example.org/a"


def test_least_important_tags_dropped_first() -> None:
    tags = ["AdilUntukBumi", "Kupang", "LangkahHariIni", "SuaraPesisir"]
    credit = "Cerita warga Oesapa"
    story = "a" * 100  # one long word: cannot be shortened without vanishing
    limit = graphemes(f"{story}\n\n{credit}\n\n#AdilUntukBumi #Kupang") + 2
    fitted = fit_text(story, credit, None, tags, lambda s: graphemes(s) <= limit)
    assert fitted.hashtags == ("AdilUntukBumi", "Kupang")
    assert fitted.text.startswith(story)


def test_wordpress_title_html_and_slug() -> None:
    story = _story("Sumur kami <asin> & kering.\n\nKami beli air.", credit_name="Maria")
    post = compose("wordpress", story, hashtags=CAMPAIGN)
    assert post.title == "Sumur kami <asin> & kering."
    assert post.html is not None
    assert "<p>Sumur kami &lt;asin&gt; &amp; kering.</p>" in post.html
    assert "Cerita: Maria, Oesapa" in post.html
    assert post.slug == "cerita-sp-0042" == slug_for("SP-0042")
    assert post.hashtags == ("AdilUntukBumi", "Kupang")


@pytest.mark.parametrize("max_characters", [150, 300, 500, 1000, 5000])
def test_mastodon_rules_follow_the_server_limits(max_characters: int, tmp_path: Path) -> None:
    limits = MastodonLimits(
        max_characters=max_characters,
        max_media_attachments=2,
        characters_reserved_per_url=40,
        description_limit=30,
        image_size_limit=200_000,  # `web` (400 kB) is too big, `feed` (150 kB) fits
    )
    link = "https://suarapesisir.org/cerita/" + "x" * 80
    images = tuple(_image(tmp_path, n, alt="Ibu menimba air di sumur yang payau") for n in range(3))
    story = _story("banjir " * 2000, images=images)
    post = compose("mastodon", story, hashtags=CAMPAIGN, link=link, rules=mastodon_rules(limits))
    assert max_characters - 10 <= mastodon_length(post.text, url_weight=40) <= max_characters
    assert set(post.text.split("\n\n")[0].removesuffix(ELLIPSIS).split()) == {"banjir"}
    assert link in post.text
    assert [image.rendition for image in post.images] == ["feed", "feed"]
    assert [image.alt for image in post.images] == ["Ibu menimba air di sumur yang…"] * 2


def test_mastodon_default_rules_are_the_documented_limits(tmp_path: Path) -> None:
    documented = MastodonLimits(
        max_characters=500, max_media_attachments=4, characters_reserved_per_url=23
    )
    assert documented == MASTODON_DEFAULTS
    rules = MastodonPublisher.rules
    assert rules.max_images == 4 and rules.max_alt_chars == 1500
    story = _story("banjir " * 200, images=tuple(_image(tmp_path, n) for n in range(6)))
    default = compose("mastodon", story, hashtags=CAMPAIGN)
    explicit = compose(
        "mastodon", story, hashtags=CAMPAIGN, rules=mastodon_rules(MASTODON_DEFAULTS)
    )
    assert default == explicit


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(KeyError, match="no channel kind 'myspace'"):
        compose("myspace", _story(), hashtags=[])


# ------------------------------------------------------------------ properties

CLUSTERS = [*"abcdeé🌊ꦧ꧀가,", "👩🏽‍🌾", "e\u0301", "🇮🇩"]
WORD = st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=12).map("".join)
TAG = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,15}", fullmatch=True)
LIMITS = {
    "telegram_channel": lambda s: utf16_units(s) <= 1024,
    "mastodon": lambda s: mastodon_length(s) <= 500,
    "bluesky": lambda s: graphemes(s) <= 300 and utf8_bytes(s) <= 3000,
    # Counted as the Meta fakes count them (tests/fakes/meta_graph.py), not with our own code.
    "instagram": lambda s: len(s.encode("utf-16-le")) // 2 <= 2200 and s.count("#") <= 30,
    "threads": lambda s: threads_count(s) <= 500,
    "facebook": lambda s: len(s) <= 63_206,
    # twitter-text's own count of the whole text (the composer adds up runs of it).
    "x": lambda s: parse_tweet(s).weightedLength <= 280,
}


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(WORD, min_size=1, max_size=400),
    tags=st.lists(TAG, max_size=8),
    kind=st.sampled_from(sorted(LIMITS)),
    named=st.booleans(),
)
def test_never_over_the_limit_never_a_split_word_or_tag(
    words: list[str],
    tags: list[str],
    kind: str,
    named: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp = tmp_path_factory.getbasetemp()
    story = _story(
        " ".join(words), credit_name="Maria" if named else None, images=(_image(tmp, 0),)
    )
    post = compose(kind, story, hashtags=tags)
    assert LIMITS[kind](post.text)
    body, _, rest = post.text.partition("\n\nCerita")
    body_words = body.removesuffix(ELLIPSIS).split()
    story_words = unicodedata.normalize("NFC", " ".join(words)).split()
    # Every word of the body is a whole word of the story, in order from the start (a trailing
    # comma may give way to the ellipsis).
    assert body_words[:-1] == story_words[: len(body_words) - 1]
    if body_words:
        assert story_words[len(body_words) - 1].rstrip(",") == body_words[-1].rstrip(",")
    assert body.endswith(ELLIPSIS) == (len(body_words) < len(story_words))
    # Every tag in the text is a whole tag, and they are the most important ones.
    shown = re.findall(r"#(\S+)", rest)
    expected = hashtags_for(tags, [])
    assert shown == list(post.hashtags) == expected[: len(shown)]
    # Bluesky facets point at exactly their tags, in UTF-8 bytes.
    encoded = post.text.encode()
    for facet in post.facets:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert encoded[start:end].decode() == "#" + facet["features"][0]["tag"]
    if kind == "bluesky":
        assert [f["features"][0]["tag"] for f in post.facets] == list(post.hashtags)


def test_mastodon_url_weight_needs_a_known_tld() -> None:
    long_path = "/" + "a" * 100
    assert mastodon_length("https://suarapesisir.org" + long_path) == 23
    assert mastodon_length("https://kupang.go.id" + long_path) == 23
    # An unknown TLD may not be recognised by Mastodon: count it in full, never under.
    unknown = "https://suarapesisir.example" + long_path
    assert mastodon_length(unknown) == graphemes(unknown)
    # Trailing punctuation is not part of the URL.
    assert mastodon_length("https://suarapesisir.org/x.") == 24
