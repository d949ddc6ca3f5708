"""Contributors' commands (/start, /kirim, /status, /hapus, ...) and their buttons."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from telegram import (
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.ext import (
    ContextTypes,
)

from bot import buttons, contents, conversation, drafts, erasure
from bot.buttons import Button
from bot.conversation import (
    NAME_MAX,
    Turn,
    advance,
    ask_consent,
    ask_name,
    ask_place,
    submit,
    turn_for,
)
from core.i18n import t
from core.states import Awaiting, Consent

logger = logging.getLogger(__name__)


# --- commands --------------------------------------------------------------------------------


async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Who we are and what happens to a story; with an open draft, ask what to do with it."""
    turn = await turn_for(update, context)
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
    await submit(await turn_for(update, context))


async def cmd_batal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop the open draft (its media and text are erased); asks first unless it holds no more
    than a line of text."""
    turn = await turn_for(update, context)
    await _ask_or_drop(turn)


#: A draft holding no more than this, one line of text and nothing else, is dropped at once.
ONE_LINE = 100


def _little(draft: drafts.Draft) -> bool:
    text = draft.text or ""
    return not (draft.photos or draft.audio) and "\n" not in text and len(text) <= ONE_LINE


async def _ask_or_drop(turn: Turn) -> None:
    """Drop a draft of a line at once; for more (ten photos, a recording), ask first."""
    draft: drafts.Draft | None = await turn.db(drafts.current_draft, turn.engine, turn.person.id)
    if draft is None or _little(draft):
        await _drop_draft(turn)
        return
    markup = await turn.buttons(
        [
            [Button(t(turn.lang, "bot.drop.yes"), "drop_yes")],
            [Button(t(turn.lang, "bot.drop.no"), "drop_no")],
        ],
        submission_id=draft.id,
    )
    what = contents.holds(turn.lang, draft)
    await turn.say("bot.drop.confirm", markup, ref=draft.ref, what=what)


async def _drop_draft(turn: Turn) -> None:
    draft: drafts.Draft | None = await turn.db(drafts.current_draft, turn.engine, turn.person.id)
    if draft is None:
        await turn.say("bot.nothing_open", ReplyKeyboardRemove())
        return
    await turn.db(
        erasure.erase_story,
        turn.engine,
        turn.services.settings,
        turn.services.store,
        turn.person.id,
        draft.ref,
    )
    await turn.say("bot.dropped", ReplyKeyboardRemove(), ref=draft.ref)


async def cmd_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The contributor's stories with their state in plain words."""
    turn = await turn_for(update, context)
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
    turn = await turn_for(update, context)
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
    turn = await turn_for(update, context)
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
    turn = await turn_for(update, context)
    await turn.say("bot.help", limit=turn.services.settings.max_photos)


