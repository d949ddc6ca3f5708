"""Telegram channel over the Bot API: sendMessage, sendPhoto or sendMediaGroup (PLATFORMS.md).

The bot must be an admin of the channel. The token sits in the URL path, so neither URLs nor
requests' exception texts are ever logged or put in an error message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import requests
from pydantic import SecretStr

from core.config import Settings
from core.errors import ConfigError
from publishers.base import (
    NEVER,
    AuthError,
    PermanentError,
    Post,
    Publisher,
    PublishError,
    Receipt,
    RetryableError,
    SetupHints,
    UncertainError,
)
from publishers.http import (
    UPLOAD_TIMEOUT,
    body_json,
    may_have_reached_server,
    new_session,
    retry_after_seconds,
)
from publishers.text import ChannelRules, utf16_units

logger = logging.getLogger(__name__)


def _caption_fits(text: str) -> bool:
    return utf16_units(text) <= 1024


def _message_fits(text: str) -> bool:
    return utf16_units(text) <= 4096


class TelegramChannelPublisher(Publisher):
    """Posts to a Telegram channel; no idempotency, so at most once (UncertainError)."""

    kind: ClassVar[str] = "telegram_channel"
    # PLATFORMS.md Telegram: caption 0–1024 UTF-16 units after entity parsing, message 4096 (we
    # send no parse mode, so the visible text is what counts); sendMediaGroup takes 2–10 photos;
    # photos ≤ 10 MB, width + height ≤ 10000, aspect ratio ≤ 20. `web` is the largest rendition.
    rules: ClassVar[ChannelRules] = ChannelRules(
        _caption_fits,
        _message_fits,
        10,
        ("web", "feed"),
        10_000_000,
        max_dimension_sum=10_000,
        max_aspect_ratio=20.0,
    )
    # PLATFORMS.md Telegram: the Bot API has no idempotency; a resend may post twice.
    resend_safe_seconds: ClassVar[float] = NEVER
    # PLATFORMS.md Telegram: 20 messages/min per channel (an album counts each photo).
    rate_per_minute: ClassVar[int | None] = 20
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_TELEGRAM_TOKEN (the bot's token from @BotFather) and "
        "PESISIR_TELEGRAM_CHANNEL_CHAT_ID (@channelname or -100…)",
        auth="in the channel: Administrators → Add Admin → the bot, with 'Post messages' "
        "(and 'Delete messages'); a refused token: @BotFather → /mybots → API Token",
        unreachable="Telegram did not answer: check the network and PESISIR_TELEGRAM_BASE_URL, "
        "then run pesisir check again",
        refused="check PESISIR_TELEGRAM_CHANNEL_CHAT_ID (or the channel's chat_id config): "
        "@name for a public channel, the -100… id for a private one",
    )

    def __init__(
        self,
        *,
        token: SecretStr,
        chat_id: str,
        base_url: str = "https://api.telegram.org/bot",
        public_username: str | None = None,
        timeout: tuple[float, float] = UPLOAD_TIMEOUT,
    ) -> None:
        self._token = token
        self.chat_id = chat_id
        self.base_url = base_url
        # A public channel's @username makes t.me links; a private -100… id has none.
        username = public_username or (chat_id if chat_id.startswith("@") else None)
        self.public_username = username.lstrip("@") if username else None
        self.timeout = timeout
        self._session = new_session()

    @classmethod
    def from_settings(
        cls, settings: Settings, config: Mapping[str, Any]
    ) -> TelegramChannelPublisher:
        """Token from `PESISIR_TELEGRAM_TOKEN`; chat id from config or settings."""
        chat_id = config.get("chat_id") or settings.telegram_channel_chat_id
        if settings.telegram_token is None or not chat_id:
            raise ConfigError(
                "telegram_channel needs PESISIR_TELEGRAM_TOKEN and "
                "PESISIR_TELEGRAM_CHANNEL_CHAT_ID (or chat_id in the channel config)"
            )
        return cls(
            token=settings.telegram_token,
            chat_id=str(chat_id),
            base_url=settings.telegram_base_url,
            public_username=config.get("username"),
        )

    # ------------------------------------------------------------------ transport

    def _call(
        self,
        method: str,
        *,
        data: dict[str, Any],
        files: dict[str, tuple[str, bytes, str]] | None = None,
        safe_to_retry: bool,
    ) -> Any:
        url = f"{self.base_url}{self._token.get_secret_value()}/{method}"
        try:
            response = self._session.post(url, data=data, files=files, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            # Never put str(exc) in a message: it contains the URL, and so the token.
            if may_have_reached_server(exc) and not safe_to_retry:
                raise UncertainError(
                    f"Telegram {method} timed out after sending; the post may be in the "
                    "channel: check it before sending again"
                ) from None
            raise RetryableError(f"Telegram {method}: {type(exc).__name__}") from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
        ) as exc:
            # Nothing was sent: the base URL is wrong. requests' text holds the token: drop it.
            raise AuthError(
                f"Telegram {method}: {type(exc).__name__}: check PESISIR_TELEGRAM_BASE_URL"
            ) from None
        return self._result(method, response)

    def _result(self, method: str, response: requests.Response) -> Any:
        payload = body_json(response)
        if isinstance(payload, dict) and payload.get("ok") is True:
            return payload.get("result")
        raise classify(method, response.status_code, response.headers, payload)

    # ------------------------------------------------------------------ setup check

    def check(self) -> str:
        """getMe, getChat on the channel and getChatMember of the bot: it must be an admin
        allowed to post; posts nothing."""
        me = self._call("getMe", data={}, safe_to_retry=True)
        chat = self._call("getChat", data={"chat_id": self.chat_id}, safe_to_retry=True)
        member = self._call(
            "getChatMember",
            data={"chat_id": self.chat_id, "user_id": me["id"]},
            safe_to_retry=True,
        )
        where = f"@{chat['username']}" if chat.get("username") else repr(chat.get("title", ""))
        bot = f"@{me.get('username')}"
        status = member.get("status")
        if status not in ("administrator", "creator"):
            raise AuthError(f"{bot} is not an administrator of {where} (it is {status!r})")
        # Only channels have the 'Post messages' right; in a group an admin may always post.
        if chat.get("type") == "channel" and status == "administrator":
            if not member.get("can_post_messages"):
                raise AuthError(f"{bot} is an admin of {where} without 'Post messages'")
            if not member.get("can_delete_messages"):
                return (
                    f"{bot} may post to {where}, but without 'Delete messages' it cannot take "
                    "down the posts of withdrawn stories"
                )
        return f"{bot} may post to {where}"

    # ------------------------------------------------------------------ publishing

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Send the post: a text message, one photo with caption, or an album of 2–10."""
        images = post.images[: self.rules.max_images]
        if not images:
            result = self._call(
                "sendMessage",
                data={"chat_id": self.chat_id, "text": post.text},
                safe_to_retry=False,
            )
            messages = [result]
        elif len(images) == 1:
            result = self._call(
                "sendPhoto",
                data={"chat_id": self.chat_id, "caption": post.text},
                files={"photo": _file(images[0].path, images[0].mime_type)},
                safe_to_retry=False,
            )
            messages = [result]
        else:
            media: list[dict[str, Any]] = []
            files: dict[str, tuple[str, bytes, str]] = {}
            for number, image in enumerate(images):
                attach = f"photo{number}"
                item: dict[str, Any] = {"type": "photo", "media": f"attach://{attach}"}
                if number == 0 and post.text:
                    # Only the first item's caption becomes the album's caption.
                    item["caption"] = post.text
                media.append(item)
                files[attach] = _file(image.path, image.mime_type)
            result = self._call(
                "sendMediaGroup",
                data={"chat_id": self.chat_id, "media": json.dumps(media)},
                files=files,
                safe_to_retry=False,
            )
            messages = list(result)
        ids = [int(message["message_id"]) for message in messages if message]
        if not ids:
            raise UncertainError("Telegram answered ok without a message id: check the channel")
        url = f"https://t.me/{self.public_username}/{ids[0]}" if self.public_username else None
        logger.info("telegram post %s sent as %d message(s)", idempotency_key, len(ids))
        return Receipt(
            remote_id=str(ids[0]),
            url=url,
            extra={"chat_id": self.chat_id, "message_ids": ids},
        )

    def delete(self, receipt: Receipt) -> bool:
        """Delete the post's messages (deleteMessages; bots may delete channel posts < 48 h)."""
        ids = receipt.extra.get("message_ids") or [int(receipt.remote_id)]
        chat_id = receipt.extra.get("chat_id", self.chat_id)
        try:
            if len(ids) == 1:
                self._call(
                    "deleteMessage",
                    data={"chat_id": chat_id, "message_id": ids[0]},
                    safe_to_retry=True,
                )
            else:
                self._call(
                    "deleteMessages",
                    data={"chat_id": chat_id, "message_ids": json.dumps(ids)},
                    safe_to_retry=True,
                )
        except PermanentError as exc:
            # "message can't be deleted" (too old) or "message to delete not found".
            logger.warning("telegram could not delete message(s): %s", exc)
            return False
        return True


