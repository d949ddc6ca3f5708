"""A fake Telegram Bot API on 127.0.0.1 that speaks what python-telegram-bot 22 calls.

One aiohttp app: `/bot<token>/<method>` for the API (form or multipart, Telegram's error
envelope, 401 on a wrong token) and `/file/bot<token>/<path>` for downloads. People are scripted
from Python in the same event loop (`server.user(...)`, `server.group(...)`).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from cli.fakebot.chats import FakeChat, FakeGroup, FakeUser, Notifier, _public_message

logger = logging.getLogger(__name__)

#: Telegram's getFile limit for bots on the public Bot API (20 MB).
DOWNLOAD_LIMIT = 20 * 1024 * 1024
DEFAULT_TOKEN = "123456789:AAFakeTokenForSuaraPesisirDemo-0123456"  # noqa: S105 - fake

_JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "media",
    "allowed_updates",
    "commands",
    "link_preview_options",
    "reply_parameters",
    "scope",
}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}


class ApiError(Exception):
    """An error answered in Telegram's envelope."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


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


@dataclass
class Failure:
    """An injected failure for the next `count` calls of `method` (any method when None)."""

    status: int
    description: str
    method: str | None
    count: int
    retry_after: int | None = None


@dataclass(repr=False)
class FakeBotAPI:
    """The fake Bot API server and the world behind it (chats, users, files, updates)."""

    token: str = DEFAULT_TOKEN
    bot_username: str = "SuaraPesisirBot"
    bot_first_name: str = "Suara Pesisir"
    #: BotFather's /setprivacy: with privacy mode on (the default) getMe says the bot cannot read
    #: all group messages.
    privacy_mode: bool = True
    host: str = "127.0.0.1"
    port: int = 0

    chats: dict[int, FakeChat] = field(default_factory=dict)
    users: dict[int, FakeUser] = field(default_factory=dict)
    groups: dict[int, FakeGroup] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    request_count: int = 0  # calls other than getUpdates (what the bot did)
    #: Seconds each file download takes (a patchy mobile link makes handlers slow).
    download_delay: float = 0.0
    #: Set by whoever runs the bot: resolves once the bot has handled what it fetched.
    idle_hook: Callable[[], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self.bot_id = int(self.token.split(":")[0])
        self.incoming = Notifier()  # new updates for getUpdates
        self.outgoing = Notifier()  # the bot sent, edited or answered something
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._confirmed = 0
        self._runner: web.AppRunner | None = None
        self._webhook_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._webhook_task: asyncio.Task[None] | None = None
        self.webhook_statuses: list[int] = []
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "editMessageCaption": self._edit_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback,
            "getFile": self._get_file,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._true,
            "sendChatAction": self._true,
        }

    def __repr__(self) -> str:
        return f"<FakeBotAPI {self.url} @{self.bot_username}>"

    # Lifecycle
    async def start(self) -> FakeBotAPI:
        """Listen on 127.0.0.1 (a random free port unless `port` is set)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        """Close the server."""
        if self._webhook_task is not None and not self._webhook_task.done():
            self._webhook_task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The server root."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for PESISIR_TELEGRAM_BASE_URL (python-telegram-bot appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PESISIR_TELEGRAM_BASE_FILE_URL."""
        return f"{self.url}/file/bot"

    # The world
    def chat(self, chat_id: int, chat_type: str = "private", title: str | None = None) -> FakeChat:
        """The chat with this id, created on first use."""
        if chat_id not in self.chats:
            self.chats[chat_id] = FakeChat(self, chat_id, chat_type, title)
        return self.chats[chat_id]

    def user(
        self,
        user_id: int,
        first_name: str = "Yuli",
        language_code: str | None = "id",
        *,
        username: str | None = None,
    ) -> FakeUser:
        """A scripted user (the same object on every call with this id)."""
        if user_id not in self.users:
            self.users[user_id] = FakeUser(
                self, user_id, first_name, language_code, username=username
            )
        return self.users[user_id]

    def group(
        self,
        chat_id: int = -1001234567890,
        title: str = "Moderator Suara Pesisir",
        *,
        members: tuple[FakeUser, ...] = (),
        admins: tuple[FakeUser, ...] = (),
        bot: str | None = None,
    ) -> FakeGroup:
        """A supergroup (created on first use) with these members and admins; `bot` sets the
        bot's own status there ("member" when created, "administrator", "left", "kicked")."""
        if chat_id not in self.groups:
            chat = self.chat(chat_id, "supergroup", title)
            self.groups[chat_id] = FakeGroup(self, chat)
        group = self.groups[chat_id]
        if bot is not None:
            group.bot_status = bot
        for member in members:
            group.add(member)
        for admin in admins:
            group.add(admin, admin=True)
        return group

    def channel(
        self,
        chat_id: int = -1001987654321,
        title: str = "Suara Pesisir",
        *,
        username: str | None = "suarapesisir",
        bot: str = "administrator",
        can_post: bool = True,
        can_delete: bool = True,
    ) -> FakeGroup:
        """A channel (created on first use) with the bot's status and admin rights there."""
        group = self.group(chat_id, title, bot=bot)
        group.chat.type = "channel"
        group.chat.username = username
        group.bot_can_post, group.bot_can_delete = can_post, can_delete
        return group

    def block(self, chat_id: int) -> None:
        """From now on the bot gets 403 'bot was blocked by the user' for this chat."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """The user unblocked the bot."""
        self.blocked.discard(chat_id)

    def fail_next(
        self,
        method: str | None = None,
        *,
        status: int = 429,
        count: int = 1,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next `count` calls (of `method`, or any) with an error (429 by default)."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}" if status == 429 else "Bad Request"
            )
        self.failures.append(
            Failure(status, description, method, count, retry_after if status == 429 else None)
        )

    def member_changed(
        self, group: FakeGroup, user: FakeUser, old_status: str, *, by: FakeUser | None = None
    ) -> dict[str, Any]:
        """Queue the `chat_member` update Telegram sends when a member's status changed."""
        actor = by or (group.members.get(group.creator) if group.creator else None) or user
        return self.push_update(
            "chat_member",
            {
                "chat": group.chat.as_json(),
                "from": actor.as_json(),
                "date": int(time.time()),
                "old_chat_member": _member(user, user.id, old_status),
                "new_chat_member": _member(user, user.id, group.status_of(user.id)),
            },
        )

    def next_message_id(self) -> int:
        """A fresh message id."""
        return next(self._message_ids)

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates, or post it to the webhook when one is set."""
        update = {"update_id": next(self._update_ids), kind: payload}
        self.updates.append(update)
        self.incoming.notify()
        if self.webhook.get("url"):
            self._webhook_queue.put_nowait(update)
            if self._webhook_task is None or self._webhook_task.done():
                self._webhook_task = asyncio.get_running_loop().create_task(self._post_updates())
        return update

    async def _post_updates(self) -> None:
        """Deliver queued updates to the webhook one at a time, as Telegram does."""
        async with aiohttp.ClientSession() as session:
            while not self._webhook_queue.empty():
                await self._deliver(session, self._webhook_queue.get_nowait())

    async def _deliver(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        """Post one update until the webhook takes it. Like Telegram, keep trying a webhook that
        is not listening yet (python-telegram-bot calls setWebhook before its server is up)."""
        delay = 0.05
        for _ in range(60):
            headers = {}
            if self.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
            try:
                async with session.post(
                    self.webhook["url"], json=update, headers=headers
                ) as response:
                    self.webhook_statuses.append(response.status)
                    if response.status == 200:
                        self._confirmed = max(self._confirmed, update["update_id"])
                        return
            except aiohttp.ClientConnectionError:
                pass  # not listening (yet)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        logger.warning("the webhook never took update %s", update["update_id"])

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

    def file_bytes(self, file_id: str) -> bytes:
        """The content of a known file."""
        return self.files[file_id].data

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of `method` so far."""
        return [params for name, params in self.calls if name == method]

    # HTTP
    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        handler = self._handlers.get(method) or self._handlers.get(
            next((m for m in self._handlers if m.lower() == method.lower()), "")
        )
        if handler is None:
            return _error(ApiError(404, "Not Found: method not found"))
        params, uploads = await _read_params(request)
        chat_name = params.get("chat_id")
        if isinstance(chat_name, str) and chat_name.startswith("@"):
            # A public chat by its @name; an unknown name stays a string: "chat not found".
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == chat_name[1:].lower():
                    params["chat_id"] = chat.id
        self.calls.append((method, params))
        if method != "getUpdates":
            self.request_count += 1
        try:
            self._maybe_fail(method, params)
            result = await handler(params, uploads)
        except ApiError as error:
            return _error(error)
        finally:
            if method != "getUpdates":
                self.outgoing.notify()
        return web.json_response({"ok": True, "result": result})

    def _maybe_fail(self, method: str, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id in self.blocked and method.startswith("send"):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        group = self.groups.get(chat_id) if isinstance(chat_id, int) else None
        kind = "channel" if group is not None and group.chat.type == "channel" else "supergroup"
        if group is not None and group.bot_status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if group is not None and group.bot_status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        if (
            group is not None
            and group.chat.type == "channel"
            and method.startswith("send")
            and not (group.bot_status == "administrator" and group.bot_can_post)
        ):
            raise ApiError(400, "Bad Request: need administrator rights in the channel chat")
        for failure in self.failures:
            if failure.count > 0 and failure.method in (None, method) and method != "getUpdates":
                failure.count -= 1
                raise ApiError(failure.status, failure.description, failure.retry_after)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        await asyncio.sleep(self.download_delay)
        for record in self.files.values():
            if record.path == path:
                return web.Response(body=record.data, content_type="application/octet-stream")
        return _error(ApiError(404, "Not Found"))

    # Methods
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
        if len(text) > 4096:
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

    async def _delete_message(self, params: dict[str, Any], _uploads: Any) -> bool:
        message = self._find(params)
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

    def _media(self, value: Any, uploads: dict[str, bytes], field_name: str) -> FileRecord:
        """A file given as an upload, an attach:// reference or an existing file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            if name not in uploads:
                raise ApiError(400, f"Bad Request: file {name} not found in request")
            return self.register_file(uploads[name], kind="photos", suffix=".jpg")
        if field_name in uploads:
            return self.register_file(uploads[field_name], kind="photos", suffix=".jpg")
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        raise ApiError(400, "Bad Request: wrong remote file identifier specified")

    async def _send_photo(self, params: dict[str, Any], uploads: Any) -> dict[str, Any]:
        chat = self._target(params)
        record = self._media(params.get("photo"), uploads, "photo")
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

    async def _send_media_group(self, params: dict[str, Any], uploads: Any) -> list[dict[str, Any]]:
        chat = self._target(params)
        media = params.get("media") or []
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album")
        group_id = str(self.next_message_id() * 7919)
        sent = []
        for item in media:
            record = self._media(item.get("media"), uploads, "")
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
            return _member(self.users.get(user_id), user_id, status)
        member = _member(None, user_id, status, bot=self._bot_user())
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
            _member(group.members.get(uid), uid, group.status_of(uid))
            for uid in sorted(group.admins)
        ]

    async def _set_my_commands(self, params: dict[str, Any], _uploads: Any) -> bool:
        scope = params.get("scope") or {"type": "default"}
        key = f"{scope.get('type')}:{params.get('language_code') or ''}"
        self.commands[key] = list(params.get("commands") or [])
        return True


def _photo_size(record: FileRecord) -> dict[str, Any]:
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "width": 1280,
        "height": 960,
        "file_size": record.size,
    }


def _member(
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


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Form fields decoded as python-telegram-bot encodes them; file parts as bytes."""
    params: dict[str, Any] = {}
    uploads: dict[str, bytes] = {}
    if request.content_type == "application/json":
        raw = await request.json()
        return dict(raw), uploads
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            uploads[key] = value.file.read()
        else:
            params[key] = _decode(key, str(value))
    params.update({k: _decode(k, v) for k, v in request.query.items()})
    return params, uploads


def _decode(key: str, value: str) -> Any:
    if key in _JSON_FIELDS or key in _BOOL_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in {"chat_id", "user_id", "message_id", "offset", "limit", "timeout"}:
        stripped = value.lstrip("-")
        return int(value) if stripped.isdigit() else value
    return value


def _error(error: ApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.code,
        "description": error.description,
    }
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return web.json_response(body, status=error.code)
