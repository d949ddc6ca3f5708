"""The X publisher against a fake X API v2 on loopback that verifies OAuth 1.0a signatures."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from requests_oauthlib import OAuth1
from twitter_text import parse_tweet

from core.config import Settings
from core.errors import ConfigError
from publishers.base import (
    AuthError,
    PermanentError,
    Post,
    PostImage,
    RetryableError,
    UncertainError,
)
from publishers.channels.x import XPublisher, problem_text, rate_limit_wait, same_text
from publishers.formatting import compose
from publishers.registry import build_publisher
from publishers.text import clean_text, twitter_weighted_length
from tests.fakes.server import Response
from tests.fakes.x_api import FakeX, weighted_length
from tests.publishers.conftest import StoryFactory, raised_exactly, write_jpeg

TAGS = ["AdilUntukBumi", "LangkahHariIni"]


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX() as server:
        assert isinstance(server, FakeX)
        yield server


def publisher(fake: FakeX, *, secret: str | None = None, read_timeout: float = 30.0) -> XPublisher:
    return XPublisher(
        api_url=fake.url,
        api_key=SecretStr(fake.api_key),
        api_secret=SecretStr(fake.api_secret),
        access_token=SecretStr(fake.access_token),
        access_token_secret=SecretStr(secret or fake.access_token_secret),
        timeout=(5.0, read_timeout),
    )


def x_settings(settings: Settings, fake: FakeX) -> Settings:
    """`settings` with the fake's address and its four keys."""
    return settings.model_copy(
        update={
            "x_api_url": fake.url,
            "x_api_key": SecretStr(fake.api_key),
            "x_api_secret": SecretStr(fake.api_secret),
            "x_access_token": SecretStr(fake.access_token),
            "x_access_token_secret": SecretStr(fake.access_token_secret),
        }
    )


def text_post(text: str) -> Post:
    return Post(text=text)


# ---------------------------------------------------------------------------- publishing


def test_full_publish_keeps_the_first_four_photos_with_alt_text(
    fake: FakeX, make_story: StoryFactory
) -> None:
    story = make_story(images=6, text="Rob masuk kampung lagi. " * 40)
    post = compose("x", story, hashtags=TAGS)
    assert len(post.images) == 4 and post.extra["skipped_images"] == 2
    receipt = publisher(fake).publish(post, idempotency_key="delivery-1")
    json.loads(json.dumps(receipt.extra))  # the dispatcher stores it as JSON
    made = fake.posts[receipt.remote_id]
    assert made["text"] == post.text
    assert receipt.url == f"https://x.com/i/web/status/{receipt.remote_id}"
    # The first four photos in story order, as uploaded bytes, each with its alt text.
    uploads = [fake.media[m] for m in made["media_ids"]]
    web = [story.images[i].renditions["web"].path.read_bytes() for i in range(4)]
    assert [m.data for m in uploads] == web
    assert [m.alt for m in uploads] == [image.alt for image in post.images]
    assert all(m.alt and "Oesapa" in m.alt for m in uploads)
    # Uploads carry `media` and `media_category=tweet_image` as multipart, to the v2 path.
    upload = fake.calls("/2/media/upload")[0]
    assert set(upload.multipart()) == {"media", "media_category", "media_type"}
    assert not fake.calls("/1.1/")


def test_text_only_post(fake: FakeX, make_story: StoryFactory) -> None:
    post = compose("x", make_story(images=0), hashtags=TAGS)
    receipt = publisher(fake).publish(post, idempotency_key="d-2")
    assert fake.posts[receipt.remote_id]["media_ids"] == []
    assert "media" not in fake.calls("/2/tweets")[0].json()


def test_a_photo_over_five_megabytes_is_refused_before_any_call(
    fake: FakeX, tmp_path: Path
) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024))
    post = Post(text="foto", images=(PostImage(big, "alt", 10, 10),))
    raised_exactly(PermanentError, None, lambda: publisher(fake).publish(post, idempotency_key="k"))
    assert fake.requests == []


