"""The Facebook Page publisher against the fake Graph API."""

from __future__ import annotations

import json

import pytest

from publishers.base import AuthError, MemoryCheckpoint, PermanentError, RetryableError
from publishers.channels.facebook import FacebookPublisher
from tests.fakes.meta_graph import PAGE_PERMISSIONS, Token, throttled
from tests.fakes.server import Response
from tests.publishers.conftest import raised_exactly
from tests.publishers.meta_support import MetaWorld


def facebook(meta: MetaWorld) -> FacebookPublisher:
    publisher = meta.publisher("facebook")
    assert isinstance(publisher, FacebookPublisher)
    return publisher


def test_one_photo_goes_to_page_photos_with_its_bytes_and_message(meta: MetaWorld) -> None:
    post = meta.post("facebook", meta.story(1, text="Abrasi di Oesapa makin parah 😢"))
    receipt = facebook(meta).publish(post, idempotency_key="f-1")
    [upload] = meta.graph.calls("/photos")
    parts = upload.multipart()
    assert parts["source"].data == post.images[0].path.read_bytes()
    assert parts["message"].text == post.text
    [(post_id, made)] = meta.graph.posts.items()
    assert receipt.remote_id == post_id and made["message"] == post.text
    assert receipt.url == f"https://www.facebook.com/{post_id}"
    assert not meta.graph.fetched  # Facebook gets bytes, not URLs


def test_several_photos_are_unpublished_then_attached_to_one_post(meta: MetaWorld) -> None:
    post = meta.post("facebook", meta.story(4))
    receipt = facebook(meta).publish(post, idempotency_key="f-2")
    uploads = meta.graph.calls("/photos")
    assert len(uploads) == 4
    assert all(u.multipart()["published"].text == "false" for u in uploads)
    [feed] = meta.graph.calls("/feed")
    fields = feed.fields()
    attached = [json.loads(fields[f"attached_media[{i}]"])["media_fbid"] for i in range(4)]
    assert attached == receipt.extra["photos"] and fields["message"] == post.text
    assert len(meta.graph.posts) == 1


def test_a_text_only_story_is_a_feed_post(meta: MetaWorld) -> None:
    post = meta.post("facebook", meta.story(0))
    facebook(meta).publish(post, idempotency_key="f-3")
    [made] = meta.graph.posts.values()
    assert made["message"] == post.text and made["photos"] == []


def test_a_failed_attempt_reuses_its_unpublished_photos(meta: MetaWorld) -> None:
    post = meta.post("facebook", meta.story(3))
    publisher = facebook(meta)
    publisher.use_checkpoint(MemoryCheckpoint())
    meta.graph.inject(throttled(32, minutes=3), path="/feed")
    raised_exactly(RetryableError, 180.0, lambda: publisher.publish(post, idempotency_key="f-4"))
    publisher.publish(post, idempotency_key="f-4")
    assert len(meta.graph.calls("/photos")) == 3  # not six
    assert len(meta.graph.posts) == 1


def test_a_lost_answer_to_the_post_finds_it_instead_of_posting_twice(meta: MetaWorld) -> None:
    post = meta.post("facebook", meta.story(2))
    publisher = facebook(meta)
    publisher.use_checkpoint(MemoryCheckpoint())
    meta.graph.inject(Response(502, "<html>bad gateway</html>", after_handling=True), path="/feed")
    receipt = publisher.publish(post, idempotency_key="f-5")
    [post_id] = meta.graph.posts
    assert receipt.remote_id == post_id
    assert len(meta.graph.calls("/feed")) == 1


def test_a_retry_after_an_uncertain_send_looks_before_posting(meta: MetaWorld) -> None:
    post = meta.post("facebook", meta.story(1))
    publisher = facebook(meta)
    checkpoint = MemoryCheckpoint()
    publisher.use_checkpoint(checkpoint)
    # The post is made, the answer lost, and the lookup right after fails too.
    meta.graph.inject(
        Response(502, "<html>bad gateway</html>", after_handling=True), path="/photos"
    )
    meta.graph.inject(throttled(4), path="/posts")
    with pytest.raises(RetryableError):
        publisher.publish(post, idempotency_key="f-6")
    assert checkpoint.state["posting"] is True
    receipt = publisher.publish(post, idempotency_key="f-6")
    assert list(meta.graph.posts) == [receipt.remote_id]
    assert len(meta.graph.calls("/photos")) == 1


def test_a_user_token_is_refused_and_check_says_so(meta: MetaWorld) -> None:
    meta.graph.tokens["page-token"] = Token("10001", "USER", PAGE_PERMISSIONS)
    post = meta.post("facebook", meta.story(1))
    error = raised_exactly(
        AuthError, None, lambda: facebook(meta).publish(post, idempotency_key="f-7")
    )
    assert "(200)" in str(error)
    with pytest.raises(AuthError, match="not this Page's token"):
        facebook(meta).check()


def test_check_names_a_missing_permission(meta: MetaWorld) -> None:
    assert facebook(meta).check() == f"Page Suara Pesisir ({meta.graph.page_id})"
    meta.graph.tokens["page-token"] = Token(meta.graph.page_id, "PAGE", ("pages_read_engagement",))
    with pytest.raises(AuthError, match="pages_manage_posts"):
        facebook(meta).check()
    assert not meta.graph.posts


def test_delete_removes_the_post_and_a_post_already_gone_counts(meta: MetaWorld) -> None:
    post = meta.post("facebook", meta.story(2))
    receipt = facebook(meta).publish(post, idempotency_key="f-8")
    assert facebook(meta).delete(receipt) is True
    assert not meta.graph.posts
    assert facebook(meta).delete(receipt) is True  # code 100 subcode 33: already gone


def test_a_bad_photo_is_permanent(meta: MetaWorld) -> None:
    post = meta.post("facebook", meta.story(1))
    post.images[0].path.write_bytes(b"GIF89a not a photo we make")
    with pytest.raises(PermanentError, match="324"):
        facebook(meta).publish(post, idempotency_key="f-9")
