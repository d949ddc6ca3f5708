"""The whole demo: intake, pipeline, a moderator's decisions, publishing to the outbox."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image
from sqlmodel import Session, select

from cli.demo import run_demo
from cli.demo_moderation import DEMO_GROUP_ID
from core.config import Settings
from core.delivery_table import Delivery
from core.models import Notification, Submission
from tests.jpeg_segments import metadata_in


async def test_demo_plays_the_whole_flow(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "demo",
        moderator_chat_id=DEMO_GROUP_ID,
        moderation_poll_seconds=0.05,
    )
    ctx = await run_demo(settings)
    with Session(ctx.engine) as session:
        stories = {s.ref: s for s in session.exec(select(Submission))}
        sent = {n.kind: n.state for n in session.exec(select(Notification))}
        [delivery] = session.exec(select(Delivery)).all()
    yuli, maria = stories[ctx.refs["Yuli"]], stories[ctx.refs["Maria"]]
    # The pipeline tagged both stories and placed them.
    assert "banjir-rob" in [theme["slug"] for theme in yuli.themes]
    assert (yuli.place_source, maria.place_source) == ("chat", "photo")
    # A moderator decided; the approved story went out; everyone was told.
    assert (yuli.state, yuli.decided_by) == ("published", "Ana")
    assert (maria.state, maria.reject_reason) == ("rejected", "cannot_verify")
    assert sent == {"approved": "sent", "rejected": "sent", "published": "sent"}
    assert delivery.state == "sent" and delivery.remote_url
    assert any("terbit" in m.get("text", "") for m in ctx.people["Yuli"].messages)
    assert any("could not confirm" in m.get("text", "") for m in ctx.people["Maria"].messages)
    # The post is in the outbox: anonymous, with its photos and no metadata in them.
    [post] = list(settings.effective_outbox_dir.rglob("post.json"))
    body = json.loads(post.read_text(encoding="utf-8"))
    assert "#AdilUntukBumi" in body["text"] and "Yuli" not in post.read_text(encoding="utf-8")
    photos = sorted(post.parent.glob("*.jpg"))
    assert len(photos) == 3
    for photo in photos:
        data = photo.read_bytes()
        assert metadata_in(data) == [] and not Image.open(io.BytesIO(data)).getexif()
