"""The Instagram publisher against the fake Graph API, which fetches each photo from the served
dashboard by its signed URL, as Instagram does."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import update
from sqlmodel import Session

from core.models import Submission
from publishers.base import (
    AuthError,
    ComposeError,
    MemoryCheckpoint,
    PermanentError,
    RetryableError,
    UncertainError,
)
from publishers.channels.instagram import InstagramPublisher
from tests.fakes.meta_graph import Token, graph_error, throttled
from tests.fakes.server import Response
from tests.publishers.conftest import raised_exactly
from tests.publishers.meta_support import MetaWorld


def instagram(meta: MetaWorld) -> InstagramPublisher:
    publisher = meta.publisher("instagram")
    assert isinstance(publisher, InstagramPublisher)
    return publisher


def test_one_photo_is_fetched_by_its_signed_url_and_published(meta: MetaWorld) -> None:
    story = meta.story(1, text="Air laut masuk ke rumah kami lagi pagi ini 🌊")
    post = meta.post("instagram", story)
    receipt = instagram(meta).publish(post, idempotency_key="delivery-1")
    [fetched] = meta.graph.fetched
    assert fetched.startswith(f"{meta.web_url}/m/")
    [media] = meta.graph.media.values()
    assert media["text"] == post.text and "#AdilUntukBumi" in post.text
    assert receipt.remote_id in meta.graph.media
    assert receipt.url == media["permalink"]
    assert meta.graph.quota_usage == 1


def test_a_carousel_has_an_item_per_photo_and_one_parent(meta: MetaWorld) -> None:
    story = meta.story(12)
    post = meta.post("instagram", story)
    assert len(post.images) == 10  # Instagram's carousel takes at most ten
    receipt = instagram(meta).publish(post, idempotency_key="delivery-2")
    assert len(meta.graph.fetched) == 10 and len(set(meta.graph.fetched)) == 10
    [media] = meta.graph.media.values()
    assert len(media["children"]) == 10
    parent = meta.graph.containers[media["container"]]
    assert parent.params["media_type"] == "CAROUSEL" and parent.params["caption"] == post.text
    assert receipt.extra["children"] == media["children"]


def test_a_url_meta_cannot_fetch_fails_in_words_a_person_understands(meta: MetaWorld) -> None:
    story = meta.story(1)
    post = meta.post("instagram", story)
    # Consent withdrawn meanwhile: the dashboard no longer serves the photo.
    with Session(meta.engine) as session:
        session.execute(update(Submission).values(consent="internal"))
        session.commit()
    error = raised_exactly(
        PermanentError, None, lambda: instagram(meta).publish(post, idempotency_key="d-3")
    )
    assert "2207052" in str(error) and "PESISIR_PUBLIC_BASE_URL" in str(error)
    assert "fbtrace" in str(error)
    assert not meta.graph.media


def test_a_wrong_public_address_fails_the_fetch(meta: MetaWorld) -> None:
    story = meta.story(1)
    post = meta.post("instagram", story)
    wrong = meta.publisher("instagram", public_base_url=meta.web_url + "/elsewhere")
    with pytest.raises(PermanentError, match="2207052"):
        wrong.publish(post, idempotency_key="d-4")


def test_the_composer_keeps_photos_in_instagrams_shape(meta: MetaWorld) -> None:
    # A tall feed rendition (9:16) is outside 4:5..1.91:1: the 4:3 web rendition goes instead.
    tall = meta.post("instagram", meta.story(1, shape=(36, 64)))
    assert [image.rendition for image in tall.images] == ["web"]
    instagram(meta).publish(tall, idempotency_key="d-5")
    assert len(meta.graph.media) == 1


def test_the_fake_refuses_a_shape_instagram_refuses(meta: MetaWorld) -> None:
    story = meta.public(meta.story(1, shape=(36, 64)))
    from publishers.formatting import compose
    from publishers.text import ChannelRules

    loose = ChannelRules(lambda _t: True, lambda _t: True, 10, ("feed",), None)
    post = compose("instagram", story, hashtags=[], rules=loose)
    with pytest.raises(PermanentError, match=r"4:5 to 1\.91:1"):
        instagram(meta).publish(post, idempotency_key="d-6")


def test_a_story_without_photos_cannot_go_to_instagram(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(0))
    with pytest.raises(ComposeError, match="need a photo"):
        instagram(meta).publish(post, idempotency_key="d-7")


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_throttling_waits_as_long_as_the_usage_header_says(meta: MetaWorld, code: int) -> None:
    post = meta.post("instagram", meta.story(1))
    meta.graph.inject(throttled(code, minutes=7), path="/media", method="POST")
    raised_exactly(
        RetryableError, 420.0, lambda: instagram(meta).publish(post, idempotency_key="d-8")
    )


def test_a_429_without_usage_headers_still_waits(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(1))
    meta.graph.inject(Response(429, "<html>slow down</html>"), path="/media", method="POST")
    error = raised_exactly(
        RetryableError, None, lambda: instagram(meta).publish(post, idempotency_key="d-9")
    )
    assert isinstance(error, RetryableError) and error.retry_after == 900.0


def test_an_expired_token_is_auth_and_pauses(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(1))
    meta.graph.tokens["ig-token"].valid = False
    error = raised_exactly(
        AuthError, None, lambda: instagram(meta).publish(post, idempotency_key="d-10")
    )
    assert "190" in str(error) and "new access token" in str(error)


def test_a_full_quota_waits_instead_of_publishing(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(1))
    meta.graph.quota_usage = meta.graph.quota_total
    checkpoint = MemoryCheckpoint()
    publisher = instagram(meta)
    publisher.use_checkpoint(checkpoint)
    error = raised_exactly(
        RetryableError, 3600.0, lambda: publisher.publish(post, idempotency_key="d-11")
    )
    assert "100 of 100" in str(error)
    assert not meta.graph.media
    # The window moves: the same container is published, not a new one.
    meta.graph.quota_usage = 0
    publisher.publish(post, idempotency_key="d-11")
    assert len(meta.graph.containers) == 1 and len(meta.graph.media) == 1


def test_a_container_still_processing_is_polled_until_finished(meta: MetaWorld) -> None:
    meta.graph.processing_polls = 3
    post = meta.post("instagram", meta.story(1))
    instagram(meta).publish(post, idempotency_key="d-12")
    assert len(meta.graph.calls("/media_publish")) == 1
    assert len(meta.graph.media) == 1


def test_a_container_that_never_finishes_is_retried_later_with_the_same_container(
    meta: MetaWorld,
) -> None:
    meta.graph.processing_polls = 40
    post = meta.post("instagram", meta.story(1))
    checkpoint = MemoryCheckpoint()
    publisher = instagram(meta)
    publisher.use_checkpoint(checkpoint)
    with pytest.raises(RetryableError, match="IN_PROGRESS"):
        publisher.publish(post, idempotency_key="d-13")
    meta.graph.processing_polls = 0
    for container in meta.graph.containers.values():
        container.polls_left = 1
    publisher.publish(post, idempotency_key="d-13")
    assert len(meta.graph.containers) == 1 and len(meta.graph.media) == 1


def test_an_expired_container_is_made_again(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(1))
    checkpoint = MemoryCheckpoint()
    publisher = instagram(meta)
    publisher.use_checkpoint(checkpoint)
    meta.graph.inject(throttled(4), path="/media_publish")
    with pytest.raises(RetryableError):
        publisher.publish(post, idempotency_key="d-14")
    [first] = meta.graph.containers.values()
    first.status = "EXPIRED"
    publisher.publish(post, idempotency_key="d-14")
    assert len(meta.graph.containers) == 2 and len(meta.graph.media) == 1


def test_a_lost_answer_to_media_publish_asks_the_container_and_finds_the_post(
    meta: MetaWorld,
) -> None:
    post = meta.post("instagram", meta.story(2))
    # Meta publishes, and a proxy loses the answer on its way back.
    meta.graph.inject(
        Response(502, "<html>bad gateway</html>", after_handling=True), path="/media_publish"
    )
    publisher = instagram(meta)
    checkpoint = MemoryCheckpoint()
    publisher.use_checkpoint(checkpoint)
    # The container is asked at once: PUBLISHED, and the post is found by its caption.
    receipt = publisher.publish(post, idempotency_key="d-15")
    [(media_id, media)] = meta.graph.media.items()
    assert receipt.remote_id == media_id and receipt.url == media["permalink"]
    assert len(meta.graph.calls("/media_publish")) == 1
    lookups = [r for r in meta.graph.calls(f"{meta.graph.ig_user_id}/media") if r.method == "GET"]
    assert len(lookups) == 1


def test_a_timeout_on_media_publish_is_followed_by_a_status_question(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(1))
    publisher = instagram(meta)
    checkpoint = MemoryCheckpoint()
    publisher.use_checkpoint(checkpoint)
    # A first attempt makes the container (the photo fetch may be slow), then is throttled.
    meta.graph.inject(throttled(4), path="/media_publish")
    with pytest.raises(RetryableError):
        publisher.publish(post, idempotency_key="d-16")
    # The next: Meta publishes, but its answer comes after our read timeout.
    publisher.client.timeout = (5.0, 1.0)
    meta.graph.inject(Response(200, {}, delay=3.0, after_handling=True), path="/media_publish")
    receipt = publisher.publish(post, idempotency_key="d-16")
    assert receipt.remote_id in meta.graph.media
    assert len(meta.graph.calls("/media_publish")) == 2 and len(meta.graph.media) == 1
    container = checkpoint.state["container"]
    status_reads = [r for r in meta.graph.requests if r.path.endswith(f"/{container}")]
    # the first attempt's wait; the second's resume and wait; then the question after the timeout
    assert len(status_reads) == 4


def test_a_published_container_whose_post_is_not_found_is_unknown(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(1))
    publisher = instagram(meta)
    checkpoint = MemoryCheckpoint()
    publisher.use_checkpoint(checkpoint)
    publisher.publish(post, idempotency_key="d-17")
    meta.graph.media.clear()  # deleted by hand in the app since, say
    checkpoint.state.pop("published")
    with pytest.raises(UncertainError, match="check the account"):
        publisher.publish(post, idempotency_key="d-17")


def test_instagram_cannot_delete(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(1))
    receipt = instagram(meta).publish(post, idempotency_key="d-18")
    assert instagram(meta).delete(receipt) is False
    assert receipt.remote_id in meta.graph.media


def test_check_proves_the_token_names_a_missing_permission_and_the_address(
    meta: MetaWorld,
) -> None:
    public = meta.publisher("instagram", public_base_url="https://pesisir.example.org")
    assert public.check() == "@suarapesisir; 0 of 100 posts used in the last 24 hours"
    # Our loopback address cannot be fetched from the internet.
    with pytest.raises(PermanentError, match="private or loopback"):
        instagram(meta).check()
    meta.graph.tokens["ig-token"] = Token("10001", "USER", ("instagram_basic",))
    with pytest.raises(AuthError, match="instagram_content_publish"):
        public.check()
    assert not meta.graph.calls("/media_publish") and not meta.graph.containers


def test_graph_errors_are_classified_by_code_and_subcode() -> None:
    from publishers.graph import classify

    def kind(response: Response) -> type:
        return type(classify("Instagram", "x", response.status, response.headers, response.body))

    assert kind(graph_error(190, "expired")) is AuthError
    assert kind(graph_error(10, "no permission")) is AuthError
    assert kind(graph_error(200, "no permission")) is AuthError
    assert kind(graph_error(2, "temporary", status=500)) is RetryableError
    assert kind(graph_error(9, "cap", subcode=2207042)) is RetryableError
    assert kind(graph_error(36003, "aspect", subcode=2207009)) is PermanentError
    assert kind(graph_error(100, "caption", subcode=2207010)) is PermanentError
    assert kind(graph_error(100, "bad param")) is PermanentError
    assert kind(graph_error(506, "duplicate post")) is PermanentError
    assert kind(graph_error(368, "temporarily blocked")) is RetryableError
    assert kind(Response(502, "<html>proxy</html>")) is RetryableError


def test_a_caption_changed_after_a_lost_answer_does_not_post_again(meta: MetaWorld) -> None:
    post = meta.post("instagram", meta.story(1))
    publisher = instagram(meta)
    checkpoint = MemoryCheckpoint()
    publisher.use_checkpoint(checkpoint)
    meta.graph.inject(
        Response(502, "<html>bad gateway</html>", after_handling=True), path="/media_publish"
    )
    meta.graph.inject(throttled(4), path=f"{meta.graph.ig_user_id}/media", method="GET")
    with pytest.raises(RetryableError):
        publisher.publish(post, idempotency_key="d-19")
    # The campaign team edits the caption before the retry: the post is out already.
    edited = dataclasses.replace(post, text="Teks baru dari tim kampanye #AdilUntukBumi")
    receipt = publisher.publish(edited, idempotency_key="d-19")
    [(media_id, media)] = meta.graph.media.items()
    assert receipt.remote_id == media_id and media["text"] == post.text
