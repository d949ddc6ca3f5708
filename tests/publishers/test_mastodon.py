"""The Mastodon publisher against a fake Mastodon server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from publishers.base import AuthError, PermanentError, Post, PublishError, RetryableError
from publishers.channels.mastodon import MastodonPublisher
from publishers.formatting import compose
from tests.fakes.mastodon_api import FakeMastodon, status_length
from tests.fakes.server import Response
from tests.publishers.conftest import StoryFactory


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        assert isinstance(server, FakeMastodon)
        yield server


def publisher(fake: FakeMastodon, token: str | None = None) -> MastodonPublisher:
    return MastodonPublisher(
        base_url=fake.url, token=SecretStr(token or fake.token), poll_interval=0.0
    )


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
    with pytest.raises(error) as caught:
        publisher(fake).publish(post, idempotency_key="table")
    assert type(caught.value) is error
    if retry_after is not None:
        assert isinstance(caught.value, RetryableError) and caught.value.retry_after == retry_after
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
