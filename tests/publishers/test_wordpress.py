"""The WordPress publisher against a fake WordPress REST API on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from publishers.base import AuthError, PermanentError, PublishError, RetryableError
from publishers.channels.wordpress import RestStyle, WordPressPublisher, post_slug
from publishers.formatting import compose
from tests.fakes.server import Response
from tests.fakes.wordpress_api import FakeWordPress
from tests.publishers.conftest import StoryFactory, raised_exactly


@pytest.fixture
def fake() -> Iterator[FakeWordPress]:
    with FakeWordPress() as server:
        assert isinstance(server, FakeWordPress)
        yield server


def publisher(
    fake: FakeWordPress, style: RestStyle = "pretty", password: str | None = None
) -> WordPressPublisher:
    return WordPressPublisher(
        url=fake.url,
        user=fake.user,
        app_password=SecretStr(password or fake.app_password),
        rest_style=style,
    )


@pytest.mark.parametrize("style", ["pretty", "plain"])
def test_full_publish(fake: FakeWordPress, make_story: StoryFactory, style: RestStyle) -> None:
    fake.pretty_permalinks = style == "pretty"
    story = make_story(
        images=3, text="Sumur <asin> & kering.\n\nKami beli air.", credit_name="Maria"
    )
    post = compose("wordpress", story, hashtags=["AdilUntukBumi", "LangkahHariIni"])
    receipt = publisher(fake, style).publish(post, idempotency_key="delivery-9")
    json.loads(json.dumps(receipt.extra))  # the dispatcher stores it as JSON
    created = fake.posts[int(receipt.remote_id)]
    assert (
        created["slug"] == post_slug("cerita-sp-0042", "delivery-9")
        and receipt.url == created["link"]
    )
    assert created["slug"].startswith("cerita-sp-0042-") and len(created["slug"]) == 21
    assert created["status"] == "publish"
    assert created["title"]["raw"] == "Sumur &lt;asin&gt; &amp; kering."
    content = created["content"]["raw"]
    assert (
        "<p>Sumur &lt;asin&gt; &amp; kering.</p>" in content and "Cerita: Maria, Oesapa" in content
    )
    media_ids = sorted(fake.media)
    assert f'[gallery ids="{",".join(map(str, media_ids))}"' in content
    assert created["featured_media"] == media_ids[0]
    assert [fake.media_bytes[m] for m in media_ids] == [i.path.read_bytes() for i in post.images]
    assert [fake.media[m]["alt_text"] for m in media_ids] == [i.alt for i in post.images]
    assert [fake.tags[t]["name"] for t in created["tags"]] == ["AdilUntukBumi", "LangkahHariIni"]
    # The uploads belong to the post, and the receipt lists them for the delete.
    assert [fake.media[m]["post"] for m in media_ids] == [created["id"]] * 3
    assert receipt.extra["media"] == media_ids


def test_existing_slug_returns_that_post(fake: FakeWordPress, make_story: StoryFactory) -> None:
    post = compose("wordpress", make_story(images=1), hashtags=["AdilUntukBumi"])
    first = publisher(fake).publish(post, idempotency_key="delivery-10")
    fake.posts[int(first.remote_id)]["status"] = "draft"  # even a draft counts
    again = publisher(fake).publish(post, idempotency_key="delivery-10")
    assert again.remote_id == first.remote_id and again.extra["reused"] is True
    assert len(fake.posts) == 1 and len(fake.media) == 1


def test_fake_renames_a_duplicate_slug_which_is_why_we_look_first(fake: FakeWordPress) -> None:
    assert fake._create_post({"slug": "s", "status": "publish"}).body["slug"] == "s"
    assert fake._create_post({"slug": "s", "status": "publish"}).body["slug"] == "s-2"


def test_existing_tag_reused_and_term_exists_handled(
    fake: FakeWordPress, make_story: StoryFactory
) -> None:
    fake._create_tag({"name": "adiluntukbumi"})
    existing = next(iter(fake.tags))
    # search finds nothing, so the publisher tries to create it and gets term_exists.
    fake.inject((200, {}, []), path="/wp/v2/tags")
    sender = publisher(fake)
    assert sender.tag_id("AdilUntukBumi") == existing
    assert sender.tag_id("adilUNTUKbumi") == existing  # found by search this time
    assert len(fake.tags) == 1


def test_fake_refuses_tag_names(fake: FakeWordPress) -> None:
    response = fake._create_post({"title": "x", "tags": ["AdilUntukBumi"], "status": "publish"})
    assert response.status == 400 and response.body["code"] == "rest_invalid_param"


def test_wrong_password(fake: FakeWordPress, make_story: StoryFactory) -> None:
    post = compose("wordpress", make_story(images=0), hashtags=[])
    with pytest.raises(AuthError, match="incorrect_password"):
        publisher(fake, password="nope").publish(post, idempotency_key="k")


def test_pretty_urls_without_permalinks_fail_plain_works(
    fake: FakeWordPress, make_story: StoryFactory
) -> None:
    fake.pretty_permalinks = False
    post = compose("wordpress", make_story(images=0), hashtags=[])
    with pytest.raises(PermanentError, match="404"):
        publisher(fake, "pretty").publish(post, idempotency_key="k")
    assert publisher(fake, "plain").publish(post, idempotency_key="k").remote_id


def test_delete_for_good_with_its_photos(fake: FakeWordPress, make_story: StoryFactory) -> None:
    sender = publisher(fake)
    receipt = sender.publish(
        compose("wordpress", make_story(images=2), hashtags=[]), idempotency_key="d"
    )
    assert len(fake.media) == 2
    assert sender.delete(receipt) is True and fake.posts == {}
    # The photos (and WordPress's resized copies, which go with each) are gone too.
    assert fake.media == {} and fake.media_bytes == {}
    assert sender.delete(receipt) is True  # already gone


def test_delete_finds_the_photos_of_a_post_whose_receipt_lost_them(
    fake: FakeWordPress, make_story: StoryFactory
) -> None:
    sender = publisher(fake)
    receipt = sender.publish(
        compose("wordpress", make_story(images=2), hashtags=[]), idempotency_key="d"
    )
    receipt.extra.pop("media")  # a receipt stored before uploads were listed in it
    assert sender.delete(receipt) is True and fake.media == {}


def test_a_publish_interrupted_after_its_uploads_reuses_them_on_retry(
    fake: FakeWordPress, make_story: StoryFactory
) -> None:
    post = compose("wordpress", make_story(images=2), hashtags=[])
    fake.inject((503, {}, "<html>Service Unavailable</html>"), path="/wp/v2/posts", method="POST")
    sender = publisher(fake)
    with pytest.raises(RetryableError):
        sender.publish(post, idempotency_key="delivery-13")
    assert len(fake.media) == 2 and fake.posts == {}  # two uploads and no post
    receipt = sender.publish(post, idempotency_key="delivery-13")
    assert len(fake.media) == 2  # the same two, not two more under new names
    assert sorted(fake.media) == receipt.extra["media"]
    assert {m["post"] for m in fake.media.values()} == {int(receipt.remote_id)}


def test_clean_up_removes_what_an_interrupted_publish_left(
    fake: FakeWordPress, make_story: StoryFactory
) -> None:
    story = make_story(images=2)
    post = compose("wordpress", story, hashtags=[])
    other = publisher(fake).publish(
        compose("wordpress", make_story(images=1), hashtags=[]), idempotency_key="someone-else"
    )
    fake.inject((503, {}, "<html>Service Unavailable</html>"), path="/wp/v2/posts", method="POST")
    with pytest.raises(RetryableError):
        publisher(fake).publish(post, idempotency_key="delivery-14")
    assert publisher(fake).clean_up("delivery-14", ref=story.ref) == 2
    assert list(fake.media) == other.extra["media"] and list(fake.posts) == [int(other.remote_id)]


def test_two_installations_with_the_same_ref_make_two_posts(
    fake: FakeWordPress, make_story: StoryFactory
) -> None:
    post = compose("wordpress", make_story(images=0), hashtags=[])
    first = publisher(fake).publish(post, idempotency_key="install-a:42")
    second = publisher(fake).publish(post, idempotency_key="install-b:42")
    assert first.remote_id != second.remote_id and second.extra["reused"] is False


CASES: list[tuple[str, int, dict[str, str], Any, type[PublishError], float | None]] = [
    (
        "/wp/v2/media",
        500,
        {},
        {
            "code": "rest_upload_sideload_error",
            "message": "Sorry, not allowed.",
            "data": {"status": 500},
        },
        PermanentError,
        None,
    ),
    (
        "/wp/v2/media",
        500,
        {},
        {
            "code": "rest_upload_unknown_error",
            "message": "upload_max_filesize",
            "data": {"status": 500},
        },
        PermanentError,
        None,
    ),
    (
        "/wp/v2/media",
        500,
        {},
        {"code": "internal_server_error", "message": "critical error", "data": {"status": 500}},
        RetryableError,
        None,
    ),
    (
        "/wp/v2/posts",
        401,
        {},
        {
            "code": "rest_cannot_create",
            "message": "Sorry, you are not allowed",
            "data": {"status": 401},
        },
        AuthError,
        None,
    ),
    (
        "/wp/v2/posts",
        429,
        {"Retry-After": "60"},
        "<html>Too Many Requests</html>",
        RetryableError,
        60.0,
    ),
    ("/wp/v2/posts", 503, {}, "<html>Service Unavailable</html>", RetryableError, None),
    (
        "/wp/v2/posts",
        400,
        {},
        {
            "code": "rest_invalid_param",
            "message": "Invalid parameter(s): status",
            "data": {"status": 400},
        },
        PermanentError,
        None,
    ),
]


@pytest.mark.parametrize(("path", "status", "headers", "body", "error", "retry_after"), CASES)
def test_error_table(
    fake: FakeWordPress,
    make_story: StoryFactory,
    path: str,
    status: int,
    headers: dict[str, str],
    body: Any,
    error: type[PublishError],
    retry_after: float | None,
) -> None:
    post = compose("wordpress", make_story(images=1), hashtags=[])
    # Lookups (the post's slug, the upload's) come first: the error answers the write.
    fake.inject((status, headers, body), path=path, method="POST")
    raised_exactly(
        error, retry_after, lambda: publisher(fake).publish(post, idempotency_key="table")
    )
    assert publisher(fake).publish(post, idempotency_key="table").remote_id


def test_lost_answer_then_retry_finds_the_post(
    fake: FakeWordPress, make_story: StoryFactory
) -> None:
    post = compose("wordpress", make_story(images=1), hashtags=["AdilUntukBumi"])
    fake.inject((200, {}, []), path="/wp/v2/posts")  # the slug lookup
    fake.inject(
        Response(504, "<html>Gateway Timeout</html>", after_handling=True), path="/wp/v2/posts"
    )
    sender = publisher(fake)
    with pytest.raises(RetryableError):
        sender.publish(post, idempotency_key="delivery-12")
    receipt = sender.publish(post, idempotency_key="delivery-12")
    assert list(fake.posts) == [int(receipt.remote_id)] and receipt.extra["reused"] is True
