"""The Mastodon publisher against a fake Mastodon server on loopback."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from pydantic import SecretStr

from core.projections import PublicStory
from publishers.base import AuthError, PermanentError, Post, PublishError, RetryableError
from publishers.channels.mastodon import (
    MASTODON_DEFAULTS,
    MastodonLimits,
    MastodonPublisher,
    limits_from_instance,
)
from publishers.dispatcher import compose_post
from publishers.formatting import compose
from publishers.text import ELLIPSIS
from tests.fakes.mastodon_api import FakeMastodon, status_length
from tests.fakes.server import Response
from tests.publishers.conftest import StoryFactory, raised_exactly


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        assert isinstance(server, FakeMastodon)
        yield server


def publisher(
    fake: FakeMastodon, token: str | None = None, clock: Callable[[], float] | None = None
) -> MastodonPublisher:
    return MastodonPublisher(
        base_url=fake.url,
        token=SecretStr(token or fake.token),
        poll_interval=0.0,
        **({"clock": clock} if clock else {}),
    )


def composed_for(sender: MastodonPublisher, story: PublicStory, link: str | None = None) -> Post:
    """Composed as the dispatcher composes: with the rules of the publisher's own server.

    The dispatcher passes no link (and adds the themes' tags); a link needs `compose` itself.
    """
    if link is None:
        return compose_post(sender, "mastodon", story, TAGS)
    return compose("mastodon", story, hashtags=TAGS, link=link, rules=sender.compose_rules())


TAGS = ["AdilUntukBumi", "Kupang"]
LONG = "Air laut masuk ke rumah kami lagi, kasur dan buku anak-anak basah semua. " * 20


def test_full_publish_with_four_described_images(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    story = make_story(images=6, text="banjir " * 200, lang="id")
    post = compose(
        "mastodon",
        story,
        hashtags=["AdilUntukBumi", "LangkahHariIni"],
        link="https://example.org/cerita/" + "x" * 80,
    )
    receipt = publisher(fake).publish(post, idempotency_key="delivery-1")
    json.loads(json.dumps(receipt.extra))  # the dispatcher stores it as JSON
    status = fake.statuses[receipt.remote_id]
    assert receipt.url == status["url"]
    assert status["content"] == post.text and status["language"] == "id"
    assert status_length(post.text) <= 500 < len(post.text)
    assert len(status["media_attachments"]) == 4
    uploaded = [fake.media[m] for m in receipt.extra["media_ids"]]
    assert [m.data for m in uploaded] == [i.path.read_bytes() for i in post.images]
    assert [m.description for m in uploaded] == [i.alt for i in post.images]
    assert uploaded[1].description == "Foto 2 dari 4, cerita warga Oesapa"


def test_202_then_poll_until_processed(fake: FakeMastodon, make_story: StoryFactory) -> None:
    fake.async_media_polls = 2
    post = compose("mastodon", make_story(images=1), hashtags=[])
    receipt = publisher(fake).publish(post, idempotency_key="delivery-2")
    assert receipt.remote_id in fake.statuses
    assert len(fake.calls("/api/v1/media/")) == 3  # 206, 206, 200


def test_media_never_processed_is_retryable(fake: FakeMastodon, make_story: StoryFactory) -> None:
    fake.async_media_polls = 50
    post = compose("mastodon", make_story(images=1), hashtags=[])
    with pytest.raises(RetryableError, match="still processing"):
        publisher(fake).publish(post, idempotency_key="delivery-3")
    assert fake.statuses == {}


def test_same_idempotency_key_returns_the_same_status(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    post = compose("mastodon", make_story(images=0), hashtags=[])
    first = publisher(fake).publish(post, idempotency_key="delivery-4")
    again = publisher(fake).publish(post, idempotency_key="delivery-4")
    assert first.remote_id == again.remote_id and len(fake.statuses) == 1
    assert [r.headers["Idempotency-Key"] for r in fake.calls("/api/v1/statuses")] == [
        "delivery-4"
    ] * 2


def test_fake_refuses_501_graphemes(fake: FakeMastodon) -> None:
    post = Post(text="é" * 501)
    with pytest.raises(PermanentError, match="character limit of 500"):
        publisher(fake).publish(post, idempotency_key="k")
    assert publisher(fake).publish(Post(text="é" * 500), idempotency_key="k2").remote_id


def test_delete(fake: FakeMastodon, make_story: StoryFactory) -> None:
    sender = publisher(fake)
    receipt = sender.publish(
        compose("mastodon", make_story(images=0), hashtags=[]), idempotency_key="d"
    )
    assert sender.delete(receipt) is True and fake.statuses == {}
    assert sender.delete(receipt) is True  # already gone


def test_bad_token(fake: FakeMastodon, make_story: StoryFactory) -> None:
    with pytest.raises(AuthError, match="access token is invalid"):
        publisher(fake, token="nope").publish(Post(text="x"), idempotency_key="k")


CASES: list[tuple[str, int, dict[str, str], Any, type[PublishError], float | None]] = [
    (
        "statuses",
        429,
        {"X-RateLimit-Reset": "2099-01-01T00:00:00.000Z"},
        {"error": "Too many requests"},
        RetryableError,
        24 * 3600.0,
    ),
    ("statuses", 429, {"Retry-After": "30"}, {"error": "Too many requests"}, RetryableError, 30.0),
    ("statuses", 503, {}, "<html>Service Unavailable</html>", RetryableError, None),
    (
        "statuses",
        422,
        {},
        {"error": "Validation failed: Text character limit of 500 exceeded"},
        PermanentError,
        None,
    ),
    ("statuses", 401, {}, {"error": "The access token was revoked"}, AuthError, None),
    (
        "statuses",
        403,
        {},
        {"error": "This action is outside the authorized scopes"},
        AuthError,
        None,
    ),
    (
        "media",
        500,
        {},
        {"error": "Error processing thumbnail for uploaded media"},
        PermanentError,
        None,
    ),
    ("media", 500, {}, {"error": "We're sorry, but something went wrong"}, RetryableError, None),
]


@pytest.mark.parametrize(("path", "status", "headers", "body", "error", "retry_after"), CASES)
def test_error_table(
    fake: FakeMastodon,
    make_story: StoryFactory,
    path: str,
    status: int,
    headers: dict[str, str],
    body: Any,
    error: type[PublishError],
    retry_after: float | None,
) -> None:
    fake.inject((status, headers, body), path=path)
    post = compose("mastodon", make_story(images=1), hashtags=[])
    raised_exactly(
        error, retry_after, lambda: publisher(fake).publish(post, idempotency_key="table")
    )
    assert publisher(fake).publish(post, idempotency_key="table").remote_id in fake.statuses


def test_a_sequence_of_failures_then_one_status(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    # The status was created but the answer was lost (502 after handling), then a 429, then OK:
    # the Idempotency-Key makes the three attempts one status.
    fake.inject(
        Response(502, "<html>Bad Gateway</html>", after_handling=True),
        Response(429, {"error": "Too many requests"}, {"Retry-After": "5"}),
        path="/api/v1/statuses",
    )
    post = compose("mastodon", make_story(images=1), hashtags=[])
    sender = publisher(fake)
    with pytest.raises(RetryableError):
        sender.publish(post, idempotency_key="delivery-5")
    with pytest.raises(RetryableError) as caught:
        sender.publish(post, idempotency_key="delivery-5")
    assert caught.value.retry_after == 5.0
    receipt = sender.publish(post, idempotency_key="delivery-5")
    assert list(fake.statuses) == [receipt.remote_id]


# ------------------------------------------------------------------ the server's own limits


def _story_body(text: str) -> str:
    return text.split("\n\n", 1)[0]


def _assert_word_boundary_cut(text: str) -> None:
    body = _story_body(text)
    assert body.endswith(ELLIPSIS)
    words = body.removesuffix(ELLIPSIS).split()
    assert words == LONG.split()[: len(words)]  # whole words of the story, from its start


def test_a_300_character_server_gets_a_shorter_post_it_accepts(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    fake.max_characters = 300
    sender = publisher(fake)
    post = composed_for(sender, make_story(images=1, text=LONG))
    assert 280 <= status_length(post.text) <= 300  # shortened to fit, not far below
    _assert_word_boundary_cut(post.text)
    assert post.text.endswith("#AdilUntukBumi #Kupang #LangkahHariIni")  # tags kept
    receipt = sender.publish(post, idempotency_key="short")
    assert fake.statuses[receipt.remote_id]["content"] == post.text
    # The fake holds the server to its limit: the post fitted to the default 500 is refused.
    default = compose("mastodon", make_story(images=1, text=LONG), hashtags=TAGS)
    assert status_length(default.text) > 300
    with pytest.raises(PermanentError, match="character limit of 300 exceeded"):
        sender.publish(default, idempotency_key="default")


def test_a_1000_character_server_gets_a_longer_post(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    fake.max_characters = 1000
    sender = publisher(fake)
    link = "https://suarapesisir.org/cerita/" + "x" * 100
    post = composed_for(sender, make_story(images=1, text=LONG), link=link)
    default = compose("mastodon", make_story(images=1, text=LONG), hashtags=TAGS, link=link)
    assert status_length(default.text) <= 500 < status_length(post.text)
    assert 980 <= status_length(post.text) <= 1000
    _assert_word_boundary_cut(post.text)
    assert sender.publish(post, idempotency_key="long").remote_id in fake.statuses


def test_the_server_url_weight_is_used(fake: FakeMastodon, make_story: StoryFactory) -> None:
    fake.max_characters, fake.url_weight = 300, 100  # a URL costs 100 here
    sender = publisher(fake)
    link = "https://suarapesisir.org/cerita/sp-0042"
    post = composed_for(sender, make_story(images=0, text=LONG), link=link)
    assert 280 <= status_length(post.text, url_weight=100) <= 300
    assert sender.publish(post, idempotency_key="url").remote_id in fake.statuses


def test_a_two_image_server_gets_two_images(fake: FakeMastodon, make_story: StoryFactory) -> None:
    fake.max_media = 2
    sender = publisher(fake)
    post = composed_for(sender, make_story(images=6))
    assert len(post.images) == 2 and post.extra["skipped_images"] == 4
    assert post.images[1].alt == "Foto 2 dari 2, cerita warga Oesapa"
    receipt = sender.publish(post, idempotency_key="two")
    assert len(fake.statuses[receipt.remote_id]["media_attachments"]) == 2
    # A post composed for the defaults still goes out: the publisher sends what the server takes.
    default = compose("mastodon", make_story(images=6), hashtags=TAGS)
    assert len(default.images) == 4
    receipt = sender.publish(default, idempotency_key="four")
    assert len(receipt.extra["media_ids"]) == 2
    assert len(fake.calls("/api/v2/media")) == 4  # never uploads a photo it cannot attach


def test_alt_text_fits_the_server_description_limit(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    fake.description_limit = 60
    written = "Ibu menimba air di sumur yang airnya sudah payau sejak rob bulan lalu datang"
    plain = make_story(images=1)
    story = replace(plain, images=(replace(plain.images[0], alt=written),))
    sender = publisher(fake)
    post = composed_for(sender, story)
    [image] = post.images
    assert len(written) > 60 >= len(image.alt) and image.alt.endswith(ELLIPSIS)
    assert written.startswith(image.alt.removesuffix(ELLIPSIS))
    receipt = sender.publish(post, idempotency_key="alt")
    assert fake.media[receipt.extra["media_ids"][0]].description == image.alt
    with pytest.raises(PermanentError, match="Description is too long"):
        sender.publish(compose("mastodon", story, hashtags=[]), idempotency_key="long-alt")


def test_photos_fit_the_server_image_size_limit(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    story = make_story(images=2)
    web = max(i.renditions["web"].size_bytes for i in story.images)
    feed = max(i.renditions["feed"].size_bytes for i in story.images)
    assert feed < web
    fake.image_size_limit = feed  # the `web` renditions are too big here, `feed` fits
    sender = publisher(fake)
    post = composed_for(sender, story)
    assert [image.rendition for image in post.images] == ["feed", "feed"]
    assert sender.publish(post, idempotency_key="small").remote_id in fake.statuses
    with pytest.raises(PermanentError, match="file size must be less than"):
        sender.publish(compose("mastodon", story, hashtags=[]), idempotency_key="big")


def test_a_failing_instance_endpoint_means_defaults_and_the_post_goes_out(
    fake: FakeMastodon, make_story: StoryFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake.inject(
        (500, {}, {"error": "We're sorry, but something went wrong"}), path="/api/v2/instance"
    )
    sender = publisher(fake)
    with caplog.at_level(logging.WARNING, logger="publishers.channels.mastodon"):
        assert sender.limits() == MASTODON_DEFAULTS
    assert "could not read its limits" in caplog.text and "using the defaults" in caplog.text
    assert fake.token not in caplog.text
    post = composed_for(sender, make_story(images=6, text=LONG))
    assert 490 <= status_length(post.text) <= 500 and len(post.images) == 4
    receipt = sender.publish(post, idempotency_key="fallback")
    assert len(fake.statuses[receipt.remote_id]["media_attachments"]) == 4
    assert len(fake.calls("/api/v2/instance")) == 1  # the failure is not retried before each post


def test_a_missing_field_falls_back_to_its_default(
    fake: FakeMastodon, caplog: pytest.LogCaptureFixture
) -> None:
    fake.inject(
        (200, {}, {"configuration": {"statuses": {"max_media_attachments": 2}}}),
        path="/api/v2/instance",
    )
    with caplog.at_level(logging.WARNING, logger="publishers.channels.mastodon"):
        limits = publisher(fake).limits()
    assert limits == MastodonLimits(max_media_attachments=2)
    assert "max_characters" in caplog.text and "description_limit" not in caplog.text


def test_the_instance_is_read_once_per_cache_period(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    fake.max_characters = 300
    now = [1000.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    for n in range(3):  # a new publisher per post, as the dispatcher builds one per tick
        sender = publisher(fake, clock=clock)
        sender.publish(composed_for(sender, make_story(text=LONG)), idempotency_key=f"p{n}")
        now[0] += 60
    assert len(fake.statuses) == 3
    assert len(fake.calls("/api/v2/instance")) == 1
    now[0] += MastodonPublisher.limits_ttl_seconds  # an hour later the server is asked again
    fake.max_characters = 400
    assert publisher(fake, clock=clock).limits().max_characters == 400
    assert len(fake.calls("/api/v2/instance")) == 2
    # If it then fails to answer, the limits it told us last stand, not the defaults.
    now[0] += MastodonPublisher.limits_ttl_seconds
    fake.inject((503, {}, "<html>Service Unavailable</html>"), path="/api/v2/instance")
    assert publisher(fake, clock=clock).limits().max_characters == 400
    assert len(fake.calls("/api/v2/instance")) == 3


def test_after_a_failed_read_the_server_is_asked_again_sooner(fake: FakeMastodon) -> None:
    now = [0.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    fake.max_characters = 300
    fake.inject((502, {}, "<html>Bad Gateway</html>"), path="/api/v2/instance")
    assert publisher(fake, clock=clock).limits() == MASTODON_DEFAULTS
    now[0] += MastodonPublisher.limits_retry_seconds - 1
    assert publisher(fake, clock=clock).limits() == MASTODON_DEFAULTS
    now[0] += 2
    assert publisher(fake, clock=clock).limits().max_characters == 300
    assert len(fake.calls("/api/v2/instance")) == 2


def test_limits_from_instance_trusts_only_positive_whole_numbers() -> None:
    limits, defaulted = limits_from_instance(
        {
            "configuration": {
                "statuses": {
                    "max_characters": "5000",
                    "max_media_attachments": True,
                    "characters_reserved_per_url": 0,
                },
                "media_attachments": {
                    "description_limit": 4000,
                    "image_size_limit": 8_388_608,
                    "supported_mime_types": ["image/png", "IMAGE/WEBP"],
                },
            }
        }
    )
    assert limits == MastodonLimits(
        description_limit=4000,
        image_size_limit=8_388_608,
        supported_mime_types=frozenset({"image/png", "image/webp"}),
    )
    assert defaulted == ["max_characters", "max_media_attachments", "characters_reserved_per_url"]
    limits, defaulted = limits_from_instance("<html>Bad Gateway</html>")
    assert limits == MASTODON_DEFAULTS and len(defaulted) == 6


def test_a_server_that_takes_no_jpeg_gets_the_text_alone(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    fake.supported_mime_types = ("image/png",)
    sender = publisher(fake)
    post = composed_for(sender, make_story(images=2))
    assert post.images == () and post.extra["skipped_images"] == 2
    assert sender.publish(post, idempotency_key="text").remote_id in fake.statuses


def test_an_instance_answer_that_is_not_json_means_defaults(
    fake: FakeMastodon, make_story: StoryFactory
) -> None:
    fake.max_media = 2  # what the server would have said
    fake.inject((200, {}, "<html>Maintenance</html>"), path="/api/v2/instance")
    sender = publisher(fake)
    assert sender.limits() == MASTODON_DEFAULTS
    # Defaults say 4 photos; the server refuses more than 2: a permanent error, never a crash.
    with pytest.raises(PermanentError, match="can't be more than 2"):
        sender.publish(composed_for(sender, make_story(images=3)), idempotency_key="html")


@pytest.mark.parametrize("api", ["v1", "pleroma"])
def test_a_server_without_the_v2_instance_endpoint_is_read_from_v1(
    fake: FakeMastodon, make_story: StoryFactory, api: str
) -> None:
    fake.instance_api, fake.max_characters, fake.max_media = api, 300, 2
    sender = publisher(fake)
    limits = sender.limits()
    assert (limits.max_characters, limits.max_media_attachments) == (300, 2)
    post = composed_for(sender, make_story(images=4, text=LONG))
    assert status_length(post.text) <= 300 and len(post.images) == 2
    assert sender.publish(post, idempotency_key=f"old-{api}").remote_id in fake.statuses