def test_fake_refuses_five_photos_and_an_oversized_upload(fake: FakeX, tmp_path: Path) -> None:
    sender = publisher(fake)
    ids = [
        sender._upload(PostImage(write_jpeg(tmp_path / f"{n}.jpg", 8, 8, n).path, "a", 8, 8))
        for n in range(5)
    ]
    body = {"text": "lima foto", "media": {"media_ids": ids}}
    answer = sender._session.post(f"{fake.url}/2/tweets", json=body, timeout=5)
    assert answer.status_code == 400 and answer.json()["title"] == "Invalid Request"
    files = {"media": ("x.jpg", b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), "image/jpeg")}
    answer = sender._session.post(
        f"{fake.url}/2/media/upload", files=files, data={"media_category": "tweet_image"}
    )
    assert answer.status_code == 400
    answer = sender._session.post(
        f"{fake.url}/2/media/upload", files={"media": files["media"]}, data={}, timeout=5
    )
    assert answer.status_code == 400 and "media_category" in answer.json()["detail"]


# ---------------------------------------------------------------------------- counting


def test_the_fake_counts_as_x_does(fake: FakeX) -> None:
    sender = publisher(fake)
    sender.publish(text_post("a" * 280), idempotency_key="a")
    raised_exactly(
        PermanentError, None, lambda: sender.publish(text_post("b" * 281), idempotency_key="b")
    )
    # 140 emoji weigh 280; 141 do not fit.
    sender.publish(text_post("🌊" * 140), idempotency_key="c")
    raised_exactly(
        PermanentError, None, lambda: sender.publish(text_post("🌴" * 141), idempotency_key="d")
    )
    # A 120-character URL weighs 23: far more than 280 characters fit.
    long_url = "https://example.org/" + "x" * 100
    text = f"{'c' * 256} {long_url}"
    assert len(text) > 280 and weighted_length(text) == 280
    sender.publish(text_post(text), idempotency_key="e")


STORIES = {
    # Indonesian, long: shortened at a word boundary.
    "indonesian": "Air laut masuk ke rumah kami lagi, kasur dan buku anak-anak basah semua. " * 12,
    # Emoji weigh 2: a grapheme count would overfill the post.
    "emoji": "Pantai kami 🌊🌊 hilang, pohon 🌴 tumbang, anak-anak 😢 takut. " * 20,
    # CJK weighs 2 too.
    "cjk": "海水が家に入ってきた。 " * 40,
    # Long URLs weigh 23 each, however long.
    "urls": "Lihat https://kupang.example.org/laporan/banjir-rob/2026/" + "x" * 60 + " dan" * 60,
}


@pytest.mark.parametrize("kind", sorted(STORIES))
def test_the_composer_fills_280_weighted_characters_exactly(
    fake: FakeX, make_story: StoryFactory, kind: str
) -> None:
    story = make_story(images=1, text=STORIES[kind])
    post = compose("x", story, hashtags=TAGS, link="https://suarapesisir.org/c/" + "y" * 70)
    length = twitter_weighted_length(post.text)
    assert length == weighted_length(post.text) <= 280
    assert post.extra["shortened"]
    # Exact: the story is cut at the last word that fits; one word more does not.
    body = post.text.split("\n\n", 1)[0]
    assert body.endswith("…")
    story_text = clean_text(STORIES[kind])
    prefix = body[: -len("…")]
    assert story_text.startswith(prefix)
    through_next = re.match(r"\S*\s+\S+", story_text[len(prefix) :])
    assert through_next is not None
    longer = story_text[: len(prefix) + through_next.end()] + "…"
    assert weighted_length(post.text.replace(body, longer, 1)) > 280
    publisher(fake).publish(post, idempotency_key=kind)
    assert len(fake.live()) == 1


