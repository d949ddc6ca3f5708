"""Withdrawal and erasure: every file goes, the text goes, a tombstone stays."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.config import Settings
from core.models import AuditEvent, Media, Submission
from core.storage import MediaStore
from moderation import answers, decisions, edits
from moderation.withdrawal import withdraw_and_erase
from tests.moderation.conftest import add_story

ANSWER = "Rumah beta di RT 07 dekat masjid, nama beta Yohana."


def _with_photo(engine: Engine, store: MediaStore, story_id: int, data: bytes) -> Path:
    """Store `data` as the story's photo, with a rendition file; the rendition folder."""
    stored = store.put_original(data)
    folder = store.rendition_dir(stored.sha256)
    folder.mkdir(parents=True)
    (folder / "web.jpg").write_bytes(b"rendition")
    with Session(engine) as session:
        for media in session.exec(select(Media).where(Media.submission_id == story_id)):
            media.sha256, media.path = stored.sha256, stored.relative
            media.renditions = {"web": {"path": store.relative(folder / "web.jpg")}}
            media.gps_lat, media.gps_lon = -10.14, 123.63
            media.file_name = "IMG_Yohana_rumah.jpg"
            media.taken_at = "2026-11-20T06:15:00+08:00"
            media.phash = "c3c3c3c3c3c3c3c3"
            session.add(media)
        session.commit()
    return folder


def _erase(engine: Engine, store: MediaStore, story_id: int) -> dict[str, int]:
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        summary = withdraw_and_erase(session, store, story, actor="contributor")
        session.commit()
        return summary


def test_erasure_deletes_the_files_and_the_text_and_keeps_a_tombstone(
    engine: Engine, settings: Settings
) -> None:
    store = MediaStore(settings.data_dir)
    story_id = add_story(engine, ref="SP-ERA1", media=1)
    folder = _with_photo(engine, store, story_id, b"photo bytes one")
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        decisions.ask(
            session,
            story_id,
            actor="moderator:Ana",
            expected_version=story.version,
            question="Di mana persisnya?",
        )
        answers.attach_answer(session, story_id, ANSWER)
        edits.edit_text(
            session,
            story_id,
            actor="moderator:Ana",
            expected_version=story.version,
            text=f"Air rob masuk rumah. {ANSWER}",
        )
        session.commit()
    original = next(p for p in store.originals.rglob("*") if p.is_file())
    assert _erase(engine, store, story_id)["media_files"] == 1
    assert not folder.exists() and not original.exists()
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        assert (story.ref, story.state) == ("SP-ERA1", "erased")
        assert story.text is None and story.public_text is None and story.questions == []
        [media] = session.exec(select(Media).where(Media.submission_id == story_id)).all()
        assert media.path is None and media.renditions == {} and media.gps_lat is None
        # nothing the photo or its file said survives: name, capture time, picture hash
        assert media.file_name is None and media.file_unique_id is None
        assert media.taken_at is None and media.phash is None
        events = session.exec(select(AuditEvent).where(AuditEvent.submission_id == story_id)).all()
    actions = [event.action for event in events]
    assert actions[-3:] == ["withdraw", "erase", "erased"]
    # The audit keeps who did what, but not the words the contributor took back.
    assert "Yohana" not in repr([(e.reason, e.before, e.after) for e in events])


def test_a_photo_another_story_also_sent_stays_for_that_story(
    engine: Engine, settings: Settings
) -> None:
    store = MediaStore(settings.data_dir)
    first = add_story(engine, ref="SP-ERA2", media=1)
    second = add_story(engine, ref="SP-ERA3", media=1)
    folder = _with_photo(engine, store, first, b"the same photo")
    assert _with_photo_again(engine, store, second, b"the same photo") == folder
    _erase(engine, store, first)
    assert (folder / "web.jpg").exists()
    assert any(p.is_file() for p in store.originals.rglob("*"))
    assert _erase(engine, store, second)["media_files"] == 1
    assert not folder.exists()
    assert not any(p.is_file() for p in store.originals.rglob("*"))


def _with_photo_again(engine: Engine, store: MediaStore, story_id: int, data: bytes) -> Path:
    """Point the story's photo at bytes already stored (the same photo sent twice)."""
    stored = store.put_original(data)
    with Session(engine) as session:
        for media in session.exec(select(Media).where(Media.submission_id == story_id)):
            media.sha256, media.path = stored.sha256, stored.relative
            session.add(media)
        session.commit()
    return store.rendition_dir(stored.sha256)
