"""The notification sender against the fake Bot API: language, retries, 429, 403, group rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from telegram import Bot

from bot.app import BotApp
from bot.notifier import MAX_ATTEMPTS, drain_once, render
from core.clock import as_utc, utcnow
from core.config import Settings
from core.models import Contributor, Notification
from core.notifications import enqueue
from core.states import Audience
from faketelegram import FakeBotAPI

GROUP = -1005550001


@pytest.fixture
async def tg(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    """A plain Bot on the fake server (no rate limiter, so every error reaches the sender)."""
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        yield bot


def _person(engine: Engine, user_id: int, lang: str = "id") -> int:
    with Session(engine) as session:
        person = Contributor(telegram_user_id=user_id, telegram_chat_id=user_id, language=lang)
        session.add(person)
        session.commit()
        assert person.id is not None
        return person.id


def _note(engine: Engine, contributor_id: int | None, kind: str, **params: object) -> int:
    with Session(engine) as session:
        row = enqueue(
            session,
            kind=kind,
            contributor_id=contributor_id,
            audience=Audience.CONTRIBUTOR if contributor_id else Audience.MODERATORS,
            params=dict(params),
        )
        session.commit()
        assert row.id is not None
        return row.id


def _row(engine: Engine, note_id: int) -> Notification:
    with Session(engine) as session:
        row = session.get(Notification, note_id)
        assert row is not None
        return row


def _make_due(engine: Engine, note_id: int) -> None:
    with Session(engine) as session:
        row = session.get(Notification, note_id)
        assert row is not None
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()


def test_render_every_kind_in_both_languages() -> None:
    for lang in ("id", "en"):
        assert "SP-1" in render("approved", {"ref": "SP-1"}, lang)
        assert "SP-1" in render("question", {"ref": "SP-1", "question": "Kapan?"}, lang)
        assert "https://x/1" in render("published", {"ref": "SP-1", "links": ["https://x/1"]}, lang)
        assert "typed" in render(
            "rejected", {"ref": "SP-1", "reason": "other", "note": "typed"}, lang
        )
    assert "could not confirm" in render(
        "rejected", {"ref": "SP-1", "reason": "cannot_verify"}, "en"
    )


def test_publishing_alerts_render_for_the_moderators() -> None:
    """The dispatcher's alert kinds render from the publishing catalog, lists one per line."""
    params = {"ref": "SP-1", "channel": "mastodon", "campaign": "adil", "error": "422 too long"}
    for lang in ("id", "en"):
        assert "mastodon" in render("delivery_failed", params, lang)
        assert "SP-1" in render("delivery_unknown", params, lang)
        assert "mastodon" in render("channel_paused", params, lang)
        text = render(
            "posts_not_deleted", {"ref": "SP-1", "posts": ["https://a/1", "https://b/2"]}, lang
        )
        assert "https://a/1\nhttps://b/2" in text


async def test_language_is_the_contributors_at_send_time(
    fake: FakeBotAPI, tg: Bot, engine: Engine, settings: Settings
) -> None:
    user = fake.user(701, "Maria", "en")
    person = _person(engine, user.id, "id")
    _note(engine, person, "approved", ref="SP-LANG")
    with Session(engine) as session:  # she switches to English before the bot sends
        row = session.get(Contributor, person)
        assert row is not None
        row.language = "en"
        session.add(row)
        session.commit()
    assert await drain_once(tg, engine, settings) == 1
    assert (await user.next_reply())["text"].startswith("Good news: story SP-LANG was approved")


async def test_server_errors_back_off_then_give_up(
    fake: FakeBotAPI, tg: Bot, engine: Engine, settings: Settings
) -> None:
    user = fake.user(702)
    note = _note(engine, _person(engine, user.id), "approved", ref="SP-5XX")
    fake.fail_next("sendMessage", status=500, description="Internal Server Error")
    assert await drain_once(tg, engine, settings) == 0
    row = _row(engine, note)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.next_attempt_at is not None and as_utc(row.next_attempt_at) > utcnow()
    assert await drain_once(tg, engine, settings) == 0  # not due yet: no second call
    assert len(fake.calls_of("sendMessage")) == 1
    _make_due(engine, note)
    assert await drain_once(tg, engine, settings) == 1
    assert _row(engine, note).state == "sent"

    second = _note(engine, _person(engine, 703), "approved", ref="SP-DIE")
    fake.user(703)
    fake.fail_next("sendMessage", status=500, count=MAX_ATTEMPTS, description="Bad Gateway")
    for _ in range(MAX_ATTEMPTS):
        _make_due(engine, second)
        await drain_once(tg, engine, settings)
    row = _row(engine, second)
    assert (row.state, row.attempts) == ("failed", MAX_ATTEMPTS)


