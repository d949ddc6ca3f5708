"""Webhook mode: Telegram posts updates to the bot, which checks the secret token."""

from __future__ import annotations

import socket

import httpx
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from cli.harness import running_bot, settings_for
from core.config import Settings
from faketelegram import FakeBotAPI


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_with_secret(fake: FakeBotAPI, settings: Settings, engine: Engine) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    configured = settings_for(
        fake,
        settings,
        webhook_url=url,
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret=SecretStr("s3cret-Token_1"),
    )
    user = fake.user(41, "Yuli", "id")
    async with running_bot(fake, configured, engine):
        assert fake.webhook == {"url": url, "secret_token": "s3cret-Token_1"}
        user.command("start")
        assert "Suara Pesisir" in (await user.next_reply())["text"]
        async with httpx.AsyncClient() as client:
            forged = await client.post(
                url,
                json={
                    "update_id": 999,
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "chat": {"id": 41, "type": "private"},
                        "text": "/start",
                    },
                },
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
        assert forged.status_code == 403
        assert fake.webhook_statuses == [200]
