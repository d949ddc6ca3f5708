"""Updates of different chats are handled at once; each chat's stay in order."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from bot.app import BotApp
from faketelegram import FakeBotAPI
from faketelegram.images import jpeg
from tests.bot.helpers import stories_of


async def test_a_chat_s_messages_stay_in_order_while_others_run_beside_them(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    people = [fake.user(800 + n, f"Warga{n}", "id") for n in range(8)]
    for number in range(12):  # twelve short messages each, interleaved across the chats
        for person in people:
            person.send_text(f"bagian {number} dari {person.first_name}")
    await asyncio.gather(*(person.settle(quiet=0.5, timeout=30) for person in people))
    for person in people:
        [story] = stories_of(engine, person.id)
        parts = (story.text or "").split("\n\n")
        assert parts == [f"bagian {n} dari {person.first_name}" for n in range(12)]


async def test_a_slow_download_in_one_chat_does_not_hold_up_another(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    slow, quick = fake.user(850, "Lambat", "id"), fake.user(851, "Cepat", "id")
    fake.download_delay = 3.0  # every photo download takes three seconds
    slow.send_photo(jpeg(label="lambat"))
    await asyncio.sleep(0.3)  # the photo's handler is now waiting for its download
    quick.send_text("Air laut masuk rumah di Oesapa.")
    await quick.next_reply(timeout=10)
    # Handled one at a time, the text would wait for the download: the photo is still unsaved.
    assert not slow.messages
    await slow.next_reply(timeout=15)
