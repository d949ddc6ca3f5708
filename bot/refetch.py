"""Fetch again the files whose download from Telegram failed, so the person need not resend them.

The media row of a failed download keeps Telegram's file id; this tries it again a bounded number
of times (the count lives in the row's error text). A file refused for good (over 20 MB, or not an
image or audio after all) is marked so and never tried again.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import BadRequest, NetworkError

from bot import drafts
from bot.media import download, fits, sniff, too_big
from bot.services import BotServices
from core.states import MediaKind

logger = logging.getLogger(__name__)

#: Tries after the first download; with the sweeper's pace that is about ten minutes.
MAX_RETRIES = 10
TOO_BIG = "file is too big"
NOT_MEDIA = "not an image or audio"


async def refetch(bot: Bot, shared: BotServices, *, submission_id: int | None = None) -> int:
    """Try every failed download once more (of one story, or all); how many are now stored."""
    rows = await asyncio.to_thread(
        drafts.unfetched, shared.engine, max_retries=MAX_RETRIES, submission_id=submission_id
    )
    fetched = 0
    for row in rows:
        fetched += await _one(bot, shared, row)
    if rows:
        logger.info("fetched %d of %d failed downloads again", fetched, len(rows))
    return fetched


async def _one(bot: Bot, shared: BotServices, row: drafts.Unfetched) -> bool:
    engine = shared.engine
    try:
        data = await download(bot, row.file_id)
    except BadRequest as error:
        reason = TOO_BIG if too_big(error) else f"download refused (retried {row.retries + 1})"
        await asyncio.to_thread(drafts.mark_media_failed, engine, row.media_id, reason)
        return False
    except NetworkError:
        reason = f"download failed (retried {row.retries + 1})"
        await asyncio.to_thread(drafts.mark_media_failed, engine, row.media_id, reason)
        return False
    sniffed = sniff(data)
    if sniffed is None or not fits(row.kind, sniffed):
        await asyncio.to_thread(drafts.mark_media_failed, engine, row.media_id, NOT_MEDIA)
        return False
    stored = await asyncio.to_thread(shared.store.put_original, data, suffix=sniffed.suffix)
    kind = MediaKind.AUDIO if row.kind is None and sniffed.is_audio else row.kind
    await asyncio.to_thread(
        drafts.attach_late, engine, row.media_id, stored, sniffed.mime_type, kind
    )
    return True
