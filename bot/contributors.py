"""The contributor conversation in private chats: a story with photos, a place and consent.

The conversation's state lives in the database (the open draft and `Contributor.awaiting`), never
in memory, so a restart resumes where the contributor was. Every message is written to the
draft before the bot answers; a burst of messages (an album) gets a single answer.

`Contributor.awaiting` is one of:
    None            collecting: text, photos, files, voice notes and locations go into the draft
    "place"         the next text is the place name (or the skip word)
    "consent"       the consent buttons are showing
    "public_name"   the next text is the name to publish with
    "text_replace"  the next text replaces the story text
    "confirm"       the summary with send / change / cancel is showing
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import regex
from sqlalchemy.engine import Engine
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import drafts, keyboards
from bot.keyboards import Button
from bot.media import TELEGRAM_DOWNLOAD_LIMIT, acceptable_mime, download, fits, sniff, too_big
from bot.ratelimit import RateLimiter, Verdict
from bot.refetch import refetch
from bot.services import BotServices, services
from core.i18n import normalize_language, t
from core.states import Consent, MediaKind
from pipeline import ingest

logger = logging.getLogger(__name__)

BotApp = Application[Any, Any, Any, Any, Any, Any]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None

# Words or numbers: a message without any is emoji, punctuation or blank.
_WORDS = regex.compile(r"[\p{L}\p{N}]")
_SKIP_WORDS = {"lewati", "skip", "-", "tidak tahu", "tidak", "no"}
_PLACE_MAX, _NAME_MAX = 200, 64

# New messages in private chats (edits are answered separately: they are not re-read).
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


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

    async def set_awaiting(self, awaiting: str | None) -> None:
        """Remember what the conversation waits for (in the database)."""
        await self.db(drafts.update_contributor, self.engine, self.person.id, awaiting=awaiting)
        self.person = replace(self.person, awaiting=awaiting, awaiting_data=None)

    async def buttons(
        self, rows: list[list[Button]], submission_id: int | None = None
    ) -> InlineKeyboardMarkup:
        """An inline keyboard whose buttons are stored tokens."""
        markup: InlineKeyboardMarkup = await self.db(
            keyboards.keyboard, self.engine, rows, submission_id=submission_id
        )
        return markup


async def _turn(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Turn:
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
    await turn.set_awaiting("place")
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
    await turn.set_awaiting("consent")
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
    await turn.set_awaiting("public_name")
    suggestion = (turn.person.public_name or turn.user.first_name)[:_NAME_MAX]
    markup = await turn.buttons(
        [[Button(t(turn.lang, "bot.name.use", name=suggestion), "use_name")]],
        submission_id=draft.id,
    )
    await turn.say("bot.ask.name", markup)


def _summary_text(lang: str, draft: drafts.Draft) -> str:
    text = draft.text or ""
    preview = text if len(text) <= 300 else text[:300] + "…"
    if draft.place == "location":
        place = t(lang, "bot.summary.place_location")
    elif draft.place:
        place = draft.place
    else:
        place = t(lang, "bot.summary.place_skipped")
    consent = t(lang, f"bot.consent.{draft.consent}")
    if draft.consent == Consent.NAMED:
        consent = t(lang, "bot.summary.named_as", consent=consent, name=draft.public_name or "")
    return t(
        lang,
        "bot.summary.body",
        ref=draft.ref,
        text=preview or t(lang, "bot.summary.no_text"),
        photos=draft.photos,
        audio=draft.audio,
        place=place,
        consent=consent,
    )


async def show_summary(turn: Turn, draft: drafts.Draft) -> None:
    """What the story holds, with send / change / cancel."""
    await turn.set_awaiting("confirm")
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
    await turn.bot.send_message(turn.chat_id, _summary_text(turn.lang, draft), reply_markup=markup)


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
        await asyncio.to_thread(ingest, shared.engine, shared.settings, story_id)


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
    parts = t(
        turn.lang,
        "bot.saved.body",
        ref=draft.ref,
        chars=len(draft.text or ""),
        photos=draft.photos,
        audio=draft.audio,
        place=t(turn.lang, "bot.saved.place_yes" if draft.place_done else "bot.saved.place_no"),
    )
    if after_summary:
        parts = t(turn.lang, "bot.saved.after_summary") + "\n" + parts
    if person.awaiting == "place":
        await turn.bot.send_message(turn.chat_id, parts)
        await ask_place(turn)
    elif person.awaiting == "consent":
        await turn.bot.send_message(turn.chat_id, parts)
        await ask_consent(turn, draft)
    elif person.awaiting == "public_name":
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


async def _refuse(turn: Turn, key: str, *, album: str | None = None, **params: Any) -> None:
    """A kind refusal; for an album, said once rather than once per photo."""
    if album is not None:
        mark = (turn.chat_id, album, key)
        if mark in turn.services.told:
            return
        turn.services.told.add(mark)
    await turn.say(key, **params)


async def _after_content(turn: Turn) -> None:
    """Content arrived: an open summary is out of date, so collect again and answer soon."""
    after_summary = turn.person.awaiting == "confirm"
    if after_summary:
        await turn.set_awaiting(None)
    _schedule_ack(turn, after_summary=after_summary)


# --- messages --------------------------------------------------------------------------------


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Story text, or the answer to a pending question (place, name, new text)."""
    turn = await _turn(update, context)
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if not text:
        await turn.say("bot.refuse.empty")
        return
    if not _WORDS.search(text):
        await turn.say("bot.refuse.emoji_only")
        return
    awaiting = turn.person.awaiting
    # Longer than a place or a name can be: it is more of the story, not the answer (keeping
    # only the first characters as a place would lose the rest).
    if (awaiting == "place" and len(text) > _PLACE_MAX) or (
        awaiting == "public_name" and len(text) > _NAME_MAX
    ):
        awaiting = None
    if awaiting == "place":
        skipped = text.casefold() in _SKIP_WORDS or text in _skip_labels()
        if skipped:
            await turn.db(drafts.set_place, turn.engine, turn.person.id, skipped=True)
        else:
            await turn.db(drafts.set_place, turn.engine, turn.person.id, name=text)
        await turn.set_awaiting(None)
        await turn.say("bot.place.skipped" if skipped else "bot.place.saved", ReplyKeyboardRemove())
        await advance(turn)
        return
    if awaiting == "public_name":
        await turn.db(drafts.update_contributor, turn.engine, turn.person.id, public_name=text)
        await turn.set_awaiting(None)
        await advance(turn)
        return
    limit = turn.services.settings.max_text_chars
    _draft, dropped = await turn.db(
        drafts.add_text,
        turn.engine,
        turn.person.id,
        text,
        max_chars=limit,
        replace=awaiting == "text_replace",
    )
    if awaiting == "text_replace":
        await turn.set_awaiting(None)
    if dropped:
        await turn.say("bot.refuse.too_long", limit=limit, dropped=dropped)
    await _after_content(turn)


