"""`pesisir run` as a real process: the bot against a Bot API reached by PESISIR_TELEGRAM_BASE_URL,
and the dispatcher beside it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.config import Settings
from core.delivery_table import Delivery
from core.models import Contributor, Submission
from faketelegram import FakeBotAPI
from publishers.campaigns import ensure_default_campaign
from publishers.channels_config import add_channel
from publishers.scheduling import schedule_story

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API server on 127.0.0.1."""
    async with FakeBotAPI() as server:
        yield server


def _approved_story_due_now(engine: Engine) -> int:
    with Session(engine) as session:
        person = Contributor(telegram_user_id=555)
        session.add(person)
        session.flush()
        story = Submission(
            ref="SP-RUN1",
            contributor_id=person.id,
            state="approved",
            text="Warga Oesapa tanam mangrove di pantai.",
            consent="anonymous",
            place_name="Oesapa",
            themes=[{"slug": "ekosistem-pesisir", "score": 1.0, "evidence": ["mangrove"]}],
        )
        session.add(story)
        add_channel(session, name="outbox", kind="outbox")
        ensure_default_campaign(session)
        session.flush()
        assert story.id is not None
        schedule_story(
            session,
            submission_id=story.id,
            campaign_slug="adil-untuk-bumi",
            at=utcnow(),
            channels=["outbox"],
            actor="test",
        )
        session.commit()
        return story.id


def _process_env(fake: FakeBotAPI, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `pesisir run` process talking to `fake`, plus `extra` settings."""
    return {
        **os.environ,
        "PESISIR_TELEGRAM_TOKEN": fake.token,
        "PESISIR_TELEGRAM_BASE_URL": fake.base_url,
        "PESISIR_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "PESISIR_DATA_DIR": str(settings.data_dir),
        "PESISIR_DATABASE_URL": str(settings.database_url),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


async def _interrupt(process: asyncio.subprocess.Process) -> None:
    """Ctrl-C the process as a person would; kill it if it does not stop within 30 s."""
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), timeout=30)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _wait_until(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_run_talks_through_base_url_and_dispatches(
    fake: FakeBotAPI, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """A contributor is answered by the separate process; a due post goes out; no token in logs."""
    story_id = _approved_story_due_now(engine)
    env = _process_env(
        fake, settings, PESISIR_DISPATCH_INTERVAL_SECONDS="0.5", PESISIR_LOG_LEVEL="DEBUG"
    )
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "run", env=env, cwd=tmp_path, stderr=stderr
        )
        try:
            user = fake.user(9001, "Ina", "id")
            user.command("start")
            welcome = await user.next_reply(timeout=60)
            assert "Suara Pesisir" in str(welcome.get("text"))
            user.send_text("Semalam air laut masuk rumah lagi di Oesapa, sampai lutut.")
            await user.next_reply(timeout=30)
            with Session(engine) as session:
                person = session.exec(
                    select(Contributor).where(Contributor.telegram_user_id == 9001)
                ).one()
                draft = session.exec(
                    select(Submission).where(Submission.contributor_id == person.id)
                ).one()
                assert draft.state == "draft"
                assert "air laut masuk rumah" in str(draft.text)

            def delivered() -> bool:
                with Session(engine) as session:
                    row = session.exec(
                        select(Delivery).where(Delivery.submission_id == story_id)
                    ).one()
                    return row.state == "sent"

            assert await _wait_until(delivered)
        finally:
            await _interrupt(process)
    logs = stderr_path.read_text(encoding="utf-8", errors="replace")
    assert fake.token not in logs
    assert fake.token.split(":")[1] not in logs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_in_webhook_mode_answers_through_run_webhook(
    fake: FakeBotAPI, settings: Settings, tmp_path: Path
) -> None:
    """With PESISIR_WEBHOOK_URL the process registers it (with the secret) and is answered."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    env = _process_env(
        fake,
        settings,
        PESISIR_WEBHOOK_URL=url,
        PESISIR_WEBHOOK_LISTEN="127.0.0.1",
        PESISIR_WEBHOOK_PORT=str(port),
        PESISIR_WEBHOOK_SECRET="hook-Secret_42",
    )
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "run",
            "--no-dispatch",
            env=env,
            cwd=tmp_path,
            stderr=stderr,
        )
        try:
            assert await _wait_until(lambda: fake.webhook.get("url") == url, timeout=60)
            assert fake.webhook["secret_token"] == "hook-Secret_42"
            user = fake.user(9002, "Ina", "id")
            user.command("start")
            welcome = await user.next_reply(timeout=30)
            assert "Suara Pesisir" in str(welcome.get("text"))
            assert fake.webhook_statuses == [200]
            assert not fake.calls_of("getUpdates")  # no polling beside the webhook
        finally:
            await _interrupt(process)
    assert process.returncode == 0
    logs = stderr_path.read_text(encoding="utf-8", errors="replace")
    assert "hook-Secret_42" not in logs and fake.token.split(":")[1] not in logs
