"""Scheduling: consent rules, filters, one delivery per channel, autofill mixing, content."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.audit import history
from core.delivery_table import Delivery
from core.errors import InvalidTransition, NotAllowed
from core.installation import install_id
from core.models import Submission
from core.projections import public_story
from publishers.campaigns import set_paused
from publishers.deliveries.planning import idempotency_key
from publishers.scheduling import autofill, schedule_story, unschedule
from tests.publishers.dispatch_support import make_story, register_test_publishers
from tests.publishers.dispatch_support import setup_adil as _setup

register_test_publishers()

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 08:00 WITA


def _schedule(
    session: Session,
    story: Submission,
    *,
    campaign: str = "adil",
    at: datetime | None = None,
    channels: Sequence[str] | None = None,
) -> list[Delivery]:
    """Schedule `story` as the CLI would, at the test's fixed `NOW`."""
    return schedule_story(
        session,
        submission_id=story.id or 0,
        campaign_slug=campaign,
        at=at,
        channels=channels,
        actor="cli:test",
        now=NOW,
    )


def test_internal_consent_is_never_scheduled(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session)
        for consent in ("internal", None):
            story = make_story(session, consent=consent)
            with pytest.raises(NotAllowed, match="consent"):
                _schedule(session, story)
            assert story.state == "approved"
        assert session.exec(select(Delivery)).all() == []
        # autofill skips them too
        assert autofill(session, "adil", now=NOW) == []


def test_schedule_creates_one_delivery_per_channel_and_audits(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session)
        story = make_story(session)
        made = _schedule(session, story)
        session.commit()
        assert len(made) == 2
        assert {d.scheduled_at for d in made} == {datetime(2026, 11, 23, 1, 0, tzinfo=UTC)}
        assert all(d.next_attempt_at == d.scheduled_at and d.state == "pending" for d in made)
        keys = {d.idempotency_key for d in made}
        install = install_id(session)
        assert keys == {
            idempotency_key(install, story.id or 0, d.campaign_id, d.channel_id) for d in made
        }
        assert len(keys) == 2
        session.refresh(story)
        assert story.state == "scheduled"
        actions = [
            (e.action, e.from_state, e.to_state)
            for e in history(session, submission_id=story.id or 0)
        ]
        assert ("schedule", "approved", "scheduled") in actions
        # Scheduling again is idempotent; the next story gets the next slot.
        again = _schedule(session, story)
        assert {d.id for d in again} == {d.id for d in made}
        other = make_story(session)
        second = _schedule(session, other, channels=["tele"])
        assert [d.scheduled_at for d in second] == [datetime(2026, 11, 23, 11, 0, tzinfo=UTC)]


def test_scheduled_story_gains_a_channel_in_its_slot(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session)
        story = make_story(session)
        at = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # a typed time, not a slot
        first = _schedule(session, story, at=at, channels=["mast"])
        assert first[0].scheduled_at == at
        added = _schedule(session, story, channels=["mast", "tele"])
        assert len(added) == 2 and {d.scheduled_at for d in added} == {at}


def test_only_approved_stories_and_open_campaigns(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session, theme_filter=["banjir-rob"], place_filter=["oesapa"])
        pending = make_story(session, state="pending_review")
        with pytest.raises(InvalidTransition):
            _schedule(session, pending)
        wrong_theme = make_story(session, themes=("kekeringan-air",))
        with pytest.raises(NotAllowed, match="themes"):
            _schedule(session, wrong_theme)
        wrong_place = make_story(session, place_id="lasiana", place_name="Lasiana")
        with pytest.raises(NotAllowed, match="places"):
            _schedule(session, wrong_place)
        good = make_story(session)
        set_paused(session, "adil", True)
        with pytest.raises(NotAllowed, match="paused"):
            _schedule(session, good)


def test_unschedule_cancels_pending_and_returns_story_to_approved(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session)
        story = make_story(session)
        _schedule(session, story)
        assert unschedule(session, submission_id=story.id or 0, actor="cli:test") == 2
        session.commit()
        session.refresh(story)
        assert story.state == "approved"
        states = {d.state for d in session.exec(select(Delivery))}
        assert states == {"cancelled"}
        # The freed slot is taken again, and the cancelled rows come back with fresh keys.
        again = _schedule(session, story)
        assert {d.state for d in again} == {"pending"}
        assert all((d.idempotency_key or "").endswith("-r1") for d in again)


def test_content_respects_consent_and_leaves_out_private_data(
    engine: Engine, tmp_path: Path
) -> None:
    renditions = {
        "web": {
            "path": "public/renditions/ab/abc/web.jpg",
            "width": 1600,
            "height": 1200,
            "bytes": 200_000,
        },
        "thumb": {
            "path": "public/renditions/ab/abc/thumb.jpg",
            "width": 320,
            "height": 240,
            "bytes": 9_000,
        },
    }
    with Session(engine) as session:
        named = make_story(session, consent="named", public_name="Maria", renditions=renditions)
        anonymous = make_story(session, consent="anonymous", public_name="Yohanes")
        forced = make_story(session, consent="named", public_name="Yosef")
        forced.force_anonymous = True
        edited = make_story(session, consent="anonymous")
        edited.public_text = "Teks yang sudah disunting moderator."
        session.flush()

        content = public_story(session, named, data_dir=tmp_path)
        assert content.credit_name == "Maria"
        assert content.place_name == "Oesapa"
        assert content.themes == ("banjir-rob",)
        assert len(content.images) == 1
        assert (
            content.images[0].renditions["web"].path
            == tmp_path / "public/renditions/ab/abc/web.jpg"
        )
        assert content.images[0].renditions["thumb"].width == 320
        for story in (anonymous, forced):
            assert public_story(session, story).credit_name is None
        assert public_story(session, edited).text == "Teks yang sudah disunting moderator."
        # Nothing private: no coordinates, no Telegram id, no original path.
        dumped = repr(content)
        for private in ("10.1512345", "123.6312345", "73100", "private/originals"):
            assert private not in dumped.replace(content.ref, "")


def test_autofill_fills_empty_slots_oldest_first_mixing_themes_and_places(engine: Engine) -> None:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    with Session(engine) as session:
        _setup(session)
        # Oldest first: three flood stories from Oesapa, then a drought story from Lasiana,
        # then a health story from Oesapa.
        floods = [make_story(session, submitted_at=base + timedelta(hours=i)) for i in range(3)]
        drought = make_story(
            session,
            themes=("kekeringan-air",),
            place_id="lasiana",
            place_name="Lasiana",
            submitted_at=base + timedelta(hours=10),
        )
        health = make_story(
            session,
            themes=("kesehatan",),
            place_id="namosain",
            place_name="Namosain",
            submitted_at=base + timedelta(hours=11),
        )
        internal = make_story(session, consent="internal", submitted_at=base - timedelta(days=1))
        made = autofill(session, "adil", now=NOW, horizon_days=7)
        session.commit()
        by_slot: dict[datetime, int] = {}
        for d in made:
            by_slot.setdefault(d.scheduled_at, d.submission_id)
        order = [by_slot[slot] for slot in sorted(by_slot)]
        # 6 slots in the week (Mon/Wed/Fri x 2), 5 eligible stories.
        assert len(order) == 5
        assert internal.id not in order
        assert order == [floods[0].id, drought.id, floods[1].id, health.id, floods[2].id]
        assert len(made) == 10  # two channels each
        states = {
            s.state for s in session.exec(select(Submission).where(Submission.id != internal.id))
        }
        assert states == {"scheduled"}
        # Nothing left: a second run adds nothing.
        assert autofill(session, "adil", now=NOW, horizon_days=7) == []