def _skip_labels() -> set[str]:
    return {t(lang, "bot.place.skip_button") for lang in ("id", "en")}


async def _caption(turn: Turn, message: Message) -> bool:
    """Keep a photo's caption as story text; True when there was one."""
    caption = (message.caption or "").strip()
    if not (caption and _WORDS.search(caption)):
        return False
    limit = turn.services.settings.max_text_chars
    _draft, dropped = await turn.db(
        drafts.add_text, turn.engine, turn.person.id, caption, max_chars=limit
    )
    if dropped:
        await turn.say("bot.refuse.too_long", limit=limit, dropped=dropped)
    return True


async def _take_file(
    turn: Turn,
    message: Message,
    *,
    kind: MediaKind | None,
    file_id: str,
    file_unique_id: str,
    mime_type: str | None,
    file_name: str | None,
    size: int | None,
    duration: int | None = None,
) -> bool:
    """Record, download, check and store one file; `kind=None` decides from the content."""
    album = message.media_group_id
    settings = turn.services.settings
    maybe_image = kind in (MediaKind.PHOTO, MediaKind.DOCUMENT) or (
        kind is None and not (mime_type or "").startswith("audio/")
    )
    if maybe_image:
        room = await turn.db(
            drafts.image_room, turn.engine, turn.person.id, settings.max_photos, file_unique_id
        )
        if room <= 0:
            await _refuse(
                turn, "bot.refuse.too_many_photos", album=album, limit=settings.max_photos
            )
            return False
    if size is not None and size > TELEGRAM_DOWNLOAD_LIMIT:
        await _refuse(turn, "bot.refuse.too_big", album=album)
        return False
    if await turn.db(drafts.has_file, turn.engine, turn.person.id, file_unique_id):
        return True  # the same file again: already safe
    media_id: int = await turn.db(
        drafts.add_media,
        turn.engine,
        turn.person.id,
        kind=kind or MediaKind.DOCUMENT,
        file_unique_id=file_unique_id,
        telegram_file_id=file_id,
        mime_type=mime_type,
        file_name=file_name,
        size_bytes=size,
        media_group_id=album,
        duration_seconds=duration,
    )
    try:
        data = await download(turn.bot, file_id)
    except BadRequest as error:
        if too_big(error):
            await turn.db(drafts.remove_media, turn.engine, turn.services.store, media_id)
            await _refuse(turn, "bot.refuse.too_big", album=album)
            return False
        await turn.db(drafts.mark_media_failed, turn.engine, media_id, "download refused")
        await _refuse(turn, "bot.refuse.download_failed", album=album)
        return False
    except NetworkError:
        # The row keeps Telegram's file id: the file can be fetched again later.
        await turn.db(drafts.mark_media_failed, turn.engine, media_id, "download failed")
        await _refuse(turn, "bot.refuse.download_failed", album=album)
        return False
    sniffed = sniff(data)
    if sniffed is None or not fits(kind, sniffed):
        await turn.db(drafts.remove_media, turn.engine, turn.services.store, media_id)
        await _refuse(turn, "bot.refuse.not_media", album=album)
        return False
    if kind is None and sniffed.is_image:
        room = await turn.db(drafts.image_room, turn.engine, turn.person.id, settings.max_photos)
        if room < 0:
            await turn.db(drafts.remove_media, turn.engine, turn.services.store, media_id)
            await _refuse(
                turn, "bot.refuse.too_many_photos", album=album, limit=settings.max_photos
            )
            return False
    stored = await asyncio.to_thread(turn.services.store.put_original, data, suffix=sniffed.suffix)
    final_kind = MediaKind.AUDIO if kind is None and sniffed.is_audio else kind
    await turn.db(drafts.attach_file, turn.engine, media_id, stored, sniffed.mime_type, final_kind)
    return True


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A compressed photo (Telegram removed its metadata)."""
    turn = await _turn(update, context)
    message = update.effective_message
    assert message is not None and message.photo
    best = message.photo[-1]
    captioned = await _caption(turn, message)
    taken = await _take_file(
        turn,
        message,
        kind=MediaKind.PHOTO,
        file_id=best.file_id,
        file_unique_id=best.file_unique_id,
        mime_type="image/jpeg",
        file_name=None,
        size=best.file_size,
    )
    if taken or captioned:
        await _after_content(turn)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file: an image keeps its metadata; audio is kept; anything else is refused kindly."""
    turn = await _turn(update, context)
    message = update.effective_message
    assert message is not None and message.document
    document = message.document
    if document.mime_type == "image/gif":
        await _refuse(turn, "bot.refuse.gif", album=message.media_group_id)
        return
    if not acceptable_mime(document.mime_type):
        await _refuse(turn, "bot.refuse.not_media", album=message.media_group_id)
        return
    captioned = await _caption(turn, message)
    mime = document.mime_type or ""
    kind = (
        MediaKind.DOCUMENT
        if mime.startswith("image/")
        else MediaKind.AUDIO
        if mime.startswith("audio/")
        else None
    )
    taken = await _take_file(
        turn,
        message,
        kind=kind,
        file_id=document.file_id,
        file_unique_id=document.file_unique_id,
        mime_type=document.mime_type,
        file_name=document.file_name,
        size=document.file_size,
    )
    if taken or captioned:
        await _after_content(turn)


