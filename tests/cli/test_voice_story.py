"""Issue 10, done when: a contributor's voice-only story, driven through the fake Telegram and
`pesisir run` (a real process, its own Whisper model), reaches the moderators' group with its
recording and a transcript, is tagged from the transcript, approved after a moderator's edit,
published with that text, and erased completely by /hapus."""

from __future__ import annotations

import asyncio
import html
import json
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.main import app
from core.clock import utcnow
from core.config import Settings
from core.delivery_table import Delivery
from core.i18n import t
from core.models import Contributor, Media, Submission
from faketelegram import FakeBotAPI, FakeGroup, button_texts
from publishers.campaigns import ensure_default_campaign
from publishers.channels_config import add_channel
from tests.cli.test_run import _interrupt, _process_env
from tests.voice import SENTENCES, clip, words

GROUP_ID = -1005550001111
CORRECTED = "Katong tanam mangrove di Tablolong supaya pantai tidak terkikis."


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API server on 127.0.0.1."""
    async with FakeBotAPI() as server:
        yield server


async def _until(predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise TimeoutError("condition not met")


def _story(engine: Engine, user_id: int) -> Submission:
    with Session(engine) as session:
        return session.exec(
            select(Submission)
            .join(Contributor, Contributor.id == Submission.contributor_id)  # type: ignore[arg-type]
            .where(Contributor.telegram_user_id == user_id)
        ).one()


def _card(group: FakeGroup, ref: str) -> dict[str, Any] | None:
    cards = [m for m in group.chat.replies if f"📝 Cerita {ref} ·" in m.get("text", "")]
    return cards[-1] if cards else None


async def _press(group: FakeGroup, who: Any, ref: str, label: str) -> None:
    card = await _until(lambda: (c := _card(group, ref)) and label in button_texts(c) and c)
    await who.answer_to(group.press(who, label, message=card))


async def test_a_voice_story_from_telegram_to_a_post_and_erased(
    fake: FakeBotAPI, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    with Session(engine) as session:
        add_channel(session, name="outbox", kind="outbox")
        ensure_default_campaign(session, channels=["outbox"])
        session.commit()
    yuli = fake.user(31_001, "Yuli", "id")
    ana = fake.user(31_002, "Ana", "id")
    group = fake.group(GROUP_ID, admins=(ana,))
    env = _process_env(
        fake,
        settings,
        PESISIR_MODERATOR_CHAT_ID=str(GROUP_ID),
        PESISIR_MODERATION_POLL_SECONDS="0.2",
        PESISIR_DISPATCH_INTERVAL_SECONDS="0.5",
        PESISIR_BOT_ACK_DELAY_SECONDS="0.2",
        PESISIR_LOG_LEVEL="DEBUG",
    )
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "run", env=env, cwd=tmp_path, stderr=stderr
        )
        try:
            await _voice_story_through_the_bot(fake, group, yuli, ana, engine, settings, env)
        finally:
            await _interrupt(process)
    logs = stderr_path.read_text(encoding="utf-8", errors="replace")
    assert "speech model loaded: Whisper base (PyPI packages)" in logs
    # What was said never reaches the log (nor the corrected text).
    assert "terkikis" not in logs.lower() and "mangrove" not in logs.lower()


async def _voice_story_through_the_bot(
    fake: FakeBotAPI,
    group: FakeGroup,
    yuli: Any,
    ana: Any,
    engine: Engine,
    settings: Settings,
    env: dict[str, str],
) -> None:
    # The contributor tells the story aloud: one voice note, no text.
    yuli.send_voice(clip("s6"), duration=5)
    saved = await yuli.next_reply(timeout=60)
    assert saved["text"].startswith("✅ Tersimpan: 1 rekaman suara.")
    await _until(lambda: [m for m in yuli.messages if m.get("reply_markup")])
    yuli.press(t("id", "bot.saved.next"))
    await _until(lambda: t("id", "bot.ask.place") in [m.get("text") for m in yuli.messages])
    yuli.send_text(t("id", "bot.place.skip_button"))
    await _until(lambda: t("id", "bot.ask.consent") in [m.get("text") for m in yuli.messages])
    yuli.press(t("id", "bot.consent.anonymous"))
    await _until(lambda: any("Kirim sekarang?" in m.get("text", "") for m in yuli.messages))
    yuli.press(t("id", "bot.summary.send"))
    story = await _until(lambda: (s := _story(engine, yuli.id)).state == "pending_review" and s)
    ref = story.ref

    # The moderators hear it (a voice message from the private original) and read its transcript.
    card = await _until(lambda: _card(group, ref))
    assert group.chat.voices() == [clip("s6")]
    assert not fake.calls_of("forwardMessage")
    text = html.unescape(card["text"])
    assert "🎙 1 pesan suara (0:05)" in text and "🗣 Transkrip otomatis:" in text
    assert "mangrove" in words(text)
    # Tagged from the transcript, the evidence marked as speech.
    themes = {theme["slug"]: theme for theme in story.themes}
    assert "ekosistem-pesisir" in themes
    sources = {item["source"] for item in themes["ekosistem-pesisir"]["evidence_items"]}
    assert sources == {"speech"}
    assert story.place_name == "Tablolong" and "(speech)" in (story.place_evidence or "")

    # A moderator corrects the transcript into the public text, then approves.
    await _press(group, ana, ref, "✏️ Edit teks")
    await _until(lambda: [m for m in group.chat.replies if "untuk disalin" in m.get("text", "")])
    group.send_text(ana, CORRECTED)
    await _until(lambda: _story(engine, yuli.id).public_text == CORRECTED)
    await _press(group, ana, ref, "✅ Setujui")
    await _until(lambda: _story(engine, yuli.id).state == "approved")

    # Scheduled a moment from now (the CLI face); the dispatcher of `pesisir run` posts it.
    at = (utcnow() + timedelta(seconds=2)).isoformat()
    result = CliRunner().invoke(
        app, ["schedule", ref, "--campaign", "adil-untuk-bumi", "--at", at], env=env
    )
    assert result.exit_code == 0, result.output

    def sent() -> Delivery | None:
        with Session(engine) as session:
            row = session.exec(select(Delivery).where(Delivery.submission_id == story.id)).one()
            return row if row.state == "sent" else None

    delivery = await _until(sent)
    [post_json] = list((settings.data_dir / "outbox").rglob("post.json"))
    post = json.loads(post_json.read_text(encoding="utf-8"))
    assert post["text"].startswith(CORRECTED)  # the moderator's text, with the hashtags after
    assert not [p for p in post_json.parent.iterdir() if p.suffix in (".ogg", ".oga", ".opus")]
    await _until(lambda: [m for m in yuli.messages if "sudah terbit" in m.get("text", "")])
    assert delivery.remote_url

    # /hapus: the post is taken down, the recording leaves the group, nothing of it is kept.
    yuli.command("hapus", ref)
    await _until(lambda: [m for m in yuli.messages if m.get("text", "").startswith("Yakin")])
    yuli.press(t("id", "bot.erase.yes_button"))
    done = await _until(
        lambda: [m["text"] for m in yuli.messages if "sudah ditarik" in m.get("text", "")]
    )
    assert "• 1 rekaman suara (filenya) beserta teks yang diketik otomatis darinya" in done[0]
    assert "• 1 posting yang sudah terbit diturunkan" in done[0]
    await _until(lambda: not group.chat.voices())
    gone = _story(engine, yuli.id)
    assert gone.state == "erased" and gone.public_text is None and gone.themes == []
    with Session(engine) as session:
        [row] = session.exec(select(Media).where(Media.submission_id == story.id)).all()
    assert (row.path, row.transcript, row.transcript_status, row.sha256) == (None,) * 4
    assert not [p for p in (settings.data_dir / "private").rglob("*") if p.is_file()]
    assert not list((settings.data_dir / "outbox").rglob("post.json"))
    assert SENTENCES["s6"] == CORRECTED
