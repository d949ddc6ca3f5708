"""Withdrawal of a story's posts: cancelled, deleted, taken down after a send under way,
leftovers of killed sends cleaned, and the rest listed loudly for a person."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import history
from core.config import Settings
from core.models import Submission
from core.storage import MediaStore
from moderation.withdrawal import withdraw_and_erase
from publishers.channels.outbox import STALE_STAGING_SECONDS, folder_name
from publishers.deliveries import claim_due
from publishers.dispatcher import dispatch_due
from publishers.retraction import retract_story
from tests.publishers.dispatch_support import (
    CALLS,
    DELETED,
    HOOKS,
    SCRIPTS,
    SLOT,
    all_deliveries,
    moderator_alerts,
    register_test_publishers,
    scheduled_world,
)

register_test_publishers()
AFTER = SLOT + timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _clean_fakes() -> None:
    SCRIPTS.clear()
    CALLS.clear()
    DELETED.clear()
    HOOKS.clear()


def _withdraw(engine: Engine, settings: Settings, story_id: int) -> dict[str, object]:
    """What `/hapus` does: retract the posts, then erase the story."""
    summary = retract_story(engine, settings, story_id, actor="contributor")
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        withdraw_and_erase(session, MediaStore(settings.data_dir), story, actor="contributor")
        session.commit()
    return summary


def test_retract_cancels_pending_and_deletes_where_allowed(
    engine: Engine, settings: Settings
) -> None:
    [story_id] = scheduled_world(
        engine,
        channels=(
            ("mast", "test-scripted"),
            ("bsky", "test-idempotent"),
            ("tele", "test-scripted"),
        ),
    )
    SCRIPTS["tele"].append("retry:3600")
    dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    summary = retract_story(engine, settings, story_id)
    assert summary["cancelled"] == 1
    assert summary["deleted"] == ["mast"]
    assert [k["channel"] for k in summary["kept"]] == ["bsky"]
    assert DELETED == ["mast-1"]
    assert [a.kind for a in moderator_alerts(engine)] == ["posts_not_deleted"]
    with Session(engine) as session:
        actions = [e.action for e in history(session, submission_id=story_id)]
    assert "retract_posts" in actions


def test_retract_lists_posts_that_may_be_out_for_a_person_to_check(
    engine: Engine, settings: Settings
) -> None:
    # One post's outcome is unknown, another is being sent right now: either may be on the
    # channel.
    [story_id] = scheduled_world(
        engine, channels=(("mast", "test-scripted"), ("tele", "test-scripted"))
    )
    SCRIPTS["mast"].append("crash")
    dispatch_due(engine, settings, worker_id="w1", now=AFTER, limit=1)
    claim_due(engine, worker_id="w2", now=AFTER)
    assert sorted(d.state for d in all_deliveries(engine)) == ["sending", "unknown"]
    summary = retract_story(engine, settings, story_id)
    assert summary["cancelled"] == 0 and summary["deleted"] == []
    # The unknown one is for a person; the one being sent is taken down when its send returns.
    assert [k["channel"] for k in summary["kept"]] == ["mast"] and summary["sending"] == ["tele"]
    alert = [a for a in moderator_alerts(engine) if a.kind == "posts_not_deleted"]
    assert len(alert) == 1 and len(alert[0].params["posts"]) == 1


def test_a_post_sent_while_its_story_is_withdrawn_is_taken_down_when_the_send_returns(
    engine: Engine, settings: Settings
) -> None:
    [story_id] = scheduled_world(engine)
    withdrawn: list[dict[str, object]] = []
    # The contributor presses "delete" while the worker is inside publish().
    HOOKS.append(lambda: withdrawn.append(_withdraw(engine, settings, story_id)))
    SCRIPTS["mast"].append("hook")
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert stats.sent == 1 and withdrawn[0]["sending"] == ["mast"]
    assert DELETED == ["mast-1"]  # taken down the moment the send returned
    [row] = all_deliveries(engine)
    assert (row.state, row.last_error) == ("cancelled", "post deleted")
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None and story.state == "erased"
        retractions = [
            e.after for e in history(session, submission_id=story_id) if e.action == "retract_posts"
        ]
    assert {"deleted": ["mast"], "late": True} in retractions
    assert [a.kind for a in moderator_alerts(engine)] == []


def test_a_late_post_that_cannot_be_taken_down_is_reported_loudly(
    engine: Engine, settings: Settings
) -> None:
    [story_id] = scheduled_world(engine, channels=(("bsky", "test-idempotent"),))
    HOOKS.append(lambda: _withdraw(engine, settings, story_id))
    SCRIPTS["bsky"].append("hook")
    dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    [alert] = moderator_alerts(engine)
    assert alert.kind == "posts_not_deleted"
    assert alert.params["posts"][0]["channel"] == "bsky" and alert.params["posts"][0]["url"]


def test_failed_posts_of_a_withdrawn_story_are_cancelled_so_nobody_retries_them(
    engine: Engine, settings: Settings
) -> None:
    [story_id] = scheduled_world(engine)
    SCRIPTS["mast"].append("permanent")
    dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert [d.state for d in all_deliveries(engine)] == ["failed"]
    summary = _withdraw(engine, settings, story_id)
    assert summary["cancelled"] == 1
    assert [d.state for d in all_deliveries(engine)] == ["cancelled"]


def test_a_killed_outbox_write_leaves_nothing_behind(engine: Engine, settings: Settings) -> None:
    [story_id] = scheduled_world(engine, channels=(("out", "outbox"),))
    claim_due(engine, worker_id="w1", now=AFTER)  # a worker took it and was killed mid-write
    [row] = all_deliveries(engine)
    staging = (
        settings.effective_outbox_dir
        / "2026-11-23"
        / f".{folder_name(row.idempotency_key or '')}-k1ll"
    )
    staging.mkdir(parents=True)
    (staging / "post.json").write_text(json.dumps({"text": "Air masuk rumah Mama Yuli"}))
    summary = _withdraw(engine, settings, story_id)
    assert summary["cleaned"] == 1 and not staging.exists()
    assert list(settings.effective_outbox_dir.rglob("post.json")) == []


def test_a_retry_after_a_killed_outbox_write_replaces_its_staging_folder(
    engine: Engine, settings: Settings
) -> None:
    scheduled_world(engine, channels=(("out", "outbox"),))
    [row] = all_deliveries(engine)
    staging = (
        settings.effective_outbox_dir
        / "2026-11-23"
        / f".{folder_name(row.idempotency_key or '')}-k1ll"
    )
    staging.mkdir(parents=True)
    old = time.time() - STALE_STAGING_SECONDS - 1
    os.utime(staging, (old, old))
    assert dispatch_due(engine, settings, worker_id="w1", now=AFTER).sent == 1
    assert not staging.exists()
    assert len(list(settings.effective_outbox_dir.rglob("post.json"))) == 1
