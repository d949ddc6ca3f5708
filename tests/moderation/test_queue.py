"""The queue: filters, details, the contributor's pseudonym and history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import utcnow
from core.errors import InvalidInput, NotFound
from core.lifecycle import transition
from core.models import Submission
from core.projections import moderator_story
from core.states import SubmissionState
from core.stories import find_story
from moderation import queue
from tests.moderation.conftest import MakeStory


def _refs(page: queue.Page) -> list[str]:
    return [story.ref for story in page.items]


def test_list_filters_by_status_theme_place_and_text(engine: Engine, make_story: MakeStory) -> None:
    now = utcnow()
    make_story(ref="SP-0001", created_at=now - timedelta(hours=3))
    make_story(
        ref="SP-0002",
        created_at=now - timedelta(hours=2),
        text="Sumur kami jadi asin",
        themes=[{"slug": "kekeringan-air", "evidence": ["asin"]}],
        place=("kel-lasiana", "Lasiana"),
    )
    make_story(
        ref="SP-0003", state=SubmissionState.QUARANTINED, created_at=now - timedelta(hours=1)
    )
    make_story(ref="SP-0004", state=SubmissionState.APPROVED)
    with Session(engine) as session:
        assert _refs(queue.list_stories(session)) == ["SP-0001", "SP-0002", "SP-0003"]
        assert _refs(queue.list_stories(session, status="approved")) == ["SP-0004"]
        assert _refs(queue.list_stories(session, status="all")) == [
            "SP-0001",
            "SP-0002",
            "SP-0003",
            "SP-0004",
        ]
        assert _refs(queue.list_stories(session, theme="kekeringan-air")) == ["SP-0002"]
        assert _refs(queue.list_stories(session, place="lasiana")) == ["SP-0002"]
        assert _refs(queue.list_stories(session, place="kel-oesapa")) == ["SP-0001", "SP-0003"]
        assert _refs(queue.list_stories(session, search="ASIN")) == ["SP-0002"]
        # Typed words are literal: % and _ are not wildcards.
        assert _refs(queue.list_stories(session, search="%")) == []
        assert _refs(queue.list_stories(session, search="asi_")) == []
        with pytest.raises(InvalidInput):
            queue.list_stories(session, status="nonsense")


def test_show_gives_pseudonym_history_and_media(engine: Engine, make_story: MakeStory) -> None:
    now = utcnow()
    first = make_story(ref="SP-OLD1", created_at=now - timedelta(days=9), telegram_user_id=777001)
    with Session(engine) as session:
        contributor_id = session.get(Submission, first).contributor_id  # type: ignore[union-attr]
    second = make_story(
        ref="SP-OLD2", contributor_id=contributor_id, created_at=now - timedelta(days=5)
    )
    with Session(engine) as session:
        story = session.get(Submission, second)
        assert story is not None
        transition(session, story, SubmissionState.APPROVED, actor="x")
        transition(session, story, SubmissionState.SCHEDULED, actor="x")
        transition(session, story, SubmissionState.PUBLISHED, actor="x")
        session.commit()
    make_story(ref="SP-NEW1", contributor_id=contributor_id, media=3, created_at=now)
    with Session(engine) as session:
        details = moderator_story(session, find_story(session, "sp-new1"))
    assert details.contributor.number == contributor_id
    assert details.contributor.pseudonym == f"Kontributor #{contributor_id}"
    assert "777001" not in details.contributor.pseudonym
    assert (details.contributor.previous, details.contributor.published) == (2, 1)
    assert len(details.photos) == 3
    assert [e.action for e in details.history] == ["pending_review"]
    with Session(engine) as session, pytest.raises(NotFound):
        find_story(session, "SP-NOPE")


def test_pages_follow_a_cursor_and_filter_by_local_days(
    engine: Engine, make_story: MakeStory
) -> None:
    start = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 WITA
    refs = [f"SP-P{i:03d}" for i in range(7)]
    for i, ref in enumerate(refs):
        make_story(ref=ref, created_at=start + timedelta(days=i // 2, hours=i % 2))
    with Session(engine) as session:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = queue.list_page(session, limit=3, after=cursor)
            seen += [item.ref for item in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == refs and pages == 3
        newest = queue.list_page(session, limit=2, newest_first=True)
        assert [i.ref for i in newest.items] == refs[::-1][:2]
        assert newest.next_cursor is not None
        rest = queue.list_page(session, limit=10, after=newest.next_cursor, newest_first=True)
        assert [i.ref for i in rest.items] == refs[::-1][2:]
        # Local days (WITA): 21 and 22 November hold stories 2..5.
        wanted = queue.StoryFilter(since=date(2026, 11, 21), until=date(2026, 11, 22))
        assert [i.ref for i in queue.list_page(session, wanted).items] == refs[2:6]
        with pytest.raises(InvalidInput):
            queue.list_page(session, after="garbage!")
        with pytest.raises(InvalidInput):
            queue.list_page(session, limit=0)


def test_place_counts_group_by_public_place_state_and_main_theme(
    engine: Engine, make_story: MakeStory
) -> None:
    flood = [{"slug": "banjir-rob", "score": 0.9}, {"slug": "abrasi", "score": 0.5}]
    make_story(ref="SP-M001", themes=flood)
    make_story(ref="SP-M002", themes=flood)
    make_story(ref="SP-M003", themes=[{"slug": "abrasi"}], state=SubmissionState.APPROVED)
    make_story(ref="SP-M004", place=None)
    with Session(engine) as session:
        counts = queue.place_counts(session)
        found = sorted((c.place_id, c.state, c.theme, c.count) for c in counts)
        assert found == [
            ("kel-oesapa", "approved", "abrasi", 1),
            ("kel-oesapa", "pending_review", "banjir-rob", 2),
        ]
        only = queue.place_counts(session, queue.StoryFilter(status="all", theme="abrasi"))
        assert sum(c.count for c in only) == 3
        assert {i.ref for i in queue.list_stories(session, status="all", theme="abrasi").items} == {
            "SP-M001",
            "SP-M002",
            "SP-M003",
        }


def test_the_map_counts_follow_a_change_of_themes_from_the_index_alone(
    engine: Engine, make_story: MakeStory
) -> None:
    story_id = make_story(ref="SP-M101", themes=[{"slug": "abrasi", "score": 0.9}])
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        # Any writer, the ORM here: the database keeps the main theme (migration 0010).
        story.themes = [{"slug": "kekeringan", "score": 1.0}, {"slug": "abrasi", "score": 0.9}]
        session.add(story)
        session.commit()
        [count] = queue.place_counts(session)
        assert (count.theme, count.count) == ("kekeringan", 1)
        story.themes = []
        session.add(story)
        session.commit()
        [count] = queue.place_counts(session)
        assert count.theme is None
        if engine.dialect.name == "sqlite":
            for n in range(200):  # enough stories for the planner's statistics to mean something
                make_story(ref=f"SP-N{n:03d}", themes=[{"slug": "abrasi"}], media=0)
            session.connection().exec_driver_sql("ANALYZE")
            last_month = queue.StoryFilter(status="all", since=date.today() - timedelta(days=30))
            statement = queue.place_counts_statement(last_month, session)
            sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(
                str(row[-1])
                for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
            assert "COVERING INDEX ix_submissions_map" in plan
