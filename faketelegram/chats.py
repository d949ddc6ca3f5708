"""Scripted people and chats of the fake Bot API: users who type, send photos and press buttons."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from faketelegram.server import FakeBotAPI

_ids = itertools.count(1)


class Notifier:
    """Wake every coroutine waiting for 'something changed' (single event loop, no locks)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake all current waiters."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Wait until the next notify; False on timeout."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass(repr=False)
class FakeChat:
    """A chat as the fake server sees it: everything the bot sent there, edits applied."""

    server: FakeBotAPI
    id: int
    type: str
    title: str | None = None
    username: str | None = None  # a public group's or channel's @name, without the @
    messages: list[dict[str, Any]] = field(default_factory=list)  # bot messages, live
    posted: list[dict[str, Any]] = field(default_factory=list)  # what people sent here
    _cursor: int = 0

    def as_json(self) -> dict[str, Any]:
        """The Telegram Chat object."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        if self.username:
            data["username"] = self.username
        return data

    @property
    def replies(self) -> list[dict[str, Any]]:
        """Every message the bot sent to this chat and did not delete."""
        return [m for m in self.messages if not m.get("_deleted")]

    @property
    def last_reply(self) -> dict[str, Any]:
        """The newest message from the bot."""
        return self.replies[-1]

    def unread(self) -> list[dict[str, Any]]:
        """Bot messages not yet returned by `next_reply`/`unread`; marks them read."""
        fresh = self.messages[self._cursor :]
        self._cursor = len(self.messages)
        return fresh

    async def next_reply(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next bot message in this chat (waits for it); raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while self._cursor >= len(self.messages):
            left = deadline - time.monotonic()
            if left <= 0 or not await self.server.outgoing.wait(left):
                if self._cursor < len(self.messages):
                    break
                raise TimeoutError(f"no reply in chat {self.id} within {timeout}s")
        message = self.messages[self._cursor]
        self._cursor += 1
        return message

    async def replies_until(self, predicate: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Read replies until one satisfies `predicate(message)`; returns all read."""
        read: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            message = await self.next_reply(max(0.01, deadline - time.monotonic()))
            read.append(message)
            if predicate(message):
                return read

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the bot has handled everything sent so far; return the unread messages.

        With the harness running the bot (`server.idle_hook` set) this is exact: every update
        confirmed by the next getUpdates, the bot's queue empty, its pending answers sent.
        Otherwise it waits for `quiet` seconds without bot activity.
        """
        deadline = time.monotonic() + timeout
        hook = self.server.idle_hook
        if hook is not None:
            while True:
                while self.server.pending_updates():
                    if time.monotonic() > deadline:
                        raise TimeoutError("the bot did not fetch its updates")
                    await asyncio.sleep(0.01)
                await asyncio.wait_for(hook(), max(0.01, deadline - time.monotonic()))
                if not self.server.pending_updates():
                    return self.unread()
        seen = -1
        while time.monotonic() < deadline:
            count = self.server.request_count
            await asyncio.sleep(quiet)
            if self.server.request_count == count and not self.server.pending_updates():
                if seen == count:
                    break
                seen = count
        return self.unread()

    def photos(self) -> list[bytes]:
        """The bytes of every photo or document the bot sent to this chat."""
        found: list[bytes] = []
        for message in self.replies:
            if message.get("photo"):
                found.append(self.server.file_bytes(message["photo"][-1]["file_id"]))
            elif message.get("document"):
                found.append(self.server.file_bytes(message["document"]["file_id"]))
        return found

    def voices(self) -> list[bytes]:
        """The bytes of every voice message the bot sent to this chat."""
        return [
            self.server.file_bytes(message["voice"]["file_id"])
            for message in self.replies
            if message.get("voice")
        ]


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button of a message's keyboard (inline or reply), flattened."""
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [
        button if isinstance(button, dict) else {"text": button} for row in rows for button in row
    ]


def button_texts(message: dict[str, Any]) -> list[str]:
    """The labels of a message's buttons."""
    return [str(button["text"]) for button in buttons_of(message)]


