"""The moderators' group: review cards, their buttons, typed replies, reminders, and the sender.

The pipeline hands stories over through the database: a background loop posts a card for each
story in review without one, redraws cards whose story changed (a CLI decision, an answer, a
withdrawal), and drains the notification outbox. Buttons carry opaque tokens (`m:<token>`);
every press is checked against the moderators (PESISIR_MODERATOR_IDS and the group's admins)
and against the story version the card showed.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import cards, notifier
from bot.services import BotServices
from core.clock import format_local, parse_local_time, utcnow
from core.config import Settings
from core.errors import InvalidInput, InvalidTransition, NotAllowed, NotFound
from core.i18n import t
from core.models import (
    CallbackToken,
    Campaign,
    Contributor,
    Media,
    ModeratorPrompt,
    Submission,
)
from core.states import SOCIAL_CONSENTS, SubmissionState
from core.storage import MediaStore
from moderation import decisions, permissions, queue, reminders, tokens
from moderation.decisions import Conflict
from pipeline import add_late_photos
from pipeline.places import search_places
from publishers import alert_late_posts, calendar, scheduling
from publishers.campaigns import get_campaign, list_campaigns, next_free_slot

logger = logging.getLogger(__name__)

S = SubmissionState
CALLBACK_PREFIX = "m:"
DESK_KEY = "pesisir.moderation"
#: A typed reply counts for the prompt it answers for this long.
PROMPT_TTL = timedelta(hours=2)
#: Buttons older than this answer "no longer known" (their tokens are purged daily).
TOKEN_DAYS = 90
#: Cards are posted for these states (and redrawn in every state once posted).
CARD_STATES = (S.PENDING_REVIEW.value, S.QUARANTINED.value)

#: Buttons that lead to a schedule: refused for a story whose consent keeps it off social media.
SCHEDULE_ACTIONS = frozenset({"menu_schedule", "pick_campaign", "schedule", "type_time"})

#: `(place_id, name, kind)` candidates for a typed place name (the pipeline's gazetteer search).
PlaceSearch = Callable[[str], list[tuple[str, str, str | None]]]
BotApp = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class CardView:
    """A drawn card: where it is, its HTML text and its buttons (label, token)."""

    story_id: int
    ref: str
    chat_id: int | None
    message_id: int | None
    text: str
    keyboard: list[list[tuple[str, str]]]
    photos: list[Path] = field(default_factory=list)
    media_ids: list[int] = field(default_factory=list)  # the album above the card
    gone: bool = False  # withdrawn or erased: the photos are taken down too

    def markup(self) -> InlineKeyboardMarkup | None:
        """The inline keyboard, or None when the story left moderation."""
        if not self.keyboard:
            return None
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(label, callback_data=CALLBACK_PREFIX + token)
                    for label, token in row
                ]
                for row in self.keyboard
            ]
        )


@dataclass
class Outcome:
    """What to do after a button press or a typed reply."""

    answer: str | None = None
    alert: bool = False
    menu: str = "main"
    redraw: bool = True
    prompt: str | None = None  # a prompt kind to ask for (question, reject_other, place, ...)
    version: int | None = None
    prompt_params: dict[str, Any] = field(default_factory=dict)  # kept with the prompt
    photos: list[Path] = field(default_factory=list)  # late photos to show under the card


def card_link(chat_id: int | None, message_id: int | None) -> str | None:
    """A t.me link to a card in a supergroup (members only), or None."""
    if chat_id is None or message_id is None or not str(chat_id).startswith("-100"):
        return None
    return f"https://t.me/c/{str(chat_id)[4:]}/{message_id}"


def moderator_actor(user: User) -> str:
    """How a moderator appears in the audit log (display name, never the Telegram id)."""
    return f"moderator:{user.full_name}"


class ModerationDesk:
    """The moderators' group face of the bot (one per application)."""

    def __init__(self, shared: BotServices, place_search: PlaceSearch | None = None) -> None:
        self.settings: Settings = shared.settings
        self.engine: Engine = shared.engine
        self.store: MediaStore = shared.store
        self.place_search = place_search
        self.admins = permissions.AdminCache()
        self.lang = self.settings.default_language
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = asyncio.Event()

    @property
    def chat_id(self) -> int | None:
        """The moderators' group, when configured."""
        return self.settings.moderator_chat_id

    # Who may act
    async def on_member_change(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Someone joined, left, was promoted or demoted: ask Telegram for the admins again, so
        a demoted admin loses the buttons at once rather than when the cache expires."""
        self.admins.invalidate()
        logger.info("the moderators' group changed its members; admin list refreshed on next use")

    async def admin_ids(self, bot: Bot) -> frozenset[int]:
        """The group's admins, fetched at most every few minutes."""
        if self.chat_id is None:
            return frozenset()
        if not self.admins.fresh():
            try:
                members = await bot.get_chat_administrators(self.chat_id)
            except TelegramError as error:
                logger.warning("could not fetch the group's admins: %s", type(error).__name__)
                return self.admins.ids
            self.admins.store(member.user.id for member in members)
        return self.admins.ids

    async def may_act(self, bot: Bot, user_id: int) -> bool:
        """True for moderators: configured ids and the group's admins."""
        if permissions.is_moderator(self.settings, user_id):
            return True
        return permissions.is_moderator(self.settings, user_id, await self.admin_ids(bot))

    # Drawing cards (sync, in a thread)
    def _draw(self, story_id: int, menu: str = "main") -> CardView:
        """Render the card of one story with fresh tokens, and remember the version it shows."""
        with Session(self.engine, expire_on_commit=False) as session:
            story = queue.get(session, story_id)
            assert story.id is not None
            details = queue.details(session, story)
            photos, missing = self._photos(details.media)
            schedule = self._schedule_lines(session, story.id)
            scheduled_by = next(
                (
                    decisions.actor_name(event.actor)
                    for event in reversed(details.history)
                    if event.action == "schedule_deliveries"
                ),
                None,
            )
            text = cards.card_text(
                details,
                self.lang,
                photos_sent=len(photos),
                photos_missing=missing,
                schedule=schedule,
                scheduled_by=scheduled_by,
            )
            if menu == "reasons":
                layout = cards.reasons_keyboard(self.lang)
            elif menu == "themes":
                layout = cards.themes_keyboard(story, self.lang)
            elif menu == "place":
                layout = cards.place_keyboard(self.lang, self._suggestions(story))
            elif menu == "schedule":
                campaigns = [(c.slug, c.name) for c in self._open_campaigns(session, story)]
                layout = cards.campaigns_keyboard(self.lang, campaigns)
            elif menu.startswith("when:"):
                slug = menu.removeprefix("when:")
                layout = cards.when_keyboard(self.lang, slug, self._next_slot(session, slug))
            else:
                layout = cards.main_keyboard(story, self.lang)
            keyboard = [
                [
                    (
                        button.label,
                        tokens.issue(
                            session, story.id, button.action, button.payload, story.version
                        ),
                    )
                    for button in row
                ]
                for row in layout
            ]
            session.execute(
                update(Submission)
                .where(col(Submission.id) == story.id)
                .values(card_version=story.version)
            )
            session.commit()
            return CardView(
                story.id,
                story.ref,
                story.card_chat_id,
                story.card_message_id,
                text,
                keyboard,
                photos,
                list(story.card_media_message_ids or []),
                story.state in (S.WITHDRAWN.value, S.ERASED.value),
            )

    def local_time(self, at: datetime) -> str:
        """An instant as the group reads it: `2026-11-25 09:00 WITA` (PESISIR_TIMEZONE)."""
        return format_local(at, self.settings.timezone)

    def _schedule_lines(self, session: Session, story_id: int) -> list[cards.ScheduleLine]:
        """The story's posts that are not cancelled, grouped by campaign and time."""
        lines = calendar.schedule_lines(session, story_id, timezone=self.settings.timezone)
        return [cards.ScheduleLine(*line) for line in lines]

    def _open_campaigns(self, session: Session, story: Submission) -> list[Campaign]:
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

    def _next_slot(self, session: Session, slug: str) -> str | None:
        """The campaign's next free slot in local time, or None when it has none."""
        try:
            return self.local_time(next_free_slot(session, get_campaign(session, slug), utcnow()))
        except (NotFound, NotAllowed):
            return None

    def _photos(self, media: list[Media]) -> tuple[list[Path], int]:
        """The `web` renditions that exist on disk, and how many photos have none.

        Originals (with their metadata) never leave the machine, not even to the group.
        """
        found: list[Path] = []
        missing = 0
        for item in media:
            if item.kind not in ("photo", "document"):
                continue
            rendition = (item.renditions or {}).get("web") or {}
            raw = rendition.get("path")
            path = None
            if raw:
                path = Path(raw) if Path(raw).is_absolute() else self.store.absolute(str(raw))
            if path is not None and path.is_file():
                found.append(path)
            else:
                missing += 1
        return found[:10], missing + max(0, len(found) - 10)

    def _suggestions(self, story: Submission) -> list[tuple[str, str, str | None]]:
        """Places to offer: the pipeline's matches for what the contributor typed."""
        if self.place_search is None or not story.place_text:
            return []
        try:
            return self.place_search(story.place_text)[:5]
        except Exception:  # noqa: BLE001 - a failing search must not break the card
            logger.warning("place search failed for %s", story.ref)
            return []

    def _stories_needing_cards(self) -> list[int]:
        with Session(self.engine) as session:
            statement = (
                select(Submission.id)
                .where(
                    col(Submission.state).in_(CARD_STATES),
                    col(Submission.card_message_id).is_(None),
                )
                .order_by(col(Submission.id))
                .limit(20)
            )
            return [int(sid) for sid in session.exec(statement) if sid is not None]

    def _stale_cards(self) -> list[int]:
        with Session(self.engine) as session:
            statement = (
                select(Submission.id)
                .where(
                    col(Submission.card_message_id).is_not(None),
                    col(Submission.card_version).is_distinct_from(col(Submission.version)),
                )
                .order_by(col(Submission.id))
                .limit(20)
            )
            return [int(sid) for sid in session.exec(statement) if sid is not None]

    def _save_card(
        self, story_id: int, chat_id: int, message_id: int, media_ids: list[int]
    ) -> None:
        with Session(self.engine) as session:
            session.execute(
                update(Submission)
                .where(col(Submission.id) == story_id)
                .values(
                    card_chat_id=chat_id,
                    card_message_id=message_id,
                    card_media_message_ids=media_ids,
                )
            )
            session.commit()

    # Posting and editing cards
    async def post_card(self, bot: Bot, story_id: int) -> int:
        """Post the photos (as an album when several) and the card; returns the card's id."""
        assert self.chat_id is not None
        view = await asyncio.to_thread(self._draw, story_id)
        media_ids: list[int] = []
        if len(view.photos) == 1:
            sent = await bot.send_photo(self.chat_id, view.photos[0].read_bytes())
            media_ids.append(sent.message_id)
        elif view.photos:
            album = [InputMediaPhoto(path.read_bytes()) for path in view.photos]
            media_ids += [m.message_id for m in await bot.send_media_group(self.chat_id, album)]
        message = await bot.send_message(
            self.chat_id,
            view.text,
            parse_mode=ParseMode.HTML,
            reply_markup=view.markup(),
            link_preview_options=None,
        )
        await asyncio.to_thread(
            self._save_card, story_id, self.chat_id, message.message_id, media_ids
        )
        logger.info("posted the review card of %s", view.ref)
        return message.message_id

    async def show_photos(self, bot: Bot, story_id: int, photos: list[Path]) -> None:
        """Post photos added to a story as a reply to its card (taken down with the others)."""
        view = await asyncio.to_thread(self._draw, story_id)
        if view.chat_id is None or view.message_id is None:
            return
        reply = ReplyParameters(view.message_id, allow_sending_without_reply=True)
        sent: list[int] = []
        for start in range(0, len(photos), 10):  # an album holds at most 10
            batch = photos[start : start + 10]
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
            self._save_card, story_id, view.chat_id, view.message_id, view.media_ids + sent
        )

    async def redraw(self, bot: Bot, story_id: int, menu: str = "main") -> None:
        """Edit a story's card in place (text and buttons)."""
        view = await asyncio.to_thread(self._draw, story_id, menu)
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
                reply_markup=view.markup(),
            )
        except BadRequest as error:
            if "not modified" in error.message:
                return
            if "not found" in error.message:
                # Someone deleted the card: forget it, so a story still in review gets a new one.
                logger.warning("the card of %s is gone from the group", view.ref)
                await asyncio.to_thread(self._forget_card, story_id)
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
        await asyncio.to_thread(
            self._save_card, view.story_id, view.chat_id, view.message_id or 0, []
        )

    def _forget_card(self, story_id: int) -> None:
        with Session(self.engine) as session:
            session.execute(
                update(Submission)
                .where(col(Submission.id) == story_id)
                .values(card_message_id=None, card_media_message_ids=[], card_version=None)
            )
            session.commit()

    async def tick(self, bot: Bot) -> None:
        """One round of background work: new cards, stale cards, notifications owed."""
        if self.chat_id is not None:
            for story_id in await asyncio.to_thread(self._stories_needing_cards):
                try:
                    await self.post_card(bot, story_id)
                except RetryAfter:
                    raise  # the whole bot waits; the loop tries again later
                except TelegramError as error:
                    logger.warning("could not post card #%s: %s", story_id, type(error).__name__)
            for story_id in await asyncio.to_thread(self._stale_cards):
                try:
                    await self.redraw(bot, story_id)
                except RetryAfter:
                    raise
                except TelegramError as error:
                    logger.warning("could not redraw card #%s: %s", story_id, type(error).__name__)
        # The bot looks too, so late posts are reported even when no dispatcher runs (a read
        # with nothing to report; it writes only when a post is newly late).
        await asyncio.to_thread(alert_late_posts, self.engine, self.settings)
        await notifier.drain_once(bot, self.engine, self.settings)

    # Buttons
    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button under a card was pressed."""
        query = update.callback_query
        assert query is not None and query.data is not None
        row = await asyncio.to_thread(self._resolve, query.data.removeprefix(CALLBACK_PREFIX))
        if row is None or row.submission_id is None:
            await query.answer(t(self.lang, "moderation.answer.unknown_button"), show_alert=True)
            return
        user = query.from_user
        if not await self.may_act(context.bot, user.id):
            await asyncio.to_thread(self._refuse, user, row.submission_id, row.action)
            await query.answer(t(self.lang, "moderation.answer.not_allowed"), show_alert=True)
            return
        outcome = await asyncio.to_thread(self._apply, row, moderator_actor(user))
        if outcome.prompt is not None:
            await self._prompt(context.bot, user, row.submission_id, outcome)
        # Telegram caps a callback answer at 200 characters.
        answer = None if outcome.answer is None else outcome.answer[:200]
        await query.answer(answer, show_alert=outcome.alert)
        if outcome.redraw:
            await self.redraw(context.bot, row.submission_id, outcome.menu)
        if outcome.photos:
            await self.show_photos(context.bot, row.submission_id, outcome.photos)

    def _resolve(self, token: str) -> CallbackToken | None:
        with Session(self.engine, expire_on_commit=False) as session:
            row = tokens.resolve(session, token)
            if row is not None:
                tokens.mark_used(session, row)
                session.commit()
            return row

    def _refuse(self, user: User, submission_id: int | None, attempted: str) -> None:
        with Session(self.engine) as session:
            permissions.record_refusal(
                session,
                actor=f"telegram:{user.full_name}",
                attempted=attempted,
                submission_id=submission_id,
            )
            session.commit()
        logger.info("refused a button press by a non-moderator")

    def _apply(self, row: CallbackToken, actor: str) -> Outcome:
        """Carry out what a button means (sync, in a thread)."""
        assert row.submission_id is not None
        story_id = row.submission_id
        version = row.version or 0
        payload = row.payload or {}
        action = row.action
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                story = queue.get(session, story_id)
                if story.version != version:
                    raise decisions.conflict_for(session, story_id)
                kwargs: dict[str, Any] = {"actor": actor, "expected_version": version}
                if action in SCHEDULE_ACTIONS and story.consent not in SOCIAL_CONSENTS:
                    return Outcome(answer=t(self.lang, "moderation.answer.not_social"), alert=True)
                if action == "menu_schedule" and not self._open_campaigns(session, story):
                    return Outcome(
                        answer=t(self.lang, "moderation.answer.no_campaigns"), alert=True
                    )
                if action.startswith("menu_"):
                    return Outcome(menu=action.removeprefix("menu_"), answer=None)
                if action == "approve":
                    decisions.approve(session, story_id, **kwargs)
                elif action == "reject":
                    if payload.get("reason") == decisions.RejectReason.OTHER.value:
                        return Outcome(prompt="reject_other", version=version, redraw=False)
                    decisions.reject(session, story_id, reason=str(payload["reason"]), **kwargs)
                elif action == "quarantine":
                    decisions.quarantine(session, story_id, **kwargs)
                elif action == "release":
                    decisions.release(session, story_id, **kwargs)
                elif action == "anonymous":
                    decisions.force_anonymous(
                        session, story_id, value=bool(payload.get("value", True)), **kwargs
                    )
                elif action == "toggle_theme":
                    decisions.toggle_theme(session, story_id, slug=str(payload["slug"]), **kwargs)
                    _card_handled_here(session, story_id)
                    session.commit()
                    return Outcome(menu="themes", answer=t(self.lang, "moderation.answer.done"))
                elif action == "set_place":
                    decisions.set_place(
                        session,
                        story_id,
                        place_id=payload.get("place_id"),
                        name=str(payload.get("name")),
                        kind=payload.get("kind"),
                        **kwargs,
                    )
                elif action == "pick_campaign":
                    return Outcome(menu=f"when:{payload.get('campaign')}")
                elif action == "schedule":
                    answer = self._schedule(
                        session, story_id, str(payload["campaign"]), None, actor
                    )
                    return Outcome(answer=answer)
                elif action == "type_time":
                    return Outcome(
                        prompt="schedule_time",
                        version=version,
                        redraw=False,
                        prompt_params=self._time_prompt_params(session, str(payload["campaign"])),
                    )
                elif action == "unschedule":
                    count = scheduling.unschedule(session, submission_id=story_id, actor=actor)
                    _card_handled_here(session, story_id)
                    session.commit()
                    return Outcome(
                        answer=t(self.lang, "moderation.answer.unscheduled", count=count)
                    )
                elif action == "add_late":
                    shown = add_late_photos(session, story_id, self.store, **kwargs)
                    _card_handled_here(session, story_id)
                    session.commit()
                    answer = t(self.lang, "moderation.answer.late_added", count=len(shown))
                    return Outcome(answer=answer, photos=shown)
                elif action in ("ask", "edit_text", "type_place"):
                    kind = {"ask": "question", "edit_text": "edit_text", "type_place": "place"}
                    return Outcome(prompt=kind[action], version=version, redraw=False)
                else:
                    return Outcome(answer=t(self.lang, "moderation.answer.unknown_button"))
                _card_handled_here(session, story_id)
                session.commit()
                return Outcome(answer=t(self.lang, "moderation.answer.done"))
            except Conflict as conflict:
                session.rollback()
                return Outcome(answer=self._conflict_text(conflict), alert=True)
            except (InvalidTransition, InvalidInput, ValueError, NotFound, NotAllowed) as error:
                session.rollback()
                return Outcome(
                    answer=t(self.lang, "moderation.answer.invalid", error=str(error)), alert=True
                )

    def _schedule(
        self, session: Session, story_id: int, slug: str, at: datetime | None, actor: str
    ) -> str:
        """Schedule the story in a campaign (its next free slot when `at` is None), commit, and
        return the answer naming the local time."""
        made = scheduling.schedule_story(
            session, submission_id=story_id, campaign_slug=slug, at=at, channels=None, actor=actor
        )
        _card_handled_here(session, story_id)
        session.commit()
        return t(
            self.lang,
            "moderation.answer.scheduled",
            ref=queue.get(session, story_id).ref,
            campaign=get_campaign(session, slug).name,
            time=self.local_time(made[0].scheduled_at),
        )

    def _time_prompt_params(self, session: Session, slug: str) -> dict[str, Any]:
        """What the 'type a time' prompt shows and keeps: the campaign and an example time."""
        campaign = get_campaign(session, slug)
        tomorrow = utcnow().astimezone(ZoneInfo(self.settings.timezone)) + timedelta(days=1)
        return {
            "campaign": campaign.slug,
            "name": campaign.name,
            "example": tomorrow.strftime("%Y-%m-%d 09:00"),
            "tz": tomorrow.strftime("%Z"),
        }

    def _conflict_text(self, conflict: Conflict) -> str:
        state = t(self.lang, f"core.state.{conflict.state}")
        if conflict.by and conflict.action:
            action = cards.describe_action(self.lang, conflict.action, None)
            return t(
                self.lang, "moderation.answer.conflict", who=conflict.by, action=action, state=state
            )
        return t(self.lang, "moderation.answer.outdated", state=state)

    # Typed replies
    async def _prompt(self, bot: Bot, user: User, story_id: int, outcome: Outcome) -> None:
        """Ask the moderator to type something; their next message (or reply) answers it."""
        assert self.chat_id is not None and outcome.prompt is not None
        ref = await asyncio.to_thread(self._ref_of, story_id)
        mention = user.mention_html()
        params = {key: html.escape(str(value)) for key, value in outcome.prompt_params.items()}
        text = t(
            self.lang, f"moderation.prompt.{outcome.prompt}", mention=mention, ref=ref, **params
        )
        message = await bot.send_message(
            self.chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(selective=True),
        )
        await asyncio.to_thread(
            self._open_prompt,
            user.id,
            story_id,
            outcome.prompt,
            outcome.version,
            message.message_id,
            params=outcome.prompt_params,
        )

    def _ref_of(self, story_id: int) -> str:
        with Session(self.engine) as session:
            return queue.get(session, story_id).ref

    def _open_prompt(
        self,
        user_id: int,
        story_id: int,
        kind: str,
        version: int | None,
        message_id: int,
        *,
        params: dict[str, Any] | None = None,
    ) -> None:
        assert self.chat_id is not None
        with Session(self.engine) as session:
            # A new prompt replaces this moderator's older open ones.
            for old in session.exec(
                select(ModeratorPrompt).where(
                    ModeratorPrompt.moderator_user_id == user_id,
                    col(ModeratorPrompt.consumed_at).is_(None),
                )
            ):
                old.consumed_at = utcnow()
                session.add(old)
            session.add(
                ModeratorPrompt(
                    moderator_user_id=user_id,
                    chat_id=self.chat_id,
                    submission_id=story_id,
                    kind=kind,
                    payload={**(params or {}), "version": version, "message_id": message_id},
                )
            )
            session.commit()

    async def on_group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A moderator typed in the group: it may answer their open prompt."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not message.text:
            return
        reply_to = message.reply_to_message.message_id if message.reply_to_message else None
        prompt = await asyncio.to_thread(self._find_prompt, user.id, reply_to)
        if prompt is None:
            return  # ordinary conversation in the group
        if not await self.may_act(context.bot, user.id):
            await asyncio.to_thread(self._refuse, user, prompt.submission_id, prompt.kind)
            return
        place = None
        if prompt.kind == "place":
            place = await asyncio.to_thread(self._resolve_place, message.text)
        outcome = await asyncio.to_thread(
            self._apply_typed, prompt, moderator_actor(user), message.text, place
        )
        if outcome.answer:
            await message.reply_text(outcome.answer)
        if outcome.prompt is not None:  # not understood: ask again
            await self._prompt(context.bot, user, prompt.submission_id, outcome)
        await self.redraw(context.bot, prompt.submission_id)

    def _find_prompt(self, user_id: int, reply_to: int | None) -> ModeratorPrompt | None:
        with Session(self.engine, expire_on_commit=False) as session:
            statement = (
                select(ModeratorPrompt)
                .where(
                    ModeratorPrompt.moderator_user_id == user_id,
                    ModeratorPrompt.chat_id == self.chat_id,
                    col(ModeratorPrompt.consumed_at).is_(None),
                    col(ModeratorPrompt.created_at) >= utcnow() - PROMPT_TTL,
                )
                .order_by(col(ModeratorPrompt.id).desc())
            )
            prompts = list(session.exec(statement))
            if reply_to is not None:
                for prompt in prompts:
                    if prompt.payload.get("message_id") == reply_to:
                        return prompt
            return prompts[0] if prompts else None

    def _resolve_place(self, text: str) -> tuple[str | None, str, str | None]:
        """A typed place: the pipeline's best match, else the name as typed."""
        name = text.strip()
        if self.place_search is not None:
            try:
                matches = self.place_search(name)
            except Exception:  # noqa: BLE001 - fall back to the typed name
                logger.warning("place search failed")
                matches = []
            if matches:
                return matches[0]
        return None, name, None

    def _apply_typed(
        self,
        prompt: ModeratorPrompt,
        actor: str,
        text: str,
        place: tuple[str | None, str, str | None] | None,
    ) -> Outcome:
        story_id = prompt.submission_id
        version = int(prompt.payload.get("version") or 0)
        kwargs: dict[str, Any] = {"actor": actor, "expected_version": version}
        with Session(self.engine, expire_on_commit=False) as session:
            live = session.get(ModeratorPrompt, prompt.id)
            if live is None or live.consumed_at is not None:
                return Outcome()
            try:
                if not text.strip():
                    return Outcome(answer=t(self.lang, "moderation.answer.empty"))
                if prompt.kind == "schedule_time":
                    return self._typed_time(session, live, actor, text)
                if prompt.kind == "question":
                    decisions.ask(session, story_id, question=text, **kwargs)
                elif prompt.kind == "reject_other":
                    decisions.reject(session, story_id, reason="other", note=text, **kwargs)
                elif prompt.kind == "edit_text":
                    decisions.edit_text(session, story_id, text=text, **kwargs)
                elif prompt.kind == "place" and place is not None:
                    place_id, name, kind = place
                    decisions.set_place(
                        session, story_id, place_id=place_id, name=name, kind=kind, **kwargs
                    )
                else:
                    return Outcome()
                live.consumed_at = utcnow()
                session.add(live)
                _card_handled_here(session, story_id)
                session.commit()
                ref = queue.get(session, story_id).ref
                return Outcome(answer=t(self.lang, "moderation.answer.reply_saved", ref=ref))
            except Conflict as conflict:
                session.rollback()
                self._consume(prompt.id)
                return Outcome(answer=self._conflict_text(conflict))
            except (InvalidTransition, InvalidInput, ValueError, NotFound, NotAllowed) as error:
                session.rollback()
                self._consume(prompt.id)
                return Outcome(answer=t(self.lang, "moderation.answer.invalid", error=str(error)))

    def _typed_time(
        self, session: Session, prompt: ModeratorPrompt, actor: str, text: str
    ) -> Outcome:
        """A typed time for the schedule: a time not understood, past or outside the campaign
        gets a kind answer and a new prompt; a good one schedules the story."""
        story_id = prompt.submission_id
        version = int(prompt.payload.get("version") or 0)
        slug = str(prompt.payload.get("campaign"))
        story = queue.get(session, story_id)
        if story.version != version:
            raise decisions.conflict_for(session, story_id)
        if story.consent not in SOCIAL_CONSENTS:
            raise NotAllowed(t(self.lang, "moderation.answer.not_social"))
        params = self._time_prompt_params(session, slug)
        again = Outcome(prompt="schedule_time", version=version, redraw=False, prompt_params=params)
        try:
            at = parse_local_time(text, self.settings.timezone)
        except InvalidInput:
            again.answer = t(self.lang, "moderation.answer.bad_time", **params)
            return again
        if at <= utcnow():
            again.answer = t(self.lang, "moderation.answer.past_time", time=self.local_time(at))
            return again
        try:
            prompt.consumed_at = utcnow()
            session.add(prompt)
            return Outcome(answer=self._schedule(session, story_id, slug, at, actor))
        except NotAllowed as error:
            session.rollback()
            again.answer = t(self.lang, "moderation.answer.invalid", error=str(error))
            return again

    def _consume(self, prompt_id: int | None) -> None:
        with Session(self.engine) as session:
            prompt = session.get(ModeratorPrompt, prompt_id)
            if prompt is not None:
                prompt.consumed_at = utcnow()
                session.add(prompt)
                session.commit()

    # The contributor's answer to a question
    async def on_contributor_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A private text from a contributor with a question waiting is the answer.

        Runs before the contributor conversation (handler group -2); when it takes the text,
        the conversation does not see it. The card is redrawn by the next tick.
        """
        del context
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not message.text:
            return
        ref = await asyncio.to_thread(take_answer, self.engine, user.id, message.text)
        if ref is not None:
            logger.info("answer attached to %s", ref)
            raise ApplicationHandlerStop

    # Daily reminder
    def reminder_text(self, now: datetime | None = None) -> str:
        """The daily summary of quarantined and long-waiting stories."""
        with Session(self.engine) as session:
            rows = reminders.reminder_rows(
                session, hours=self.settings.review_reminder_hours, now=now
            )
        if not rows:
            return t(self.lang, "moderation.reminder.none")
        lines = [t(self.lang, "moderation.reminder.header", count=len(rows))]
        for row in rows:
            line = t(
                self.lang,
                "moderation.reminder.line",
                ref=row.ref,
                state=t(self.lang, f"core.state.{row.state}"),
                hours=row.hours_waiting,
            )
            link = card_link(self.chat_id, row.card_message_id)
            lines.append(f"{line} {link}" if link else line)
        return "\n".join(lines)

    async def post_reminder(self, bot: Bot) -> None:
        """Post the daily summary to the group."""
        if self.chat_id is None:
            return
        text = await asyncio.to_thread(self.reminder_text)
        await bot.send_message(self.chat_id, text)

    def seconds_until_reminder(self, now: datetime | None = None) -> float:
        """Seconds from `now` to the next PESISIR_REVIEW_REMINDER_TIME in PESISIR_TIMEZONE."""
        zone = ZoneInfo(self.settings.timezone)
        local = (now or utcnow()).astimezone(zone)
        hour, minute = (int(part) for part in self.settings.review_reminder_time.split(":"))
        target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if target <= local:
            target += timedelta(days=1)
        return (target - local).total_seconds()

    # Background loops
    async def _loop(self, application: BotApp) -> None:
        started = False
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), timeout=self.settings.moderation_poll_seconds
                )
            if self._stopping.is_set():
                return
            if not application.running:
                if started:
                    return
                continue
            started = True
            # As an application task, so that `Application.stop()` waits for a round in
            # progress before the bot's connections are closed.
            await application.create_task(self._safe_tick(application), name="moderation-tick")

    async def _safe_tick(self, application: BotApp) -> None:
        try:
            await self.tick(application.bot)
        except Exception:  # keep polling; the next tick retries
            logger.exception("moderation tick failed")

    async def _daily(self, application: BotApp) -> None:
        while True:
            await asyncio.sleep(self.seconds_until_reminder())
            if not application.running:
                return
            await application.create_task(self._safe_daily(application), name="moderation-daily")

    async def _safe_daily(self, application: BotApp) -> None:
        try:
            await self.post_reminder(application.bot)
        except TelegramError:
            logger.warning("could not post the daily reminder")
        await asyncio.to_thread(self._purge_tokens)

    def _purge_tokens(self) -> None:
        """Forget button tokens of long-decided cards (housekeeping with the daily reminder)."""
        with Session(self.engine) as session:
            removed = tokens.purge_older_than(session, days=TOKEN_DAYS)
            session.commit()
        if removed:
            logger.info("forgot %d old button tokens", removed)

    def start(self, application: BotApp) -> None:
        """Start the polling loop (and the daily reminder when there is a group)."""
        self._stopping = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._loop(application), name="moderation-loop"))
        if self.chat_id is not None:
            self._tasks.append(
                asyncio.create_task(self._daily(application), name="moderation-daily")
            )

    async def stop(self) -> None:
        """Let the polling loop finish its round (its database work runs in threads), then stop."""
        self._stopping.set()
        loops = [task for task in self._tasks if task.get_name() == "moderation-loop"]
        if loops:
            await asyncio.wait(loops, timeout=10)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


def _card_handled_here(session: Session, story_id: int) -> None:
    """Mark the card current in the decision's transaction: the handler redraws it itself, so
    the background loop must not redraw it too (it would close an open menu)."""
    session.execute(
        update(Submission)
        .where(col(Submission.id) == story_id)
        .values(card_version=Submission.version)
    )


def take_answer(engine: Engine, telegram_user_id: int, text: str) -> str | None:
    """Attach `text` as the answer when this Telegram user has a story in `needs_info`.

    Returns the story's ref, or None when no question is waiting (the text is then an ordinary
    message for the contributor conversation). Blocking: call with `asyncio.to_thread`.
    """
    with Session(engine, expire_on_commit=False) as session:
        person = session.exec(
            select(Contributor).where(Contributor.telegram_user_id == telegram_user_id)
        ).first()
        if person is None or person.id is None:
            return None
        story = decisions.answer_pending_question(session, person.id, text)
        if story is None:
            return None
        session.commit()
        return story.ref


def desk(application: BotApp) -> ModerationDesk:
    """The moderation desk of a built application."""
    found = application.bot_data[DESK_KEY]
    assert isinstance(found, ModerationDesk)
    return found


def register(application: BotApp, shared: BotServices) -> None:
    """Add the group's handlers and background loops (a registrar for `bot.app`)."""
    the_desk = ModerationDesk(shared, place_search=_gazetteer_search)
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
            CallbackQueryHandler(the_desk.on_callback, pattern=f"^{CALLBACK_PREFIX}")
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
    previous_init = application.post_init
    previous_shutdown = application.post_shutdown

    async def post_init(app: BotApp) -> None:
        if previous_init is not None:
            await previous_init(app)
        the_desk.start(app)

    async def post_shutdown(app: BotApp) -> None:
        await the_desk.stop()
        if previous_shutdown is not None:
            await previous_shutdown(app)

    application.post_init = post_init
    application.post_shutdown = post_shutdown


def _gazetteer_search(query: str) -> list[tuple[str, str, str | None]]:
    """Up to five gazetteer places matching a typed name: (id, name, kind)."""
    return [
        (str(found.id), str(found.name), found.kind)
        for found in search_places(query, limit=5)
        if found.id and found.name
    ]
