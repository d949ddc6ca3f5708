"""The moderators' group face: button presses, typed replies, who may act, contributors' answers.

Every decision goes through `moderation.actions.apply` with the story version the card showed,
exactly as the CLI and the web do; this module only translates between Telegram and it. Who may
act: PESISIR_MODERATOR_IDS and the group's administrators (asked of Telegram, briefly cached).
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from telegram import Bot, ForceReply, Update, User
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import buttons, cards
from bot.moderation_cards import Cards, mark_card_current
from core.clock import format_local, parse_local_time, utcnow
from core.db import session_scope
from core.errors import InvalidInput, NotAllowed, PesisirError
from core.i18n import t
from core.models import Contributor, ModeratorPrompt
from core.projections import story_transcript
from core.states import SOCIAL_CONSENTS, PromptKind
from core.storage import MediaStore
from core.stories import get_story
from moderation import (
    Conflict,
    RejectReason,
    actions,
    answer_pending_question,
    check_version,
    permissions,
)
from moderation.actions import Action
from pipeline import add_late_photos
from publishers.campaigns import get_campaign

logger = logging.getLogger(__name__)

#: A typed reply counts for the prompt it answers for this long.
PROMPT_TTL = timedelta(hours=2)
#: Buttons that ask the moderator to type something, and what their answer is.
PROMPT_BUTTONS = {
    "ask": PromptKind.QUESTION,
    "edit_text": PromptKind.EDIT_TEXT,
    "type_place": PromptKind.PLACE,
    "type_time": PromptKind.SCHEDULE_TIME,
}
#: How much of a transcript the "edit text" prompt shows (a Telegram message holds 4096).
TRANSCRIPT_IN_PROMPT = 3500
#: Buttons on the way to a schedule: refused for a story whose consent keeps it off social media.
SCHEDULE_BUTTONS = frozenset({"menu_schedule", "pick_campaign", "schedule", "type_time"})


@dataclass
class Reply:
    """What to do after a button press or a typed reply."""

    answer: str | None = None
    alert: bool = False
    menu: str = "main"
    redraw: bool = True
    prompt: PromptKind | None = None  # ask the moderator to type this
    version: int | None = None
    prompt_params: dict[str, Any] = field(default_factory=dict)  # kept with the prompt
    prompt_key: str | None = None  # another wording of the prompt (default: by its kind)
    prompt_shows: dict[str, Any] = field(default_factory=dict)  # shown only, never stored
    photos: list[Path] = field(default_factory=list)  # late photos to show under the card


def moderator_actor(user: User) -> str:
    """How a moderator appears in the audit log (display name, never the Telegram id)."""
    return f"moderator:{user.full_name}"


class ModerationDesk:
    """The moderators' group face of the bot (one per application)."""

    def __init__(self, cards_: Cards) -> None:
        self.cards = cards_
        self.engine: Engine = cards_.engine
        self.settings = cards_.settings
        self.store: MediaStore = cards_.store
        self.admins = permissions.AdminCache()
        self.lang = self.settings.default_language

    @property
    def chat_id(self) -> int | None:
        """The moderators' group, when configured."""
        return self.settings.moderator_chat_id

    # ------------------------------------------------------------------ who may act

    async def on_member_change(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Someone joined, left, was promoted or demoted: ask Telegram for the admins again, so
        a demoted admin loses the buttons at once rather than when the cache expires."""
        self.admins.invalidate()
        logger.info("the moderators' group changed its members; admin list refreshed on next use")

    async def admin_ids(self, bot: Bot) -> frozenset[int] | None:
        """The group's admins, fetched at most every few minutes; None when Telegram cannot
        say right now (the list it gave earlier may be out of date: never trusted then)."""
        if self.chat_id is None:
            return frozenset()
        if not self.admins.fresh():
            try:
                members = await bot.get_chat_administrators(self.chat_id)
            except TelegramError as error:
                logger.warning("could not fetch the group's admins: %s", type(error).__name__)
                return None
            self.admins.store(member.user.id for member in members)
        return self.admins.ids

    async def may_act(self, bot: Bot, user_id: int) -> bool | None:
        """True for moderators (configured ids and the group's admins), False for others, None
        when that depends on an admin list Telegram cannot give right now (fail closed)."""
        if permissions.is_moderator(self.settings, user_id):
            return True
        admins = await self.admin_ids(bot)
        if admins is None:
            return None
        return permissions.is_moderator(self.settings, user_id, admins)

    def _refuse(self, user: User, submission_id: int | None, attempted: str) -> None:
        with session_scope(self.engine) as session:
            permissions.record_refusal(
                session,
                actor=permissions.refusal_actor(session, user.id),
                attempted=attempted,
                submission_id=submission_id,
            )
        logger.info("refused a button press by a non-moderator")

    # ------------------------------------------------------------------ buttons

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button under a card was pressed."""
        query = update.callback_query
        assert query is not None
        pressed = await asyncio.to_thread(
            buttons.press, self.engine, query.data, scope=buttons.MODERATOR, once=False
        )
        if pressed is None or pressed.submission_id is None:
            await query.answer(t(self.lang, "moderation.answer.unknown_button"), show_alert=True)
            return
        story_id, user = pressed.submission_id, query.from_user
        allowed = await self.may_act(context.bot, user.id)
        if allowed is None:
            await query.answer(t(self.lang, "moderation.answer.admins_unknown"), show_alert=True)
            return
        if not allowed:
            await asyncio.to_thread(self._refuse, user, story_id, pressed.action)
            await query.answer(t(self.lang, "moderation.answer.not_allowed"), show_alert=True)
            return
        reply = await asyncio.to_thread(self.respond, pressed, moderator_actor(user))
        if reply.prompt is not None:
            await self._prompt(context.bot, user, story_id, reply)
        # Telegram caps a callback answer at 200 characters.
        answer = None if reply.answer is None else reply.answer[:200]
        await query.answer(answer, show_alert=reply.alert)
        if reply.redraw:
            await self.cards.redraw(context.bot, story_id, reply.menu)
        if reply.photos:
            await self.cards.show_photos(context.bot, story_id, reply.photos)

    def respond(self, pressed: buttons.Pressed, actor: str) -> Reply:
        """What a pressed button means, done (sync, in a thread)."""
        assert pressed.submission_id is not None
        story_id, version = pressed.submission_id, pressed.version or 0
        try:
            with session_scope(self.engine) as session:
                return self._respond(session, story_id, version, pressed, actor)
        except Conflict as conflict:
            return Reply(answer=self.conflict_text(conflict), alert=True)
        except PesisirError as error:
            return Reply(answer=t(self.lang, "moderation.answer.invalid", error=error), alert=True)

    def _respond(
        self, session: Session, story_id: int, version: int, pressed: buttons.Pressed, actor: str
    ) -> Reply:
        check_version(session, story_id, version)
        story = get_story(session, story_id)
        action, payload = pressed.action, pressed.payload
        if action in SCHEDULE_BUTTONS and Action.SCHEDULE not in actions.available_actions(story):
            key = "not_social" if story.consent not in SOCIAL_CONSENTS else "no_campaigns"
            return Reply(answer=t(self.lang, f"moderation.answer.{key}"), alert=True)
        if action == "menu_schedule" and not self.cards.open_campaigns(session, story):
            return Reply(answer=t(self.lang, "moderation.answer.no_campaigns"), alert=True)
        if action.startswith("menu_"):
            return Reply(menu=action.removeprefix("menu_"))
        if action == "pick_campaign":
            return Reply(menu=f"when:{payload.get('campaign')}")
        if action == Action.REJECT and payload.get("reason") == RejectReason.OTHER:
            return Reply(prompt=PromptKind.REJECT_OTHER, version=version, redraw=False)
        if action in PROMPT_BUTTONS:
            params = {}
            if action == "type_time":
                params = self._time_prompt_params(session, str(payload["campaign"]))
            reply = Reply(
                prompt=PROMPT_BUTTONS[action], version=version, redraw=False, prompt_params=params
            )
            spoken = story_transcript(session, story_id) if action == "edit_text" else None
            if spoken:
                # A voice story: the moderator corrects the transcript rather than retyping it.
                reply.prompt_key = "moderation.prompt.edit_text_transcript"
                reply.prompt_shows = {"transcript": spoken[:TRANSCRIPT_IN_PROMPT]}
            return reply
        outcome = actions.apply(
            session,
            story_id,
            Action(action),
            payload,
            actor=actor,
            expected_version=version,
            add_late_photos=self._add_late_photos,
        )
        mark_card_current(session, story_id)
        menu = "themes" if action == Action.TOGGLE_THEME else "main"
        return Reply(answer=self.outcome_text(outcome), menu=menu, photos=outcome.photos)

    def _add_late_photos(
        self, session: Session, story_id: int, *, actor: str, expected_version: int
    ) -> list[Path]:
        return add_late_photos(
            session, story_id, self.store, actor=actor, expected_version=expected_version
        )

    def outcome_text(self, outcome: actions.Outcome) -> str:
        """What the group is told after an action."""
        if outcome.action == Action.SCHEDULE and outcome.scheduled_at is not None:
            return t(
                self.lang,
                "moderation.answer.scheduled",
                ref=outcome.ref,
                campaign=outcome.campaign,
                time=format_local(outcome.scheduled_at, self.settings.timezone),
            )
        if outcome.action == Action.UNSCHEDULE:
            return t(self.lang, "moderation.answer.unscheduled", count=outcome.cancelled)
        if outcome.action == Action.ADD_LATE_PHOTOS:
            return t(self.lang, "moderation.answer.late_added", count=len(outcome.photos))
        return t(self.lang, "moderation.answer.done")

    def conflict_text(self, conflict: Conflict) -> str:
        """'Ana approved it first; it is now approved' in the group's language."""
        state = t(self.lang, f"core.state.{conflict.state}")
        if conflict.by and conflict.action:
            action = cards.describe_action(self.lang, conflict.action, None)
            return t(
                self.lang, "moderation.answer.conflict", who=conflict.by, action=action, state=state
            )
        return t(self.lang, "moderation.answer.outdated", state=state)

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

    # ------------------------------------------------------------------ typed replies

    async def _prompt(self, bot: Bot, user: User, story_id: int, reply: Reply) -> None:
        """Ask the moderator to type something; their next message (or reply) answers it."""
        assert self.chat_id is not None and reply.prompt is not None
        ref = await asyncio.to_thread(self._ref_of, story_id)
        shown = {**reply.prompt_params, **reply.prompt_shows}
        params = {key: html.escape(str(value)) for key, value in shown.items()}
        text = t(
            self.lang,
            reply.prompt_key or f"moderation.prompt.{reply.prompt.value}",
            mention=user.mention_html(),
            ref=ref,
            **params,
        )
        message = await bot.send_message(
            self.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=ForceReply(selective=True)
        )
        await asyncio.to_thread(
            self._open_prompt,
            user.id,
            story_id,
            reply.prompt,
            reply.version,
            message.message_id,
            params=reply.prompt_params,
        )

    def _ref_of(self, story_id: int) -> str:
        with session_scope(self.engine) as session:
            return get_story(session, story_id).ref

    def _open_prompt(
        self,
        user_id: int,
        story_id: int,
        kind: PromptKind,
        version: int | None,
        message_id: int,
        *,
        params: dict[str, Any] | None = None,
    ) -> None:
        assert self.chat_id is not None
        with session_scope(self.engine) as session:
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
                    kind=kind.value,
                    payload={**(params or {}), "version": version, "message_id": message_id},
                )
            )

    async def on_group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A moderator typed in the group: it may answer their open prompt."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or not message.text:
            return
        reply_to = message.reply_to_message.message_id if message.reply_to_message else None
        prompt = await asyncio.to_thread(self._find_prompt, user.id, reply_to)
        if prompt is None:
            return  # ordinary conversation in the group
        allowed = await self.may_act(context.bot, user.id)
        if allowed is None:
            await message.reply_text(t(self.lang, "moderation.answer.admins_unknown"))
            return
        if not allowed:
            await asyncio.to_thread(self._refuse, user, prompt.submission_id, prompt.kind)
            return
        place = None
        if prompt.kind == PromptKind.PLACE:
            place = await asyncio.to_thread(self._resolve_place, message.text)
        reply = await asyncio.to_thread(
            self.answer_prompt, prompt, moderator_actor(user), message.text, place
        )
        if reply.answer:
            await message.reply_text(reply.answer)
        if reply.prompt is not None:  # not understood: ask again
            await self._prompt(context.bot, user, prompt.submission_id, reply)
        await self.cards.redraw(context.bot, prompt.submission_id)

    def _find_prompt(self, user_id: int, reply_to: int | None) -> ModeratorPrompt | None:
        with session_scope(self.engine) as session:
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
        matches = self.cards.suggestions(name)
        return matches[0] if matches else (None, name, None)

    def answer_prompt(
        self,
        prompt: ModeratorPrompt,
        actor: str,
        text: str,
        place: tuple[str | None, str, str | None] | None,
    ) -> Reply:
        """Carry out what a typed reply answers (sync, in a thread)."""
        if not text.strip():
            return Reply(answer=t(self.lang, "moderation.answer.empty"))
        try:
            with session_scope(self.engine) as session:
                live = session.get(ModeratorPrompt, prompt.id)
                if live is None or live.consumed_at is not None:
                    return Reply()
                reply = self._typed(session, live, actor, text, place)
                if reply.prompt is None:
                    live.consumed_at = utcnow()
                    session.add(live)
                return reply
        except Conflict as conflict:
            self._consume(prompt.id)
            return Reply(answer=self.conflict_text(conflict))
        except PesisirError as error:
            self._consume(prompt.id)
            return Reply(answer=t(self.lang, "moderation.answer.invalid", error=error))

    def _typed(
        self,
        session: Session,
        prompt: ModeratorPrompt,
        actor: str,
        text: str,
        place: tuple[str | None, str, str | None] | None,
    ) -> Reply:
        story_id = prompt.submission_id
        version = int(prompt.payload.get("version") or 0)
        kind = PromptKind(prompt.kind)
        if kind == PromptKind.SCHEDULE_TIME:
            return self._typed_time(session, prompt, actor, text)
        payloads: dict[PromptKind, tuple[Action, dict[str, Any]]] = {
            PromptKind.QUESTION: (Action.ASK, {"question": text}),
            PromptKind.REJECT_OTHER: (Action.REJECT, {"reason": "other", "note": text}),
            PromptKind.EDIT_TEXT: (Action.EDIT_TEXT, {"text": text}),
        }
        if kind == PromptKind.PLACE and place is not None:
            place_id, name, place_kind = place
            found = {"place_id": place_id, "name": name, "kind": place_kind}
            payloads[kind] = (Action.SET_PLACE, found)
        if kind not in payloads:
            return Reply()
        action, payload = payloads[kind]
        outcome = actions.apply(
            session, story_id, action, payload, actor=actor, expected_version=version
        )
        mark_card_current(session, story_id)
        return Reply(answer=t(self.lang, "moderation.answer.reply_saved", ref=outcome.ref))

    def _typed_time(
        self, session: Session, prompt: ModeratorPrompt, actor: str, text: str
    ) -> Reply:
        """A typed time for the schedule: a time not understood, past or outside the campaign
        gets a kind answer and a new prompt; a good one schedules the story."""
        version = int(prompt.payload.get("version") or 0)
        slug = str(prompt.payload.get("campaign"))
        check_version(session, prompt.submission_id, version)
        story = get_story(session, prompt.submission_id)
        if story.consent not in SOCIAL_CONSENTS:
            raise NotAllowed(t(self.lang, "moderation.answer.not_social"))
        params = self._time_prompt_params(session, slug)
        again = Reply(
            prompt=PromptKind.SCHEDULE_TIME, version=version, redraw=False, prompt_params=params
        )
        try:
            at = parse_local_time(text, self.settings.timezone)
        except InvalidInput:
            again.answer = t(self.lang, "moderation.answer.bad_time", **params)
            return again
        if at <= utcnow():
            local = format_local(at, self.settings.timezone)
            again.answer = t(self.lang, "moderation.answer.past_time", time=local)
            return again
        try:  # refused before anything is written: outside the campaign's dates, paused, ...
            outcome = actions.apply(
                session,
                prompt.submission_id,
                Action.SCHEDULE,
                {"campaign": slug, "at": at},
                actor=actor,
                expected_version=version,
            )
        except NotAllowed as error:
            again.answer = t(self.lang, "moderation.answer.invalid", error=error)
            return again
        mark_card_current(session, prompt.submission_id)
        return Reply(answer=self.outcome_text(outcome))

    def _consume(self, prompt_id: int | None) -> None:
        with session_scope(self.engine) as session:
            prompt = session.get(ModeratorPrompt, prompt_id)
            if prompt is not None:
                prompt.consumed_at = utcnow()
                session.add(prompt)

    # ------------------------------------------------------------------ contributors' answers

    async def on_contributor_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A private text from a contributor with a question waiting is the answer.

        Runs before the contributor conversation (handler group -2); when it takes the text,
        the conversation does not see it. The card is redrawn by the next round.
        """
        del context
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or not message.text:
            return
        ref = await asyncio.to_thread(take_answer, self.engine, user.id, message.text)
        if ref is not None:
            logger.info("answer attached to %s", ref)
            raise ApplicationHandlerStop


def take_answer(engine: Engine, telegram_user_id: int, text: str) -> str | None:
    """Attach `text` as the answer when this Telegram user has a story in `needs_info`.

    Returns the story's ref, or None when no question is waiting (the text is then an ordinary
    message for the contributor conversation). Blocking: call with `asyncio.to_thread`.
    """
    with session_scope(engine) as session:
        person = session.exec(
            select(Contributor).where(Contributor.telegram_user_id == telegram_user_id)
        ).first()
        if person is None or person.id is None:
            return None
        story = answer_pending_question(session, person.id, text)
        return None if story is None else story.ref
