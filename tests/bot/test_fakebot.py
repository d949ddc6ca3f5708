"""The fake Bot API itself: errors in Telegram's envelope, token check, file limits."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from faketelegram import DOWNLOAD_LIMIT, FakeBotAPI


async def _bot(fake: FakeBotAPI, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


async def test_wrong_token_is_401(fake: FakeBotAPI) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.base_url}999:wrong/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with pytest.raises(InvalidToken):
        async with await _bot(fake, "999:wrong-token-but-well-formed"):
            pass


async def test_errors_blocked_429_and_big_files(fake: FakeBotAPI) -> None:
    user = fake.user(42, "Yuli")
    async with await _bot(fake) as bot:
        assert (await bot.get_me()).username == fake.bot_username
        await bot.send_message(user.id, "halo")
        assert (await user.next_reply())["text"] == "halo"
        fake.fail_next("sendMessage", retry_after=3)
        with pytest.raises(RetryAfter, match="Retry in 0:00:03"):
            await bot.send_message(user.id, "lagi")
        fake.block(user.id)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(user.id, "lagi")
        fake.unblock(user.id)
        small = user.send_document(b"%PDF-1.4", file_name="a.pdf", mime_type="application/pdf")
        data = await (await bot.get_file(small["document"]["file_id"])).download_as_bytearray()
        assert bytes(data) == b"%PDF-1.4"
        big = user.send_document(
            b"x", file_name="big.jpg", mime_type="image/jpeg", declared_size=DOWNLOAD_LIMIT + 1
        )
        with pytest.raises(BadRequest, match="too big"):
            await bot.get_file(big["document"]["file_id"])
        updates = await bot.get_updates(timeout=0)
        assert [u.message.document.file_name for u in updates if u.message] == ["a.pdf", "big.jpg"]


async def test_groups_admins_and_media_sent_by_the_bot(fake: FakeBotAPI) -> None:
    from telegram import InputMediaPhoto

    from faketelegram.images import jpeg

    admin, member = fake.user(1, "Ani"), fake.user(2, "Budi")
    group = fake.group(-100777, "Moderator", members=(member,), admins=(admin,))
    async with await _bot(fake) as bot:
        assert (await bot.get_chat(group.id)).title == "Moderator"
        admins = await bot.get_chat_administrators(group.id)
        assert [a.user.id for a in admins] == [admin.id]
        assert (await bot.get_chat_member(group.id, member.id)).status == "member"
        assert (await bot.get_chat_member(group.id, 999)).status == "left"
        pictures = [jpeg(color=(200, 0, 0)), jpeg(color=(0, 200, 0))]
        sent = await bot.send_media_group(group.id, [InputMediaPhoto(p) for p in pictures])
        card = await bot.send_photo(group.id, pictures[0], caption="SP-7K3Q")
        await bot.edit_message_caption(group.id, card.message_id, caption="SP-7K3Q ✅")
        await bot.delete_message(group.id, sent[0].message_id)
    assert group.chat.photos() == [pictures[1], pictures[0]]
    assert group.chat.last_reply["caption"] == "SP-7K3Q ✅"


async def test_a_webhook_not_listening_yet_still_gets_the_update(fake: FakeBotAPI) -> None:
    # python-telegram-bot registers its webhook before its server listens; Telegram retries.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    received: list[dict[str, object]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with await _bot(fake) as bot:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
    fake.user(43, "Yuli").command("start")
    await asyncio.sleep(0.3)  # nobody listens yet: the first tries are refused
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()
    assert [update["message"]["text"] for update in received] == ["/start"]  # type: ignore[index]
    assert fake.webhook_statuses == [200] and not fake.pending_updates()