async def cmd_unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command we do not know: point to /bantuan."""
    turn = await turn_for(update, context)
    await turn.say("bot.unknown_command")


# --- buttons ---------------------------------------------------------------------------------

Action = Callable[[Turn, buttons.Pressed, User], Awaitable[None]]


async def _act_next(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await advance(turn)


async def _act_consent(turn: Turn, pressed: buttons.Pressed, _user: User) -> None:
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


async def _act_use_name(turn: Turn, _pressed: buttons.Pressed, user: User) -> None:
    name = (turn.person.public_name or user.first_name)[:NAME_MAX]
    await turn.db(drafts.update_contributor, turn.engine, turn.person.id, public_name=name)
    turn.person = replace(turn.person, public_name=name)
    await turn.set_awaiting(None)
    await advance(turn)


async def _act_submit(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await submit(turn)


async def _act_change(turn: Turn, pressed: buttons.Pressed, _user: User) -> None:
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


async def _act_change_text(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await turn.set_awaiting(Awaiting.TEXT_REPLACE)
    await turn.say("bot.change.text_prompt")


async def _act_change_photos(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    removed = await turn.db(drafts.drop_images, turn.engine, turn.services.store, turn.person.id)
    await turn.say("bot.change.photos_prompt", count=removed)


async def _act_change_place(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await turn.db(drafts.clear_place, turn.engine, turn.person.id)
    await ask_place(turn)


async def _act_change_consent(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    draft = await turn.db(drafts.set_consent, turn.engine, turn.person.id, None, None)
    if draft is not None:
        await ask_consent(turn, draft)


async def _act_cancel_draft(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await _ask_or_drop(turn)


async def _act_drop_yes(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await _drop_draft(turn)


async def _act_drop_no(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await turn.say("bot.drop.kept")


async def _act_open_continue(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await turn.say("bot.open.continuing")


async def _act_open_discard(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
    await _drop_draft(turn)
    await turn.say("bot.start")


async def _act_lang(turn: Turn, pressed: buttons.Pressed, _user: User) -> None:
    await _set_language(turn, str(pressed.payload["lang"]))


async def _act_erase_pick(turn: Turn, pressed: buttons.Pressed, _user: User) -> None:
    await _confirm_erase(turn, pressed.payload)


async def _act_erase_yes(turn: Turn, pressed: buttons.Pressed, _user: User) -> None:
    store = turn.services.store
    if pressed.payload.get("all"):
        everything: erasure.Erased = await turn.db(
            erasure.erase_everything, turn.engine, turn.services.settings, store, turn.person.id
        )
        removed = _removed(turn.lang, everything, whole=True)
        await turn.say("bot.erase.done_all", ReplyKeyboardRemove(), removed=removed)
        return
    ref = str(pressed.payload["ref"])
    erased: erasure.Erased | None = await turn.db(
        erasure.erase_story, turn.engine, turn.services.settings, store, turn.person.id, ref
    )
    if erased is not None:
        await turn.say("bot.erase.done_one", ref=ref, removed=_removed(turn.lang, erased))
    else:
        await turn.say("bot.erase.nothing", ref=ref)


def _removed(lang: str, erased: erasure.Erased, *, whole: bool = False) -> str:
    """What an erasure removed, one line each, as the contributor reads it (DESIGN.md: the
    contributor is told what was removed)."""
    lines = [
        t(lang, "bot.erase.removed_stories", count=erased.stories)
        if whole
        else t(lang, "bot.erase.removed_text")
    ]
    if erased.photos:
        what = contents.counted(lang, "photo", erased.photos)
        lines.append(t(lang, "bot.erase.removed_files", what=what))
    if erased.recordings:
        what = contents.counted(lang, "recording", erased.recordings)
        lines.append(t(lang, "bot.erase.removed_recordings", what=what))
    counted = [
        ("posts_cancelled", erased.posts_cancelled),
        ("posts_taken_down", erased.posts_taken_down),
        ("posts_stopping", erased.posts_stopping),
        ("posts_left", erased.posts_left),
    ]
    lines += [t(lang, f"bot.erase.{key}", count=count) for key, count in counted if count]
    return "\n".join(lines)


async def _act_erase_no(turn: Turn, _pressed: buttons.Pressed, _user: User) -> None:
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
    "drop_yes": _act_drop_yes,
    "drop_no": _act_drop_no,
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
    if query.message is None or query.message.chat.type != ChatType.PRIVATE:
        # A contributor's button outside their private chat (a forwarded message): whoever
        # pressed it is not that contributor, and must not get their story's answers.
        lang = conversation.language_hint(query.from_user.language_code)
        await query.answer(t(lang, "bot.stale_button"), show_alert=True)
        return
    turn = await turn_for(update, context)
    pressed: buttons.Pressed | None = await turn.db(
        buttons.press, turn.engine, query.data, scope=buttons.CONTRIBUTOR, once=True
    )
    # A button of a story that was sent (or dropped) since means nothing any more.
    if (
        pressed is not None
        and pressed.submission_id is not None
        and not await turn.db(drafts.is_draft, turn.engine, pressed.submission_id)
    ):
        pressed = None
    if pressed is None or pressed.action not in ACTIONS:
        await query.answer(t(turn.lang, "bot.stale_button"), show_alert=True)
        return
    await query.answer()
    # One rate-limited call per press, the answer itself: the pressed message keeps its buttons
    # (they are single-use and answer "no longer works"); removing them would be a second
    # call against Telegram's 30 a second, and under a burst every answer waits for it.
    await ACTIONS[pressed.action](turn, pressed, query.from_user)
