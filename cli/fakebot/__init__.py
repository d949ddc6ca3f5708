"""A fake Telegram Bot API on loopback, with scripted users and groups (demo and tests).

    async with FakeBotAPI() as fake:                    # http://127.0.0.1:<port>
        settings = settings_for(fake, settings)          # cli.fakebot.harness
        async with running_bot(fake, settings, engine):  # the real Application, long polling
            yuli = fake.user(42, "Yuli", "id")
            yuli.send_photo(jpeg_bytes, caption="Air pasang")
            yuli.press("Lanjut ➡️")                      # by label or callback data
            reply = await yuli.next_reply()              # a dict, as Telegram would send it
            answers = await yuli.settle()                # everything until the bot is idle
            group = fake.group(-100123, members=(yuli,), admins=(moderator,))
            group.send_text(moderator, "/antrian")
            group.chat.messages, group.chat.photos()     # what the bot posted there

Failures: `fake.block(chat_id)` (403 "bot was blocked by the user"), `fake.fail_next(method,
status=429, retry_after=1)`, files over 20 MB (`declared_size=`) refused by getFile.
"""

from cli.fakebot.chats import FakeChat, FakeGroup, FakeUser, button_texts, buttons_of
from cli.fakebot.server import DEFAULT_TOKEN, DOWNLOAD_LIMIT, ApiError, FakeBotAPI, FileRecord

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
]
