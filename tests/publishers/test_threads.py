"""The Threads publisher against the fake Threads API, which fetches photos from the dashboard."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from publishers.base import AuthError, MemoryCheckpoint, PermanentError, RetryableError
from publishers.channels.threads import ThreadsPublisher
from tests.fakes.meta_graph import Token, threads_count, throttled
from tests.fakes.server import Response
from tests.publishers.conftest import raised_exactly
from tests.publishers.meta_support import MetaWorld


def threads(meta: MetaWorld) -> ThreadsPublisher:
    publisher = meta.publisher("threads")
    assert isinstance(publisher, ThreadsPublisher)
    return publisher


def test_a_text_post_is_a_text_container(meta: MetaWorld) -> None:
    post = meta.post("threads", meta.story(0, text="Kami tanam mangrove lagi hari ini 🌱🌱"))
    receipt = threads(meta).publish(post, idempotency_key="t-1")
    [container] = meta.threads.containers.values()
    assert container.params["media_type"] == "TEXT" and container.params["text"] == post.text
    assert receipt.remote_id in meta.threads.media
    assert receipt.url == meta.threads.media[receipt.remote_id]["permalink"]


def test_one_photo_is_fetched_from_the_dashboard(meta: MetaWorld) -> None:
    post = meta.post("threads", meta.story(1))
    threads(meta).publish(post, idempotency_key="t-2")
    [url] = meta.threads.fetched
    assert url.startswith(f"{meta.web_url}/m/")
    [container] = meta.threads.containers.values()
    assert container.params["media_type"] == "IMAGE"
    assert container.params["alt_text"] == post.images[0].alt


def test_a_carousel_takes_up_to_twenty(meta: MetaWorld) -> None:
    post = meta.post("threads", meta.story(12))
    assert len(post.images) == 12
    threads(meta).publish(post, idempotency_key="t-3")
    [media] = meta.threads.media.values()
    assert len(media["children"]) == 12 and len(meta.threads.fetched) == 12


def test_an_unsigned_url_fails_as_threads_would(meta: MetaWorld) -> None:
    post = meta.post("threads", meta.story(1))
    other_key = meta.publisher("threads", secret_key=SecretStr("another-installations-key-000"))
    with pytest.raises(PermanentError, match="2207052"):
        other_key.publish(post, idempotency_key="t-4")
    assert not meta.threads.media


def test_a_lost_publish_answer_is_found_through_the_container(meta: MetaWorld) -> None:
    post = meta.post("threads", meta.story(2))
    publisher = threads(meta)
    publisher.use_checkpoint(MemoryCheckpoint())
    meta.threads.inject(
        Response(502, "<html>bad gateway</html>", after_handling=True),
        path="/threads_publish",
        method="POST",
    )
    receipt = publisher.publish(post, idempotency_key="t-5")
    assert list(meta.threads.media) == [receipt.remote_id]
    assert len([r for r in meta.threads.calls("/threads_publish") if r.method == "POST"]) == 1


def test_a_full_quota_waits(meta: MetaWorld) -> None:
    meta.threads.quota_usage = 250
    post = meta.post("threads", meta.story(0))
    error = raised_exactly(
        RetryableError, 3600.0, lambda: threads(meta).publish(post, idempotency_key="t-6")
    )
    assert "250 of 250" in str(error)


def test_throttling_reads_the_usage_header(meta: MetaWorld) -> None:
    post = meta.post("threads", meta.story(0))
    meta.threads.inject(throttled(613, minutes=2), path="/threads", method="POST")
    raised_exactly(
        RetryableError, 120.0, lambda: threads(meta).publish(post, idempotency_key="t-7")
    )


def test_delete_needs_threads_delete_and_a_post_already_gone_counts(meta: MetaWorld) -> None:
    post = meta.post("threads", meta.story(0))
    receipt = threads(meta).publish(post, idempotency_key="t-8")
    assert threads(meta).delete(receipt) is True
    assert not meta.threads.media
    assert threads(meta).delete(receipt) is True
    meta.threads.tokens["threads-token"] = Token(
        meta.threads.threads_user_id, "USER", ("threads_basic", "threads_content_publish")
    )
    again = threads(meta).publish(post, idempotency_key="t-9")
    with pytest.raises(AuthError, match="threads_delete"):
        threads(meta).delete(again)


def test_check_proves_the_token_and_names_a_missing_permission(meta: MetaWorld) -> None:
    public = meta.publisher("threads", public_base_url="https://pesisir.example.org")
    assert public.check().startswith("@suarapesisir; 0 of 250 posts used in the last 24 hours")
    with pytest.raises(PermanentError, match="private or loopback"):
        threads(meta).check()
    meta.threads.tokens["threads-token"] = Token(
        meta.threads.threads_user_id, "USER", ("threads_basic",)
    )
    with pytest.raises(AuthError, match="threads_content_publish"):
        public.check()
    other = meta.publisher("threads", threads_user_id="26000000000000999")
    meta.threads.tokens["threads-token"] = Token(
        meta.threads.threads_user_id, "USER", ("threads_basic", "threads_content_publish")
    )
    with pytest.raises(AuthError, match="not PESISIR_THREADS_USER_ID"):
        other.check()


def test_the_fake_counts_emoji_as_threads_documents() -> None:
    assert threads_count("a") == 1
    assert threads_count("🌊") == 4
    assert threads_count("👩‍🌾") == 4 + 3 + 4  # woman, zero-width joiner, ear of rice