PIECES = [
    "Air",
    "laut",
    "masuk,",
    "kasur…",
    "(rob)",
    "#AdilUntukBumi",
    "@suarapesisir",
    "🌊",
    "👩🏽‍🌾",
    "🇮🇩",
    "1️⃣",
    "海水",
    "é",
    "e\u0301",
    "\u0301",
    "https://suarapesisir.org/c/1?x=(1)",
    "http://kupang.go.id/laporan.",
    "suarapesisir.org",
    "lihat:https://x.com/a",
    "kota.kupang",
    "$5",
    "\ufffe",
    "www.example.com",
    "café.com/a",
    "kupang.みんな",
    "a@b.com",
    "https://t.co",
    "(https://suarapesisir.org/c/2)",
    "$TSLA",
    "#",
]
SPACES = ["", " ", "  ", "\n", "\n\n", "\u00a0", "\u3000", "\u2028", "\t"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SPACES)), max_size=40))
def test_the_weighted_count_by_runs_is_twitter_texts_count(parts: list[tuple[str, str]]) -> None:
    text = "".join(piece + space for piece, space in parts)
    assert twitter_weighted_length(text) == parse_tweet(text).weightedLength


def test_many_hashtags_are_dropped_from_the_end_until_the_post_fits(
    fake: FakeX, make_story: StoryFactory
) -> None:
    tags = [f"PesisirNTT{n}" for n in range(35)]
    story = make_story(images=0, text="Abrasi di Oesapa makin parah tahun ini. " * 3)
    post = compose("x", story, hashtags=tags)
    assert weighted_length(post.text) <= 280
    kept = list(post.hashtags)
    assert 0 < len(kept) < 35 and kept == tags[: len(kept)]
    # One more tag would not have fitted.
    assert weighted_length(f"{post.text} #{tags[len(kept)]}") > 280
    publisher(fake).publish(post, idempotency_key="tags")


def test_mastodon_counts_would_overfill_an_x_post(make_story: StoryFactory) -> None:
    story = make_story(images=0, text=STORIES["emoji"])
    x_post = compose("x", story, hashtags=TAGS)
    mastodon_post = compose("mastodon", story, hashtags=TAGS)
    assert weighted_length(mastodon_post.text) > 280 >= weighted_length(x_post.text)


# ---------------------------------------------------------------------------- auth and check


def test_check_names_the_account_and_its_access(fake: FakeX) -> None:
    line = publisher(fake).check()
    assert "@suarapesisir" in line and "read-write" in line
    assert not fake.posts and not fake.media


def test_check_refuses_a_read_only_token_and_names_the_permission(fake: FakeX) -> None:
    fake.access_level = "read"
    error = raised_exactly(AuthError, None, publisher(fake).check)
    assert "read-only" in str(error) and "Read and write" in str(error)
    assert "Read and write" in XPublisher.setup_hints.auth


def test_a_read_only_token_pauses_the_channel_at_the_first_post(
    fake: FakeX, make_story: StoryFactory
) -> None:
    fake.access_level = "read"
    post = compose("x", make_story(images=1), hashtags=TAGS)
    error = raised_exactly(
        AuthError, None, lambda: publisher(fake).publish(post, idempotency_key="k")
    )
    assert "403" in str(error) and "Read and write" in str(error)


def test_a_wrong_secret_fails_the_signature(fake: FakeX, make_story: StoryFactory) -> None:
    post = compose("x", make_story(images=1), hashtags=TAGS)
    wrong = publisher(fake, secret="not-the-token-secret-at-all")
    raised_exactly(AuthError, None, lambda: wrong.publish(post, idempotency_key="k"))
    raised_exactly(AuthError, None, wrong.check)
    assert not fake.media and not fake.posts


