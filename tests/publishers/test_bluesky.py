"""The Bluesky publisher against a fake PDS on loopback."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from pydantic import SecretStr

from core.config import Settings
from publishers.base import AuthError, PermanentError, Post, PostImage, PublishError, RetryableError
from publishers.channels.bluesky import BlueskyPublisher, forget_sessions, tid_for
from publishers.formatting import compose
from publishers.text import ChannelRules
from tests.fakes.bluesky_pds import TID, FakeBluesky
from tests.fakes.server import Response
from tests.publishers.conftest import StoryFactory, raised_exactly

TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    # Sessions are cached per process by service URL: a new fake may reuse an old one's port.
    forget_sessions()
    with FakeBluesky() as server:
        assert isinstance(server, FakeBluesky)
        yield server


def publisher(fake: FakeBluesky, password: str | None = None) -> BlueskyPublisher:
    return BlueskyPublisher(
        service=fake.url,
        identifier=fake.handle_name,
        app_password=SecretStr(password or fake.password),
    )


def test_full_publish_with_images_alt_and_tag_facets(
    fake: FakeBluesky, make_story: StoryFactory
) -> None:
    story = make_story(images=6, text="Sumur kami asin 🌊 " * 40)
    post = compose("bluesky", story, hashtags=["AdilUntukBumi", "LangkahHariIni"])
    receipt = publisher(fake).publish(post, idempotency_key="delivery-7")
    json.loads(json.dumps(receipt.extra))  # the dispatcher stores it as JSON
    rkey = tid_for("delivery-7")
    record = fake.records[rkey]
    assert receipt.remote_id == f"at://{fake.did}/app.bsky.feed.post/{rkey}"
    assert receipt.url == f"https://bsky.app/profile/{fake.did}/post/{rkey}"
    assert record["text"] == post.text and record["langs"] == ["id"]
    images = record["embed"]["images"]
    assert len(images) == 4
    assert [fake.blobs[i["image"]["ref"]["$link"]] for i in images] == [
        image.path.read_bytes() for image in post.images
    ]
    assert all(image.rendition == "feed" for image in post.images)
    assert [i["alt"] for i in images] == [image.alt for image in post.images]
    assert images[0]["aspectRatio"] == {"width": 32, "height": 24}
    encoded = record["text"].encode()
    tags = [(f["index"], f["features"][0]["tag"]) for f in record["facets"]]
    assert [tag for _, tag in tags] == ["AdilUntukBumi", "LangkahHariIni"]
    assert all(encoded[i["byteStart"] : i["byteEnd"]] == f"#{tag}".encode() for i, tag in tags)


def test_retry_with_the_same_key_cannot_post_twice(
    fake: FakeBluesky, make_story: StoryFactory
) -> None:
    post = compose("bluesky", make_story(images=1), hashtags=["AdilUntukBumi"])
    sender = publisher(fake)
    first = sender.publish(post, idempotency_key="delivery-8")
    second = sender.publish(post, idempotency_key="delivery-8")
    assert first.remote_id == second.remote_id and len(fake.records) == 1
    assert fake.sessions_created == 1  # the session is cached


def test_fake_create_record_on_existing_rkey_is_a_500(fake: FakeBluesky) -> None:
    session = requests.post(
        f"{fake.url}/xrpc/com.atproto.server.createSession",
        json={"identifier": fake.handle_name, "password": fake.password},
        timeout=5,
    ).json()
    body = {
        "repo": fake.did,
        "collection": "app.bsky.feed.post",
        "rkey": tid_for("x"),
        "record": {
            "$type": "app.bsky.feed.post",
            "text": "hai",
            "createdAt": "2026-11-23T00:00:00Z",
        },
    }
    headers = {"Authorization": f"Bearer {session['accessJwt']}"}
    url = f"{fake.url}/xrpc/com.atproto.repo.createRecord"
    assert requests.post(url, json=body, headers=headers, timeout=5).status_code == 200
    again = requests.post(url, json=body, headers=headers, timeout=5)
    assert again.status_code == 500 and again.json()["error"] == "InternalServerError"


def test_expired_token_is_refreshed_once(fake: FakeBluesky, make_story: StoryFactory) -> None:
    sender = publisher(fake)
    sender.publish(compose("bluesky", make_story(images=0), hashtags=[]), idempotency_key="a")
    fake.expire_access_tokens()
    receipt = sender.publish(
        compose("bluesky", make_story(images=1), hashtags=[]), idempotency_key="b"
    )
    assert receipt.extra["rkey"] in fake.records
    assert fake.sessions_created == 1 and fake.refreshes == 1


def test_refresh_refused_logs_in_again(fake: FakeBluesky, make_story: StoryFactory) -> None:
    sender = publisher(fake)
    sender.publish(compose("bluesky", make_story(images=0), hashtags=[]), idempotency_key="a")
    fake.expire_access_tokens()
    fake._refresh.clear()  # the refresh token expired too
    sender.publish(compose("bluesky", make_story(images=0), hashtags=[]), idempotency_key="b")
    assert fake.sessions_created == 2 and len(fake.records) == 2


def test_wrong_app_password_is_an_auth_error(fake: FakeBluesky) -> None:
    with pytest.raises(AuthError, match="AuthenticationRequired"):
        publisher(fake, password="wrong").publish(Post(text="hai"), idempotency_key="k")


def test_fake_refuses_301_graphemes(fake: FakeBluesky) -> None:
    # 300 graphemes of 2 code points each pass: graphemes count, not code points.
    with pytest.raises(PermanentError, match="300 graphemes"):
        publisher(fake).publish(Post(text="e\u0301" * 301), idempotency_key="k")
    assert publisher(fake).publish(Post(text="e\u0301" * 300), idempotency_key="k").remote_id


def test_fake_refuses_over_3000_bytes(fake: FakeBluesky) -> None:
    with pytest.raises(PermanentError, match="3000"):
        publisher(fake).publish(Post(text="👩🏽‍🌾" * 201), idempotency_key="k")  # 3015 bytes


class _Unlimited(BlueskyPublisher):
    """Without our own limits, to see the fake refuse what Bluesky refuses."""

    rules: ClassVar[ChannelRules] = dataclasses.replace(
        BlueskyPublisher.rules, max_images=10, fallback_image_bytes=10_000_000
    )


def _post_with(images: int, tmp_path: Path, size: int = 100) -> Post:
    path = tmp_path / "blob.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\0" * size)
    return Post(text="hai", images=tuple(PostImage(path, "alt", 10, 10) for _ in range(images)))


def test_fake_refuses_five_images(fake: FakeBluesky, tmp_path: Path) -> None:
    sender = _Unlimited(
        service=fake.url, identifier=fake.handle_name, app_password=SecretStr(fake.password)
    )
    with pytest.raises(PermanentError, match="more than 4"):
        sender.publish(_post_with(5, tmp_path), idempotency_key="k")


def test_blob_over_two_million_bytes(fake: FakeBluesky, tmp_path: Path) -> None:
    post = _post_with(1, tmp_path, size=2_000_001)
    with pytest.raises(PermanentError, match="maximum is 2000000"):
        publisher(fake).publish(post, idempotency_key="k")
    assert fake.calls("uploadBlob") == []  # refused before sending
    sender = _Unlimited(
        service=fake.url, identifier=fake.handle_name, app_password=SecretStr(fake.password)
    )
    with pytest.raises(PermanentError, match="blob too big"):
        sender.publish(post, idempotency_key="k")


def test_delete(fake: FakeBluesky, make_story: StoryFactory) -> None:
    sender = publisher(fake)
    receipt = sender.publish(
        compose("bluesky", make_story(images=0), hashtags=[]), idempotency_key="d"
    )
    assert sender.delete(receipt) is True and fake.records == {}


def test_tid_is_valid_deterministic_and_distinct() -> None:
    keys = [f"delivery-{n}" for n in range(2000)]
    tids = [tid_for(key) for key in keys]
    assert all(TID.match(tid) for tid in tids)
    assert tids == [tid_for(key) for key in keys] and len(set(tids)) == len(tids)
    value = 0
    for char in tids[0]:
        value = value * 32 + TID_CHARS.index(char)
    microseconds = value >> 10
    assert 1_672_531_200 <= microseconds / 1e6 <= 1_672_531_200 + 2**45 / 1e6 < time.time()


#: Filled in when the test runs (a time computed at collection would age with the suite).
RESET_IN_AN_HOUR = "<now + 3600 s>"

CASES: list[tuple[int, dict[str, str], Any, type[PublishError], float | None]] = [
    (
        429,
        {"Retry-After": "12"},
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        RetryableError,
        12.0,
    ),
    (
        429,
        {"RateLimit-Reset": RESET_IN_AN_HOUR},
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        RetryableError,
        None,
    ),
    (
        500,
        {},
        {"error": "InternalServerError", "message": "Internal Server Error"},
        RetryableError,
        None,
    ),
    (502, {}, "<html>Bad Gateway</html>", RetryableError, None),
    (400, {}, {"error": "BlobNotFound", "message": "Could not find blob"}, PermanentError, None),
    (400, {}, {"error": "InvalidRequest", "message": "Invalid record"}, PermanentError, None),
    (
        401,
        {},
        {"error": "AuthenticationRequired", "message": "Authentication Required"},
        AuthError,
        None,
    ),
]


@pytest.mark.parametrize(("status", "headers", "body", "error", "retry_after"), CASES)
def test_error_table(
    fake: FakeBluesky,
    make_story: StoryFactory,
    status: int,
    headers: dict[str, str],
    body: Any,
    error: type[PublishError],
    retry_after: float | None,
) -> None:
    if headers.get("RateLimit-Reset") == RESET_IN_AN_HOUR:
        headers = {**headers, "RateLimit-Reset": str(int(time.time()) + 3600)}
    fake.inject((status, headers, body), path="putRecord")
    post = compose("bluesky", make_story(images=1), hashtags=[])
    reset = "RateLimit-Reset" in headers  # an hour from now, whatever the clock says
    raised = raised_exactly(
        error,
        None if reset else retry_after,
        lambda: publisher(fake).publish(post, idempotency_key="table"),
    )
    if isinstance(raised, RetryableError) and reset:
        assert raised.retry_after is not None and 3500 < raised.retry_after <= 3600
    assert publisher(fake).publish(post, idempotency_key="table").extra["rkey"] in fake.records


def test_invalid_token_twice_is_an_auth_error(fake: FakeBluesky) -> None:
    bad = (400, {}, {"error": "InvalidToken", "message": "Token could not be verified"})
    fake.inject(bad, bad, path="putRecord")
    with pytest.raises(AuthError, match="even after a fresh session"):
        publisher(fake).publish(Post(text="hai"), idempotency_key="k")
    assert fake.refreshes == 1


def test_lost_answer_then_retry_is_still_one_post(
    fake: FakeBluesky, make_story: StoryFactory
) -> None:
    fake.inject(Response(502, "<html>Bad Gateway</html>", after_handling=True), path="putRecord")
    post = compose("bluesky", make_story(images=1), hashtags=["AdilUntukBumi"])
    sender = publisher(fake)
    with pytest.raises(RetryableError):
        sender.publish(post, idempotency_key="delivery-11")
    assert len(fake.records) == 1  # it did go out
    receipt = sender.publish(post, idempotency_key="delivery-11")
    assert list(fake.records) == [receipt.extra["rkey"]]


def test_publishers_of_one_account_share_the_session(
    fake: FakeBluesky, make_story: StoryFactory
) -> None:
    # The dispatcher builds a new publisher every tick; createSession is limited to 30 per
    # 5 minutes and 300 a day, so the session must outlive one publisher.
    for key in ("a", "b", "c"):
        publisher(fake).publish(
            compose("bluesky", make_story(images=0), hashtags=[]), idempotency_key=key
        )
    assert fake.sessions_created == 1 and len(fake.records) == 3
    # Another app password is another session.
    with pytest.raises(AuthError):
        publisher(fake, password="wrong").publish(Post(text="hai"), idempotency_key="d")


def test_two_installations_posting_to_one_account_make_two_posts(
    fake: FakeBluesky, tmp_path: Path, make_story: StoryFactory
) -> None:
    """Story #1 of one database and story #1 of another are two posts, not one overwritten:
    the installation's id is part of every idempotency key."""
    from core.db import make_engine, migrate, session_scope
    from core.installation import install_id
    from publishers.deliveries.planning import idempotency_key

    keys = []
    for name in ("first", "second"):
        url = f"sqlite:///{tmp_path / name / 'pesisir.db'}"
        migrate(url)
        engine = make_engine(url)
        with session_scope(engine) as session:
            keys.append(idempotency_key(install_id(session), 1, 1, 1))
        engine.dispose()
    assert keys[0] != keys[1]
    sender = publisher(fake)
    for key in keys:
        sender.publish(compose("bluesky", make_story(images=0), hashtags=[]), idempotency_key=key)
    assert len(fake.records) == 2


def test_a_pds_outside_the_bluesky_network_links_to_its_own_app(
    fake: FakeBluesky, make_story: StoryFactory
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        bluesky_identifier=fake.handle_name,
        bluesky_app_password=SecretStr(fake.password),
        bluesky_service=fake.url,
        bluesky_app_url="https://sosial.pesisir.example/",
    )
    sender = BlueskyPublisher.from_settings(settings, {})
    post = compose("bluesky", make_story(images=0), hashtags=[])
    receipt = sender.publish(post, idempotency_key="delivery-own-app")
    rkey = tid_for("delivery-own-app")
    assert receipt.url == f"https://sosial.pesisir.example/profile/{fake.did}/post/{rkey}"
