"""The Bot API methods the fake answers, as python-telegram-bot and our channel publisher call
them, with Telegram's checks: who may post where, text and caption limits counted in UTF-16,
photos that must be images, albums of 2–10, edits and deletions of messages that exist.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from faketelegram.chats import FakeChat, FakeGroup, FakeUser, Notifier, _public_message

#: Telegram's getFile limit for bots on the public Bot API (20 MB).
DOWNLOAD_LIMIT = 20 * 1024 * 1024
#: sendPhoto: photos at most 10 MB (PLATFORMS.md, Telegram).
PHOTO_LIMIT = 10 * 1024 * 1024
CAPTION_LIMIT = 1024  # UTF-16 code units, after entity parsing
TEXT_LIMIT = 4096
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")
#: sendVoice: "audio must be in an .OGG file encoded with OPUS, or in .MP3 format, or in .M4A
#: format" (Bot API), at most 50 MB.
VOICE_LIMIT = 50 * 1024 * 1024


def utf16(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts texts and captions."""
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An error answered in Telegram's envelope (`parameters` such as `migrate_to_chat_id`)."""

    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.code, self.description = code, description
        self.parameters = dict(parameters or {})
        if retry_after is not None:
            self.parameters["retry_after"] = retry_after


@dataclass
class FileRecord:
    """A file the fake knows: uploaded by a user or by the bot."""

    file_id: str
    file_unique_id: str
    data: bytes
    path: str
    declared_size: int | None = None

    @property
    def size(self) -> int:
        """The size Telegram reports (a declared size wins, to fake huge files cheaply)."""
        return self.declared_size if self.declared_size is not None else len(self.data)


