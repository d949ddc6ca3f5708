"""The contributor conversation in private chats: a story with photos, a place and consent.

The conversation's state lives in the database (the open draft and `Contributor.awaiting`, a
`core.states.Awaiting` or None while collecting), never in memory, so a restart resumes where the
contributor was. Every message is written to the draft before the bot answers; a burst of
messages (an album) gets a single answer. This module holds the flow (what to ask next, the
summary, sending) and the "saved" answers; `contributor_messages` takes messages in,
`contributor_commands` answers commands and buttons.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

import regex
from sqlalchemy.engine import Engine
from telegram import (
    Bot,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.ext import (
    Application,
    ContextTypes,
)

from bot import buttons, contents, drafts
from bot.buttons import Button
from bot.refetch import refetch
from bot.services import BotServices, services
from core.i18n import normalize_language, t
from core.states import Awaiting, Consent

logger = logging.getLogger(__name__)

BotApp = Application[Any, Any, Any, Any, Any, Any]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

#: Words or numbers: a message without any is emoji, punctuation or blank.
WORDS = regex.compile(r"[\p{L}\p{N}]")
#: The longest place name and name to publish with that a text can be.
PLACE_MAX, NAME_MAX = 200, 64


def language_hint(language_code: str | None) -> str:
    """The language to answer in before we know the contributor's choice."""
    return normalize_language(language_code)


@dataclass
class Turn:
    """One exchange with one contributor: who, where, in which language, and how to answer."""

    services: BotServices
    bot: Bot
    chat_id: int
    user: User
    person: drafts.Person

    @property
    def lang(self) -> str:
        """The contributor's language."""
        return self.person.language

    @property
    def engine(self) -> Engine:
        """The database engine."""
        return self.services.engine

    async def say(self, key: str, markup: Markup = None, **params: Any) -> Message:
        """Send the catalog message `key` in the contributor's language."""
        return await self.bot.send_message(
            self.chat_id, t(self.lang, key, **params), reply_markup=markup
        )

    async def db(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run blocking database work off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)

    async def set_awaiting(self, awaiting: Awaiting | None) -> None:
        """Remember what the conversation waits for (in the database)."""
        await self.db(drafts.update_contributor, self.engine, self.person.id, awaiting=awaiting)
        self.person = replace(self.person, awaiting=awaiting, awaiting_data=None)

    async def buttons(
        self, rows: list[list[Button]], submission_id: int | None = None
    ) -> InlineKeyboardMarkup:
        """An inline keyboard whose buttons are stored tokens."""
        markup: InlineKeyboardMarkup = await self.db(
            buttons.keyboard,
            self.engine,
            rows,
            scope=buttons.CONTRIBUTOR,
            submission_id=submission_id,
        )
        return markup


