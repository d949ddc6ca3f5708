"""The story list at scale, proved on small data: every story exactly once across pages (ties
on the submission time, stories arriving between pages), themes through the `submission_themes`
rows and words through the full-text index, both kept by the database's triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import optimize
from core.models import Contributor, Media, Submission, SubmissionTheme
from core.storage import MediaStore
from moderation import edits, queue, story_index, withdrawal
from moderation.queue import StoryFilter

START = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


def _contributor(engine: Engine) -> int:
    with Session(engine) as session:
        person = Contributor()
        session.add(person)
        session.commit()
        assert person.id is not None
        return person.id


def _add(engine: Engine, ref: str, at: datetime, **fields: Any) -> int:
    """A story as the pipeline leaves it, submitted at `at`."""
    fields.setdefault("state", "pending_review")
    fields.setdefault("text", "Air rob masuk rumah di Oesapa tadi malam.")
    with Session(engine) as session:
        owner = session.exec(select(Contributor.id)).first() or _contributor(engine)
        story = Submission(ref=ref, contributor_id=owner, submitted_at=at, created_at=at, **fields)
        session.add(story)
        session.commit()
        assert story.id is not None
        return story.id


def _all_pages(session: Session, wanted: StoryFilter, **options: Any) -> list[str]:
    refs: list[str] = []
    cursor = None
    while True:
        page = queue.list_page(session, wanted, after=cursor, **options)
        refs += [item.ref for item in page.items]
        if page.next_cursor is None:
            return refs
        cursor = page.next_cursor


@pytest.mark.parametrize("newest_first", [False, True])
def test_pages_hold_every_story_once_with_ties_on_the_time(
    engine: Engine, newest_first: bool
) -> None:
    # 23 stories over 4 instants: most share their submission time with others.
    expected = []
    for number in range(23):
        at = START + timedelta(minutes=number % 4)
        state = "approved" if number % 5 == 0 else "pending_review"
        story_id = _add(engine, f"SP-T{number:03d}", at, state=state)
        expected.append((at, story_id, f"SP-T{number:03d}", state))
    expected.sort(reverse=newest_first)
    with Session(engine) as session:
        for wanted in (StoryFilter(status="all"), StoryFilter(), StoryFilter(status="approved")):
            states = {"all": None, None: {"pending_review"}, "approved": {"approved"}}
            keep = states[wanted.status]
            want = [ref for _, _, ref, state in expected if keep is None or state in keep]
            got = _all_pages(session, wanted, limit=4, newest_first=newest_first)
            assert got == want


def test_stories_arriving_between_pages_are_listed_once(engine: Engine) -> None:
    for number in range(6):
        _add(engine, f"SP-A{number:03d}", START + timedelta(minutes=number))
    with Session(engine) as session:
        first = queue.list_page(session, StoryFilter(status="all"), limit=3)
    assert [item.ref for item in first.items] == ["SP-A000", "SP-A001", "SP-A002"]
    # One arrives before the cursor (sent earlier, processed late), one after, one at the
    # very time of the page's last story.
    _add(engine, "SP-LATE", START - timedelta(hours=1))
    _add(engine, "SP-NEXT", START + timedelta(minutes=10))
    _add(engine, "SP-SAME", START + timedelta(minutes=2))
    with Session(engine) as session:
        rest = _all_pages(session, StoryFilter(status="all"), limit=2)
        cursor = first.next_cursor
        assert cursor is not None
        after = []
        while cursor:
            page = queue.list_page(session, StoryFilter(status="all"), limit=2, after=cursor)
            after += [item.ref for item in page.items]
            cursor = page.next_cursor
    seen = [item.ref for item in first.items] + after
    assert len(seen) == len(set(seen))
    # SP-SAME was made after SP-A002 (a higher id at the same time): it follows the cursor.
    assert after == ["SP-SAME", "SP-A003", "SP-A004", "SP-A005", "SP-NEXT"]
    assert rest[0] == "SP-LATE" and len(rest) == 9


def test_a_page_says_when_more_follow_and_never_cuts_silently(engine: Engine) -> None:
    for number in range(5):
        _add(engine, f"SP-M{number:03d}", START + timedelta(minutes=number))
    with Session(engine) as session:
        full = queue.list_stories(session, limit=5)
        short = queue.list_stories(session, limit=4)
        assert full.next_cursor is None and len(full.items) == 5
        assert short.next_cursor is not None and len(short.items) == 4
        with pytest.raises(Exception, match="not a page cursor"):
            queue.list_stories(session, after="bm90IGEgY3Vyc29y")


def _erase(engine: Engine, data_dir: Path, story_id: int) -> None:
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        withdrawal.withdraw_and_erase(session, MediaStore(data_dir), story, actor="contributor")
        session.commit()


def test_theme_rows_follow_every_write_of_the_themes(engine: Engine, tmp_path: Path) -> None:
    flood = [{"slug": "banjir-rob", "score": 0.9}, {"slug": "abrasi", "score": 0.6}]
    story = _add(engine, "SP-TH01", START, themes=flood)
    _add(engine, "SP-TH02", START, themes=[{"slug": "kekeringan-air", "score": 0.8}])
    _add(engine, "SP-TH03", START, themes=["not-an-object", {"score": 1}])

    def rows() -> set[tuple[int, str]]:
        with Session(engine) as session:
            found = session.exec(select(SubmissionTheme.submission_id, SubmissionTheme.slug))
            return {(int(i), str(s)) for i, s in found}

    def listed(slug: str) -> list[str]:
        with Session(engine) as session:
            page = queue.list_page(session, StoryFilter(status="all", theme=slug))
            return [item.ref for item in page.items]

    assert {slug for i, slug in rows() if i == story} == {"banjir-rob", "abrasi"}
    assert listed("abrasi") == ["SP-TH01"]
    assert listed("kekeringan-air") == ["SP-TH02"]
    with Session(engine) as session:
        edits.set_themes(
            session, story, actor="Ina", expected_version=1, slugs=["sampah-pencemaran"]
        )
        session.commit()
    assert listed("abrasi") == [] and listed("sampah-pencemaran") == ["SP-TH01"]
    _erase(engine, tmp_path, story)
    assert {i for i, _ in rows()} == {story + 1}


def _with_voice(engine: Engine, story_id: int, transcript: str) -> None:
    with Session(engine) as session:
        session.add(
            Media(
                submission_id=story_id,
                kind="voice",
                position=1,
                sha256="0" * 64,
                mime_type="audio/ogg",
                size_bytes=1000,
                path="private/originals/x.ogg",
                transcript=transcript,
                transcript_status="done",
            )
        )
        session.commit()


@pytest.mark.parametrize("walk_from", [story_index.WALK_FROM, 1])
def test_words_are_found_in_text_public_text_and_transcripts(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, walk_from: int
) -> None:
    # Both ways to serve words give the same answers: a rare word sorted from the index, and
    # (walk_from=1) every word treated as common, walking the time order.
    monkeypatch.setattr(story_index, "WALK_FROM", walk_from)
    monkeypatch.setattr(story_index, "SQLITE_WALK_FROM", walk_from)
    salty = _add(engine, "SP-W001", START, text="Sumur kami jadi asin, air tidak bisa diminum.")
    _add(engine, "SP-W002", START + timedelta(minutes=1), text="Pasir pantai hilang di Lasiana.")
    told = _add(engine, "SP-W003", START + timedelta(minutes=2), text=None)
    _with_voice(engine, told, "Bapak dorang bilang tambak garam di Bolok su hancur.")
    edited = _add(engine, "SP-W004", START + timedelta(minutes=3), text="Rumah-rumah kena rob.")

    def found(words: str) -> list[str]:
        with Session(engine) as session:
            page = queue.list_page(session, StoryFilter(status="all", search=words))
            return [item.ref for item in page.items]

    assert found("asin") == ["SP-W001"]  # a whole word: not "pasir", not "Lasiana"
    assert found("ASIN air") == ["SP-W001"]  # every word, in any order and case
    assert found("asin pantai") == []
    assert found("pasir") == ["SP-W002"]
    assert found("tambak garam") == ["SP-W003"]  # heard in the voice note
    assert found("rumah") == ["SP-W004"]  # `rumah-rumah` is two words
    assert found("SP-W002") == ["SP-W002"]  # a reference
    # No query syntax leaks through: quotes, stars and brackets separate words, OR is a word.
    assert found('"asin"* (') == ["SP-W001"]
    assert found("asin OR pasir") == []
    assert found("% _") == []
    with Session(engine) as session:
        edits.edit_text(session, edited, actor="Ina", expected_version=1, text="Banjir di Oesapa.")
        session.commit()
    assert found("banjir") == ["SP-W004"] and found("kena") == ["SP-W004"]  # both texts
    optimize(engine)  # the hourly upkeep merges the index's pieces; the answers stay
    assert found("banjir") == ["SP-W004"]
    _erase(engine, tmp_path, salty)
    _erase(engine, tmp_path, told)
    assert found("asin") == [] and found("tambak") == []  # erased words are gone from the index


def test_the_search_index_is_dropped_with_its_story(engine: Engine) -> None:
    story = _add(engine, "SP-DEL1", START, text="Ombak besar di Kolbano.")
    with Session(engine) as session:
        session.execute(text("DELETE FROM submissions WHERE id = :id"), {"id": story})
        session.commit()
        assert session.exec(select(col(SubmissionTheme.submission_id))).all() == []
        assert session.execute(text("SELECT count(*) FROM submission_search")).scalar_one() == 0
