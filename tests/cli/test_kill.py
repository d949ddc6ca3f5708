"""`pesisir run` killed (SIGKILL) at random moments while contributors send albums and texts:
after restarts, every message is stored exactly once and every person is answered.

The fake Telegram keeps an update until the bot confirms it (the next `getUpdates` offset), as
Telegram does; before updates were stored on arrival, anything fetched but not yet handled at
the kill was gone.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.config import Settings
from core.i18n import t
from core.models import Contributor, Media, Submission
from faketelegram import FakeBotAPI
from faketelegram.images import jpeg

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 12


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API server on 127.0.0.1."""
    async with FakeBotAPI() as server:
        yield server


def _env(fake: FakeBotAPI, settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PESISIR_TELEGRAM_TOKEN": fake.token,
        "PESISIR_TELEGRAM_BASE_URL": fake.base_url,
        "PESISIR_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "PESISIR_DATA_DIR": str(settings.data_dir),
        "PESISIR_DATABASE_URL": str(settings.effective_database_url),
        "PESISIR_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


async def _start(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "run", "--no-dispatch", env=env, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def _stories(engine: Engine) -> dict[int, tuple[str | None, int]]:
    """Per Telegram user: the draft's text and how many photos are stored for it."""
    with Session(engine) as session:
        rows = session.exec(
            select(Contributor.telegram_user_id, Submission.text, Submission.id).join(
                Submission, col(Submission.contributor_id) == Contributor.id
            )
        ).all()
        found = {}
        for user, text, story_id in rows:
            photos = session.exec(
                select(Media.id).where(Media.submission_id == story_id, col(Media.path).isnot(None))
            ).all()
            found[int(user or 0)] = (text, len(photos))
        return found


@pytest.mark.parametrize("seed", [7, 1234])
async def test_kills_at_random_moments_lose_nothing(
    fake: FakeBotAPI, settings: Settings, engine: Engine, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    env = _env(fake, settings)
    people = [fake.user(700_000 + n, f"Warga{n}", "id") for n in range(PEOPLE)]
    texts = {p.id: f"Air laut masuk rumah nomor {n} di Oesapa." for n, p in enumerate(people)}
    process = await _start(env, tmp_path)
    try:
        for round_ in range(3):
            # Messages arrive while the bot runs; it is killed at a random moment among them.
            for person in people[round_::3]:
                person.send_album(
                    [
                        jpeg(color=(20 * round_, 90, 30 * k), label=f"{person.id}-{k}")
                        for k in range(2)
                    ]
                )
                person.send_text(texts[person.id])
                await asyncio.sleep(rng.uniform(0.0, 0.15))
            await asyncio.sleep(rng.uniform(0.2, 2.5))
            process.send_signal(signal.SIGKILL)
            await process.wait()
            process = await _start(env, tmp_path)
        saved = t("id", "bot.saved.body", what="").split(":")[0]

        async def everyone_answered() -> bool:
            stories = _stories(engine)
            return all(
                stories.get(p.id) == (texts[p.id], 2)
                and any(saved in str(m.get("text")) for m in p.messages)
                for p in people
            )

        for _ in range(300):
            if await everyone_answered():
                break
            await asyncio.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
    stories = _stories(engine)
    # Every text exactly once (a replayed update is not appended twice), both photos stored.
    assert {p.id: stories.get(p.id) for p in people} == {p.id: (texts[p.id], 2) for p in people}
    unanswered = [
        p.first_name for p in people if not any(saved in str(m.get("text")) for m in p.messages)
    ]
    assert unanswered == []
