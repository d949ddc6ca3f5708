"""A voice story on the dashboard: its automatic transcript for moderators, and the card's
"use the transcript" decision."""

from __future__ import annotations

from sqlmodel import Session

from core.models import Media, Submission
from core.projections import UNREVIEWED_TRANSCRIPT_FLAG
from tests.moderation.conftest import add_story
from tests.web.conftest import Site

SPOKEN = "air laut masuk rumah di oesapa sampai lutut tadi malam"


def _voice_story(site: Site) -> int:
    story_id = add_story(
        site.engine, ref="SP-VO1C", text=None, media=0,
        flags=[{"kind": UNREVIEWED_TRANSCRIPT_FLAG, "span": None}],
    )  # fmt: skip
    with Session(site.engine) as session:
        session.add(
            Media(
                submission_id=story_id,
                kind="voice",
                duration_seconds=42,
                transcript=SPOKEN,
                transcript_status="done",
            )
        )
        session.commit()
    return story_id


def test_moderators_read_the_transcript_and_use_it_as_the_public_text(site: Site) -> None:
    story_id = _voice_story(site)
    viewer = site.login("viewer")
    assert SPOKEN not in viewer.get("/stories/SP-VO1C").text  # like the recording: private
    ana = site.login("moderator", "Ana")
    page = ana.get("/stories/SP-VO1C").text
    assert "Transkrip otomatis" in page and SPOKEN in page
    with Session(site.engine) as session:
        version = session.get(Submission, story_id).version  # type: ignore[union-attr]
    done = ana.act("/stories/SP-VO1C/act", action="accept_transcript", version=version)
    assert done.status_code == 200
    with Session(site.engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None and story.public_text == SPOKEN
        assert all(flag["kind"] != UNREVIEWED_TRANSCRIPT_FLAG for flag in story.flags)
