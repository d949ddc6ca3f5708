"""A file whose download from Telegram failed is fetched again without the person resending it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import BotApp
from bot.refetch import MAX_RETRIES, NOT_MEDIA, TOO_BIG, refetch
from bot.services import services
from cli.harness import running_bot
from core.config import Settings
from core.i18n import t
from core.models import AuditEvent, Submission
from faketelegram import FakeBotAPI, FakeUser
from faketelegram.images import jpeg
from tests.bot.helpers import media_of, stories_of, tell_story, texts

BAD_GATEWAY = {"status": 502, "description": "Bad Gateway"}


async def _failed_photo(fake: FakeBotAPI, user: FakeUser, data: bytes | None = None) -> None:
    """Send a photo whose download fails, as the bot tells the person."""
    fake.fail_next("getFile", **BAD_GATEWAY)  # type: ignore[arg-type]
    user.send_photo(data or jpeg(color=(40, 90, 140)))
    assert texts(await user.settle()) == [t("id", "bot.refuse.download_failed")]


async def _left_received(engine: Engine, story_id: int) -> Submission:
    for _ in range(100):
        with Session(engine) as session:
            story = session.get(Submission, story_id)
            assert story is not None
            if story.state != "received":
                return story
        await asyncio.sleep(0.1)
    raise AssertionError("the story stayed in received")


async def test_the_sweeper_fetches_a_failed_photo_and_the_pipeline_processes_it(
    fake: FakeBotAPI, bot_settings: Settings, engine: Engine
) -> None:
    user = fake.user(8101, "Yuli", "id")
    async with running_bot(fake, bot_settings, engine):
        await _failed_photo(fake, user)
    [story] = stories_of(engine, 8101)
    [row] = media_of(engine, story.id or 0)
    assert row.path is None and row.error == "download failed"
    asked_before = len(fake.calls_of("sendMessage"))
    async with running_bot(fake, bot_settings, engine):  # its sweeper runs at start-up
        for _ in range(100):
            [row] = media_of(engine, story.id or 0)
            if row.path is not None:
                break
            await asyncio.sleep(0.1)
        assert row.path is not None and row.sha256 and row.size_bytes and row.error is None
        assert len(fake.calls_of("sendMessage")) == asked_before  # nobody was asked anything
        await tell_story(user, photos=0)
        done = await _left_received(engine, story.id or 0)
    assert done.state == "pending_review"
    [row] = media_of(engine, story.id or 0)
    assert "web" in row.renditions and row.error is None


async def test_a_failed_photo_is_fetched_again_when_the_story_is_sent(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(8102, "Yuli", "id")
    await _failed_photo(fake, user)
    await tell_story(user, photos=0)
    [story] = stories_of(engine, 8102)
    done = await _left_received(engine, story.id or 0)
    [row] = media_of(engine, story.id or 0)
    assert row.path is not None and "web" in row.renditions and row.error is None
    assert not [f for f in done.flags if f["kind"] in ("media_refused", "photo_late")]


def _zip_as_jpeg(user: FakeUser) -> None:
    user.send_document(b"PK\x03\x04" + b"\x00" * 64, file_name="foto.jpg", mime_type="image/jpeg")


@pytest.mark.parametrize(
    ("later", "send", "reason"),
    [
        (
            {"status": 400, "description": "Bad Request: file is too big"},
            lambda user: user.send_photo(jpeg()),
            TOO_BIG,
        ),
        (None, _zip_as_jpeg, NOT_MEDIA),
    ],
    ids=["too-big", "not-media"],
)
async def test_a_file_refused_for_good_is_not_tried_again(
    fake: FakeBotAPI,
    bot: BotApp,
    engine: Engine,
    later: dict[str, object] | None,
    send: Callable[[FakeUser], None],
    reason: str,
) -> None:
    user = fake.user(8103, "Yuli", "id")
    fake.fail_next("getFile", **BAD_GATEWAY)  # type: ignore[arg-type]
    send(user)
    assert texts(await user.settle()) == [t("id", "bot.refuse.download_failed")]
    if later is not None:
        fake.fail_next("getFile", **later)  # type: ignore[arg-type]
    shared = services(bot)
    assert await refetch(bot.bot, shared) == 0
    [story] = stories_of(engine, 8103)
    [row] = media_of(engine, story.id or 0)
    assert (row.path, row.error, row.telegram_file_id is not None) == (None, reason, True)
    tried = len(fake.calls_of("getFile"))
    assert await refetch(bot.bot, shared) == 0
    assert len(fake.calls_of("getFile")) == tried


async def test_tries_are_bounded(fake: FakeBotAPI, bot: BotApp, engine: Engine) -> None:
    user = fake.user(8104, "Yuli", "id")
    await _failed_photo(fake, user)
    fake.fail_next("getFile", count=MAX_RETRIES, **BAD_GATEWAY)  # type: ignore[arg-type]
    shared = services(bot)
    for _ in range(MAX_RETRIES):
        assert await refetch(bot.bot, shared) == 0
    tried = len(fake.calls_of("getFile"))
    assert await refetch(bot.bot, shared) == 0  # Telegram would answer now, but we gave up
    assert len(fake.calls_of("getFile")) == tried
    [story] = stories_of(engine, 8104)
    [row] = media_of(engine, story.id or 0)
    assert (row.path, row.error) == (None, f"download failed (retried {MAX_RETRIES})")


async def test_a_photo_fetched_after_review_began_is_kept_and_flagged(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(8105, "Yuli", "id")
    await _failed_photo(fake, user)
    fake.fail_next("getFile", **BAD_GATEWAY)  # type: ignore[arg-type]  # the try at sending
    await tell_story(user, photos=0)
    [story] = stories_of(engine, 8105)
    reviewed = await _left_received(engine, story.id or 0)
    assert reviewed.state == "pending_review"
    assert [f["kind"] for f in reviewed.flags].count("media_refused") == 1
    assert await refetch(bot.bot, services(bot)) == 1
    [row] = media_of(engine, story.id or 0)
    # Stored, but not processed: no renditions, so it cannot be published unseen.
    assert row.path is not None and row.error is None and row.renditions == {}
    with Session(engine) as session:
        now = session.get(Submission, story.id)
        assert now is not None and now.state == "pending_review"
        kinds = [f["kind"] for f in now.flags]
        assert "photo_late" in kinds and "media_refused" not in kinds
        audited = session.exec(
            select(AuditEvent.action).where(
                AuditEvent.submission_id == story.id, col(AuditEvent.action) == "media_fetched_late"
            )
        ).all()
        assert audited == ["media_fetched_late"]


async def test_a_withdrawn_story_is_not_fetched(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(8106, "Yuli", "id")
    await _failed_photo(fake, user)
    [story] = stories_of(engine, 8106)
    with Session(engine) as session:
        row = session.get(Submission, story.id)
        assert row is not None
        row.state = "withdrawn"
        session.add(row)
        session.commit()
    tried = len(fake.calls_of("getFile"))
    assert await refetch(bot.bot, services(bot)) == 0
    assert len(fake.calls_of("getFile")) == tried
