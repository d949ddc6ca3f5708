"""The Telegram channel publisher against a fake Bot API on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from faketelegram import FakeBotAPI, FakeGroup, serving
from publishers.base import (
    AuthError,
    PermanentError,
    PublishError,
    Receipt,
    RetryableError,
    UncertainError,
)
from publishers.channels.telegram_channel import TelegramChannelPublisher
from publishers.formatting import compose, hashtags_for
from tests.publishers.conftest import StoryFactory, raised_exactly

CHANNEL_ID = -1001987654321


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    """The one fake Telegram, with the @suarapesisir channel whose admin the bot is."""
    with serving(FakeBotAPI()) as server:
        server.channel(CHANNEL_ID, username="suarapesisir")
        yield server


def channel(fake: FakeBotAPI) -> FakeGroup:
    """The channel's chat: what the bot posted there (deleted messages left out)."""
    return fake.groups[CHANNEL_ID]


def posts(fake: FakeBotAPI) -> list[dict[str, Any]]:
    """The channel's live messages."""
    return channel(fake).chat.replies


def publisher(fake: FakeBotAPI, token: str | None = None) -> TelegramChannelPublisher:
    return TelegramChannelPublisher(
        token=SecretStr(token or fake.token), chat_id="@suarapesisir", base_url=fake.base_url
    )


def test_single_photo_with_caption(fake: FakeBotAPI, make_story: StoryFactory) -> None:
    story = make_story(images=1)
    post = compose(
        "telegram_channel", story, hashtags=hashtags_for(["AdilUntukBumi"], story.themes)
    )
    receipt = publisher(fake).publish(post, idempotency_key="d-1")
    json.loads(json.dumps(receipt.extra))  # the dispatcher stores it as JSON
    [message] = posts(fake)
    assert message["caption"] == post.text and "#AdilUntukBumi #LangkahHariIni" in post.text
    # Exactly the rendition's bytes go out.
    assert channel(fake).chat.photos() == [post.images[0].path.read_bytes()]
    assert receipt == Receipt(
        remote_id=str(message["message_id"]),
        url=f"https://t.me/suarapesisir/{message['message_id']}",
        extra={"chat_id": "@suarapesisir", "message_ids": [message["message_id"]]},
    )


def test_album_of_ten_with_caption_on_the_first(fake: FakeBotAPI, make_story: StoryFactory) -> None:
    story = make_story(images=12, text="kata " * 400)
    post = compose("telegram_channel", story, hashtags=["AdilUntukBumi"])
    receipt = publisher(fake).publish(post, idempotency_key="d-2")
    messages = posts(fake)
    ids = [m["message_id"] for m in messages]
    assert len(messages) == 10 and receipt.extra["message_ids"] == ids
    assert messages[0]["caption"] == post.text and all(not m.get("caption") for m in messages[1:])
    assert channel(fake).chat.photos() == [image.path.read_bytes() for image in post.images]
    assert len({m["media_group_id"] for m in messages}) == 1


def test_text_only_message(fake: FakeBotAPI, make_story: StoryFactory) -> None:
    post = compose("telegram_channel", make_story(images=0), hashtags=["AdilUntukBumi"])
    publisher(fake).publish(post, idempotency_key="d-3")
    [message] = posts(fake)
    assert message["text"] == post.text


def test_fake_refuses_a_caption_over_1024_utf16_units(
    fake: FakeBotAPI, make_story: StoryFactory
) -> None:
    post = compose("telegram_channel", make_story(images=1), hashtags=[])
    # 513 waves are 513 graphemes but 1026 UTF-16 units.
    too_long = type(post)(text="🌊" * 513, images=post.images)
    with pytest.raises(PermanentError, match="message caption is too long"):
        publisher(fake).publish(too_long, idempotency_key="d-4")


def test_wrong_token_is_an_auth_error(fake: FakeBotAPI, make_story: StoryFactory) -> None:
    post = compose("telegram_channel", make_story(images=0), hashtags=[])
    with pytest.raises(AuthError, match="Unauthorized"):
        publisher(fake, token="999:wrong").publish(post, idempotency_key="d-5")


def test_migrated_chat_says_to_update_the_chat_id(
    fake: FakeBotAPI, make_story: StoryFactory
) -> None:
    fake.migrated[CHANNEL_ID] = -1009876
    post = compose("telegram_channel", make_story(images=0), hashtags=[])
    # The channel is unusable until its chat id changes: pause it (AuthError), so its other
    # posts wait for the fix instead of each failing on its own.
    with pytest.raises(AuthError, match="update the channel's chat id to -1009876"):
        publisher(fake).publish(post, idempotency_key="d-6")


