"""The contributor conversation in private chats: a story with photos, a place and consent.

Handlers come from `contributor_messages` and `contributor_commands`; the flow they share is
`conversation`.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import buttons
from bot.contributor_commands import (
    cmd_bahasa,
    cmd_bantuan,
    cmd_batal,
    cmd_hapus,
    cmd_kirim,
    cmd_start,
    cmd_status,
    cmd_unknown,
    on_button,
)
from bot.contributor_messages import (
    PRIVATE,
    holding_answer,
    in_group,
    on_document,
    on_location,
    on_photo,
    on_text,
    on_voice,
    refusal,
    throttle,
)
from bot.conversation import BotApp, Handler
from bot.services import BotServices
from core.ratelimit import RateLimiter


def register(application: BotApp, shared: BotServices) -> None:
    """Add the contributor handlers: private chats, buttons with "c:" data, other groups."""
    settings = shared.settings
    limiter = RateLimiter(settings.rate_limit_per_minute)
    application.add_handler(TypeHandler(Update, throttle(limiter)), group=-1)
    commands: list[tuple[list[str], Handler]] = [
        (["start"], cmd_start),
        (["kirim", "send"], cmd_kirim),
        (["status"], cmd_status),
        (["hapus", "delete"], cmd_hapus),
        (["batal", "cancel"], cmd_batal),
        (["bahasa", "language"], cmd_bahasa),
        (["bantuan", "help"], cmd_bantuan),
    ]
    for names, callback in commands:
        application.add_handler(CommandHandler(names, callback, filters=PRIVATE))
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, cmd_unknown))
    refusals = [
        (filters.ANIMATION, "bot.refuse.gif"),
        (filters.Sticker.ALL, "bot.refuse.sticker"),
        (filters.CONTACT, "bot.refuse.contact"),
        (filters.POLL, "bot.refuse.poll"),
        (filters.VIDEO | filters.VIDEO_NOTE, "bot.refuse.video"),
    ]
    for content, key in refusals:
        application.add_handler(MessageHandler(PRIVATE & content, refusal(key)))
    stories: list[tuple[filters.BaseFilter, Handler]] = [
        (filters.PHOTO, on_photo),
        (filters.Document.ALL, on_document),
        (filters.VOICE | filters.AUDIO, on_voice),
        (filters.LOCATION, on_location),
        (filters.TEXT, on_text),
    ]
    for kind, callback in stories:
        application.add_handler(MessageHandler(PRIVATE & kind, holding_answer(callback)))
    application.add_handler(MessageHandler(PRIVATE, refusal("bot.refuse.other")))
    application.add_handler(
        MessageHandler(
            # A live location moving arrives as an edit every few seconds: not answered.
            filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE & ~filters.LOCATION,
            refusal("bot.refuse.edited"),
        )
    )
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{buttons.CONTRIBUTOR}"))
    others: filters.BaseFilter = filters.ChatType.GROUPS
    if settings.moderator_chat_id is not None:
        # The moderators' group belongs to the moderation handlers.
        others = others & ~filters.Chat(settings.moderator_chat_id)
    application.add_handler(
        MessageHandler(others & (filters.COMMAND | filters.Entity("mention")), in_group), group=1
    )
