"""The moderators' group, wired into the bot: handlers for buttons and typed replies, the
periodic rounds that post and redraw cards, and the daily reminder.

The pipeline hands stories over through the database: a round posts a card for each story in
review without one and redraws cards whose story changed. Buttons carry opaque tokens (`m:`);
every press is checked against the moderators (PESISIR_MODERATOR_IDS and the group's admins)
and against the story version the card showed (`bot.moderation_handlers`).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot import buttons, moderation_jobs
from bot.moderation_cards import Cards
from bot.moderation_handlers import ModerationDesk
from bot.services import BotServices
from pipeline.places import search_places

logger = logging.getLogger(__name__)

DESK_KEY = "pesisir.moderation"
BotApp = Application[Any, Any, Any, Any, Any, Any]


def desk(application: BotApp) -> ModerationDesk:
    """The moderation desk of a built application."""
    found = application.bot_data[DESK_KEY]
    assert isinstance(found, ModerationDesk)
    return found


def register(application: BotApp, shared: BotServices) -> None:
    """Add the group's handlers and periodic rounds (a registrar for `bot.app`)."""
    cards = Cards(shared.engine, shared.settings, shared.store, place_search=_gazetteer_search)
    the_desk = ModerationDesk(cards)
    application.bot_data[DESK_KEY] = the_desk
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND,
            the_desk.on_contributor_text,
        ),
        # Before the contributor conversation (group 0) and its throttle (a TypeHandler in -1,
        # which would shadow any other handler of that group).
        group=-2,
    )
    if the_desk.chat_id is None:
        logger.warning(
            "PESISIR_MODERATOR_CHAT_ID is not set: no review cards; stories wait for "
            "`pesisir queue` and `pesisir approve/reject`"
        )
    else:
        application.add_handler(
            CallbackQueryHandler(the_desk.on_callback, pattern=f"^{buttons.MODERATOR}")
        )
        application.add_handler(
            ChatMemberHandler(
                the_desk.on_member_change, ChatMemberHandler.CHAT_MEMBER, chat_id=the_desk.chat_id
            ),
            group=-3,  # before the throttle, which stops other updates of a busy sender
        )
        application.add_handler(
            MessageHandler(
                filters.Chat(the_desk.chat_id)
                & filters.UpdateType.MESSAGE
                & filters.TEXT
                & ~filters.COMMAND,
                the_desk.on_group_message,
            ),
            group=1,
        )
    moderation_jobs.register_jobs(application, the_desk)


def _gazetteer_search(query: str) -> list[tuple[str, str, str | None]]:
    """Up to five gazetteer places matching a typed name: (id, name, kind)."""
    return [
        (str(found.id), str(found.name), found.kind)
        for found in search_places(query, limit=5)
        if found.id and found.name
    ]