async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A voice note or an audio file: the story told aloud."""
    turn = await _turn(update, context)
    message = update.effective_message
    assert message is not None
    audio = message.voice or message.audio
    assert audio is not None
    taken = await _take_file(
        turn,
        message,
        kind=MediaKind.VOICE if message.voice else MediaKind.AUDIO,
        file_id=audio.file_id,
        file_unique_id=audio.file_unique_id,
        mime_type=audio.mime_type,
        file_name=getattr(audio, "file_name", None),
        size=audio.file_size,
        duration=_seconds(audio.duration),
    )
    if taken:
        await _after_content(turn)


def _seconds(value: object) -> int | None:
    """A duration as whole seconds (python-telegram-bot gives a timedelta or an int)."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value) if isinstance(value, int | float) else None


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location (or a venue): the place of the story."""
    turn = await _turn(update, context)
    message = update.effective_message
    assert message is not None and message.location
    name = message.venue.title[:_PLACE_MAX] if message.venue else None
    await turn.db(
        drafts.set_place,
        turn.engine,
        turn.person.id,
        latitude=message.location.latitude,
        longitude=message.location.longitude,
        name=name,
    )
    if turn.person.awaiting == "place":
        await turn.set_awaiting(None)
        await turn.say("bot.place.saved", ReplyKeyboardRemove())
        await advance(turn)
    else:
        await _after_content(turn)


def _refusal(key: str) -> Handler:
    async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        turn = await _turn(update, context)
        message = update.effective_message
        await _refuse(turn, key, album=message.media_group_id if message else None)

    refuse.__doc__ = f"Refuse kindly with {key}."
    return refuse


# --- commands --------------------------------------------------------------------------------


async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Who we are and what happens to a story; with an open draft, ask what to do with it."""
    turn = await _turn(update, context)
    draft: drafts.Draft | None = await turn.db(drafts.current_draft, turn.engine, turn.person.id)
    if draft is None:
        await turn.say("bot.start")
        return
    markup = await turn.buttons(
        [
            [Button(t(turn.lang, "bot.open.continue"), "open_continue")],
            [Button(t(turn.lang, "bot.open.send"), "open_send")],
            [Button(t(turn.lang, "bot.open.discard"), "open_discard")],
        ],
        submission_id=draft.id,
    )
    await turn.say("bot.open.question", markup, ref=draft.ref)