@dataclass(repr=False)
class FakeUser:
    """A Telegram user scripted from Python; their private chat with the bot is `chat`."""

    server: FakeBotAPI
    id: int
    first_name: str
    language_code: str | None = "id"
    username: str | None = None
    last_name: str | None = None
    chat: FakeChat = field(init=False)

    def __post_init__(self) -> None:
        self.chat = self.server.chat(self.id, "private")

    def as_json(self) -> dict[str, Any]:
        """The Telegram User object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    # Conveniences on the private chat
    @property
    def messages(self) -> list[dict[str, Any]]:
        """The bot's messages in the private chat."""
        return self.chat.replies

    async def next_reply(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message from the bot in the private chat."""
        return await self.chat.next_reply(timeout)

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait for the bot to go quiet; the unread messages of the private chat."""
        return await self.chat.settle(quiet, timeout)

    # What a user can send
    def _send(self, content: dict[str, Any], chat: FakeChat | None = None) -> dict[str, Any]:
        target = chat or self.chat
        message = {
            "message_id": self.server.next_message_id(),
            "date": int(time.time()),
            "chat": target.as_json(),
            "from": self.as_json(),
            **content,
        }
        target.posted.append(message)
        self.server.push_update("message", message)
        return message

    def send_text(self, text: str, *, chat: FakeChat | None = None) -> dict[str, Any]:
        """Type a message; a leading /command and @mentions get their entities."""
        content: dict[str, Any] = {"text": text}
        entities = _entities(text, self.server.bot_username)
        if entities:
            content["entities"] = entities
        return self._send(content, chat)

    def edit_text(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """Edit one of this user's earlier text messages (an `edited_message` update)."""
        edited = {**message, "text": text, "edit_date": int(time.time())}
        self.server.push_update("edited_message", edited)
        return edited

    def command(self, name: str, args: str = "", *, chat: FakeChat | None = None) -> dict[str, Any]:
        """Send `/name args`."""
        return self.send_text(f"/{name} {args}".strip(), chat=chat)

    def send_photo(
        self,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        chat: FakeChat | None = None,
    ) -> dict[str, Any]:
        """Send a compressed photo; like Telegram, the fake re-encodes it without metadata."""
        stripped, width, height = _strip_like_telegram(data)
        record = self.server.register_file(stripped, kind="photos", suffix=".jpg")
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": record.file_id,
                    "file_unique_id": record.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": record.size,
                }
            ]
        }
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._send(content, chat)

    def send_album(
        self, photos: Iterable[bytes], *, caption: str | None = None, as_files: bool = False
    ) -> list[dict[str, Any]]:
        """Send an album: several updates sharing one media_group_id (caption on the first)."""
        group_id = str(next(_ids) + 13_000_000_000)
        sent = []
        for index, data in enumerate(photos):
            text = caption if index == 0 else None
            if as_files:
                sent.append(
                    self.send_document(
                        data,
                        file_name=f"IMG_{index + 1:04d}.jpg",
                        mime_type="image/jpeg",
                        caption=text,
                        media_group_id=group_id,
                    )
                )
            else:
                sent.append(self.send_photo(data, caption=text, media_group_id=group_id))
        return sent

    def send_document(
        self,
        data: bytes,
        *,
        file_name: str,
        mime_type: str | None,
        caption: str | None = None,
        media_group_id: str | None = None,
        declared_size: int | None = None,
        chat: FakeChat | None = None,
    ) -> dict[str, Any]:
        """Send a file as-is (metadata kept); `declared_size` fakes a huge file cheaply."""
        record = self.server.register_file(
            data, kind="documents", suffix="", declared_size=declared_size
        )
        document: dict[str, Any] = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_name": file_name,
            "file_size": record.size,
        }
        if mime_type:
            document["mime_type"] = mime_type
        content: dict[str, Any] = {"document": document}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._send(content, chat)

    def send_voice(
        self, data: bytes, *, duration: int = 5, mime_type: str = "audio/ogg"
    ) -> dict[str, Any]:
        """Send a voice note."""
        record = self.server.register_file(data, kind="voice", suffix=".oga")
        voice = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": duration,
            "mime_type": mime_type,
            "file_size": record.size,
        }
        return self._send({"voice": voice})

    def send_audio(
        self, data: bytes, *, duration: int = 5, mime_type: str = "audio/mpeg"
    ) -> dict[str, Any]:
        """Send an audio file."""
        record = self.server.register_file(data, kind="music", suffix=".mp3")
        audio = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": duration,
            "mime_type": mime_type,
            "file_size": record.size,
        }
        return self._send({"audio": audio})

    def send_location(
        self, latitude: float, longitude: float, *, live_period: int | None = None
    ) -> dict[str, Any]:
        """Share a location (a live one, updated by `move_location`, with `live_period`)."""
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            location["live_period"] = live_period
        return self._send({"location": location})

    def move_location(
        self, message: dict[str, Any], latitude: float, longitude: float
    ) -> dict[str, Any]:
        """A live location moved: Telegram sends it as an `edited_message` update."""
        location = {**message["location"], "latitude": latitude, "longitude": longitude}
        edited = {**message, "location": location, "edit_date": int(time.time())}
        self.server.push_update("edited_message", edited)
        return edited

    def send_sticker(self) -> dict[str, Any]:
        """Send a sticker."""
        record = self.server.register_file(b"RIFF-sticker", kind="stickers", suffix=".webp")
        sticker = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "🌊",
        }
        return self._send({"sticker": sticker})

    def send_animation(self) -> dict[str, Any]:
        """Send a GIF (Telegram sends an animation plus a document)."""
        record = self.server.register_file(b"GIF89a-fake", kind="animations", suffix=".mp4")
        animation = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "width": 320,
            "height": 240,
            "duration": 2,
            "file_name": "tide.gif.mp4",
            "mime_type": "video/mp4",
        }
        document = {
            k: animation[k] for k in ("file_id", "file_unique_id", "file_name", "mime_type")
        }
        return self._send({"animation": animation, "document": document})

    def send_contact(self, phone_number: str = "+6281234567890") -> dict[str, Any]:
        """Share a contact card."""
        return self._send({"contact": {"phone_number": phone_number, "first_name": "Mama Yuli"}})

    def send_poll(self) -> dict[str, Any]:
        """Send a poll."""
        poll = {
            "id": str(next(_ids)),
            "question": "Air naik lagi?",
            "options": [
                {"persistent_id": "1", "text": "Ya", "voter_count": 0},
                {"persistent_id": "2", "text": "Tidak", "voter_count": 0},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
        return self._send({"poll": poll})

    def press(
        self,
        label: str,
        *,
        message: dict[str, Any] | None = None,
        chat: FakeChat | None = None,
    ) -> str:
        """Press an inline button by its text or callback data; returns the callback query id.

        Without `message`, the newest bot message carrying such a button is used.
        """
        target = chat or self.chat
        candidates = [message] if message is not None else list(reversed(target.replies))
        for candidate in candidates:
            for button in buttons_of(candidate):
                data = button.get("callback_data")
                if data is not None and label in (button.get("text"), data):
                    query_id = str(next(_ids))
                    self.server.push_update(
                        "callback_query",
                        {
                            "id": query_id,
                            "from": self.as_json(),
                            "message": _public_message(candidate),
                            "chat_instance": str(target.id),
                            "data": data,
                        },
                    )
                    return query_id
        raise LookupError(f"no button {label!r} in chat {target.id}")

    async def answer_to(self, query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The bot's answerCallbackQuery for a press (waits for it)."""
        deadline = time.monotonic() + timeout
        while query_id not in self.server.callback_answers:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"callback {query_id} not answered")
            await self.server.outgoing.wait(left)
        return self.server.callback_answers[query_id]


@dataclass(repr=False)
class FakeGroup:
    """A group or supergroup with members and admins; people post there through `send_text`."""

    server: FakeBotAPI
    chat: FakeChat
    members: dict[int, FakeUser] = field(default_factory=dict)
    admins: set[int] = field(default_factory=set)
    creator: int | None = None
    #: The bot's own ChatMember status here: "member", "administrator", or "left"/"kicked" (then
    #: every Bot API call on the group is refused with 403, as Telegram does).
    bot_status: str = "member"
    #: The bot's rights when it is an administrator ('Post messages' exists in channels only).
    bot_can_post: bool = True
    bot_can_delete: bool = True

    @property
    def id(self) -> int:
        """The group's chat id."""
        return self.chat.id

    def add(self, user: FakeUser, *, admin: bool = False, creator: bool = False) -> None:
        """Make `user` a member (or admin, or creator)."""
        self.members[user.id] = user
        if admin or creator:
            self.admins.add(user.id)
        if creator:
            self.creator = user.id

    def set_admin(self, user: FakeUser, admin: bool, *, by: FakeUser | None = None) -> None:
        """Promote or demote `user`; Telegram tells the bot with a `chat_member` update."""
        old = self.status_of(user.id)
        self.members[user.id] = user
        if admin:
            self.admins.add(user.id)
        else:
            self.admins.discard(user.id)
        self.server.member_changed(self, user, old, by=by)

    def send_text(self, user: FakeUser, text: str) -> dict[str, Any]:
        """`user` posts text in the group."""
        return user.send_text(text, chat=self.chat)

    def press(self, user: FakeUser, label: str, *, message: dict[str, Any] | None = None) -> str:
        """`user` presses a button of a bot message in the group."""
        return user.press(label, message=message, chat=self.chat)

    async def next_reply(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next bot message in the group."""
        return await self.chat.next_reply(timeout)

    def status_of(self, user_id: int) -> str:
        """Telegram's ChatMember status for a user (or the bot)."""
        if user_id == self.server.bot_id:
            return self.bot_status
        if user_id == self.creator:
            return "creator"
        if user_id in self.admins:
            return "administrator"
        if user_id in self.members:
            return "member"
        return "left"


def _public_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored bot message as Telegram would serialise it (inline keyboards only)."""
    out = {k: v for k, v in message.items() if not k.startswith("_")}
    markup = out.get("reply_markup")
    if markup is not None and "inline_keyboard" not in markup:
        del out["reply_markup"]
    return out


def _entities(text: str, bot_username: str) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0])
        entities.append({"type": "bot_command", "offset": 0, "length": length})
    mention = f"@{bot_username}"
    start = text.find(mention)
    if start > 0 or (start == 0 and not text.startswith("/")):
        entities.append({"type": "mention", "offset": start, "length": len(mention)})
    return entities


def _strip_like_telegram(data: bytes) -> tuple[bytes, int, int]:
    """Re-encode an image as Telegram does for photos (metadata gone); other bytes unchanged."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=85)
            return out.getvalue(), width, height
    except (UnidentifiedImageError, OSError):
        return data, 1280, 960
