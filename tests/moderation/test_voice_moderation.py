"""A voice story in moderation: its transcript is shown, accepted or rewritten by a moderator
(card, CLI and web share `moderation.actions`), and only then may it be scheduled."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.main import app
from core.audit import history
from core.config import Settings
from core.errors import NotAllowed
from core.models import Media, Submission
from core.projections import UNREVIEWED_TRANSCRIPT_FLAG, moderator_story, public_story
from core.storage import MediaStore
from moderation import actions
from moderation.actions import Action
from moderation.withdrawal import ERASED_MARK, withdraw_and_erase
from publishers.campaigns import ensure_default_campaign
from publishers.channels_config import add_channel
from publishers.scheduling import schedule_story
from tests.moderation.conftest import MakeStory, version_of

ANA = "moderator:Ana"
SPOKEN = "Pantai Lasiana makin habis karena abrasi. Kalau mau tanya, telepon 081234567890."


def _voice_story(engine: Engine, make_story: MakeStory, ref: str, **options: object) -> int:
    """A story told only in a voice note, transcribed, as the pipeline leaves it."""
    story_id = make_story(
        ref=ref,
        text=None,
        media=1,
        flags=[{"kind": UNREVIEWED_TRANSCRIPT_FLAG, "span": None, "detail": None}],
        **options,
    )
    with Session(engine) as session:
        photo = session.exec(select(Media).where(Media.submission_id == story_id)).one()
        session.add(
            Media(
                submission_id=story_id,
                kind="voice",
                position=1,
                duration_seconds=42,
                mime_type="audio/ogg",
                transcript=SPOKEN,
                transcript_status="done",
            )
        )
        photo.kind = "photo"
        session.commit()
    return story_id


def _apply(engine: Engine, story_id: int, action: Action, **payload: object) -> None:
    with Session(engine) as session:
        actions.apply(
            session,
            story_id,
            action,
            payload,
            actor=ANA,
            expected_version=version_of(engine, story_id),
        )
        session.commit()


def _schedule(engine: Engine, story_id: int) -> None:
    with Session(engine) as session:
        schedule_story(
            session,
            submission_id=story_id,
            campaign_slug="adil-untuk-bumi",
            at=None,
            channels=None,
            actor=ANA,
        )
        session.commit()


def test_accepting_the_transcript_makes_it_the_public_text_masked(
    engine: Engine, make_story: MakeStory
) -> None:
    story_id = _voice_story(engine, make_story, "SP-VOI1")
    with Session(engine) as session:
        add_channel(session, name="outbox", kind="outbox")
        ensure_default_campaign(session, channels=["outbox"])
        session.commit()
        view = moderator_story(session, session.get(Submission, story_id))  # type: ignore[arg-type]
    assert view.transcript == SPOKEN and view.recordings[0].duration_seconds == 42
    assert len(view.photos) == 1 and len(view.recordings) == 1
    offered = actions.available_actions(view)
    assert offered.index(Action.ACCEPT_TRANSCRIPT) == offered.index(Action.EDIT_TEXT) + 1
    _apply(engine, story_id, Action.APPROVE)
    with pytest.raises(NotAllowed, match="voice story"):  # approved, but no text to publish yet
        _schedule(engine, story_id)

    _apply(engine, story_id, Action.ACCEPT_TRANSCRIPT)
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        assert story.public_text == SPOKEN.replace("081234567890", "[nomor HP]")
        assert UNREVIEWED_TRANSCRIPT_FLAG not in {flag["kind"] for flag in story.flags}
        assert Action.ACCEPT_TRANSCRIPT not in actions.available_actions(story)
        assert history(session, submission_id=story_id)[-1].action == "accept_transcript"
        assert public_story(session, story).text == story.public_text
    _schedule(engine, story_id)
    with pytest.raises(NotAllowed):  # nothing left to accept
        _apply(engine, story_id, Action.ACCEPT_TRANSCRIPT)


def test_an_edited_text_needs_no_acceptance_and_is_erased_from_the_audit(
    engine: Engine, make_story: MakeStory, settings: Settings
) -> None:
    story_id = _voice_story(engine, make_story, "SP-VOI2")
    _apply(engine, story_id, Action.EDIT_TEXT, text="Pantai Lasiana habis dimakan abrasi.")
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        assert story.public_text == "Pantai Lasiana habis dimakan abrasi."
        assert not story.flags
        assert Action.ACCEPT_TRANSCRIPT not in actions.available_actions(story)
    other = _voice_story(engine, make_story, "SP-VOI3")
    _apply(engine, other, Action.ACCEPT_TRANSCRIPT)
    with Session(engine) as session:
        story = session.get(Submission, other)
        assert story is not None
        withdraw_and_erase(session, MediaStore(settings.data_dir), story, actor="contributor")
        session.commit()
        accepted = [e for e in history(session, submission_id=other) if e.action != "erased"]
        words = json.dumps([(e.before, e.after) for e in accepted], ensure_ascii=False)
        recording = session.exec(
            select(Media).where(Media.submission_id == other, Media.kind == "voice")
        ).one()
    assert "Lasiana" not in words and ERASED_MARK in words
    assert (recording.transcript, recording.transcript_status) == (None, None)


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"PESISIR_DATABASE_URL": settings.effective_database_url, "PESISIR_LOG_LEVEL": "WARNING"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_queue_show_lists_photos_and_recordings_apart_and_the_cli_accepts(
    engine: Engine, make_story: MakeStory, settings: Settings
) -> None:
    _voice_story(engine, make_story, "SP-VOI4")
    code, out = _run(settings, "queue", "show", "SP-VOI4", "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert len(shown["photos"]) == 1 and shown["media_count"] == 2
    assert shown["recordings"] == [
        {"duration_seconds": 42, "transcript": SPOKEN, "transcript_status": "done"}
    ]
    assert "accept_transcript" in shown["actions"]
    code, out = _run(settings, "queue", "show", "SP-VOI4")
    assert "Photos: 1" in out and "Voice notes: 1 (0:42)" in out
    assert "Automatic transcript (transkrip otomatis), voice note 1:" in out and SPOKEN in out
    code, out = _run(settings, "accept-transcript", "SP-VOI4")
    assert code == 0 and "automatic transcript is now the public text" in out, out
    code, out = _run(settings, "accept-transcript", "SP-VOI4")
    assert code == 1 and "not allowed" in out
