"""The demo's moderation step: a scripted moderator approves one story and rejects another."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

from sqlmodel import select

from core.db import session_scope
from core.i18n import t
from core.models import Notification, Submission
from core.states import NotificationState
from faketelegram import button_texts

if TYPE_CHECKING:
    from cli.demo import DemoContext

#: The fake moderators' group of the demo.
DEMO_GROUP_ID = -1001000000001


async def _card(ctx: DemoContext, ref: str, timeout: float = 20.0) -> dict[str, object]:
    """Wait for the review card of `ref` in the group; the card message."""
    assert ctx.settings.moderator_chat_id is not None
    group = ctx.fake.groups[ctx.settings.moderator_chat_id]
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(ctx.engine) as session:
            story = session.exec(select(Submission).where(Submission.ref == ref)).one()
        for message in group.chat.replies:
            if message["message_id"] == story.card_message_id:
                return message
        if time.monotonic() > deadline:
            raise TimeoutError(f"no review card for {ref}")
        await asyncio.sleep(0.1)


def _show(ctx: DemoContext, message: dict[str, object]) -> None:
    text = re.sub(r"<[^>]+>", "", str(message.get("text") or ""))
    for line in text.splitlines():
        if line.strip():
            ctx.echo(f"  group → {line}")
    labels = button_texts(message)
    if labels:
        ctx.echo("          [" + "] [".join(labels) + "]")


async def _notifications_sent(ctx: DemoContext, timeout: float = 20.0) -> None:
    """Wait until the bot has sent what it owes the contributors."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(ctx.engine) as session:
            waiting = session.exec(
                select(Notification.id).where(Notification.state == NotificationState.PENDING.value)
            ).first()
        if waiting is None:
            return
        await asyncio.sleep(0.1)


async def moderators_decide(ctx: DemoContext) -> None:
    """Ana, a group admin, approves Yuli's story and rejects Maria's; both are told."""
    chat_id = ctx.settings.moderator_chat_id
    if chat_id is None or not {"Yuli", "Maria"} <= set(ctx.refs):
        ctx.echo("  (no moderators' group configured: stories wait for `pesisir queue`)")
        return
    group = ctx.fake.groups[chat_id]
    ana = ctx.fake.user(620_001, "Ana", "id")
    group.add(ana, admin=True)
    lang = ctx.settings.default_language

    card = await _card(ctx, ctx.refs["Yuli"])
    _show(ctx, card)
    approve = t(lang, "moderation.button.approve")
    ctx.echo(f"  Ana → presses [{approve}]")
    answer = await ana.answer_to(group.press(ana, approve, message=card))
    ctx.echo(f"  bot → (to Ana) {answer['text']}")

    card = await _card(ctx, ctx.refs["Maria"])
    _show(ctx, card)
    reject = t(lang, "moderation.button.reject")
    reason = t(lang, "moderation.reason.cannot_verify")
    ctx.echo(f"  Ana → presses [{reject}], then [{reason}]")
    await ana.answer_to(group.press(ana, reject, message=card))
    menu = await _card(ctx, ctx.refs["Maria"])
    deadline = time.monotonic() + 10
    while reason not in button_texts(menu) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        menu = await _card(ctx, ctx.refs["Maria"])
    answer = await ana.answer_to(group.press(ana, reason, message=menu))
    ctx.echo(f"  bot → (to Ana) {answer['text']}")

    await _notifications_sent(ctx)
    for name in ("Yuli", "Maria"):
        person = ctx.people[name]
        ctx.echo(f"  … {name}'s chat:")
        await ctx.user_does(person, "waits for news of the story")
