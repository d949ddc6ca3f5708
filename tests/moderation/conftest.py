"""Stories in review, made the way the pipeline leaves them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.lifecycle import transition
from core.models import Contributor, Media, Submission
from core.states import SubmissionState
from core.storage import MediaStore

MakeStory = Callable[..., int]


def add_story(
    engine: Engine,
    *,
    ref: str,
    contributor_id: int | None = None,
    state: SubmissionState = SubmissionState.PENDING_REVIEW,
    text: str = "Air rob masuk rumah di Oesapa tadi malam.",
    themes: list[dict[str, Any]] | None = None,
    place: tuple[str, str] | None = ("kel-oesapa", "Oesapa"),
    media: int = 1,
    created_at: datetime | None = None,
    consent: str = "anonymous",
    telegram_user_id: int | None = None,
    **extra: Any,
) -> int:
    """A story moved received → pending_review (and on to `state`), audited like a real one."""
    with Session(engine, expire_on_commit=False) as session:
        if contributor_id is None:
            person = Contributor(
                telegram_user_id=telegram_user_id, telegram_chat_id=telegram_user_id
            )
            session.add(person)
            session.flush()
            contributor_id = person.id
        assert contributor_id is not None
        story = Submission(
            ref=ref,
            contributor_id=contributor_id,
            state=SubmissionState.RECEIVED.value,
            text=text,
            consent=consent,
            themes=themes
            if themes is not None
            else [{"slug": "banjir-rob", "score": 0.9, "evidence": ["rob"]}],
            place_id=place[0] if place else None,
            place_name=place[1] if place else None,
            place_source="text" if place else None,
            submitted_at=created_at or utcnow(),
            created_at=created_at or utcnow(),
            **extra,
        )
        session.add(story)
        session.flush()
        assert story.id is not None
        for position in range(media):
            session.add(
                Media(
                    submission_id=story.id,
                    kind="photo",
                    position=position,
                    file_unique_id=f"{ref}-{position}",
                    sha256=f"{position:02d}" + "ab" * 31,
                )
            )
        if state != SubmissionState.RECEIVED:
            transition(session, story, SubmissionState.PENDING_REVIEW, actor="pipeline")
        if state not in (SubmissionState.RECEIVED, SubmissionState.PENDING_REVIEW):
            transition(session, story, state, actor="pipeline")
        session.commit()
        return story.id


def store_late_photo(engine: Engine, store: MediaStore, story_id: int, data: bytes) -> None:
    """The story's second photo arrives late: stored as an original, with no renditions."""
    stored = store.put_original(data, suffix=".jpg")
    with Session(engine) as session:
        late = session.exec(
            select(Media).where(Media.submission_id == story_id, Media.position == 1)
        ).one()
        late.sha256, late.path, late.size_bytes = stored.sha256, stored.relative, stored.size_bytes
        session.add(late)
        session.commit()


@pytest.fixture
def make_story(engine: Engine) -> MakeStory:
    """`make_story(ref=..., **options)` → submission id."""

    def make(**options: Any) -> int:
        return add_story(engine, **options)

    return make


def version_of(engine: Engine, submission_id: int) -> int:
    """The story's current version."""
    with Session(engine) as session:
        story = session.get(Submission, submission_id)
        assert story is not None
        return story.version
