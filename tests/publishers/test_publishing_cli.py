"""The campaign team's commands, end to end: channel, campaign, schedule, calendar, worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.main import app
from core.clock import parse_local_time
from core.config import Settings
from core.delivery_table import Delivery
from core.errors import InvalidInput
from core.models import Notification, Submission
from tests.publishers.dispatch_support import make_story


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PESISIR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PESISIR_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("PESISIR_DISPATCH_INTERVAL_SECONDS", "0.01")
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, result.output
            return result.stdout  # logs go to stderr
        assert result.exit_code != 0, result.output
        return result.output

    return invoke


def test_local_times_parse_in_the_campaign_zone() -> None:
    assert parse_local_time("2026-11-25 09:00", "Asia/Makassar") == datetime(
        2026, 11, 25, 1, 0, tzinfo=UTC
    )
    assert parse_local_time("2026-11-25T09:00+07:00", "Asia/Makassar") == datetime(
        2026, 11, 25, 2, 0, tzinfo=UTC
    )
    with pytest.raises(InvalidInput, match="2026-11-25 09:00"):
        parse_local_time("besok pagi", "Asia/Makassar")


def test_schedule_then_worker_publishes_to_the_outbox(
    run, engine: Engine, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    run("channel", "add", "outbox", "--kind", "outbox")
    out = run("channel", "add", "leaky", "--kind", "outbox", "--config", "token=abc", ok=False)
    assert "secret" in out
    run("campaign", "create", "--default", "--channel", "outbox")
    listed = json.loads(run("campaign", "list", "--json"))
    assert [c["slug"] for c in listed] == ["adil-untuk-bumi"]
    with Session(engine) as session:
        story = make_story(session, consent="anonymous", public_name="Yohanes")
        internal = make_story(session, consent="internal")
        session.commit()
        ref, internal_ref = story.ref, internal.ref

    out = run("schedule", internal_ref, "--campaign", "adil-untuk-bumi", ok=False)
    assert "consent" in out
    out = run("schedule", ref.lower(), "--campaign", "adil-untuk-bumi", "--at", "2020-01-06 09:00")
    assert "Mon 2020-01-06 09:00" in out
    calendar = json.loads(run("posts", "list", "--json"))
    assert [(p["ref"], p["channel"], p["state"], p["at_local"]) for p in calendar] == [
        (ref, "outbox", "pending", "Mon 2020-01-06 09:00")
    ]
    assert calendar[0]["at_utc"] == "2020-01-06T01:00:00+00:00"

    out = run("worker", "--once", "--id", "cli-test")
    assert "1 sent" in out
    [post] = json.loads(run("posts", "list", "--status", "sent", "--json"))
    assert post["url"].startswith("file://")
    written = list((settings.data_dir / "outbox").glob("*/*/post.json"))
    assert len(written) == 1
    text = written[0].read_text("utf-8")
    assert "AdilUntukBumi" in text and "Yohanes" not in text  # anonymous shows no name
    assert "10.1512345" not in text
    with Session(engine) as session:
        published = session.exec(select(Submission).where(Submission.ref == ref)).one()
        assert published.state == "published"
        note = session.exec(select(Notification).where(Notification.kind == "published")).one()
        assert note.params["links"] == [post["url"]]
    assert "(none)" in run("posts", "list", "--status", "pending")


def test_unknown_posts_are_resolved_by_hand(run, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    run("channel", "add", "outbox", "--kind", "outbox")
    run(
        "campaign",
        "create",
        "banjir",
        "--name",
        "Banjir rob",
        "--hashtag",
        "#AdilUntukBumi",
        "--channel",
        "outbox",
        "--slots",
        "daily@09:00",
    )
    with Session(engine) as session:
        ref = make_story(session).ref
        session.commit()
    run("schedule", ref, "--campaign", "banjir")
    [row] = json.loads(run("posts", "list", "--json"))
    run("posts", "mark-sent", str(row["id"]), ok=False)  # pending → sent is not a hand move
    run("posts", "cancel", str(row["id"]))
    assert json.loads(run("posts", "list", "--json"))[0]["state"] == "cancelled"
    out = run("posts", "list", "--status", "bogus", ok=False)
    assert "unknown status" in out
    run("campaign", "pause", "banjir")
    assert "paused" in run("schedule", ref, "--campaign", "banjir", ok=False)
    out = run("campaign", "show", "banjir")
    assert "Banjir rob" in out


def test_publishing_messages_exist_in_both_languages_for_every_alert() -> None:
    import tomllib

    from core.i18n import LOCALES_DIR, t

    loaded = {
        lang: tomllib.loads((LOCALES_DIR / f"publishing.{lang}.toml").read_text("utf-8"))
        for lang in ("id", "en")
    }
    assert loaded["id"].keys() == loaded["en"].keys()
    assert loaded["id"]["notify"].keys() == loaded["en"]["notify"].keys()
    # "published" is a contributor message: it lives in notify.*, beside approved and rejected.
    kinds = {
        "delivery_failed",
        "delivery_unknown",
        "channel_paused",
        "posts_not_deleted",
        "posts_late",
        "late_post_sent",
    }
    assert set(loaded["id"]["notify"]) == kinds
    text = t("en", "publishing.notify.channel_paused", channel="tele", error="401")
    assert "tele" in text and "401" in text


def test_photos_reach_the_outbox_and_retraction_removes_the_post(
    run, engine: Engine, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    from publishers.retraction import retract_story

    folder = settings.data_dir / "public" / "renditions" / "ab" / "abc"
    folder.mkdir(parents=True)
    renditions = {}
    for name, size in (("web", (160, 120)), ("feed", (80, 60))):
        buffer = io.BytesIO()
        Image.new("RGB", size, (20, 120, 200)).save(buffer, "JPEG")
        (folder / f"{name}.jpg").write_bytes(buffer.getvalue())
        renditions[name] = {
            "path": f"public/renditions/ab/abc/{name}.jpg",
            "width": size[0],
            "height": size[1],
            "bytes": len(buffer.getvalue()),
        }
    run("channel", "add", "outbox", "--kind", "outbox")
    run("campaign", "create", "--default", "--channel", "outbox")
    with Session(engine) as session:
        story = make_story(session, consent="named", public_name="Maria", renditions=renditions)
        session.commit()
        ref, story_id = story.ref, story.id or 0
    run("schedule", ref, "--campaign", "adil-untuk-bumi", "--at", "2020-01-06 09:00")
    assert "1 sent" in run("worker", "--once")
    [written] = list((settings.data_dir / "outbox").glob("*/*/post.json"))
    document = json.loads(written.read_text("utf-8"))
    assert "Maria" in document["text"] and "Oesapa" in document["text"]
    [image] = document["images"]
    copied = written.parent / image["file"]
    assert copied.read_bytes() == (folder / "web.jpg").read_bytes()
    assert image["alt"]
    summary = retract_story(engine, settings, story_id)
    assert summary == {
        "cancelled": 0,
        "deleted": ["outbox"],
        "sending": [],
        "cleaned": 0,
        "kept": [],
    }
    assert not written.parent.exists()


def test_scheduling_again_at_another_time_moves_the_posts_and_a_post_moves_alone(
    run, engine: Engine, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    run("channel", "add", "outbox", "--kind", "outbox")
    run("channel", "add", "kedua", "--kind", "outbox")
    run("campaign", "create", "--default", "--channel", "outbox", "--channel", "kedua")
    with Session(engine) as session:
        ref = make_story(session, consent="anonymous").ref
        session.commit()
    run("schedule", ref, "--campaign", "adil-untuk-bumi", "--at", "2030-01-07 09:00")
    out = run("schedule", ref, "--campaign", "adil-untuk-bumi", "--at", "2030-01-08 10:30")
    assert "Tue 2030-01-08 10:30" in out
    posts = json.loads(run("posts", "list", "--json"))
    assert [p["at_local"] for p in posts] == ["Tue 2030-01-08 10:30"] * 2
    run("posts", "move", str(posts[0]["id"]), "--at", "2030-01-09 07:00")
    moved = {p["id"]: p["at_local"] for p in json.loads(run("posts", "list", "--json"))}
    assert moved[posts[0]["id"]] == "Wed 2030-01-09 07:00"
    assert moved[posts[1]["id"]] == "Tue 2030-01-08 10:30"
    # A post that is out does not move, and the story's posts move together or not at all.
    run("posts", "cancel", str(posts[1]["id"]))
    assert "only a waiting post moves" in run(
        "posts", "move", str(posts[1]["id"]), "--at", "2030-01-10 07:00", ok=False
    )
    with Session(engine) as session:
        row = session.get(Delivery, posts[0]["id"])
        assert row is not None
        row.state = "sent"
        session.add(row)
        session.commit()
    out = run(
        "schedule", ref, "--campaign", "adil-untuk-bumi", "--at", "2030-01-11 09:00", ok=False
    )
    assert "already sent" in out