async def cmd_kirim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the open story (or ask for what it lacks)."""
    await submit(await _turn(update, context))


async def cmd_batal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop the open draft: its media and text are erased."""
    turn = await _turn(update, context)
    await _drop_draft(turn)


async def _drop_draft(turn: Turn) -> None:
    draft: drafts.Draft | None = await turn.db(drafts.current_draft, turn.engine, turn.person.id)
    if draft is None:
        await turn.say("bot.nothing_open", ReplyKeyboardRemove())
        return
    await turn.db(
        drafts.erase_story,
        turn.engine,
        turn.services.settings,
        turn.services.store,
        turn.person.id,
        draft.ref,
    )
    await turn.say("bot.dropped", ReplyKeyboardRemove(), ref=draft.ref)


async def cmd_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The contributor's stories with their state in plain words."""
    turn = await _turn(update, context)
    lines: list[drafts.StoryLine] = await turn.db(drafts.stories, turn.engine, turn.person.id)
    if not lines:
        await turn.say("bot.status.none")
        return
    zone = ZoneInfo(turn.services.settings.timezone)
    rendered = [
        t(
            turn.lang,
            "bot.status.line",
            ref=line.ref,
            date=line.created_at.astimezone(zone).strftime("%d-%m-%Y"),
            state=t(turn.lang, f"core.state.{line.state}"),
        )
        for line in lines
    ]
    await turn.bot.send_message(
        turn.chat_id, t(turn.lang, "bot.status.title") + "\n" + "\n".join(rendered)
    )