def test_the_fake_refuses_a_tampered_or_replayed_request(fake: FakeX) -> None:
    auth = OAuth1(
        fake.api_key,
        client_secret=fake.api_secret,
        resource_owner_key=fake.access_token,
        resource_owner_secret=fake.access_token_secret,
    )
    session = requests.Session()
    prepared = session.prepare_request(requests.Request("GET", f"{fake.url}/2/users/me", auth=auth))
    assert session.send(prepared, timeout=5).status_code == 200
    assert session.send(prepared, timeout=5).status_code == 401  # same nonce again
    signed = session.prepare_request(
        requests.Request(
            "GET", f"{fake.url}/2/users/{fake.user_id}/tweets?max_results=5", auth=auth
        )
    )
    signed.url = signed.url.replace("max_results=5", "max_results=6")
    assert session.send(signed, timeout=5).status_code == 401
    unsigned = requests.get(f"{fake.url}/2/users/me", timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["title"] == "Unauthorized"


def test_settings_build_the_publisher_and_name_what_is_missing(
    fake: FakeX, settings: Settings
) -> None:
    with pytest.raises(ConfigError, match="PESISIR_X_ACCESS_TOKEN_SECRET"):
        build_publisher("x", {}, settings.model_copy(update={"x_api_key": SecretStr("k" * 25)}))
    configured = x_settings(settings, fake)
    built = build_publisher("x", {}, configured)
    assert "@suarapesisir" in built.check()
    # The keys are secrets: never in a config, always redacted from logs.
    assert fake.access_token_secret in configured.secret_values()
    assert fake.api_key in configured.secret_values()


# ---------------------------------------------------------------------------- errors


def test_duplicate_content_is_permanent_not_auth(fake: FakeX) -> None:
    sender = publisher(fake)
    sender.publish(text_post("Cerita yang sama"), idempotency_key="a")
    error = raised_exactly(
        PermanentError,
        None,
        lambda: sender.publish(text_post("Cerita yang sama"), idempotency_key="b"),
    )
    assert "duplicate content" in str(error)
    assert len(fake.live()) == 1


def test_the_daily_posting_cap_waits_for_its_reset(fake: FakeX) -> None:
    fake.posts_per_day = 1
    sender = publisher(fake)
    sender.publish(text_post("pertama"), idempotency_key="a")
    error = raised_exactly(
        RetryableError, None, lambda: sender.publish(text_post("kedua"), idempotency_key="b")
    )
    assert isinstance(error, RetryableError) and error.retry_after is not None
    # The 24-hour window's reset, not the 15-minute one's.
    assert 23 * 3600 < error.retry_after <= 24 * 3600
    assert len(fake.live()) == 1


def test_a_429_waits_until_x_rate_limit_reset(fake: FakeX) -> None:
    reset = int(time.time()) + 120
    headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
        "x-user-limit-24hour-remaining": "40",
        "x-user-limit-24hour-reset": str(reset + 50_000),
    }
    body = {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}
    fake.inject((429, headers, body), path="/2/tweets")
    error = raised_exactly(
        RetryableError, None, lambda: publisher(fake).publish(text_post("x"), idempotency_key="k")
    )
    assert isinstance(error, RetryableError) and error.retry_after is not None
    assert 100 <= error.retry_after <= 121
    assert not error.maybe_sent


PROBLEM_CASES: list[tuple[int, dict[str, str], Any, type[Exception]]] = [
    (
        400,
        {},
        {"title": "Invalid Request", "detail": "bad media id", "status": 400},
        PermanentError,
    ),
    (401, {}, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401}, AuthError),
    (403, {}, {"title": "Forbidden", "detail": "You are not permitted.", "status": 403}, AuthError),
    (
        403,
        {},
        {"title": "Forbidden", "detail": "not allowed to create a Tweet with duplicate content."},
        PermanentError,
    ),
    (
        404,
        {},
        {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]},
        PermanentError,
    ),
    (429, {"retry-after": "30"}, None, RetryableError),
]


@pytest.mark.parametrize(("status", "headers", "body", "expected"), PROBLEM_CASES)
def test_error_table_on_upload(
    fake: FakeX,
    make_story: StoryFactory,
    status: int,
    headers: dict[str, str],
    body: Any,
    expected: type[Exception],
) -> None:
    fake.inject((status, headers, body), path="/2/media/upload")
    post = compose("x", make_story(images=1), hashtags=TAGS)
    raised_exactly(expected, None, lambda: publisher(fake).publish(post, idempotency_key="k"))  # type: ignore[arg-type]
    assert not fake.posts


def test_a_proxy_page_on_upload_is_retried(fake: FakeX, make_story: StoryFactory) -> None:
    fake.inject(Response(502, "<html>Bad Gateway</html>"), path="/2/media/upload")
    post = compose("x", make_story(images=1), hashtags=TAGS)
    error = raised_exactly(
        RetryableError, None, lambda: publisher(fake).publish(post, idempotency_key="k")
    )
    assert "HTTP 502" in str(error)