async def test_429_waits_retry_after_without_counting_an_attempt(
    fake: FakeBotAPI, tg: Bot, engine: Engine, settings: Settings
) -> None:
    user = fake.user(704)
    note = _note(engine, _person(engine, user.id), "approved", ref="SP-429")
    fake.fail_next("sendMessage", retry_after=40)
    before = utcnow()
    assert await drain_once(tg, engine, settings) == 0
    row = _row(engine, note)
    assert (row.state, row.attempts) == ("pending", 0)
    assert row.next_attempt_at is not None
    wait = (as_utc(row.next_attempt_at) - before).total_seconds()
    assert 39 <= wait <= 45


async def test_blocked_contributor_is_marked_and_not_retried(
    fake: FakeBotAPI, tg: Bot, engine: Engine, settings: Settings
) -> None:
    user = fake.user(705)
    person = _person(engine, user.id)
    first = _note(engine, person, "approved", ref="SP-B1")
    fake.block(user.id)
    assert await drain_once(tg, engine, settings) == 0
    assert _row(engine, first).state == "blocked"
    with Session(engine) as session:
        assert session.get(Contributor, person).bot_blocked_at is not None  # type: ignore[union-attr]
    later = _note(engine, person, "rejected", ref="SP-B2", reason="duplicate")
    calls = len(fake.calls_of("sendMessage"))
    await drain_once(tg, engine, settings)
    assert _row(engine, later).state == "blocked"
    assert len(fake.calls_of("sendMessage")) == calls  # not even tried


async def test_moderators_rows_go_to_the_group(
    fake: FakeBotAPI, tg: Bot, engine: Engine, settings: Settings
) -> None:
    group = fake.group(GROUP)
    note = _note(engine, None, "approved", ref="SP-GRP")
    settings.moderator_chat_id = GROUP
    assert await drain_once(tg, engine, settings) == 1
    assert "SP-GRP" in (await group.next_reply())["text"]
    assert _row(engine, note).state == "sent"
    settings.moderator_chat_id = None
    orphan = _note(engine, None, "approved", ref="SP-NOG")
    await drain_once(tg, engine, settings)
    assert (_row(engine, orphan).state, _row(engine, orphan).last_error) == (
        "failed",
        "no chat to send to",
    )


async def test_a_contributor_who_unblocks_and_writes_again_is_told_again(
    fake: FakeBotAPI, bot: BotApp, tg: Bot, engine: Engine, settings: Settings
) -> None:
    user = fake.user(706, "Yuli", "id")
    user.command("start")  # the bot knows them
    await user.settle()
    with Session(engine) as session:
        person = session.exec(
            select(Contributor).where(Contributor.telegram_user_id == user.id)
        ).one()
    assert person.id is not None
    fake.block(user.id)
    first = _note(engine, person.id, "approved", ref="SP-U1")
    await drain_once(tg, engine, settings)
    assert _row(engine, first).state == "blocked"
    fake.unblock(user.id)
    user.command("status")  # they are back
    await user.settle()
    later = _note(engine, person.id, "question", ref="SP-U2", question="Kapan?")
    await drain_once(tg, engine, settings)
    assert _row(engine, later).state == "sent"


async def test_two_bot_processes_draining_at_once_tell_each_person_once(
    fake: FakeBotAPI, tg: Bot, engine: Engine, settings: Settings
) -> None:
    # Webhook replicas behind a load balancer both drain the outbox: each row is claimed once.
    notes = []
    for number in range(30):
        user = fake.user(7300 + number)
        notes.append(_note(engine, _person(engine, user.id), "approved", ref=f"SP-{number:04d}"))
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as other:
        sent = await asyncio.gather(
            drain_once(tg, engine, settings), drain_once(other, engine, settings)
        )
    assert sum(sent) == 30
    chats = [call["chat_id"] for call in fake.calls_of("sendMessage")]
    assert sorted(chats) == [7300 + number for number in range(30)]  # nobody twice
    assert {_row(engine, note).state for note in notes} == {"sent"}


async def test_a_429_holds_the_rest_of_the_batch_until_telegram_allows(
    fake: FakeBotAPI, tg: Bot, engine: Engine, settings: Settings
) -> None:
    notes = [
        _note(engine, _person(engine, fake.user(7400 + n).id), "approved", ref=f"SP-R{n}")
        for n in range(3)
    ]
    fake.fail_next("sendMessage", retry_after=20)
    before = utcnow()
    assert await drain_once(tg, engine, settings) == 0
    for note in notes:
        row = _row(engine, note)
        assert (row.state, row.attempts) == ("pending", 0)
        assert row.next_attempt_at is not None
        assert 19 <= (as_utc(row.next_attempt_at) - before).total_seconds() <= 25
    assert len(fake.calls_of("sendMessage")) == 1  # stopped after the 429