async def cmd_hapus(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Choose a story (or all my data) to withdraw and erase; a confirmation follows."""
    turn = await _turn(update, context)
    lines: list[drafts.StoryLine] = await turn.db(drafts.stories, turn.engine, turn.person.id)
    live = [line for line in lines if line.state not in ("erased", "withdrawn")]
    wanted = (context.args or [""])[0].upper()
    if wanted and any(line.ref == wanted for line in live):
        await _confirm_erase(turn, {"ref": wanted})
        return
    rows = [
        [
            Button(
                t(
                    turn.lang,
                    "bot.erase.story_button",
                    ref=line.ref,
                    state=t(turn.lang, f"core.state.{line.state}"),
                ),
                "erase_pick",
                {"ref": line.ref},
            )
        ]
        for line in live[:8]
    ]
    rows.append([Button(t(turn.lang, "bot.erase.all_button"), "erase_pick", {"all": True})])
    rows.append([Button(t(turn.lang, "bot.erase.keep_button"), "erase_no")])
    markup = await turn.buttons(rows)
    await turn.say("bot.erase.choose" if live else "bot.erase.no_stories", markup)


async def _confirm_erase(turn: Turn, target: dict[str, Any]) -> None:
    markup = await turn.buttons(
        [
            [Button(t(turn.lang, "bot.erase.yes_button"), "erase_yes", target)],
            [Button(t(turn.lang, "bot.erase.keep_button"), "erase_no")],
        ]
    )
    if target.get("all"):
        await turn.say("bot.erase.confirm_all", markup)
    else:
        await turn.say("bot.erase.confirm_one", markup, ref=target["ref"])


async def cmd_bahasa(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Switch between Indonesian and English."""
    turn = await _turn(update, context)
    wanted = (context.args or [""])[0].lower()
    if wanted in ("id", "en"):
        await _set_language(turn, wanted)
        return
    markup = await turn.buttons(
        [
            [
                Button("Bahasa Indonesia", "lang", {"lang": "id"}),
                Button("English", "lang", {"lang": "en"}),
            ]
        ]
    )
    await turn.say("bot.language.choose", markup)


async def _set_language(turn: Turn, lang: str) -> None:
    await turn.db(drafts.update_contributor, turn.engine, turn.person.id, language=lang)
    turn.person = replace(turn.person, language=lang)
    await turn.say("bot.language.set")


async def cmd_bantuan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the bot does and every command."""
    turn = await _turn(update, context)
    await turn.say("bot.help", limit=turn.services.settings.max_photos)


async def cmd_unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command we do not know: point to /bantuan."""
    turn = await _turn(update, context)
    await turn.say("bot.unknown_command")


# --- buttons ---------------------------------------------------------------------------------

Action = Callable[[Turn, keyboards.Pressed, User], Awaitable[None]]


async def _act_next(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    await advance(turn)


async def _act_consent(turn: Turn, pressed: keyboards.Pressed, _user: User) -> None:
    choice = Consent(pressed.payload["choice"])
    settings = turn.services.settings
    draft = await turn.db(
        drafts.set_consent, turn.engine, turn.person.id, choice, settings.consent_version
    )
    await turn.set_awaiting(None)
    if choice == Consent.NAMED and draft is not None:
        await ask_name(turn, draft)
    else:
        await advance(turn)


async def _act_use_name(turn: Turn, _pressed: keyboards.Pressed, user: User) -> None:
    name = (turn.person.public_name or user.first_name)[:_NAME_MAX]
    await turn.db(drafts.update_contributor, turn.engine, turn.person.id, public_name=name)
    turn.person = replace(turn.person, public_name=name)
    await turn.set_awaiting(None)
    await advance(turn)


async def _act_submit(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    await submit(turn)


async def _act_change(turn: Turn, pressed: keyboards.Pressed, _user: User) -> None:
    await turn.set_awaiting(None)
    markup = await turn.buttons(
        [
            [
                Button(t(turn.lang, "bot.change.text"), "change_text"),
                Button(t(turn.lang, "bot.change.photos"), "change_photos"),
            ],
            [
                Button(t(turn.lang, "bot.change.place"), "change_place"),
                Button(t(turn.lang, "bot.change.consent"), "change_consent"),
            ],
            [Button(t(turn.lang, "bot.saved.next"), "next")],
        ],
        submission_id=pressed.submission_id,
    )
    await turn.say("bot.change.choose", markup)


async def _act_change_text(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    await turn.set_awaiting("text_replace")
    await turn.say("bot.change.text_prompt")


async def _act_change_photos(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    removed = await turn.db(drafts.drop_images, turn.engine, turn.services.store, turn.person.id)
    await turn.say("bot.change.photos_prompt", count=removed)


async def _act_change_place(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    await turn.db(drafts.clear_place, turn.engine, turn.person.id)
    await ask_place(turn)


async def _act_change_consent(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    draft = await turn.db(drafts.set_consent, turn.engine, turn.person.id, None, None)
    if draft is not None:
        await ask_consent(turn, draft)


async def _act_cancel_draft(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    await _drop_draft(turn)


async def _act_open_continue(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    await turn.say("bot.open.continuing")


async def _act_open_discard(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    await _drop_draft(turn)
    await turn.say("bot.start")


async def _act_lang(turn: Turn, pressed: keyboards.Pressed, _user: User) -> None:
    await _set_language(turn, str(pressed.payload["lang"]))


async def _act_erase_pick(turn: Turn, pressed: keyboards.Pressed, _user: User) -> None:
    await _confirm_erase(turn, pressed.payload)


async def _act_erase_yes(turn: Turn, pressed: keyboards.Pressed, _user: User) -> None:
    store = turn.services.store
    if pressed.payload.get("all"):
        everything: drafts.Erased = await turn.db(
            drafts.erase_everything, turn.engine, turn.services.settings, store, turn.person.id
        )
        removed = _removed(turn.lang, everything, whole=True)
        await turn.say("bot.erase.done_all", ReplyKeyboardRemove(), removed=removed)
        return
    ref = str(pressed.payload["ref"])
    erased: drafts.Erased | None = await turn.db(
        drafts.erase_story, turn.engine, turn.services.settings, store, turn.person.id, ref
    )
    if erased is not None:
        await turn.say("bot.erase.done_one", ref=ref, removed=_removed(turn.lang, erased))
    else:
        await turn.say("bot.erase.nothing", ref=ref)


def _removed(lang: str, erased: drafts.Erased, *, whole: bool = False) -> str:
    """What an erasure removed, one line each, as the contributor reads it (DESIGN.md: the
    contributor is told what was removed)."""
    lines = [
        t(lang, "bot.erase.removed_stories", count=erased.stories)
        if whole
        else t(lang, "bot.erase.removed_text")
    ]
    counted = [
        ("removed_files", erased.files),
        ("posts_cancelled", erased.posts_cancelled),
        ("posts_taken_down", erased.posts_taken_down),
        ("posts_left", erased.posts_left),
    ]
    lines += [t(lang, f"bot.erase.{key}", count=count) for key, count in counted if count]
    return "\n".join(lines)


async def _act_erase_no(turn: Turn, _pressed: keyboards.Pressed, _user: User) -> None:
    await turn.say("bot.erase.kept")


ACTIONS: dict[str, Action] = {
    "next": _act_next,
    "consent": _act_consent,
    "use_name": _act_use_name,
    "submit": _act_submit,
    "change": _act_change,
    "change_text": _act_change_text,
    "change_photos": _act_change_photos,
    "change_place": _act_change_place,
    "change_consent": _act_change_consent,
    "cancel_draft": _act_cancel_draft,
    "open_continue": _act_open_continue,
    "open_send": _act_submit,
    "open_discard": _act_open_discard,
    "lang": _act_lang,
    "erase_pick": _act_erase_pick,
    "erase_yes": _act_erase_yes,
    "erase_no": _act_erase_no,
}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A contributor pressed one of our buttons; old or used buttons get a kind answer."""
    query = update.callback_query
    assert query is not None
    turn = await _turn(update, context)
    pressed: keyboards.Pressed | None = await turn.db(keyboards.resolve, turn.engine, query.data)
    if pressed is None or pressed.action not in ACTIONS:
        await query.answer(t(turn.lang, "bot.stale_button"), show_alert=True)
        return
    await query.answer()
    if query.message is not None:
        try:
            await query.edit_message_reply_markup(None)
        except BadRequest:
            logger.debug("buttons already gone")
    await ACTIONS[pressed.action](turn, pressed, query.from_user)


# --- groups and flood ------------------------------------------------------------------------


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In other groups we collect nothing: point to the private chat."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return
    username = context.bot.username
    first = message.text.split(maxsplit=1)[0]
    is_ours = (
        first.startswith("/") and ("@" not in first or first.endswith(f"@{username}"))
    ) or f"@{username}" in message.text
    if not is_ours:
        return
    lang = language_hint(user.language_code)
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(lang, "bot.group.button"), url=f"https://t.me/{username}")]]
    )
    await message.reply_text(t(lang, "bot.group.private_only"), reply_markup=markup)


def _throttle(
    limiter: RateLimiter,
) -> Handler:
    async def throttle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Refuse messages beyond the per-contributor limit; tell the contributor once."""
        chat, user = update.effective_chat, update.effective_user
        if update.message is None or chat is None or user is None or chat.type != ChatType.PRIVATE:
            return
        verdict = limiter.check(user.id)
        if verdict is Verdict.ACCEPT:
            return
        if verdict is Verdict.NOTICE:
            turn = await _turn(update, context)
            logger.info("a contributor is sending too fast; messages refused for a minute")
            await turn.say("bot.refuse.slow_down")
        raise ApplicationHandlerStop

    return throttle


def _holding_answer(callback: Handler) -> Handler:
    """`callback`, during which the chat's pending "saved" answer waits."""

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        assert chat is not None
        with services(context.application).handling_chat(chat.id):
            await callback(update, context)

    return handle


def register(application: BotApp, shared: BotServices) -> None:
    """Add the contributor handlers: private chats, buttons with "c:" data, other groups."""
    settings = shared.settings
    limiter = RateLimiter(settings.rate_limit_per_minute)
    application.add_handler(TypeHandler(Update, _throttle(limiter)), group=-1)
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
        application.add_handler(MessageHandler(PRIVATE & content, _refusal(key)))
    stories: list[tuple[filters.BaseFilter, Handler]] = [
        (filters.PHOTO, on_photo),
        (filters.Document.ALL, on_document),
        (filters.VOICE | filters.AUDIO, on_voice),
        (filters.LOCATION, on_location),
        (filters.TEXT, on_text),
    ]
    for kind, callback in stories:
        application.add_handler(MessageHandler(PRIVATE & kind, _holding_answer(callback)))
    application.add_handler(MessageHandler(PRIVATE, _refusal("bot.refuse.other")))
    application.add_handler(
        MessageHandler(
            # A live location moving arrives as an edit every few seconds: not answered.
            filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE & ~filters.LOCATION,
            _refusal("bot.refuse.edited"),
        )
    )
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{keyboards.PREFIX}"))
    others: filters.BaseFilter = filters.ChatType.GROUPS
    if settings.moderator_chat_id is not None:
        # The moderators' group belongs to the moderation handlers.
        others = others & ~filters.Chat(settings.moderator_chat_id)
    application.add_handler(
        MessageHandler(others & (filters.COMMAND | filters.Entity("mention")), in_group), group=1
    )