def test_problem_text_and_waits() -> None:
    assert problem_text({"title": "Forbidden", "detail": "No."}, 403) == "Forbidden: No."
    assert problem_text({"errors": [{"message": "Oops", "code": 1}]}, 400) == "Oops"
    assert problem_text(None, 503) == "HTTP 503"
    now = time.time()
    headers = {
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(now) + 60),
        "x-app-limit-24hour-remaining": "0",
        "x-app-limit-24hour-reset": str(int(now) + 600),
    }
    wait = rate_limit_wait(headers)
    assert wait is not None and 590 <= wait <= 600
    assert rate_limit_wait({"Retry-After": "7"}) == 7.0
    assert rate_limit_wait({}) is None


def test_same_text_reads_posts_as_x_shows_them() -> None:
    ours = "Rob & abrasi <parah> di Oesapa https://suarapesisir.example/c/1\n\n#AdilUntukBumi"
    shown = (
        "Rob &amp; abrasi &lt;parah&gt; di Oesapa https://t.co/abc\n\n#AdilUntukBumi https://t.co/m"
    )
    assert same_text(ours, shown)
    assert not same_text(ours, shown.replace("Oesapa", "Oesao"))


# ---------------------------------------------------------------------------- withdrawal


def test_delete_and_delete_again(fake: FakeX) -> None:
    sender = publisher(fake)
    receipt = sender.publish(text_post("akan dihapus"), idempotency_key="k")
    assert sender.delete(receipt) is True
    assert fake.deleted == [receipt.remote_id] and not fake.live()
    assert sender.delete(receipt) is True  # already gone counts as deleted


# ---------------------------------------------------------------------------- lost answers


def test_a_lost_answer_after_the_post_was_made_finds_it(
    fake: FakeX, make_story: StoryFactory
) -> None:
    post = compose("x", make_story(images=2, text="Rob & banjir di Oesapa. " * 3), hashtags=TAGS)
    fake.inject(Response(201, {}, delay=1.0, after_handling=True), path="/2/tweets", method="POST")
    receipt = publisher(fake, read_timeout=0.3).publish(post, idempotency_key="k")
    [made] = fake.live()
    assert receipt.remote_id == made["id"] and receipt.extra["recovered"] is True
    assert len(fake.calls("/2/tweets")) == 1  # looked up, never sent again


def test_a_5xx_after_the_post_was_made_finds_it(fake: FakeX) -> None:
    fake.inject(
        Response(503, {"title": "Service Unavailable", "status": 503}, after_handling=True),
        path="/2/tweets",
        method="POST",
    )
    receipt = publisher(fake).publish(text_post("Air pasang tinggi"), idempotency_key="k")
    assert receipt.remote_id == fake.live()[0]["id"]


def test_a_5xx_without_a_post_is_retried(fake: FakeX) -> None:
    fake.inject((503, {}, {"title": "Service Unavailable", "status": 503}), path="/2/tweets")
    error = raised_exactly(
        RetryableError,
        None,
        lambda: publisher(fake).publish(text_post("Air pasang"), idempotency_key="k"),
    )
    assert isinstance(error, RetryableError) and not error.maybe_sent
    assert "not on the account" in str(error) and not fake.posts


def test_a_timeout_without_a_post_is_uncertain(fake: FakeX) -> None:
    fake.inject(Response(201, {}, delay=1.0), path="/2/tweets", method="POST")
    error = raised_exactly(
        UncertainError,
        None,
        lambda: publisher(fake, read_timeout=0.3).publish(text_post("x"), idempotency_key="k"),
    )
    assert "check it before sending again" in str(error) and not fake.posts


def test_a_lost_answer_that_cannot_be_looked_up_is_uncertain(fake: FakeX) -> None:
    fake.inject(
        Response(503, {"title": "Service Unavailable"}, after_handling=True), path="/2/tweets"
    )
    fake.inject((429, {}, {"title": "Too Many Requests"}), path="/tweets", method="GET")
    error = raised_exactly(
        UncertainError, None, lambda: publisher(fake).publish(text_post("x"), idempotency_key="k")
    )
    assert "looking for the post failed too" in str(error)
    assert len(fake.live()) == 1  # it is out: a person finds it, nothing is resent