def _file(path: Path, mime_type: str) -> tuple[str, bytes, str]:
    return (path.name, path.read_bytes(), mime_type)


def classify(method: str, status: int, headers: Mapping[str, str], payload: Any) -> PublishError:
    """The typed error for a Bot API failure, read from `error_code` and `parameters`."""
    body = payload if isinstance(payload, dict) else {}
    code = int(body.get("error_code") or status)
    description = str(body.get("description") or f"HTTP {status}")
    parameters = body.get("parameters") or {}
    message = f"Telegram {method}: {description}"
    if "migrate_to_chat_id" in parameters:
        # Every later post to this chat fails the same way until the chat id is changed: pause
        # the channel (AuthError) so its other posts wait instead of each failing.
        return AuthError(
            f"{message}. The group became a supergroup: update the channel's chat id to "
            f"{parameters['migrate_to_chat_id']}"
        )
    if code == 429 or "retry_after" in parameters:
        retry_after = parameters.get("retry_after")
        if retry_after is None:
            retry_after = retry_after_seconds(headers)
        return RetryableError(
            message, retry_after=float(retry_after) if retry_after is not None else None
        )
    if code in (401, 403):
        return AuthError(message)
    if code >= 500 or status >= 500:
        return RetryableError(message)
    return PermanentError(message)
