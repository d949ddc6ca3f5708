"""A fake Telegram Bot API on 127.0.0.1 that speaks what python-telegram-bot 22 calls.

One aiohttp app: `/bot<token>/<method>` for the API (form or multipart, Telegram's error
envelope, 401 on a wrong token) and `/file/bot<token>/<path>` for downloads. People are scripted
from Python in the same event loop (`server.user(...)`, `server.group(...)`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from faketelegram.chats import FakeChat, FakeGroup, FakeUser, Notifier
from faketelegram.methods import ApiError, BotApiMethods, FileRecord, member_json

logger = logging.getLogger(__name__)

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
    "message_ids",
}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}


@dataclass
class Injected:
    """A raw answer for the next call (of `method`, or any): a platform's odd day."""

    status: int
    body: Any  # JSON-able, or a str sent as HTML (a proxy's error page)
    headers: dict[str, str]
    method: str | None
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)
    after_handling: bool = False  # handle the call for real first: a lost success


@dataclass
class Failure:
    """An injected failure for the next `count` calls of `method` (any method when None)."""

    status: int
    description: str
    method: str | None
    count: int
    retry_after: int | None = None


@dataclass(repr=False)
class FakeBotAPI(BotApiMethods):
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
    injected: list[Injected] = field(default_factory=list)
    #: chat id -> the supergroup it became: every call on the old id is refused, with the new id.
    migrated: dict[int, int] = field(default_factory=dict)
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
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback,
            "getFile": self._get_file,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_voice,
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

    def inject(
        self,
        status: int,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        delay: float = 0.0,
        after_handling: bool = False,
    ) -> None:
        """Answer the next call (of `method`, or any) with exactly this (status, body)."""
        self.injected.append(
            Injected(status, body, dict(headers or {}), method, delay, after_handling)
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
                "old_chat_member": member_json(user, user.id, old_status),
                "new_chat_member": member_json(user, user.id, group.status_of(user.id)),
            },
        )

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
        injected = next(
            (i for i in self.injected if i.method in (None, method) and method != "getUpdates"),
            None,
        )
        if injected is not None:
            self.injected.remove(injected)
            await asyncio.sleep(injected.delay)
        try:
            if injected is None or injected.after_handling:
                self._maybe_fail(method, params)
                result = await handler(params, uploads)
        except ApiError as error:
            if injected is None:
                return _error(error)
        finally:
            if method != "getUpdates":
                self.outgoing.notify()
        if injected is not None:
            return _raw(injected)
        return web.json_response({"ok": True, "result": result})

    def _maybe_fail(self, method: str, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                parameters={"migrate_to_chat_id": self.migrated[chat_id]},
            )
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
            with value.file:
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
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)


def _raw(injected: Injected) -> web.Response:
    if isinstance(injected.body, str):
        return web.Response(
            text=injected.body,
            status=injected.status,
            content_type="text/html",
            headers=injected.headers,
        )
    return web.json_response(injected.body, status=injected.status, headers=injected.headers)


@contextmanager
def serving(fake: FakeBotAPI) -> Iterator[FakeBotAPI]:
    """Run `fake` on an event loop of its own in a thread, for code that calls it synchronously
    (the channel publisher with `requests`, `pesisir check`)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-telegram", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
