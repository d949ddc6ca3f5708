"""Messages from contributors: text, photos, files, voice notes, locations; refusals; groups."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError
from telegram.ext import (
    ApplicationHandlerStop,
    ContextTypes,
    filters,
)

from bot import contents, drafts
from bot.conversation import (
    NAME_MAX,
    PLACE_MAX,
    WORDS,
    Handler,
    Turn,
    advance,
    after_content,
    language_hint,
    refuse,
    turn_for,
)
from bot.media import TELEGRAM_DOWNLOAD_LIMIT, acceptable_mime, download, fits, sniff, too_big
from bot.services import services
from core.i18n import t
from core.ratelimit import RateLimiter, Verdict
from core.states import Awaiting, MediaKind

logger = logging.getLogger(__name__)

_SKIP_WORDS = {"lewati", "skip", "-", "tidak tahu", "tidak", "no"}
# New messages in private chats (edits are answered separately: they are not re-read).
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE

# --- messages --------------------------------------------------------------------------------


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Story text, or the answer to a pending question (place, name, new text)."""
    turn = await turn_for(update, context)
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if not text:
        await turn.say("bot.refuse.empty")
        return
    if not WORDS.search(text):
        await turn.say("bot.refuse.emoji_only")
        return
    awaiting = turn.person.awaiting
    # Longer than a place or a name can be: it is more of the story, not the answer (keeping
    # only the first characters as a place would lose the rest).
    if (awaiting == Awaiting.PLACE and len(text) > PLACE_MAX) or (
        awaiting == Awaiting.PUBLIC_NAME and len(text) > NAME_MAX
    ):
        awaiting = None
    if awaiting == Awaiting.PLACE:
        skipped = text.casefold() in _SKIP_WORDS or text in _skip_labels()
        if skipped:
            await turn.db(drafts.set_place, turn.engine, turn.person.id, skipped=True)
        else:
            draft = await turn.db(drafts.set_place, turn.engine, turn.person.id, name=text)
        await turn.set_awaiting(None)
        if skipped:
            await turn.say("bot.place.skipped", ReplyKeyboardRemove())
        else:
            await _place_saved(turn, draft)
        await advance(turn)
        return
    if awaiting == Awaiting.PUBLIC_NAME:
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
        replace=awaiting == Awaiting.TEXT_REPLACE,
    )
    if awaiting == Awaiting.TEXT_REPLACE:
        await turn.set_awaiting(None)
    if dropped:
        await turn.say("bot.refuse.too_long", limit=limit, dropped=dropped)
    await after_content(turn)


def _skip_labels() -> set[str]:
    return {t(lang, "bot.place.skip_button") for lang in ("id", "en")}


async def _caption(turn: Turn, message: Message) -> bool:
    """Keep a photo's caption as story text; True when there was one."""
    caption = (message.caption or "").strip()
    if not (caption and WORDS.search(caption)):
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
            await refuse(turn, "bot.refuse.too_many_photos", album=album, limit=settings.max_photos)
            return False
    if size is not None and size > TELEGRAM_DOWNLOAD_LIMIT:
        await refuse(turn, "bot.refuse.too_big", album=album)
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
            await refuse(turn, "bot.refuse.too_big", album=album)
            return False
        await turn.db(drafts.mark_media_failed, turn.engine, media_id, "download refused")
        await refuse(turn, "bot.refuse.download_failed", album=album)
        return False
    except NetworkError:
        # The row keeps Telegram's file id: the file can be fetched again later.
        await turn.db(drafts.mark_media_failed, turn.engine, media_id, "download failed")
        await refuse(turn, "bot.refuse.download_failed", album=album)
        return False
    sniffed = sniff(data)
    if sniffed is None or not fits(kind, sniffed):
        await turn.db(drafts.remove_media, turn.engine, turn.services.store, media_id)
        await refuse(turn, "bot.refuse.not_media", album=album)
        return False
    if kind is None and sniffed.is_image:
        room = await turn.db(drafts.image_room, turn.engine, turn.person.id, settings.max_photos)
        if room < 0:
            await turn.db(drafts.remove_media, turn.engine, turn.services.store, media_id)
            await refuse(turn, "bot.refuse.too_many_photos", album=album, limit=settings.max_photos)
            return False
    stored = await asyncio.to_thread(turn.services.store.put_original, data, suffix=sniffed.suffix)
    final_kind = MediaKind.AUDIO if kind is None and sniffed.is_audio else kind
    await turn.db(drafts.attach_file, turn.engine, media_id, stored, sniffed.mime_type, final_kind)
    return True


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A compressed photo (Telegram removed its metadata)."""
    turn = await turn_for(update, context)
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
        await after_content(turn)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file: an image keeps its metadata; audio is kept; anything else is refused kindly."""
    turn = await turn_for(update, context)
    message = update.effective_message
    assert message is not None and message.document
    document = message.document
    if document.mime_type == "image/gif":
        await refuse(turn, "bot.refuse.gif", album=message.media_group_id)
        return
    if not acceptable_mime(document.mime_type):
        await refuse(turn, "bot.refuse.not_media", album=message.media_group_id)
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
        await after_content(turn)


async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A voice note or an audio file: the story told aloud."""
    turn = await turn_for(update, context)
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
        await after_content(turn)


def _seconds(value: object) -> int | None:
    """A duration as whole seconds (python-telegram-bot gives a timedelta or an int)."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value) if isinstance(value, int | float) else None


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location (or a venue): the place of the story."""
    turn = await turn_for(update, context)
    message = update.effective_message
    assert message is not None and message.location
    name = message.venue.title[:PLACE_MAX] if message.venue else None
    draft = await turn.db(
        drafts.set_place,
        turn.engine,
        turn.person.id,
        latitude=message.location.latitude,
        longitude=message.location.longitude,
        name=name,
    )
    if turn.person.awaiting == Awaiting.PLACE:
        await turn.set_awaiting(None)
        await _place_saved(turn, draft)
        await advance(turn)
    else:
        await after_content(turn)


async def _place_saved(turn: Turn, draft: drafts.Draft) -> None:
    """`📍 Tempat tersimpan: Oesapa.`: the place as we understood it."""
    place = await turn.db(contents.place_understood, turn.lang, draft)
    await turn.say("bot.place.saved", ReplyKeyboardRemove(), place=place or draft.place_name)


def refusal(key: str) -> Handler:
    """A handler that refuses kindly with the catalog message `key` (once per album)."""

    async def refuse_kindly(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        turn = await turn_for(update, context)
        message = update.effective_message
        await refuse(turn, key, album=message.media_group_id if message else None)

    refuse_kindly.__doc__ = f"Refuse kindly with {key}."
    return refuse_kindly


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


def throttle(
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
            turn = await turn_for(update, context)
            logger.info("a contributor is sending too fast; messages refused for a minute")
            await turn.say("bot.refuse.slow_down")
        raise ApplicationHandlerStop

    return throttle


def holding_answer(callback: Handler) -> Handler:
    """`callback`, during which the chat's pending "saved" answer waits."""

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        assert chat is not None
        with services(context.application).handling_chat(chat.id):
            await callback(update, context)

    return handle
