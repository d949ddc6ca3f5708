"""`pipeline.add_late_photos()`: a photo fetched after the pipeline ran joins its story only when
a moderator adds it, with the same metadata-free renditions as any other."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.config import Settings
from core.errors import InvalidTransition
from core.models import AuditEvent, Media, Submission
from core.storage import MediaStore
from faketelegram.images import OESAPA, jpeg
from moderation import Conflict
from pipeline import add_late_photos
from tests.jpeg_segments import metadata_in
from tests.moderation.conftest import add_story, store_late_photo, version_of

LATE = {"kind": "photo_late", "span": None, "detail": None}


def _late_story(engine: Engine, store: MediaStore, data: bytes) -> int:
    """A story in review whose second photo was fetched late."""
    story_id = add_story(engine, ref="SP-LATE", media=2, flags=[LATE])
    store_late_photo(engine, store, story_id, data)
    return story_id


def test_a_late_photo_gets_safe_renditions_and_the_flag_goes(
    engine: Engine, settings: Settings
) -> None:
    store = MediaStore(settings.data_dir)
    story_id = _late_story(engine, store, jpeg(gps=OESAPA, label="late"))
    version = version_of(engine, story_id)
    with Session(engine) as session:
        shown = add_late_photos(
            session, story_id, store, actor="moderator:Ana", expected_version=version
        )
        session.commit()
    [web] = shown
    assert web.is_file() and metadata_in(web.read_bytes()) == []
    with Session(engine) as session:
        late = session.exec(
            select(Media).where(Media.submission_id == story_id, Media.position == 1)
        ).one()
        assert set(late.renditions) == {"web", "feed", "square", "thumb"}
        assert late.gps_lat == pytest.approx(OESAPA[0], abs=1e-4)  # private, for moderators
        story = session.get(Submission, story_id)
        assert story is not None and story.version == version + 1
        assert [flag["kind"] for flag in story.flags] == []
        [event] = session.exec(
            select(AuditEvent).where(
                AuditEvent.submission_id == story_id, AuditEvent.action == "late_photos"
            )
        ).all()
        assert event.actor == "moderator:Ana" and event.after == {"media_ids": [late.id]}


def test_a_stale_card_or_no_late_photo_changes_nothing(engine: Engine, settings: Settings) -> None:
    store = MediaStore(settings.data_dir)
    story_id = _late_story(engine, store, jpeg(label="late"))
    version = version_of(engine, story_id)
    with Session(engine) as session, pytest.raises(Conflict):
        add_late_photos(session, story_id, store, actor="moderator:Ana", expected_version=0)
    with Session(engine) as session:
        add_late_photos(session, story_id, store, actor="moderator:Ana", expected_version=version)
        session.commit()
    with Session(engine) as session, pytest.raises(InvalidTransition, match="no late photo"):
        add_late_photos(
            session, story_id, store, actor="moderator:Ana", expected_version=version + 1
        )


def test_a_broken_late_photo_is_refused_not_shown(engine: Engine, settings: Settings) -> None:
    store = MediaStore(settings.data_dir)
    story_id = _late_story(engine, store, b"\xff\xd8\xff\xe0 not really a photo")
    version = version_of(engine, story_id)
    with Session(engine) as session:
        shown = add_late_photos(
            session, story_id, store, actor="moderator:Ana", expected_version=version
        )
        session.commit()
    assert shown == []
    with Session(engine) as session:
        late = session.exec(
            select(Media).where(Media.submission_id == story_id, Media.position == 1)
        ).one()
        assert late.renditions == {} and late.error
