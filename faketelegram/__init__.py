"""A fake Telegram Bot API on loopback, with scripted users and groups (demo and tests).

    async with FakeBotAPI() as fake:                    # http://127.0.0.1:<port>
        settings = settings_for(fake, settings)          # faketelegram.harness
        async with running_bot(fake, settings, engine):  # the real Application, long polling
            yuli = fake.user(42, "Yuli", "id")
            yuli.send_photo(jpeg_bytes, caption="Air pasang")
            yuli.press("Lanjut ➡️")                      # by label or callback data
            reply = await yuli.next_reply()              # a dict, as Telegram would send it
            answers = await yuli.settle()                # everything until the bot is idle
            group = fake.group(-100123, members=(yuli,), admins=(moderator,))
            group.send_text(moderator, "/antrian")
            group.chat.messages, group.chat.photos()     # what the bot posted there

A channel: `fake.channel(-100…, username="suarapesisir", can_post=True, can_delete=True)`;
what was posted there is `channel.chat.replies` (photos: `channel.chat.photos()`). Sync code
(the channel publisher, `pesisir check`) runs it in a thread: `with serving(FakeBotAPI()) as
fake: ...`.

Failures: `fake.block(chat_id)` (403 "bot was blocked by the user"), `fake.fail_next(method,
status=429, retry_after=1)`, any raw answer with `fake.inject(status, body, headers=...,
method=..., delay=..., after_handling=...)`, a group that became a supergroup with
`fake.migrated[old_id] = new_id`, files over 20 MB (`declared_size=`) refused by getFile.

This package is a development tool: the product never imports it (an import-linter contract),
`pesisir demo` and the tests do.
"""

from faketelegram.chats import FakeChat, FakeGroup, FakeUser, button_texts, buttons_of
from faketelegram.methods import DOWNLOAD_LIMIT, ApiError, FileRecord
from faketelegram.server import DEFAULT_TOKEN, FakeBotAPI, serving

__all__ = [
    "DEFAULT_TOKEN",
    "DOWNLOAD_LIMIT",
    "ApiError",
    "FakeBotAPI",
    "FakeChat",
    "FakeGroup",
    "FakeUser",
    "FileRecord",
    "button_texts",
    "buttons_of",
    "serving",
]
