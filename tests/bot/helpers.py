"""Helpers for conversation tests: what the bot said, and what the database holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.i18n import t
from core.models import Contributor, Media, Submission
from faketelegram import FakeUser


def texts(messages: list[dict[str, Any]]) -> list[str]:
    """The texts of bot messages."""
    return [str(m.get("text") or m.get("caption") or "") for m in messages]


async def press(user: FakeUser, key: str, lang: str = "id", **params: Any) -> list[str]:
    """Press the button labelled with catalog message `key`; the bot's answers."""
    user.press(t(lang, key, **params))
    return texts(await user.settle())


def stories_of(engine: Engine, user_id: int) -> list[Submission]:
    """Every submission of a Telegram user, oldest first."""
    with Session(engine) as session:
        contributor = session.exec(
            select(Contributor).where(Contributor.telegram_user_id == user_id)
        ).one()
        return list(
            session.exec(
                select(Submission)
                .where(Submission.contributor_id == contributor.id)
                .order_by(col(Submission.id))
            )
        )


def media_of(engine: Engine, submission_id: int) -> list[Media]:
    """The media rows of a story, in order."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Media)
                .where(Media.submission_id == submission_id)
                .order_by(col(Media.position))
            )
        )


def contributor(engine: Engine, contributor_id: int) -> Contributor:
    """A contributor row."""
    with Session(engine) as session:
        row = session.get(Contributor, contributor_id)
        assert row is not None
        return row


async def tell_story(
    user: FakeUser,
    *,
    photos: int = 1,
    text: str = "Abrasi di pantai Oesapa makin parah.",
    consent: str = "bot.consent.anonymous",
    lang: str = "id",
) -> list[str]:
    """A quick whole story: photos, text, place skipped, consent, send. The bot's last answers."""
    from faketelegram.images import jpeg

    for index in range(photos):
        user.send_photo(jpeg(color=(10 * index, 100, 120), label=text[:10]))
    user.send_text(text)
    await user.settle()
    await press(user, "bot.saved.next", lang)
    user.send_text(t(lang, "bot.place.skip_button"))
    await user.settle()
    await press(user, consent, lang)
    if consent == "bot.consent.named":
        await press(user, "bot.name.use", lang, name=user.first_name)
    return await press(user, "bot.summary.send", lang)
