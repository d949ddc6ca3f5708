"""Drawing review cards and keeping them in the moderators' group: post, redraw, take down.

A card shows the moderators' view of a story (`core.projections.moderator_story`) with fresh
button tokens, and remembers the story version it shows: a card whose story changed since (a
CLI or web decision, an answer, a withdrawal) is stale and redrawn by the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from telegram import Bot, InlineKeyboardMarkup, InputMediaPhoto, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot import buttons, cards
from core.clock import format_duration, format_local, utcnow
from core.config import Settings
from core.db import session_scope
from core.errors import NotAllowed, NotFound
from core.i18n import t
from core.models import NEEDS_CARD, STALE_CARD, Campaign, Submission
from core.projections import ModeratorStory, moderator_story
from core.states import SubmissionState
from core.storage import MediaStore
from core.stories import get_story
from moderation import actor_name
from publishers import calendar, scheduling
from publishers.campaigns import get_campaign, list_campaigns, next_free_slot

logger = logging.getLogger(__name__)

S = SubmissionState
#: Cards are posted for these states (and redrawn in every state once posted).
#: The card round's queries, every few seconds: written as their partial indexes say it
#: (core.models), so only the few stories they look for are read, never the whole table.
NEEDS_CARD_QUERY = (
    select(Submission.id).where(text(NEEDS_CARD)).order_by(col(Submission.id)).limit(20)
)
STALE_CARD_QUERY = (
    select(Submission.id).where(text(STALE_CARD)).order_by(col(Submission.id)).limit(20)
)
#: Telegram's albums hold at most this many photos.
ALBUM = 10

#: `(place_id, name, kind)` candidates for a typed place name (the pipeline's gazetteer search).
PlaceSearch = Callable[[str], list[tuple[str, str, str | None]]]


#: Recordings Telegram plays as voice messages (sendVoice: OGG/Opus, MP3 or M4A); any other
#: sound file goes to the group as a file.
VOICE_TYPES = frozenset({"audio/ogg", "audio/mpeg", "audio/mp4"})


@dataclass(frozen=True)
class Recording:
    """A story's recording as the group gets it: the private original, sent as a new message."""

    path: Path
    duration: int | None
    mime_type: str | None
    caption: str


@dataclass
class CardView:
    """A drawn card: where it is, its HTML text, its buttons and the photos above it."""

    story_id: int
    ref: str
    chat_id: int | None
    message_id: int | None
    text: str
    markup: InlineKeyboardMarkup | None
    photos: list[Path] = field(default_factory=list)
    media_ids: list[int] = field(default_factory=list)  # the album and recordings above it
    gone: bool = False  # withdrawn or erased: the photos and recordings are taken down too
    recordings: list[Recording] = field(default_factory=list)


def mark_card_current(session: Session, story_id: int) -> None:
    """Mark the card current in a decision's transaction: the face redraws it itself, so the
    background round must not redraw it too (it would close an open menu)."""
    session.execute(
        update(Submission)
        .where(col(Submission.id) == story_id)
        .values(card_version=Submission.version)
    )