def test_bot_not_admin_is_an_auth_error(fake: FakeBotAPI, make_story: StoryFactory) -> None:
    channel(fake).bot_status = "left"
    post = compose("telegram_channel", make_story(images=1), hashtags=[])
    with pytest.raises(AuthError, match="not a member"):
        publisher(fake).publish(post, idempotency_key="d-7")


def test_token_never_appears_in_errors(make_story: StoryFactory) -> None:
    # Nothing listens on port 9: the connection is refused before anything is sent.
    sender = TelegramChannelPublisher(
        token=SecretStr("42:SECRET"), chat_id="@x", base_url="http://127.0.0.1:9/bot"
    )
    post = compose("telegram_channel", make_story(images=0), hashtags=[])
    with pytest.raises(RetryableError) as caught:
        sender.publish(post, idempotency_key="d-8")
    assert "SECRET" not in str(caught.value) and caught.value.__cause__ is None


@pytest.mark.parametrize("base_url", ["127.0.0.1:9/bot", "htp://127.0.0.1:9/bot", "http:///bot"])
def test_a_bad_base_url_pauses_the_channel_without_showing_the_token(
    make_story: StoryFactory, base_url: str
) -> None:
    # requests names the whole URL (and so the token) when it cannot use it; that text would
    # reach the log, the delivery row and the moderators' alert.
    sender = TelegramChannelPublisher(token=SecretStr("42:SECRET"), chat_id="@x", base_url=base_url)
    post = compose("telegram_channel", make_story(images=0), hashtags=[])
    with pytest.raises(AuthError) as caught:
        sender.publish(post, idempotency_key="d-9")
    assert "SECRET" not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_delete_album_and_single(fake: FakeBotAPI, make_story: StoryFactory) -> None:
    sender = publisher(fake)
    album = sender.publish(
        compose("telegram_channel", make_story(images=3), hashtags=[]), idempotency_key="a"
    )
    single = sender.publish(
        compose("telegram_channel", make_story(images=0), hashtags=[]), idempotency_key="b"
    )
    assert sender.delete(album) is True and sender.delete(single) is True
    assert posts(fake) == []
    assert sender.delete(single) is False  # already gone


CASES: list[tuple[int, dict[str, str], Any, type[PublishError], float | None]] = [
    (
        429,
        {},
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
        RetryableError,
        7.0,
    ),
    (
        400,
        {},
        {"ok": False, "error_code": 400, "description": "Bad Request: wrong file identifier"},
        PermanentError,
        None,
    ),
    (401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"}, AuthError, None),
    (
        403,
        {},
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked"},
        AuthError,
        None,
    ),
    (
        500,
        {},
        {"ok": False, "error_code": 500, "description": "Internal Server Error"},
        RetryableError,
        None,
    ),
    (502, {}, "<html>Bad Gateway</html>", RetryableError, None),
    (
        200,
        {},
        {"ok": False, "error_code": 400, "description": "Bad Request: odd"},
        PermanentError,
        None,
    ),
]


@pytest.mark.parametrize(("status", "headers", "body", "error", "retry_after"), CASES)
def test_error_table(
    fake: FakeBotAPI,
    make_story: StoryFactory,
    status: int,
    headers: dict[str, str],
    body: Any,
    error: type[PublishError],
    retry_after: float | None,
) -> None:
    fake.inject(status, body, headers=headers)
    post = compose("telegram_channel", make_story(images=1), hashtags=[])
    raised_exactly(error, retry_after, lambda: publisher(fake).publish(post, idempotency_key="t"))
    # After the injected failure the fake answers normally again.
    assert publisher(fake).publish(post, idempotency_key="t").remote_id


def test_uncertain_error_is_a_permanent_error() -> None:
    # The dispatcher may not know UncertainError: it still never resends it.
    assert issubclass(UncertainError, PermanentError)


def test_timeout_after_sending_an_album_is_uncertain(
    fake: FakeBotAPI, make_story: StoryFactory
) -> None:
    # Telegram has no idempotency: a read timeout may hide a posted album, so never retry blindly.
    fake.inject(200, {"ok": True, "result": []}, delay=1.0, method="sendMediaGroup")
    slow = TelegramChannelPublisher(
        token=SecretStr(fake.token),
        chat_id="@suarapesisir",
        base_url=fake.base_url,
        timeout=(2.0, 0.2),
    )
    post = compose("telegram_channel", make_story(images=2), hashtags=[])
    with pytest.raises(UncertainError, match="check it before sending again"):
        slow.publish(post, idempotency_key="slow")
