"""A fake Telegram Bot API for channel posts (PLATFORMS.md, Telegram channel).

Enforces: the token in the path, the channel's chat id (and a migrated chat), the bot being an
admin, caption ≤ 1024 and text ≤ 4096 UTF-16 units, photos present as multipart `attach://`
files, 2–10 items per album, caption errors in the Bot API's own words and envelope.

`getMe`, `getChat` and `getChatMember` (of the bot itself) answer what the bot may do there: an
administrator with or without 'Post messages' and 'Delete messages'; an admin without 'Post
messages' is refused sending with "need administrator rights in the channel chat".
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakePlatform, Request, Response

JPEG_MAGIC = b"\xff\xd8\xff"


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def error(code: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response(code, body)


@dataclass
class ChannelMessage:
    message_id: int
    text: str | None = None
    caption: str | None = None
    photo: bytes | None = None
    media_group_id: str | None = None


@dataclass
class FakeTelegram(FakePlatform):
    token: str = "123456:TEST-token"
    chat_id: str = "@suarapesisir"
    bot_is_admin: bool = True
    bot_can_post: bool = True
    bot_can_delete: bool = True
    bot_username: str = "SuaraPesisirBot"
    channel_title: str = "Suara Pesisir"
    migrated_to: int | None = None
    messages: dict[int, ChannelMessage] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(100)
        self._groups = itertools.count(9000)

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def _ok(self, result: Any) -> Response:
        return Response(200, {"ok": True, "result": result})

    def _message(self, message: ChannelMessage) -> dict[str, Any]:
        self.messages[message.message_id] = message
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "chat": {"id": -1001234567890, "type": "channel", "username": self.chat_id.lstrip("@")},
            "date": 1_700_000_000,
        }
        if message.text is not None:
            result["text"] = message.text
        if message.caption:
            result["caption"] = message.caption
        if message.photo is not None:
            result["photo"] = [
                {"file_id": f"photo-{message.message_id}", "file_size": len(message.photo)}
            ]
        if message.media_group_id:
            result["media_group_id"] = message.media_group_id
        return result

    def handle(self, request: Request) -> Response:
        _, _, rest = request.path.partition("/bot")
        token, _, method = rest.partition("/")
        if token != self.token:
            return error(401, "Unauthorized")
        fields = request.fields()
        if method == "getMe":
            return self._ok(self._bot())
        if self.migrated_to is not None:
            return error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated_to,
            )
        if fields.get("chat_id") != self.chat_id:
            return error(400, "Bad Request: chat not found")
        if not self.bot_is_admin:
            return error(403, "Forbidden: bot is not a member of the channel chat")
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return error(404, "Not Found")
        if method.startswith(("send", "delete")) and not (
            self.bot_can_delete if method.startswith("delete") else self.bot_can_post
        ):
            return error(400, "Bad Request: need administrator rights in the channel chat")
        response: Response = handler(request, fields)
        return response

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":")[0])

    def _bot(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Suara Pesisir",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _getChat(self, request: Request, fields: dict[str, str]) -> Response:
        chat: dict[str, Any] = {
            "id": -1001234567890,
            "type": "channel",
            "title": self.channel_title,
            "accent_color_id": 0,
            "max_reaction_count": 11,
        }
        if self.chat_id.startswith("@"):
            chat["username"] = self.chat_id.lstrip("@")
        return self._ok(chat)

    def _getChatMember(self, request: Request, fields: dict[str, str]) -> Response:
        if fields.get("user_id") != str(self.bot_id):
            # Bots see the member list of a channel only as far as its admins go.
            return error(400, "Bad Request: user not found")
        return self._ok(
            {
                "status": "administrator",
                "user": {k: v for k, v in self._bot().items() if not k.startswith(("can", "sup"))},
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": self.bot_can_delete,
                "can_manage_video_chats": False,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": False,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_post_messages": self.bot_can_post,
                "can_edit_messages": self.bot_can_post,
            }
        )

    def _photo(self, request: Request, name: str) -> bytes | Response:
        part = request.multipart().get(name)
        if part is None or not part.filename:
            return error(400, "Bad Request: there is no photo in the request")
        if not part.data.startswith(JPEG_MAGIC):
            return error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if len(part.data) > 10 * 1024 * 1024:
            return error(400, "Bad Request: file is too big")
        return part.data

    def _sendMessage(self, request: Request, fields: dict[str, str]) -> Response:
        text = fields.get("text", "")
        if not text.strip():
            return error(400, "Bad Request: message text is empty")
        if utf16(text) > 4096:
            return error(400, "Bad Request: message is too long")
        return self._ok(self._message(ChannelMessage(next(self._ids), text=text)))

    def _sendPhoto(self, request: Request, fields: dict[str, str]) -> Response:
        caption = fields.get("caption", "")
        if utf16(caption) > 1024:
            return error(400, "Bad Request: message caption is too long")
        photo = self._photo(request, "photo")
        if isinstance(photo, Response):
            return photo
        return self._ok(
            self._message(ChannelMessage(next(self._ids), caption=caption, photo=photo))
        )

    def _sendMediaGroup(self, request: Request, fields: dict[str, str]) -> Response:
        try:
            media = json.loads(fields.get("media", ""))
        except json.JSONDecodeError:
            return error(400, "Bad Request: can't parse media JSON object")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            return error(400, "Bad Request: wrong number of media specified: must be 2-10")
        photos: list[tuple[bytes, str]] = []
        for item in media:
            if item.get("type") != "photo" or not str(item.get("media", "")).startswith(
                "attach://"
            ):
                return error(400, "Bad Request: wrong media type or file reference")
            if utf16(item.get("caption", "")) > 1024:
                return error(400, "Bad Request: message caption is too long")
            photo = self._photo(request, item["media"].removeprefix("attach://"))
            if isinstance(photo, Response):
                return photo
            photos.append((photo, item.get("caption", "")))
        group = str(next(self._groups))
        return self._ok(
            [
                self._message(
                    ChannelMessage(
                        next(self._ids), caption=caption, photo=photo, media_group_id=group
                    )
                )
                for photo, caption in photos
            ]
        )

    def _deleteMessage(self, request: Request, fields: dict[str, str]) -> Response:
        if self.messages.pop(int(fields.get("message_id", "0")), None) is None:
            return error(400, "Bad Request: message to delete not found")
        return self._ok(True)

    def _deleteMessages(self, request: Request, fields: dict[str, str]) -> Response:
        ids = json.loads(fields.get("message_ids", "[]"))
        if not 1 <= len(ids) <= 100:
            return error(400, "Bad Request: message identifiers are not specified")
        for message_id in ids:
            self.messages.pop(int(message_id), None)
        return self._ok(True)