class Cards:
    """The review cards of one moderators' group."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        store: MediaStore,
        place_search: PlaceSearch | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.store = store
        self.place_search = place_search
        self.lang = settings.default_language

    @property
    def chat_id(self) -> int | None:
        """The moderators' group, when configured."""
        return self.settings.moderator_chat_id

    # ------------------------------------------------------------------ drawing (sync)

    def draw(self, story_id: int, menu: str = "main") -> CardView:
        """Render a story's card with fresh tokens, and remember the version it shows."""
        with session_scope(self.engine) as session:
            row = get_story(session, story_id)
            story = moderator_story(session, row)
            photos, missing = self._photos(story)
            schedule = [
                cards.ScheduleLine(*line)
                for line in calendar.schedule_lines(
                    session, story_id, timezone=self.settings.timezone
                )
            ]
            scheduled_by = next(
                (
                    actor_name(event.actor)
                    for event in reversed(story.history)
                    if event.action == "schedule_deliveries"
                ),
                None,
            )
            text = cards.card_text(
                story,
                self.lang,
                photos_sent=len(photos),
                photos_missing=missing,
                schedule=schedule,
                scheduled_by=scheduled_by,
            )
            layout = self._layout(session, row, story, menu)
            session.execute(
                update(Submission)
                .where(col(Submission.id) == story_id)
                .values(card_version=story.version)
            )
            view = CardView(
                story_id,
                story.ref,
                row.card_chat_id,
                row.card_message_id,
                text,
                None,
                photos,
                list(row.card_media_message_ids or []),
                story.state in (S.WITHDRAWN.value, S.ERASED.value),
                self._recordings(story),
            )
        if layout:
            view.markup = buttons.keyboard(
                self.engine,
                layout,
                scope=buttons.MODERATOR,
                submission_id=story_id,
                version=story.version,
            )
        return view

    def _layout(
        self, session: Session, row: Submission, story: ModeratorStory, menu: str
    ) -> cards.Keyboard:
        if menu == "reasons":
            return cards.reasons_keyboard(self.lang)
        if menu == "themes":
            return cards.themes_keyboard(story, self.lang)
        if menu == "place":
            return cards.place_keyboard(self.lang, self.suggestions(row.place_text))
        if menu == "schedule":
            campaigns = [(c.slug, c.name) for c in self.open_campaigns(session, row)]
            return cards.campaigns_keyboard(self.lang, campaigns)
        if menu.startswith("when:"):
            slug = menu.removeprefix("when:")
            return cards.when_keyboard(self.lang, slug, self.next_slot(session, slug))
        return cards.main_keyboard(story, self.lang)

    def open_campaigns(self, session: Session, story: Submission) -> list[Campaign]:
        """Campaigns this story may go out in now: with channels, not paused, not over, filters
        met."""
        today = utcnow().astimezone(ZoneInfo(self.settings.timezone)).date()
        found = []
        for campaign in list_campaigns(session):
            if not campaign.channels or (
                campaign.ends_on and date.fromisoformat(campaign.ends_on) < today
            ):
                continue
            try:
                scheduling.check_publishable(story, campaign)
            except NotAllowed:
                continue
            found.append(campaign)
        return found

    def next_slot(self, session: Session, slug: str) -> str | None:
        """The campaign's next free slot in local time, or None when it has none."""
        try:
            slot = next_free_slot(session, get_campaign(session, slug), utcnow())
        except (NotFound, NotAllowed):
            return None
        return format_local(slot, self.settings.timezone)

    def _photos(self, story: ModeratorStory) -> tuple[list[Path], int]:
        """The `web` renditions that exist on disk, and how many photos have none.

        Originals (with their metadata) never leave the machine, not even to the group.
        """
        found: list[Path] = []
        missing = 0
        for photo in story.photos:
            web = photo.renditions.get("web")
            path = None
            if web is not None:
                path = web.path if web.path.is_absolute() else self.store.absolute(str(web.path))
            if path is not None and path.is_file():
                found.append(path)
            else:
                missing += 1
        return found[:ALBUM], missing + max(0, len(found) - ALBUM)

    def _recordings(self, story: ModeratorStory) -> list[Recording]:
        """The story's recordings whose original is on disk, captioned with the story and length."""
        found = []
        for recording in story.recordings:
            if recording.original is None:
                continue  # its download failed: nothing to play yet
            path = self.store.absolute(recording.original)
            if path.is_file():
                length = format_duration(recording.duration_seconds)
                caption = t(
                    self.lang, "moderation.card.voice_caption", ref=story.ref, duration=length
                )
                found.append(
                    Recording(path, recording.duration_seconds, recording.mime_type, caption)
                )
        return found

    def suggestions(self, typed: str | None) -> list[tuple[str, str, str | None]]:
        """Places to offer: the pipeline's matches for what the contributor typed."""
        if self.place_search is None or not typed:
            return []
        try:
            return self.place_search(typed)[:5]
        except Exception:  # noqa: BLE001 - a failing search must not break the card
            logger.warning("place search failed")
            return []

    def needing_cards(self) -> list[int]:
        """Stories in review without a card yet (a few at a time)."""
        with session_scope(self.engine) as session:
            statement = NEEDS_CARD_QUERY
            return [int(sid) for sid in session.exec(statement) if sid is not None]

    def stale(self) -> list[int]:
        """Stories whose card shows an older version than the story's (a few at a time)."""
        with session_scope(self.engine) as session:
            statement = STALE_CARD_QUERY
            return [int(sid) for sid in session.exec(statement) if sid is not None]

    def _save(self, story_id: int, chat_id: int, message_id: int, media_ids: list[int]) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(Submission)
                .where(col(Submission.id) == story_id)
                .values(
                    card_chat_id=chat_id,
                    card_message_id=message_id,
                    card_media_message_ids=media_ids,
                )
            )

    def _forget(self, story_id: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(Submission)
                .where(col(Submission.id) == story_id)
                .values(card_message_id=None, card_media_message_ids=[], card_version=None)
            )

    # ------------------------------------------------------------------ Telegram

    async def post(self, bot: Bot, story_id: int) -> int:
        """Post the photos (as an album when several) and the card; returns the card's id."""
        assert self.chat_id is not None
        view = await asyncio.to_thread(self.draw, story_id)
        media_ids: list[int] = []
        if len(view.photos) == 1:
            sent = await bot.send_photo(self.chat_id, view.photos[0].read_bytes())
            media_ids.append(sent.message_id)
        elif view.photos:
            album = [InputMediaPhoto(path.read_bytes()) for path in view.photos]
            media_ids += [m.message_id for m in await bot.send_media_group(self.chat_id, album)]
        for recording in view.recordings:
            media_ids.append(await self._send_recording(bot, recording))
        message = await bot.send_message(
            self.chat_id,
            view.text,
            parse_mode=ParseMode.HTML,
            reply_markup=view.markup,
            link_preview_options=None,
        )
        await asyncio.to_thread(self._save, story_id, self.chat_id, message.message_id, media_ids)
        logger.info("posted the review card of %s", view.ref)
        return message.message_id

    async def _send_recording(self, bot: Bot, recording: Recording) -> int:
        """Send one recording from its private original (never forwarded from the contributor's
        chat, which would show who sent it); its message id."""
        assert self.chat_id is not None
        data = await asyncio.to_thread(recording.path.read_bytes)
        if recording.mime_type in VOICE_TYPES:
            sent = await bot.send_voice(
                self.chat_id, data, caption=recording.caption, duration=recording.duration
            )
        else:
            name = f"recording{recording.path.suffix}"
            sent = await bot.send_document(
                self.chat_id, data, filename=name, caption=recording.caption
            )
        return sent.message_id

    async def show_photos(self, bot: Bot, story_id: int, photos: list[Path]) -> None:
        """Post photos added to a story as a reply to its card (taken down with the others)."""
        view = await asyncio.to_thread(self.draw, story_id)
        if view.chat_id is None or view.message_id is None:
            return
        reply = ReplyParameters(view.message_id, allow_sending_without_reply=True)
        sent: list[int] = []
        for start in range(0, len(photos), ALBUM):
            batch = photos[start : start + ALBUM]
            if len(batch) == 1:
                message = await bot.send_photo(
                    view.chat_id, batch[0].read_bytes(), reply_parameters=reply
                )
                sent.append(message.message_id)
            else:
                album = [InputMediaPhoto(path.read_bytes()) for path in batch]
                messages = await bot.send_media_group(view.chat_id, album, reply_parameters=reply)
                sent += [message.message_id for message in messages]
        await asyncio.to_thread(
            self._save, story_id, view.chat_id, view.message_id, view.media_ids + sent
        )

    async def redraw(self, bot: Bot, story_id: int, menu: str = "main") -> None:
        """Edit a story's card in place (text and buttons)."""
        view = await asyncio.to_thread(self.draw, story_id, menu)
        if view.chat_id is None or view.message_id is None:
            return
        if view.gone and view.media_ids:
            await self._take_down(bot, view)
        try:
            await bot.edit_message_text(
                view.text,
                chat_id=view.chat_id,
                message_id=view.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=view.markup,
            )
        except BadRequest as error:
            if "not modified" in error.message:
                return
            if "not found" in error.message:
                # Someone deleted the card: forget it, so a story still in review gets a new one.
                logger.warning("the card of %s is gone from the group", view.ref)
                await asyncio.to_thread(self._forget, story_id)
                return
            raise

    async def _take_down(self, bot: Bot, view: CardView) -> None:
        """Delete a withdrawn story's photos from the group (best effort: Telegram allows
        deleting only recent messages unless the bot is an admin)."""
        assert view.chat_id is not None
        for message_id in view.media_ids:
            try:
                await bot.delete_message(view.chat_id, message_id)
            except TelegramError as error:
                logger.warning("could not delete a photo of %s: %s", view.ref, type(error).__name__)
        await asyncio.to_thread(self._save, view.story_id, view.chat_id, view.message_id or 0, [])
