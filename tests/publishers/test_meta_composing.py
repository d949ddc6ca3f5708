"""The composer fits each Meta channel's rules exactly, and the fakes (which enforce them) take the
result: emoji, URLs, Indonesian text, more than 30 hashtags."""

from __future__ import annotations

import string

from publishers.channels.facebook import FacebookPublisher
from publishers.channels.instagram import InstagramPublisher, caption_fits
from publishers.channels.threads import text_fits
from publishers.text import ELLIPSIS, URL_RE, hashtag_count, threads_length, utf16_units
from tests.publishers.meta_support import MetaWorld

#: 35 campaign hashtags without digits (digits in a story can look like a phone number).
MANY_TAGS = tuple(
    f"Pesisir{a}{b}" for a, b in zip(string.ascii_uppercase, "xyz" * 12, strict=False)
)
MANY_TAGS += tuple(f"Laut{a}" for a in string.ascii_uppercase[:9])
STORY = (
    "Pagi ini air laut masuk lagi ke rumah-rumah di Oesapa 🌊🏠. Ibu-ibu mengangkat kasur ke "
    "atas meja, anak-anak tidak bisa ke sekolah. Kami minta pemerintah kota membangun tanggul "
    "dan menanam mangrove bersama warga 🌱👩‍🌾. Lihat https://pesisir.example.org/cerita/banjir "
)


def test_instagram_keeps_thirty_hashtags_counting_the_storys_own(meta: MetaWorld) -> None:
    assert len(MANY_TAGS) == 35
    text = "Banjir rob lagi #banjir #Oesapa #NTT. " + STORY
    post = meta.post("instagram", meta.story(1, text=text), MANY_TAGS)
    assert hashtag_count(post.text) == 30
    assert len(post.hashtags) == 27 and post.hashtags == MANY_TAGS[:27]
    InstagramPublisher.from_settings(meta.settings, {}).publish(post, idempotency_key="c-1")
    [media] = meta.graph.media.values()
    assert media["text"] == post.text


def test_instagram_shortens_a_long_story_to_exactly_its_limit(meta: MetaWorld) -> None:
    text = STORY * 12  # about 3,500 characters
    post = meta.post("instagram", meta.story(1, text=text))
    assert caption_fits(post.text) and utf16_units(post.text) > 2200 - 40
    body = post.text.split("\n\n")[0]
    assert body.endswith(ELLIPSIS) and "#AdilUntukBumi" in post.text
    # One word more would not fit.
    words = text.split()
    kept = len(body.rstrip(ELLIPSIS).split())
    longer = post.text.replace(body, " ".join(words[: kept + 1]) + ELLIPSIS, 1)
    assert not caption_fits(longer)
    publisher = meta.publisher("instagram")
    publisher.publish(post, idempotency_key="c-2")
    assert len(meta.graph.media) == 1


def test_threads_fits_500_with_emoji_at_their_bytes_and_one_topic(meta: MetaWorld) -> None:
    post = meta.post("threads", meta.story(1, text=STORY * 4), MANY_TAGS)
    assert text_fits(post.text)
    assert 500 - 30 < threads_length(post.text) <= 500
    assert len(post.text) < threads_length(post.text)  # the emoji weigh more than one
    assert post.hashtags == (MANY_TAGS[0],) and hashtag_count(post.text) == 1
    meta.publisher("threads").publish(post, idempotency_key="c-3")
    [media] = meta.threads.media.values()
    assert media["text"] == post.text


def test_threads_keeps_at_most_five_links(meta: MetaWorld) -> None:
    links = " ".join(
        f"https://pesisir.example.org/{word}" for word in ("a", "b", "c", "d", "e", "f")
    )
    post = meta.post("threads", meta.story(0, text=f"Bacaan: {links}"))
    assert len(set(URL_RE.findall(post.text))) <= 5
    meta.publisher("threads").publish(post, idempotency_key="c-4")
    assert len(meta.threads.media) == 1


def test_facebook_keeps_the_whole_story_and_every_tag(meta: MetaWorld) -> None:
    text = STORY * 12
    post = meta.post("facebook", meta.story(3, text=text), MANY_TAGS)
    assert post.hashtags == MANY_TAGS and ELLIPSIS not in post.text
    assert post.text.startswith(STORY.strip()[:40])
    FacebookPublisher.from_settings(meta.settings, {}).publish(post, idempotency_key="c-5")
    [made] = meta.graph.posts.values()
    assert made["message"] == post.text and len(made["photos"]) == 3