class BotApiMethods:
    """The handlers of FakeBotAPI, one per Bot API method (a mixin: the state lives there)."""

    token: str
    bot_id: int
    bot_username: str
    bot_first_name: str
    privacy_mode: bool
    chats: dict[int, FakeChat]
    users: dict[int, FakeUser]
    groups: dict[int, FakeGroup]
    files: dict[str, FileRecord]
    updates: list[dict[str, Any]]
    callback_answers: dict[str, dict[str, Any]]
    commands: dict[str, list[dict[str, Any]]]
    webhook: dict[str, Any]
    incoming: Notifier
    _confirmed: int
    _message_ids: Iterator[int]
    _file_ids: Iterator[int]

    def next_message_id(self) -> int:
        """A fresh message id."""
        return next(self._message_ids)

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates the bot has not confirmed yet."""
        return [u for u in self.updates if u["update_id"] > self._confirmed]

    def register_file(
        self, data: bytes, *, kind: str, suffix: str = "", declared_size: int | None = None
    ) -> FileRecord:
        """Remember a file; Telegram gives the same file_unique_id to the same content."""
        number = next(self._file_ids)
        unique = "AQAD" + hashlib.sha256(data).hexdigest()[:12]
        record = FileRecord(
            file_id=f"BQACAgUAAx{number:06d}{unique}",
            file_unique_id=unique,
            data=data,
            path=f"{kind}/file_{number}{suffix}",
            declared_size=declared_size,
        )
        self.files[record.file_id] = record
        return record

    async def _true(self, _params: dict[str, Any], _uploads: Any) -> bool:
        return True

    async def _get_me(self, _params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any], _uploads: Any) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        if offset:
            self._confirmed = max(self._confirmed, offset - 1)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates") or None
        deadline = time.monotonic() + timeout
        while True:
            ready = [
                u
                for u in self.pending_updates()
                if not allowed or any(kind in u for kind in allowed)
            ][:limit]
            left = deadline - time.monotonic()
            if ready or left <= 0:
                return ready
            await self.incoming.wait(left)

    async def _set_webhook(self, params: dict[str, Any], _uploads: Any) -> bool:
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
        return True

    async def _delete_webhook(self, params: dict[str, Any], _uploads: Any) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._confirmed = max((u["update_id"] for u in self.updates), default=0)
        return True

    async def _get_webhook_info(self, _params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates()),
        }

    def _target(self, params: dict[str, Any]) -> FakeChat:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        return self.chats[chat_id]

    def _store(
        self, chat: FakeChat, content: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        message = {
            "message_id": self.next_message_id(),
            "date": int(time.time()),
            "chat": chat.as_json(),
            "from": self._bot_user(),
            **content,
        }
        if params.get("reply_markup") is not None:
            message["reply_markup"] = params["reply_markup"]
        reply = params.get("reply_parameters") or {}
        if reply.get("message_id"):
            target = self._message_in(chat, int(reply["message_id"]))
            if target is not None:
                message["reply_to_message"] = {
                    k: v for k, v in _public_message(target).items() if k != "reply_to_message"
                }
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        chat.messages.append(message)
        return message

    def _message_in(self, chat: FakeChat, message_id: int) -> dict[str, Any] | None:
        """A message of `chat` by id: one the bot sent, or one a person sent (an update)."""
        for message in chat.messages:
            if message["message_id"] == message_id and not message.get("_deleted"):
                return message
        for update in self.updates:
            sent = update.get("message")
            if sent and sent["message_id"] == message_id and sent["chat"]["id"] == chat.id:
                return dict(sent)
        return None

    def _find(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(params)
        message_id = int(params.get("message_id") or 0)
        for message in chat.messages:
            if message["message_id"] == message_id and not message.get("_deleted"):
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _send_message(self, params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        chat = self._target(params)
        return _public_message(self._store(chat, {"text": text}, params))

    async def _edit_message_text(self, params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        message = self._find(params)
        text = str(params.get("text") or "")
        if message.get("text") == text and message.get("reply_markup") == params.get(
            "reply_markup"
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message["text"] = text
        message["edit_date"] = int(time.time())
        message.pop("reply_markup", None)
        if params.get("reply_markup") is not None:
            message["reply_markup"] = params["reply_markup"]
        return _public_message(message)

    async def _edit_reply_markup(self, params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        message = self._find(params)
        message.pop("reply_markup", None)
        if params.get("reply_markup") is not None:
            message["reply_markup"] = params["reply_markup"]
        message["edit_date"] = int(time.time())
        return _public_message(message)

    async def _edit_caption(self, params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        message = self._find(params)
        message["caption"] = params.get("caption") or ""
        message["edit_date"] = int(time.time())
        if params.get("reply_markup") is not None:
            message["reply_markup"] = params["reply_markup"]
        return _public_message(message)

    def _may_delete(self, chat: FakeChat) -> None:
        group = self.groups.get(chat.id)
        if group is not None and chat.type == "channel" and not group.bot_can_delete:
            raise ApiError(400, "Bad Request: need administrator rights in the channel chat")

    async def _delete_message(self, params: dict[str, Any], _uploads: Any) -> bool:
        chat = self._target(params)
        self._may_delete(chat)
        message = self._message_in(chat, int(params.get("message_id") or 0))
        if message is None or message not in chat.messages:
            raise ApiError(400, "Bad Request: message to delete not found")
        message["_deleted"] = True
        return True

    async def _delete_messages(self, params: dict[str, Any], _uploads: Any) -> bool:
        """Delete up to 100 messages; those already gone are skipped, as Telegram does."""
        chat = self._target(params)
        self._may_delete(chat)
        ids = params.get("message_ids") or []
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        for message in chat.messages:
            if message["message_id"] in ids:
                message["_deleted"] = True
        return True

    async def _answer_callback(self, params: dict[str, Any], _uploads: Any) -> bool:
        query_id = str(params.get("callback_query_id"))
        self.callback_answers[query_id] = {
            "text": params.get("text"),
            "show_alert": bool(params.get("show_alert")),
        }
        return True

    async def _get_file(self, params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        record = self.files.get(str(params.get("file_id")))
        if record is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if record.size > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
            "file_path": record.path,
        }

    def _media(
        self, value: Any, uploads: dict[str, bytes], field_name: str, *, photo: bool = False
    ) -> FileRecord:
        """A file given as an upload, an attach:// reference or an existing file_id; an
        uploaded photo must be an image of at most 10 MB."""
        data = None
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            if name not in uploads:
                raise ApiError(400, f"Bad Request: file {name} not found in request")
            data = uploads[name]
        elif field_name in uploads:
            data = uploads[field_name]
        elif isinstance(value, str) and value in self.files:
            return self.files[value]
        if data is None:
            raise ApiError(400, "Bad Request: wrong remote file identifier specified")
        if photo and not data.startswith(_IMAGE_MAGIC):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if photo and len(data) > PHOTO_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return self.register_file(data, kind="photos", suffix=".jpg")

    @staticmethod
    def _check_caption(caption: Any) -> None:
        if utf16(str(caption or "")) > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")

    async def _send_photo(self, params: dict[str, Any], uploads: Any) -> dict[str, Any]:
        chat = self._target(params)
        self._check_caption(params.get("caption"))
        record = self._media(params.get("photo"), uploads, "photo", photo=True)
        content: dict[str, Any] = {"photo": [_photo_size(record)]}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return _public_message(self._store(chat, content, params))

    async def _send_document(self, params: dict[str, Any], uploads: Any) -> dict[str, Any]:
        chat = self._target(params)
        record = self._media(params.get("document"), uploads, "document")
        content: dict[str, Any] = {
            "document": {
                "file_id": record.file_id,
                "file_unique_id": record.file_unique_id,
                "file_size": record.size,
            }
        }
        if params.get("caption"):
            content["caption"] = params["caption"]
        return _public_message(self._store(chat, content, params))

    async def _send_voice(self, params: dict[str, Any], uploads: Any) -> dict[str, Any]:
        chat = self._target(params)
        self._check_caption(params.get("caption"))
        data = uploads.get("voice")
        if data is None:  # a file the fake already knows, by its id
            record = self._media(params.get("voice"), uploads, "voice")
        else:
            if not _is_voice(data):
                raise ApiError(400, "Bad Request: voice must be OGG/Opus, MP3 or M4A")
            if len(data) > VOICE_LIMIT:
                raise ApiError(400, "Bad Request: file is too big")
            record = self.register_file(data, kind="voice", suffix=".oga")
        voice: dict[str, Any] = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": int(params.get("duration") or 0),
            "mime_type": "audio/ogg",
            "file_size": record.size,
        }
        content: dict[str, Any] = {"voice": voice}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return _public_message(self._store(chat, content, params))

    async def _send_media_group(self, params: dict[str, Any], uploads: Any) -> list[dict[str, Any]]:
        chat = self._target(params)
        media = params.get("media") or []
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media specified: must be 2-10")
        for item in media:
            if item.get("type") not in ("photo", "document"):
                raise ApiError(400, "Bad Request: wrong media type or file reference")
            self._check_caption(item.get("caption"))
        group_id = str(self.next_message_id() * 7919)
        sent = []
        for item in media:
            record = self._media(item.get("media"), uploads, "", photo=item.get("type") == "photo")
            content: dict[str, Any] = {"media_group_id": group_id}
            if item.get("type") == "document":
                content["document"] = {
                    "file_id": record.file_id,
                    "file_unique_id": record.file_unique_id,
                }
            else:
                content["photo"] = [_photo_size(record)]
            if item.get("caption"):
                content["caption"] = item["caption"]
            reply = (
                {"reply_parameters": params["reply_parameters"]}
                if "reply_parameters" in params
                else {}
            )
            sent.append(_public_message(self._store(chat, content, reply)))
        return sent

    async def _get_chat(self, params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        chat = self._target(params)
        data = chat.as_json()
        data["accent_color_id"] = 0
        data["max_reaction_count"] = 11
        if chat.id in self.users:
            data["first_name"] = self.users[chat.id].first_name
        return data

    async def _get_chat_member(self, params: dict[str, Any], _uploads: Any) -> dict[str, Any]:
        chat = self._target(params)
        user_id = int(params.get("user_id") or 0)
        group = self.groups.get(chat.id)
        status = group.status_of(user_id) if group else "member"
        if user_id != self.bot_id:
            return member_json(self.users.get(user_id), user_id, status)
        member = member_json(None, user_id, status, bot=self._bot_user())
        if group is not None and status == "administrator":
            member["can_delete_messages"] = group.bot_can_delete
            if chat.type == "channel":
                member["can_post_messages"] = group.bot_can_post
                member["can_edit_messages"] = group.bot_can_post
        return member

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    async def _get_chat_administrators(
        self, params: dict[str, Any], _uploads: Any
    ) -> list[dict[str, Any]]:
        chat = self._target(params)
        group = self.groups.get(chat.id)
        if group is None:
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        return [
            member_json(group.members.get(uid), uid, group.status_of(uid))
            for uid in sorted(group.admins)
        ]

    async def _set_my_commands(self, params: dict[str, Any], _uploads: Any) -> bool:
        scope = params.get("scope") or {"type": "default"}
        key = f"{scope.get('type')}:{params.get('language_code') or ''}"
        self.commands[key] = list(params.get("commands") or [])
        return True


def _is_voice(data: bytes) -> bool:
    """OGG (Opus), MP3 (an ID3 tag or a frame header) or M4A, by the first bytes."""
    return data.startswith((b"OggS", b"ID3", b"\xff\xfb", b"\xff\xf3")) or data[4:11] == b"ftypM4A"


def _photo_size(record: FileRecord) -> dict[str, Any]:
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "width": 1280,
        "height": 960,
        "file_size": record.size,
    }


def member_json(
    user: FakeUser | None, user_id: int, status: str, *, bot: dict[str, Any] | None = None
) -> dict[str, Any]:
    user_json = bot or (
        user.as_json() if user else {"id": user_id, "is_bot": False, "first_name": "Someone"}
    )
    data: dict[str, Any] = {"status": status, "user": user_json}
    if status == "administrator":
        data.update(
            {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        )
    elif status == "creator":
        data["is_anonymous"] = False
    elif status == "left":
        pass
    return data