async def turn_for(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Turn:
    shared = services(context.application)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    code = normalize_language(user.language_code) if user.language_code else None
    language = "en" if code == "en" else shared.settings.default_language
    person = await asyncio.to_thread(
        drafts.contributor_for, shared.engine, user_id=user.id, chat_id=chat.id, language=language
    )
    return Turn(shared, context.bot, chat.id, user, person)


# --- the flow --------------------------------------------------------------------------------


async def advance(turn: Turn) -> None:
    """Ask for what the open story still lacks, or show the summary when nothing is missing."""
    draft: drafts.Draft | None = await turn.db(drafts.current_draft, turn.engine, turn.person.id)
    if draft is None:
        await turn.set_awaiting(None)
        await turn.say("bot.nothing_open")
    elif not draft.has_story:
        await turn.set_awaiting(None)
        await turn.say("bot.ask.story")
    elif not draft.place_done:
        await ask_place(turn)
    elif draft.consent is None:
        await ask_consent(turn, draft)
    elif draft.consent == Consent.NAMED and not draft.public_name:
        await ask_name(turn, draft)
    else:
        await show_summary(turn, draft)


async def ask_place(turn: Turn) -> None:
    """Where did it happen: a shared location, a typed name, or skip."""
    await turn.set_awaiting(Awaiting.PLACE)
    markup = ReplyKeyboardMarkup(
        [
            [KeyboardButton(t(turn.lang, "bot.place.share_button"), request_location=True)],
            [KeyboardButton(t(turn.lang, "bot.place.skip_button"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await turn.say("bot.ask.place", markup)


async def ask_consent(turn: Turn, draft: drafts.Draft) -> None:
    """The three consent choices, asked for every story."""
    await turn.set_awaiting(Awaiting.CONSENT)
    markup = await turn.buttons(
        [
            [Button(t(turn.lang, "bot.consent.named"), "consent", {"choice": "named"})],
            [Button(t(turn.lang, "bot.consent.anonymous"), "consent", {"choice": "anonymous"})],
            [Button(t(turn.lang, "bot.consent.internal"), "consent", {"choice": "internal"})],
        ],
        submission_id=draft.id,
    )
    await turn.say("bot.ask.consent", markup)


async def ask_name(turn: Turn, draft: drafts.Draft) -> None:
    """The name to publish with: typed, or the Telegram first name with one tap."""
    await turn.set_awaiting(Awaiting.PUBLIC_NAME)
    suggestion = (turn.person.public_name or turn.user.first_name)[:NAME_MAX]
    markup = await turn.buttons(
        [[Button(t(turn.lang, "bot.name.use", name=suggestion), "use_name")]],
        submission_id=draft.id,
    )
    await turn.say("bot.ask.name", markup)


def _summary_text(lang: str, draft: drafts.Draft) -> str:
    """The summary before sending (blocking: it names the place through the gazetteer)."""
    text = draft.text or ""
    preview = text if len(text) <= 300 else text[:300] + "…"
    place = contents.place_understood(lang, draft) or t(lang, "bot.summary.place_skipped")
    media = contents.media_phrase(lang, photos=draft.photos, recordings=draft.audio)
    consent = t(lang, f"bot.consent.{draft.consent}")
    if draft.consent == Consent.NAMED:
        consent = t(lang, "bot.summary.named_as", consent=consent, name=draft.public_name or "")
    return t(
        lang,
        "bot.summary.body",
        ref=draft.ref,
        text=preview or t(lang, "bot.summary.no_text"),
        media=media or t(lang, "bot.summary.no_media"),
        place=place,
        consent=consent,
    )


async def show_summary(turn: Turn, draft: drafts.Draft) -> None:
    """What the story holds, with send / change / cancel."""
    await turn.set_awaiting(Awaiting.CONFIRM)
    markup = await turn.buttons(
        [
            [Button(t(turn.lang, "bot.summary.send"), "submit")],
            [
                Button(t(turn.lang, "bot.summary.change"), "change"),
                Button(t(turn.lang, "bot.summary.cancel"), "cancel_draft"),
            ],
        ],
        submission_id=draft.id,
    )
    summary = await turn.db(_summary_text, turn.lang, draft)
    await turn.bot.send_message(turn.chat_id, summary, reply_markup=markup)


async def submit(turn: Turn) -> None:
    """Send the open story when it is complete; otherwise ask for what is missing."""
    draft: drafts.Draft | None = await turn.db(drafts.current_draft, turn.engine, turn.person.id)
    if draft is None:
        await turn.say("bot.nothing_open")
        return
    named_ok = draft.consent != Consent.NAMED or bool(draft.public_name)
    if not (draft.has_story and draft.place_done and draft.consent and named_ok):
        await advance(turn)
        return
    result = await turn.db(drafts.submit, turn.engine, turn.person.id)
    if result is None:
        await turn.say("bot.nothing_open")
        return
    story_id, ref = result
    await turn.say("bot.sent", ref=ref)
    # Ingestion is blocking and may take a while; the story is safe as `received` meanwhile and
    # can be ingested again if this fails (errors are logged by the task tracker).
    turn.services.spawn(
        _refetch_and_ingest(turn.bot, turn.services, story_id), name=f"ingest {ref}"
    )


async def _refetch_and_ingest(bot: Bot, shared: BotServices, story_id: int) -> None:
    """Try failed downloads of the story once more, so the pipeline sees them; then ingest."""
    try:
        await refetch(bot, shared, submission_id=story_id)
    finally:
        await shared.pipeline.ingest(story_id)


def _schedule_ack(turn: Turn, *, after_summary: bool = False) -> None:
    """Answer a burst of messages once, after a short quiet time."""
    shared = turn.services
    loop = asyncio.get_running_loop()
    shared.ack_due[turn.chat_id] = loop.time() + shared.settings.bot_ack_delay_seconds
    if after_summary:
        shared.ack_after_summary.add(turn.chat_id)
    if turn.chat_id not in shared.acks:
        shared.acks[turn.chat_id] = shared.spawn(_ack_loop(turn), name="ack")


async def _ack_loop(turn: Turn) -> None:
    """Wait until the chat is quiet, answer, and answer again if more came meanwhile."""
    shared, chat_id = turn.services, turn.chat_id
    loop = asyncio.get_running_loop()
    try:
        while (due := shared.ack_due.get(chat_id)) is not None:
            if loop.time() < due and not shared.flushing.is_set():
                await shared.quiet_or_flushing(due - loop.time())
                continue
            if shared.handling.get(chat_id) and not shared.flushing.is_set():
                # A message of this chat is half-saved: its handler will move the time on.
                shared.ack_due[chat_id] = loop.time() + shared.settings.bot_ack_delay_seconds
                continue
            del shared.ack_due[chat_id]
            after_summary = chat_id in shared.ack_after_summary
            shared.ack_after_summary.discard(chat_id)
            await _ack(turn, after_summary)
    finally:
        shared.acks.pop(chat_id, None)


async def _ack(turn: Turn, after_summary: bool) -> None:
    person: drafts.Person = await turn.db(drafts.person, turn.engine, turn.person.id)
    turn.person = person
    draft: drafts.Draft | None = await turn.db(drafts.current_draft, turn.engine, person.id)
    if draft is None:
        return
    parts: str = await turn.db(contents.saved_line, turn.lang, draft)
    if after_summary:
        parts = t(turn.lang, "bot.saved.after_summary") + "\n" + parts
    if person.awaiting == Awaiting.PLACE:
        await turn.bot.send_message(turn.chat_id, parts)
        await ask_place(turn)
    elif person.awaiting == Awaiting.CONSENT:
        await turn.bot.send_message(turn.chat_id, parts)
        await ask_consent(turn, draft)
    elif person.awaiting == Awaiting.PUBLIC_NAME:
        await turn.bot.send_message(turn.chat_id, parts)
        await ask_name(turn, draft)
    else:
        hint = "bot.saved.hint" if draft.has_story else "bot.saved.hint_no_story"
        markup = await turn.buttons(
            [[Button(t(turn.lang, "bot.saved.next"), "next")]], submission_id=draft.id
        )
        await turn.bot.send_message(
            turn.chat_id, parts + "\n\n" + t(turn.lang, hint), reply_markup=markup
        )


async def refuse(turn: Turn, key: str, *, album: str | None = None, **params: Any) -> None:
    """A kind refusal; for an album, said once rather than once per photo."""
    if album is not None:
        mark = (turn.chat_id, album, key)
        if mark in turn.services.told:
            return
        turn.services.told.add(mark)
    await turn.say(key, **params)


async def after_content(turn: Turn) -> None:
    """Content arrived: an open summary is out of date, so collect again and answer soon."""
    after_summary = turn.person.awaiting == Awaiting.CONFIRM
    if after_summary:
        await turn.set_awaiting(None)
    _schedule_ack(turn, after_summary=after_summary)
